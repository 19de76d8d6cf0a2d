import type { WindowTrigger } from './config';

/** One trigger's window for one scope, as an operator reads it: how close it is to its threshold. */
export interface WindowView {
  trigger: string;
  kind: WindowTrigger['kind'];
  scope: string;
  windowMs: number;
  threshold: number;
  /** Distinct users, distinct withdrawals, or USD (sum-amount-usd), over the window ending at `endsAt`. */
  value: number;
  users: string[];
  withdrawals: number;
  usd: number;
  /** The newest flag counted in this window (event time); null when it holds none. */
  endsAt: string | null;
}
