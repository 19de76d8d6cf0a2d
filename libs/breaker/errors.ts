import { BulwarkError } from '../errors';

/**
 * Codes a caller can branch on (after opossum's `EOPENBREAKER`): the HTTP layer maps them to status codes,
 * and none of them is retriable, because retrying the same request gives the same answer.
 */
export type BreakerErrorCode =
  | 'EUNKNOWNSCOPE' // not `global` nor `asset:<TICKER>`
  | 'EBADASSET' // not an upper-case ticker
  | 'EBADREQUEST' // a missing or malformed argument (reason, operator)
  | 'ENOTHALTED'; // a resume was requested for a scope that is open

export class BreakerError extends BulwarkError {
  declare readonly code: BreakerErrorCode;

  constructor(code: BreakerErrorCode, message: string, context: Record<string, unknown> = {}) {
    super(message, { code, retriable: false, context });
  }
}
