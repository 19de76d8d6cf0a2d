import { EventFactory } from '../../engine/synthetic-traffic';
import { normaliseAddress } from '../address';
import { SanctionsLists } from '../sanctions';
import { onSanctionsList } from './sanctioned-destination';

const LISTED = '0x722122dF12D4e14e13Ac3b6895a86e84145b6967';
const lists = new SanctionsLists('mem', new Map([['ETH', new Set([normaliseAddress(LISTED)])]]));
const view = (address: string) => {
  const event = new EventFactory('sd').approved('u', 0, { withdrawalId: 'w', sessionId: 's', address });
  return { event, address: normaliseAddress(address) };
};

describe('sanctioned-destination', () => {
  it('matches as the chain compares: an EVM address in any case; names the lists', () => {
    expect(onSanctionsList(view(LISTED.toUpperCase().replace('0X', '0x')), lists)).toMatchObject({
      lists: ['ETH'],
      normalisedAddress: LISTED.toLowerCase(),
    });
    expect(onSanctionsList(view('0x0000000000000000000000000000000000000001'), lists)).toBeNull();
  });
});
