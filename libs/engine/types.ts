import type { BulwarkEvent } from '../events';
import type { Severity } from '../rules';
import type { PendingRef } from './index-members';

/** An event and where it came from: `"<topic>/<partition>"` live, or `"replay"`. */
export interface SourcedEvent {
  event: BulwarkEvent;
  source: string;
}

/** One flag raised on a withdrawal.approved (contract section 5), as produced to risk.flags.v1. */
export interface Flag {
  /** `<ruleId>:<withdrawalId>`: deterministic, so consumers dedupe a flag produced twice. */
  flagId: string;
  ruleId: string;
  severity: Severity;
  userId: string;
  withdrawalId: string;
  /** The approval's eventId. */
  eventId: string;
  /** The approval's occurredAt. */
  occurredAt: string;
  /**
   * Event time (ISO) at which the decision was made: the approval's occurredAt for rules that decide at
   * once, occurredAt + grace for rules that waited for the auth stream.
   */
  raisedAt: string;
  asset: string;
  amountUsd: number;
  /** Why: rule-specific facts; times as `...AtMs` numbers with ISO twins (`at`, `loginAt`, ...). */
  evidence: Record<string, unknown>;
}

export interface ApplyResult {
  /**
   * Flags raised by this batch, plus the unacked flags of any duplicate event in it (a crash between
   * deciding and producing loses nothing); each flagId at most once.
   */
  flags: Flag[];
  /** Per input event, in order. */
  outcomes: ('applied' | 'duplicate')[];
}

/**
 * Pending decisions to decide inside an applyBatch, right before event `before` of the batch (the batch's
 * length: after its last event), at event time `watermarkMs`. An ordered stream (in-process replay) knows
 * when its event time passes each approval's due time, and deciding there in the same batch gives the
 * decision a line-by-line stream would make without a call per due time.
 */
export interface InlineClose {
  before: number;
  watermarkMs: number;
  refs: PendingRef[];
}

export interface ApplyOptions {
  /** The newest watermark the caller knows: facts are never trimmed past it. */
  watermarkMs?: number;
  closes?: InlineClose[];
}
