import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './env';

/**
 * A broker and a Redis of a test's own, on free ports, for tests that kill them (the shared ones are never
 * touched). Each keeps its files under a directory the test gives and is stopped by stop(), even when
 * killed before.
 */
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A single-node Kafka started by scripts/kafka.sh with its own ports and run directory. */
export class OwnKafka {
  port = 0;
  private controllerPort = 0;

  constructor(private readonly dir: string) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      KAFKA_RUN_DIR: this.dir,
      KAFKA_HEAP: '384m',
      KAFKA_START_TIMEOUT: '90',
    };
  }

  async start(): Promise<void> {
    if (this.port === 0) {
      this.port = await freePort();
      this.controllerPort = await freePort();
    }
    await run('bash', [path.join(ROOT, 'scripts/kafka.sh'), 'start'], { env: this.env(), timeout: 120_000 });
  }

  private pid(): number | undefined {
    const file = path.join(this.dir, 'kafka.pid');
    return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').trim()) : undefined;
  }

  /** kill -9 of the broker; its data stays for the next start(). */
  async kill(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 20_000);
  }

  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid !== undefined && alive(pid)) {
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !alive(pid), 20_000).catch(() => undefined);
    }
  }
}

/** redis-server with AOF (`appendfsync always`) in a directory of its own. */
export class OwnRedis {
  port = 0;
  private child?: ChildProcess;

  constructor(private dir: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    fs.mkdirSync(this.dir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        this.dir,
        '--logfile',
        path.join(this.dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    await waitFor(async () => {
      try {
        const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), 'ping']);
        return stdout.trim() === 'PONG';
      } catch {
        return false;
      }
    }, 20_000);
  }

  /** kill -9; with `loseData` the next start() begins on an empty directory (no AOF to load). */
  async kill(loseData = false): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    if (loseData) {
      this.dir = `${this.dir}-empty`;
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}

/**
 * A service process from dist/, its output appended to a log file, restarted when it exits on its own (as
 * its supervisor would: a service that cannot work exits non-zero to be restarted).
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private wanted = false;

  constructor(
    private readonly main: string,
    private readonly env: () => NodeJS.ProcessEnv,
    private readonly log: string,
  ) {}

  start(): void {
    this.wanted = true;
    const out = fs.openSync(this.log, 'a');
    const child = spawn(process.execPath, [this.main], { env: this.env(), stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.child = child;
    child.once('exit', () => {
      if (this.child !== child || !this.wanted) return;
      this.child = undefined;
      setTimeout(() => {
        if (this.wanted && !this.child) this.start();
      }, 500);
    });
  }

  /** Stops it (kill -9 unless told otherwise) and keeps it stopped. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.wanted = false;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  /** kill -9, then a new process. */
  async restart(): Promise<void> {
    await this.kill();
    this.start();
  }
}
