import { DAY, EventFactory } from '../../engine/synthetic-traffic';
import { normaliseAddress } from '../address';
import { addFacts, emptyFacts } from '../facts';
import { freshlyWhitelisted } from './new-address-cooldown';

const T = Date.parse('2022-01-17T00:00:00.000Z');
const f = new EventFactory('cd');
const ADDRESS = '0xAbCdEf0000000000000000000000000000000001';
const event = f.approved('u', T, { withdrawalId: 'w', sessionId: 's', address: ADDRESS });
const view = { event, address: normaliseAddress(ADDRESS) };
/** Facts after these whitelistings of ADDRESS, in this order. */
const whitelisted = (...times: number[]) => {
  const facts = emptyFacts();
  for (const at of times) addFacts(facts, f.whitelist('u', at, ADDRESS), { has: () => true });
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

  it('a whitelisting after the approval does not hide an earlier one inside the cooldown', () => {
    const p = { cooldownMs: DAY };
    expect(freshlyWhitelisted(view, whitelisted(T - 1000, T + 5000), p)).toMatchObject({
      whitelistedAtMs: T - 1000,
    });
    expect(freshlyWhitelisted(view, whitelisted(T + 5000, T - 1000), p)).toMatchObject({
      whitelistedAtMs: T - 1000,
    });
    // The newest at or before the approval decides: an old one does not flag past a newer one.
    expect(freshlyWhitelisted(view, whitelisted(T - 3 * DAY, T - 1000), p)).toMatchObject({ ageMs: 1000 });
    expect(freshlyWhitelisted(view, whitelisted(T - 3 * DAY, T + 1), p)).toBeNull();
  });
});
