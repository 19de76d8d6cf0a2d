/**
 * Throughput of parseEvent on valid withdrawal.approved values, the hottest and largest event type.
 * Not part of the tests. Run from the repository root: npm run build && node dist/bench/events-parse.js [events]
 */
import { parseEvent } from '../libs/events';

const N = Number(process.argv[2] ?? 500_000);
const lines: Buffer[] = [];
for (let i = 0; i < 1024; i++) {
  lines.push(
    Buffer.from(
      JSON.stringify({
        eventId: `w-${i}`,
        type: 'withdrawal.approved',
        occurredAt: new Date(Date.UTC(2022, 0, 17) + i * 1000).toISOString(),
        userId: `u-${i % 97}`,
        withdrawalId: `wd-${i}`,
        sessionId: `s-${i % 13}`,
        asset: 'ETH',
        amount: `${i}.5`,
        amountUsd: 4800.5 + i,
        address: `0xabc${i}`,
        approval: { factors: ['password', 'totp'], mfaVerified: true },
      }),
    ),
  );
}

function run(n: number): number {
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const r = parseEvent(lines[i & 1023]!, { expectedTopic: 'wallet' });
    if (r.kind === 'valid') valid++;
  }
  return valid;
}

run(50_000); // warm-up: let the JIT settle before timing
for (let round = 0; round < 3; round++) {
  const start = process.hrtime.bigint();
  const valid = run(N);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (valid !== N) throw new Error(`only ${valid} of ${N} parsed as valid`);
  process.stdout.write(`${N} events in ${seconds.toFixed(3)} s: ${Math.round(N / seconds)} events/s\n`);
}
