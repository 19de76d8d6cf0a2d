/**
 * Destination addresses compared the way their chain compares them, so one address written two ways is
 * one address (for sanctions lists and for "the same address" in the whitelist cooldown):
 *   - EVM (ETH, USDC/USDT on EVM, ARB, BSC, ETC, ...): `0x` + 40 hex digits; the mixed case is only an
 *     EIP-55 checksum, so compare case-insensitively (lower case).
 *   - bech32/bech32m (bc1..., tb1..., ltc1..., bcrt1...): case-insensitive by spec (lower case); a
 *     mixed-case string is not valid bech32 and stays as it is.
 *   - CashAddr (Bitcoin Cash, `bitcoincash:q...`): case-insensitive, the prefix optional (lower case,
 *     prefix dropped, which is how the OFAC lists write it).
 *   - everything else (base58: legacy BTC, LTC, TRX, XMR, ZEC, DASH, XRP, ...): case-sensitive, exact.
 * Surrounding whitespace never matters.
 */

export type AddressFormat = 'evm' | 'bech32' | 'cashaddr' | 'exact';

const EVM = /^0x[0-9a-fA-F]{40}$/;
// Human-readable part, separator `1`, then data from the bech32 alphabet (which has no 1, b, i, o).
const BECH32 = /^[a-zA-Z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$/;
const CASHADDR = /^(?:(?:bitcoincash|bchtest|bchreg):)?[qpQP][02-9ac-hj-np-zAC-HJ-NP-Z]{41}$/;

function singleCase(s: string): boolean {
  return s === s.toLowerCase() || s === s.toUpperCase();
}

/** The format an address is compared in. */
export function addressFormat(address: string): AddressFormat {
  const a = address.trim();
  if (EVM.test(a)) return 'evm';
  if (CASHADDR.test(a) && singleCase(a)) return 'cashaddr';
  if (BECH32.test(a) && singleCase(a)) return 'bech32';
  return 'exact';
}

/** The address in the form its chain compares: equal outputs mean the same destination. */
export function normaliseAddress(address: string): string {
  const a = address.trim();
  switch (addressFormat(a)) {
    case 'evm':
    case 'bech32':
      return a.toLowerCase();
    case 'cashaddr': {
      const lower = a.toLowerCase();
      const colon = lower.indexOf(':');
      return colon >= 0 ? lower.slice(colon + 1) : lower;
    }
    case 'exact':
      return a;
  }
}
