import { DAY, EventFactory } from '../../engine/synthetic-traffic';
import { normaliseAddress } from '../address';
import { emptyFacts } from '../facts';
import { freshlyWhitelisted } from './new-address-cooldown';

const T = Date.parse('2022-01-17T00:00:00.000Z');
const f = new EventFactory('cd');
const ADDRESS = '0xAbCdEf0000000000000000000000000000000001';
const event = f.approved('u', T, { withdrawalId: 'w', sessionId: 's', address: ADDRESS });
const view = { event, address: normaliseAddress(ADDRESS) };
const whitelisted = (at: number) => {
  const facts = emptyFacts();
  facts.whitelist.set(normaliseAddress(ADDRESS), at);
  return facts;
};

describe('new-address-cooldown', () => {
  it('0 <= t - w < cooldown flags; exactly the cooldown before, or a whitelisting after, does not', () => {
    const p = { cooldownMs: DAY };
    expect(freshlyWhitelisted(view, whitelisted(T), p)).toMatchObject({ ageMs: 0 });
    expect(freshlyWhitelisted(view, whitelisted(T - DAY + 1), p)).toMatchObject({ ageMs: DAY - 1 });
    expect(freshlyWhitelisted(view, whitelisted(T - DAY), p)).toBeNull();
    expect(freshlyWhitelisted(view, whitelisted(T + 1), p)).toBeNull();
    expect(freshlyWhitelisted(view, emptyFacts(), p)).toBeNull();
  });
});
