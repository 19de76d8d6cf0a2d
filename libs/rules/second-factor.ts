/**
 * What counts as a second factor in a withdrawal approval's `approval.factors`.
 *
 * The contract names the MFA factors `totp`, `sms`, `email`, `webauthn` and `biometric`; approvals may also
 * list `password`, `pin` and whatever else the wallet service adds later (`hardware-key`, `push`, ...).
 * Anything the user merely knows or that says no factor was used is not a second factor; every other name
 * is, so a new factor type never makes an honest approval look unprotected. Names compare case-insensitively.
 */

/** Factor names that are NOT a second factor: knowledge factors and explicit "nothing". */
export const NOT_SECOND_FACTORS: ReadonlySet<string> = new Set(['password', 'pin', 'none', '']);

/** Second factors known today, for documentation and tests; any name outside NOT_SECOND_FACTORS counts. */
export const KNOWN_SECOND_FACTORS: readonly string[] = [
  'totp',
  'sms',
  'email',
  'webauthn',
  'biometric',
  'hardware-key',
  'push',
];

/** True when `factor` is a second factor (anything but password, pin or none). */
export function isSecondFactor(factor: string): boolean {
  return !NOT_SECOND_FACTORS.has(factor.trim().toLowerCase());
}

/** True when the approval lists at least one second factor. */
export function hasSecondFactor(factors: readonly string[]): boolean {
  for (const f of factors) if (isSecondFactor(f)) return true;
  return false;
}

/** Why an approval's own claims already prove the second factor missing, or null when they do not. */
export type ClaimsVerdict = 'mfa-not-verified' | 'no-second-factor' | null;

/**
 * Judges the approval's claims alone. Claims can only make mfa-missing flag sooner: a claim of MFA is never
 * trusted to clear it (the auth stream must show an `mfa.passed`), but a claim of no MFA is believed at once.
 */
export function claimsVerdict(approval: { factors: readonly string[]; mfaVerified: boolean }): ClaimsVerdict {
  if (!approval.mfaVerified) return 'mfa-not-verified';
  if (!hasSecondFactor(approval.factors)) return 'no-second-factor';
  return null;
}
