import { defaultBreakerConfig, windowTriggers, type Flag } from './index';
import { testFlag } from '../../test/helpers/flags';
import { windowViews } from './window-view';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');
const flag = (id: string, user: string, atMs: number, severity: Flag['severity'], usd: number): Flag =>
  testFlag(id, atMs, { ruleId: 'r', userId: user, severity, amountUsd: usd });

describe('windowViews', () => {
  const triggers = windowTriggers(defaultBreakerConfig());

  it('measures each trigger over the window ending at the given time, as it counts (users, USD once per withdrawal)', () => {
    const flags = [
      flag('w-old', 'u-0', T0 - 11 * 60_000, 'critical', 1_000_000), // outside the 10 min window
      flag('w-1', 'u-1', T0 - 60_000, 'critical', 100),
      flag('w-2', 'u-1', T0 - 30_000, 'critical', 200),
      flag('w-3', 'u-2', T0, 'high', 300),
      flag('w-4', 'u-3', T0, 'medium', 5_000),
    ];
    const views = windowViews(triggers, flags, T0);
    const users = views.find((v) => v.trigger === 'critical-users' && v.scope === 'global')!;
    // Only critical flags count here: u-2's is high; u-1's two flags are one user.
    expect(users).toMatchObject({ value: 1, threshold: 3, users: ['u-1'] });
    const value = views.find((v) => v.trigger === 'flagged-value' && v.scope === 'global')!;
    expect(value).toMatchObject({ value: 600, usd: 600, withdrawals: 3, threshold: 250_000 });
  });

  it('shows a global trigger with nothing in its window as 0', () => {
    const views = windowViews(triggers, [], T0);
    expect(views.find((v) => v.trigger === 'critical-users')).toMatchObject({ scope: 'global', value: 0 });
  });
});
