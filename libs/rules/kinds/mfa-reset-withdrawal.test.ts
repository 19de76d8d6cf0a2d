import { DAY, EventFactory, HOUR } from '../../engine/synthetic-traffic';
import { emptyFacts, type MfaChangeFact } from '../facts';
import { recentMfaChange } from './mfa-reset-withdrawal';

const T = Date.parse('2022-01-17T00:00:00.000Z');
const event = new EventFactory('mc').approved('u', T, { withdrawalId: 'w', sessionId: 's' });
const view = { event, address: event.address };
const p = { windowMs: DAY };
const changes = (...list: MfaChangeFact[]) => {
  const facts = emptyFacts();
  facts.mfaChanges = list;
  return facts;
};

describe('mfa-reset-withdrawal', () => {
  it('a reset or enrolment in (t - window, t] flags with the newest as evidence; exactly window before does not', () => {
    expect(recentMfaChange(view, changes({ atMs: T - DAY, change: 'reset', factor: '' }), p)).toBeNull();
    expect(
      recentMfaChange(
        view,
        changes(
          { atMs: T - DAY + 1, change: 'reset', factor: '' },
          { atMs: T - HOUR, change: 'enrolled', factor: 'totp' },
        ),
        p,
      ),
    ).toEqual({ change: 'mfa.enrolled', factor: 'totp', atMs: T - HOUR, ageMs: HOUR, windowMs: DAY });
  });

  it('a change after the approval does not count', () => {
    expect(recentMfaChange(view, changes({ atMs: T + 1, change: 'reset', factor: '' }), p)).toBeNull();
  });
});
