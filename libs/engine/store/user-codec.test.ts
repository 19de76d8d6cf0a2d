import { parseEvent, type BulwarkEvent } from '../../events';
import { defaultRulesConfig } from '../../rules';
import { loginFromNewDevice } from '../../rules/kinds/new-device-withdrawal';
import { EventFactory } from '../synthetic-traffic';
import { simulate } from '../../simulate';
import { StreamEngine } from '../stream-engine';
import { MemoryWindowStore } from './memory-store';
import { decodeUser, encodeUser } from './user-codec';

/** A user's state survives the text the Redis store keeps, whatever the engine put in it. */
function events(): BulwarkEvent[] {
  const out: BulwarkEvent[] = [];
  for (const line of simulate({
    seed: 5,
    users: 60,
    start: '2022-03-01T00:00:00.000Z',
    durationMs: 86_400_000,
    withdrawalsPerUserPerDay: 4,
    attack: { at: '2022-03-01T12:00:00.000Z', users: 10, durationMs: 600_000, freshAddressShare: 0.5 },
    lateMfaShare: 0.2,
  })) {
    const p = parseEvent(line);
    if (p.kind === 'valid') out.push(p.event);
  }
  return out;
}

describe('user state codec', () => {
  it('decodes what it encoded, for every user mid-stream (pending decisions and unacked flags included)', async () => {
    const all = events();
    const store = new MemoryWindowStore();
    const engine = new StreamEngine(store, defaultRulesConfig());
    // Stopped inside the attack and nothing acked, so decisions are pending and flags unacked.
    const cut = all.findIndex((e) => e.occurredAtMs >= Date.parse('2022-03-01T12:05:00.000Z'));
    await engine.applyBatch(all.slice(0, cut).map((event) => ({ event, source: 'test' })));
    const users = [...new Set(all.map((e) => e.userId))];
    let pending = 0;
    let unacked = 0;
    for (const id of users) {
      const u = store.user(id);
      pending += u.pending.length;
      unacked += u.unacked.size;
      const back = decodeUser(id, encodeUser(u), 7);
      expect(back).toEqual({ ...u, version: 7, seen: 0 });
    }
    expect(pending).toBeGreaterThan(0);
    expect(unacked).toBeGreaterThan(0);
  });

  it('reads a format-1 state (one time per address and device) as lists of times', () => {
    const v1 = [
      1,
      [100, 'e1', 0],
      [],
      [],
      [],
      [['0xabc', 5000]],
      [],
      [],
      [],
      [['s1', 9000, 'd1', 4000]],
      [['d1', 9000]],
    ];
    const u = decodeUser('u1', JSON.stringify(v1), 3);
    expect(u.facts.whitelist).toEqual(new Map([['0xabc', [5000]]]));
    expect(u.facts.sessions).toEqual(new Map([['s1', { atMs: 9000, deviceId: 'd1' }]]));
    // The sighting format 1 kept as the session's novelty is a sighting again.
    expect(u.facts.devices).toEqual(new Map([['d1', [4000, 9000]]]));
    expect(JSON.parse(encodeUser(u))[0]).toBe(2);
    // ... so an approval in that session decides as before the upgrade: d1 was seen 5 s before the login.
    const event = new EventFactory('c').approved('u1', 9500, { withdrawalId: 'w', sessionId: 's1' });
    const p = { unseenMs: 90 * 86_400_000, loginWithinMs: 1_800_000 };
    expect(loginFromNewDevice({ event, address: event.address }, u.facts, p)).toBeNull();
  });

  it('refuses a text of another format', () => {
    expect(() => decodeUser('u1', JSON.stringify([3]), 1)).toThrow();
    expect(() => decodeUser('u1', '{}', 1)).toThrow();
  });
});
