import fs from 'node:fs';
import { ConfigError, errorMessage } from '../../libs/errors';
import { OperatorRegistry, type Operator, type OperatorVerifier, type Role } from './operators';

/**
 * The static operators from BULWARK_OPERATORS_FILE, re-read when the file changes (polled, so a replaced
 * file or a swapped symlink is seen too) or on demand (SIGHUP). A new list replaces the old one only when
 * it parses and passes the same checks as at start; otherwise the old list stays and the error is
 * reported. A removed operator's token stops working with the next reload.
 */
export interface ReloadOutcome {
  outcome: 'changed' | 'unchanged' | 'error';
  trigger: string;
  /** The error, naming the entry; never a salt or hash. */
  error?: string;
  names?: string[];
}

export class OperatorFile implements OperatorVerifier {
  private listener?: (r: ReloadOutcome) => void;
  private watching = false;

  private constructor(
    readonly path: string,
    private readonly check: (ops: OperatorRegistry) => void,
    private current: OperatorRegistry,
    private text: string,
  ) {}

  /** Reads and checks the file; a ConfigError names the problem (the process should not start). */
  static load(path: string, check: (ops: OperatorRegistry) => void = () => {}): OperatorFile {
    const text = read(path);
    const ops = OperatorRegistry.parse(text, 'BULWARK_OPERATORS_FILE');
    check(ops);
    return new OperatorFile(path, check, ops, text);
  }

  verify(token: string): Operator | null {
    return this.current.verify(token);
  }

  get names(): string[] {
    return this.current.names;
  }

  withRole(role: Role): string[] {
    return this.current.withRole(role);
  }

  /** Re-reads the file now; the outcome also goes to the watch listener. */
  reload(trigger = 'request'): ReloadOutcome {
    let outcome: ReloadOutcome;
    try {
      const text = read(this.path);
      if (text === this.text) outcome = { outcome: 'unchanged', trigger };
      else {
        const ops = OperatorRegistry.parse(text, 'BULWARK_OPERATORS_FILE');
        this.check(ops);
        this.current = ops;
        this.text = text;
        outcome = { outcome: 'changed', trigger, names: ops.names };
      }
    } catch (err) {
      outcome = { outcome: 'error', trigger, error: errorMessage(err) };
    }
    this.listener?.(outcome);
    return outcome;
  }

  /** Polls the file every `intervalMs` and reloads on a change; `listener` hears every reload. */
  watch(intervalMs: number, listener: (r: ReloadOutcome) => void): void {
    this.listener = listener;
    if (this.watching) return;
    this.watching = true;
    fs.watchFile(this.path, { interval: intervalMs, persistent: false }, () => this.reload('file changed'));
  }

  stop(): void {
    if (this.watching) fs.unwatchFile(this.path);
    this.watching = false;
    this.listener = undefined;
  }
}

function read(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `BULWARK_OPERATORS_FILE=${JSON.stringify(path)}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * At least two operators must be able to resume, or the first halt could never be lifted (four eyes).
 * With JWT operators configured the identity provider supplies them, so static ones may be fewer.
 */
export function requireResumers(jwtConfigured: boolean): (ops: OperatorRegistry) => void {
  return (ops) => {
    if (!jwtConfigured && ops.withRole('resume').length < 2)
      throw new ConfigError(
        'BULWARK_OPERATORS: at least 2 operators with the resume role are needed (four eyes); make lines with hash-token, or configure BULWARK_OIDC_*',
      );
  };
}
