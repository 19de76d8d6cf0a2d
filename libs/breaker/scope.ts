import { BreakerError } from './errors';

/** `global` halts every withdrawal; `asset:<TICKER>` halts one asset's. */
export type Scope = 'global' | `asset:${string}`;

/** An upper-case ticker (`BTC`, `USDC`, `USDC.E`); the same rule the contract sets for `asset`. */
export const TICKER_PATTERN = /^[A-Z0-9][A-Z0-9._-]{0,31}$/;

export function isScope(value: string): value is Scope {
  if (value === 'global') return true;
  return value.startsWith('asset:') && TICKER_PATTERN.test(value.slice('asset:'.length));
}

/** Parses a scope or throws `EUNKNOWNSCOPE` (the HTTP layer answers 404). */
export function parseScope(value: string): Scope {
  if (!isScope(value))
    throw new BreakerError('EUNKNOWNSCOPE', `unknown scope ${JSON.stringify(value.slice(0, 80))}`, {
      hint: 'scope must be "global" or "asset:<UPPERCASE TICKER>", e.g. "asset:ETH"',
    });
  return value;
}

export function assetScope(asset: string): Scope {
  if (!TICKER_PATTERN.test(asset))
    throw new BreakerError(
      'EBADASSET',
      `asset ${JSON.stringify(asset.slice(0, 80))} is not an upper-case ticker`,
    );
  return `asset:${asset}`;
}
