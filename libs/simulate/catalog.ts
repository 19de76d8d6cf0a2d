import type { Rng } from './rng';

// Globals are read once into module constants: inside a vm context (Jest runs every test file in one)
// each global lookup goes through an interceptor, which made the hot paths several times slower.
const { floor, max, round } = Math;

/**
 * What ordinary users hold and where they send it. Prices are mid-January 2022, so amounts in a replay of
 * the incident look like the real thing; each asset gets an address format of its own chain so that a
 * chain-aware address comparison (the sanctions rule) sees plausible input.
 */
export interface AssetSpec {
  ticker: string;
  priceUsd: number;
  /** Relative popularity among ordinary withdrawals. */
  weight: number;
  address: (rng: Rng) => string;
}

const HEX = '0123456789abcdef';
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const RIPPLE58 = 'rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz';

// One string per address rather than one per appended character: addresses are built for every user up
// front, and the intermediate strings dominated start-up.
const codes: number[] = [];
function chars(rng: Rng, alphabet: string, n: number): string {
  codes.length = n;
  for (let i = 0; i < n; i++) codes[i] = alphabet.charCodeAt(floor(rng.float() * alphabet.length));
  return String.fromCharCode(...codes);
}

const evm = (rng: Rng): string => '0x' + chars(rng, HEX, 40);

export const ASSETS: readonly AssetSpec[] = [
  { ticker: 'BTC', priceUsd: 42_000, weight: 30, address: (r) => 'bc1q' + chars(r, BECH32, 38) },
  { ticker: 'ETH', priceUsd: 3_300, weight: 28, address: evm },
  { ticker: 'USDC', priceUsd: 1, weight: 15, address: evm },
  { ticker: 'USDT', priceUsd: 1, weight: 8, address: evm },
  { ticker: 'SOL', priceUsd: 140, weight: 6, address: (r) => chars(r, BASE58, 44) },
  { ticker: 'XRP', priceUsd: 0.78, weight: 5, address: (r) => 'r' + chars(r, RIPPLE58, 33) },
  { ticker: 'LTC', priceUsd: 145, weight: 4, address: (r) => 'ltc1q' + chars(r, BECH32, 38) },
  { ticker: 'DOGE', priceUsd: 0.17, weight: 4, address: (r) => 'D' + chars(r, BASE58, 33) },
];
export const ASSET_WEIGHTS = ASSETS.map((a) => a.weight);
export const ASSET_WEIGHT_TOTAL = ASSET_WEIGHTS.reduce((s, w) => s + w, 0);

export function assetByTicker(ticker: string): AssetSpec {
  const spec = ASSETS.find((a) => a.ticker === ticker);
  if (spec === undefined) throw new RangeError(`unknown asset ${ticker}`);
  return spec;
}

export const MFA_FACTORS = ['totp', 'webauthn', 'sms', 'email', 'biometric'] as const;
export type MfaFactor = (typeof MFA_FACTORS)[number];
export const MFA_FACTOR_WEIGHTS = [80, 8, 7, 3, 2];
export const MFA_FACTOR_WEIGHT_TOTAL = 100;

// First octets of ordinary public unicast space, so that user addresses never look like private ranges.
const FIRST_OCTETS = [23, 31, 37, 45, 62, 77, 81, 89, 93, 104, 109, 151, 176, 178, 185, 188, 212, 217];

export function userIp(rng: Rng): string {
  return `${rng.pick(FIRST_OCTETS)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** The attacker works from documentation ranges (RFC 5737), which no ordinary user ever uses here. */
export function attackerIp(rng: Rng): string {
  return `${rng.pick(['198.51.100', '203.0.113'])}.${rng.int(1, 254)}`;
}

/**
 * An exact decimal string with 8 places from integer base units: floats would lose precision on the way
 * (the contract forbids them).
 */
export function formatUnits(units: number): string {
  const whole = floor(units / 100_000_000);
  const frac = units - whole * 100_000_000;
  return `${whole}.${`${frac}`.padStart(8, '0')}`;
}

/** Converts a USD value to an asset amount, rounding to whole base units, and prices it back in cents. */
export function quote(spec: AssetSpec, usd: number): { amount: string; amountUsd: number } {
  const units = max(1, round((usd / spec.priceUsd) * 100_000_000));
  return {
    amount: formatUnits(units),
    amountUsd: round((units / 100_000_000) * spec.priceUsd * 100) / 100,
  };
}
