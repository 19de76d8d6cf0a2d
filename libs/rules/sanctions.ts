import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors';
import { normaliseAddress } from './address';

/**
 * Sanctions lists in the layout of the OFAC digital-currency address lists: one file per asset ticker named
 * `sanctioned_addresses_<TICKER>.txt` (XBT is Bitcoin), one address a line. Loaded once at start-up into
 * sets of normalised addresses; a lookup checks every list, because one address can be listed under another
 * asset (an ETH address on the USDT list) and a withdrawal's asset says little about the chain it lands on.
 */
export class SanctionsLists {
  /** How many addresses in all. */
  readonly size: number;
  /** Normalised address -> tickers of the lists holding it (sorted): one lookup per withdrawal. */
  private readonly union = new Map<string, string[]>();

  constructor(
    /** Where the lists were read from. */
    readonly dir: string,
    /** Ticker -> normalised addresses. */
    readonly byTicker: ReadonlyMap<string, ReadonlySet<string>>,
  ) {
    let n = 0;
    for (const [ticker, set] of byTicker) {
      n += set.size;
      for (const a of set) {
        const tickers = this.union.get(a);
        if (tickers) tickers.push(ticker);
        else this.union.set(a, [ticker]);
      }
    }
    for (const tickers of this.union.values()) tickers.sort();
    this.size = n;
  }

  /** Tickers of every list holding `address` (normalised per its format), sorted; empty when none. */
  matches(address: string): string[] {
    return this.matchesNormalised(normaliseAddress(address));
  }

  /** As matches(), for an address already normalised (the hot path normalises once). */
  matchesNormalised(normalised: string): string[] {
    const tickers = this.union.get(normalised);
    return tickers ? [...tickers] : [];
  }

  /**
   * True when `address` is on any list. `asset` does not narrow the search (an ETH address may sit on the
   * USDT list); it is in the signature so callers say what they check and a per-chain refinement has it.
   */
  isSanctioned(address: string, _asset?: string): boolean {
    return this.union.has(normaliseAddress(address));
  }
}

const FILE = /^sanctioned_addresses_([A-Za-z0-9]+)\.txt$/;

/** Parses one list file's text: blank lines and `#` comments are skipped. */
export function parseSanctionsList(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    out.add(normaliseAddress(line));
  }
  return out;
}

/** Builds lists from in-memory text per ticker (tests, and callers that fetch lists elsewhere). */
export function sanctionsFromText(byTicker: Record<string, string>, dir = '(memory)'): SanctionsLists {
  const map = new Map<string, ReadonlySet<string>>();
  for (const [ticker, text] of Object.entries(byTicker))
    map.set(ticker.toUpperCase(), parseSanctionsList(text));
  return new SanctionsLists(dir, map);
}

/**
 * Reads every `sanctioned_addresses_<TICKER>.txt` in `dir`. Throws ConfigError naming `field`, the directory
 * and how to point Bulwark elsewhere when it is missing or holds no list.
 */
export function loadSanctionsLists(dir: string, field = 'listsDir'): SanctionsLists {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(
      `${field}: cannot read the sanctions lists directory ${dir} (${code}); set the rule's params.listsDir ` +
        'or BULWARK_SANCTIONS_DIR to a folder of sanctioned_addresses_<TICKER>.txt files',
      { dir },
    );
  }
  const texts: Record<string, string> = {};
  for (const name of entries.sort()) {
    const m = FILE.exec(name);
    if (m) texts[m[1]!] = fs.readFileSync(path.join(dir, name), 'utf8');
  }
  if (Object.keys(texts).length === 0) {
    throw new ConfigError(
      `${field}: ${dir} holds no sanctioned_addresses_<TICKER>.txt file; point params.listsDir or ` +
        'BULWARK_SANCTIONS_DIR at the OFAC lists folder',
      { dir },
    );
  }
  return sanctionsFromText(texts, dir);
}

const cache = new Map<string, SanctionsLists>();

/** loadSanctionsLists, read once per directory per process (several rule instances may share a folder). */
export function sanctionsListsFor(dir: string, field?: string): SanctionsLists {
  const key = path.resolve(dir);
  let lists = cache.get(key);
  if (!lists) {
    lists = loadSanctionsLists(key, field);
    cache.set(key, lists);
  }
  return lists;
}
