import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { StateStoreError, errorMessage } from '../errors';
import { stateEpochKey } from '../keys';
import type { Redis } from '../redis';
import { CompiledScripts } from './compiled-scripts';

/** The epoch marker as stored (see lua/checkEpoch-1.lua). */
export interface EpochRecord {
  id: string;
  createdAt: string;
  /** Set while a loss of Redis's data is not yet acknowledged by operators (wall clock, ISO). */
  lostAt?: string;
  lostBy?: string;
  /** The breaker halted global for this loss. */
  breakerHaltedAt?: string;
  /** The detector group was sought back and the windows are being rebuilt from Kafka. */
  rebuiltAt?: string;
  /** Operators resumed global after the loss (four eyes): the loss is acknowledged. */
  acknowledgedAt?: string;
}

export type EpochStatus = 'ok' | 'created' | 'lost';

export interface EpochCheck {
  status: EpochStatus;
  record: EpochRecord;
}

type Step = 'breakerHaltedAt' | 'rebuiltAt';

/**
 * The state epoch: a marker written at the first start on an empty Redis and checked on every tick, so a
 * Redis that lost its data (restarted without persistence, flushed, failed over to an empty replica) is a
 * detected loss instead of a silent fresh start. One per process; it remembers the epoch it saw last.
 */
export class StateEpoch {
  private readonly key: string;
  private readonly scripts = new CompiledScripts<'checkEpoch' | 'markEpoch'>(path.join(__dirname, 'lua'), [
    'checkEpoch',
    'markEpoch',
  ]);
  private known = '';

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly component: 'detector' | 'breaker',
  ) {
    this.key = stateEpochKey(prefix);
  }

  /**
   * Reads the marker, writing it where missing. `heldStateBefore`: the caller has evidence outside Redis that
   * this Redis held its state (so a missing marker at start-up is a loss, not a first start).
   */
  async check(opts: { heldStateBefore?: boolean; nowIso?: string } = {}): Promise<EpochCheck> {
    const reply = await this.call<string[]>('checkEpoch', [
      this.known,
      randomUUID(),
      opts.nowIso ?? new Date().toISOString(),
      this.component,
      opts.heldStateBefore ? '1' : '0',
    ]);
    const fields: Record<string, string> = {};
    for (let i = 1; i + 1 < reply.length; i += 2) fields[reply[i]!] = reply[i + 1]!;
    const record = fields as unknown as EpochRecord;
    this.known = record.id;
    return { status: reply[0] as EpochStatus, record };
  }

  /** Records a recovery step of the current epoch's loss; false when the marker is another epoch's. */
  async mark(step: Step, atIso = new Date().toISOString()): Promise<boolean> {
    return (await this.call<number>('markEpoch', [this.known, step, atIso, '0'])) === 1;
  }

  /** Operators have looked (they resumed global): the loss no longer alerts. */
  async acknowledge(atIso = new Date().toISOString()): Promise<boolean> {
    return (await this.call<number>('markEpoch', [this.known, 'acknowledgedAt', atIso, '1'])) === 1;
  }

  private async call<T>(name: 'checkEpoch' | 'markEpoch', args: string[]): Promise<T> {
    try {
      return await this.scripts.run<T>(this.redis, name, [this.key], args);
    } catch (err) {
      throw new StateStoreError(`state epoch ${name}: ${errorMessage(err)}`, err);
    }
  }
}
