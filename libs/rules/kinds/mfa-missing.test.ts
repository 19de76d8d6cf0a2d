import { EventFactory, MINUTE } from '../../engine/synthetic-traffic';
import { emptyFacts } from '../facts';
import { mfaMissingByClaims, mfaMissingInWindow } from './mfa-missing';

const T = Date.parse('2022-01-17T00:00:00.000Z');
const f = new EventFactory('mm');
const p = { lookbackMs: 10 * MINUTE };
const GRACE = 30_000;
const view = (o: { mfaVerified?: boolean; factors?: string[] } = {}) => {
  const event = f.approved('u', T, { withdrawalId: 'w', sessionId: 's', ...o });
  return { event, address: event.address };
};
const withMfa = (...list: [number, string][]) => {
  const facts = emptyFacts();
  facts.mfaPassed = list.map(([atMs, sessionId]) => ({ atMs, sessionId, factor: 'totp' }));
  return facts;
};

describe('mfa-missing', () => {
  it('claims: mfaVerified false or no second factor flag at once; a claim of MFA never clears it', () => {
    expect(mfaMissingByClaims(view({ mfaVerified: false }))).toMatchObject({ reason: 'mfa-not-verified' });
    expect(mfaMissingByClaims(view({ factors: ['password', 'pin'] }))).toMatchObject({
      reason: 'no-second-factor',
    });
    expect(mfaMissingByClaims(view())).toBeNull();
  });

  it('window [t - lookback, t + grace] of the same session: both ends count, 1 ms outside does not', () => {
    const v = view();
    for (const at of [T - p.lookbackMs, T, T + GRACE])
      expect(mfaMissingInWindow(v, withMfa([at, 's']), p, GRACE)).toBeNull();
    for (const at of [T - p.lookbackMs - 1, T + GRACE + 1])
      expect(mfaMissingInWindow(v, withMfa([at, 's']), p, GRACE)).toMatchObject({
        reason: 'no-mfa-in-window',
      });
  });

  it("an MFA of another session does not count, and shows as the user's last MFA", () => {
    const e = mfaMissingInWindow(view(), withMfa([T - MINUTE, 'other']), p, GRACE);
    expect(e).toMatchObject({
      lastMfaForSession: null,
      lastMfaForUser: { atMs: T - MINUTE, sessionId: 'other' },
      windowStartMs: T - p.lookbackMs,
      windowEndMs: T + GRACE,
    });
  });
});
