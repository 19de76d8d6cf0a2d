export {
  createWithdrawalGuard,
  MAX_CACHE_MS,
  type GuardStatus,
  type WithdrawalGuard,
  type WithdrawalGuardOptions,
} from './guard';
