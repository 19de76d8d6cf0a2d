import { claimsVerdict, hasSecondFactor, isSecondFactor, KNOWN_SECOND_FACTORS } from './second-factor';

describe('second factor', () => {
  it('counts every MFA factor and anything new, but not password, pin or none', () => {
    for (const f of KNOWN_SECOND_FACTORS) expect(isSecondFactor(f)).toBe(true);
    expect(isSecondFactor('yubikey-otp')).toBe(true);
    for (const f of ['password', 'PIN', ' none ', '']) expect(isSecondFactor(f)).toBe(false);
  });

  it('needs at least one second factor among the approval factors', () => {
    expect(hasSecondFactor(['password', 'totp'])).toBe(true);
    expect(hasSecondFactor(['password'])).toBe(false);
    expect(hasSecondFactor(['password', 'pin'])).toBe(false);
    expect(hasSecondFactor([])).toBe(false);
  });

  it('believes claims of no MFA at once, never claims of MFA', () => {
    expect(claimsVerdict({ factors: ['password', 'totp'], mfaVerified: false })).toBe('mfa-not-verified');
    expect(claimsVerdict({ factors: ['password'], mfaVerified: true })).toBe('no-second-factor');
    expect(claimsVerdict({ factors: ['password', 'webauthn'], mfaVerified: true })).toBeNull();
  });
});
