import type { Rng } from './rng';

/**
 * Bad lines as they show up in real feeds. Each is invalid under section 3 of the contract for one clear
 * reason (never merely an unknown type, which a reader must count as ignored, not invalid), carries a
 * fresh `x-` eventId where it carries one at all, and uses the arrival time for any timestamp so it can
 * never drag a reader's event time forward.
 */
export function badLine(rng: Rng, n: number, userId: string, atIso: string): string {
  const eventId = `x-${n}`;
  const base = { eventId, type: 'withdrawal.approved', occurredAt: atIso, userId };
  const approved = {
    ...base,
    withdrawalId: `wd-x-${n}`,
    sessionId: `s-x-${n}`,
    asset: 'ETH',
    amount: '1.00000000',
    amountUsd: 3300,
    address: '0x' + '0'.repeat(39) + '1',
    approval: { factors: ['password', 'totp'], mfaVerified: true },
  };
  switch (rng.int(0, 11)) {
    case 0: // a producer crashed mid-write
      return JSON.stringify(approved).slice(0, rng.int(10, 60));
    case 1:
      return 'not json at all';
    case 2:
      return `[${JSON.stringify(base)}]`;
    case 3:
      return rng.pick(['42', 'null', '"login.succeeded"', 'true']);
    case 4: // the classic: an amount serialised as a float
      return JSON.stringify({ ...approved, amount: 1.1 });
    case 5:
      return JSON.stringify({
        ...base,
        type: 'login.succeeded',
        occurredAt: 'yesterday',
        sessionId: `s-x-${n}`,
        ip: '192.0.2.1',
        deviceId: `d-x-${n}`,
      });
    case 6: // RFC 3339 requires an offset
      return JSON.stringify({
        ...base,
        type: 'mfa.passed',
        occurredAt: atIso.replace('Z', ''),
        sessionId: `s-x-${n}`,
        factor: 'totp',
      });
    case 7: {
      const { userId: _dropped, ...rest } = approved;
      return JSON.stringify(rest);
    }
    case 8: {
      const { approval: _dropped, ...rest } = approved;
      return JSON.stringify(rest);
    }
    case 9:
      return JSON.stringify({ ...base, type: 'mfa.passed', sessionId: `s-x-${n}`, factor: 'carrier-pigeon' });
    case 10:
      return JSON.stringify({ ...approved, amountUsd: -5 });
    default:
      return JSON.stringify({ ...approved, eventId: '' });
  }
}
