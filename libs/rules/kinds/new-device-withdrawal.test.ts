import { DAY, EventFactory, MINUTE } from '../../engine/synthetic-traffic';
import { addFacts, emptyFacts, type FactKind } from '../facts';
import { loginFromNewDevice } from './new-device-withdrawal';

const T = Date.parse('2022-01-17T00:00:00.000Z');
const f = new EventFactory('nd');
const event = f.approved('u', T, { withdrawalId: 'w', sessionId: 's' });
const view = { event, address: event.address };
const p = { unseenMs: 90 * DAY, loginWithinMs: 30 * MINUTE };
const all: { has(k: FactKind): boolean } = { has: () => true };

/** Facts after these logins of the user, in this order: [time, session, device]. */
function afterLogins(...logins: [number, string, string][]) {
  const facts = emptyFacts();
  for (const [at, s, d] of logins) addFacts(facts, f.login('u', at, s, d), all);
  return facts;
}

describe('new-device-withdrawal', () => {
  it('a first-seen device logging in less than loginWithin before flags; exactly loginWithin before does not', () => {
    expect(loginFromNewDevice(view, afterLogins([T - MINUTE, 's', 'd1']), p)).toMatchObject({
      deviceId: 'd1',
      deviceLastSeenAtMs: null,
    });
    expect(loginFromNewDevice(view, afterLogins([T - 30 * MINUTE, 's', 'd1']), p)).toBeNull();
  });

  it('a device seen exactly unseen before counts as seen; 1 ms longer ago it is new again', () => {
    const login = T - MINUTE;
    expect(
      loginFromNewDevice(view, afterLogins([login - p.unseenMs, 'old', 'd1'], [login, 's', 'd1']), p),
    ).toBeNull();
    expect(
      loginFromNewDevice(view, afterLogins([login - p.unseenMs - 1, 'old', 'd1'], [login, 's', 'd1']), p),
    ).toMatchObject({ deviceLastSeenAtMs: login - p.unseenMs - 1 });
  });

  it('a sighting after the login is not one before it: the device is still new', () => {
    expect(
      loginFromNewDevice(view, afterLogins([T, 'later', 'd1'], [T - MINUTE, 's', 'd1']), p),
    ).toMatchObject({ deviceLastSeenAtMs: null });
  });

  it("an earlier login from the device arriving after the session's own still makes it seen", () => {
    expect(
      loginFromNewDevice(view, afterLogins([T - MINUTE, 's', 'd1'], [T - 10 * DAY, 'old', 'd1']), p),
    ).toBeNull();
    // ... and of several earlier ones, the newest before the login decides.
    expect(
      loginFromNewDevice(
        view,
        afterLogins([T - MINUTE, 's', 'd1'], [T - 200 * DAY, 'a', 'd1'], [T - 100 * DAY, 'b', 'd1']),
        p,
      ),
    ).toMatchObject({ deviceLastSeenAtMs: T - 100 * DAY });
  });

  it("another session's login is not this approval's", () => {
    expect(loginFromNewDevice(view, afterLogins([T - MINUTE, 'other', 'd1']), p)).toBeNull();
  });
});
