import { mfaMissing } from './kinds/mfa-missing';
import { mfaResetWithdrawal } from './kinds/mfa-reset-withdrawal';
import { newAddressCooldown } from './kinds/new-address-cooldown';
import { newDeviceWithdrawal } from './kinds/new-device-withdrawal';
import { sanctionedDestination } from './kinds/sanctioned-destination';
import { velocity } from './kinds/velocity';

/**
 * Every rule kind, by the name a rules file gives it; the config schema, its defaults and the engine's
 * compiled rules all come from here. Order is the contract's (section 5) and the default rule list's.
 */
export const RULE_REGISTRY = {
  'mfa-missing': mfaMissing,
  'new-address-cooldown': newAddressCooldown,
  'mfa-reset-withdrawal': mfaResetWithdrawal,
  'new-device-withdrawal': newDeviceWithdrawal,
  velocity,
  'sanctioned-destination': sanctionedDestination,
};
