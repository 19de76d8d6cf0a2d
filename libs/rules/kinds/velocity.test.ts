import { EventFactory, HOUR } from '../../engine/synthetic-traffic';
import { addVelocity, emptyFacts } from '../facts';
import { overVelocity } from './velocity';

const T = Date.parse('2022-01-17T00:00:00.000Z');
const f = new EventFactory('v');
const p = { windowMs: HOUR, maxCount: 2, maxUsd: 1000 };

/** Facts after these approvals [time, usd, withdrawalId], and the view of the last one. */
function approvals(...list: [number, number, string][]) {
  const facts = emptyFacts();
  let view;
  for (const [at, usd, w] of list) {
    const event = f.approved('u', at, { withdrawalId: w, sessionId: 's', amountUsd: usd });
    addVelocity(facts, { atMs: at, amountUsd: usd, withdrawalId: w }, HOUR + 30_000);
    view = { event, address: event.address };
  }
  return overVelocity(view!, facts, p);
}

describe('velocity', () => {
  it('counts withdrawals in (t - window, t]: one exactly the window before no longer counts', () => {
    expect(approvals([T - HOUR, 1, 'a'], [T - 1, 1, 'b'], [T, 1, 'c'])).toBeNull();
    expect(approvals([T - HOUR + 1, 1, 'a'], [T - 1, 1, 'b'], [T, 1, 'c'])).toMatchObject({
      count: 3,
      exceeded: 'count',
    });
  });

  it('flags strictly more than maxUsd; a withdrawal approved twice counts once', () => {
    expect(approvals([T - 1, 500, 'a'], [T, 500, 'b'])).toBeNull();
    expect(approvals([T - 1, 500, 'a'], [T, 500.01, 'b'])).toMatchObject({
      exceeded: 'usd',
      sumUsd: 1000.01,
    });
    expect(approvals([T - 2, 400, 'a'], [T - 1, 400, 'a'], [T, 400, 'a'])).toBeNull();
  });
});
