/**
 * One error hierarchy for Bulwark (after KafkaJS): every error says whether retrying can help and carries
 * the context needed to act on it. Retry logic looks only at `retriable`.
 */
export class BulwarkError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly context: Record<string, unknown>;

  constructor(
    message: string,
    opts: { code: string; retriable?: boolean; cause?: unknown; context?: Record<string, unknown> },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.retriable = opts.retriable ?? false;
    this.context = opts.context ?? {};
    // Reliable instanceof across Jest realms and transpilation targets.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Invalid configuration: the process must stop at start with this message. */
export class ConfigError extends BulwarkError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, { code: 'ECONFIG', retriable: false, context });
  }
}

/** Redis could not be reached or answered with an error; the caller pauses and retries. */
export class StateStoreError extends BulwarkError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'ESTATESTORE', retriable: true, cause });
  }
}

/** A bad command-line argument: print usage and exit 2. */
export class UsageError extends BulwarkError {
  constructor(message: string) {
    super(message, { code: 'EUSAGE', retriable: false });
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof BulwarkError ? err.retriable : false;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a file could not be opened, in words a user knows ("no such file"), else the system's code. */
export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? errorMessage(err);
}
