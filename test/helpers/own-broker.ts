import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/kafka.sh');

/** A port nobody listens on right now (the kernel's choice). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A Kafka broker of the test's own (scripts/kafka.sh on free ports, its own run directory), for tests that
 * stop or restart a broker: the shared one on 9092 is never touched. The jars come from BULWARK_CACHE (or
 * the repo's .cache), fetched once by `scripts/kafka.sh fetch`.
 */
export class OwnBroker {
  readonly runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-broker-'));
  port = 0;
  private controllerPort = 0;

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      KAFKA_RUN_DIR: this.runDir,
      KAFKA_HEAP: process.env.KAFKA_HEAP ?? '384m',
      KAFKA_START_TIMEOUT: '150',
    };
  }

  async start(): Promise<void> {
    if (this.port === 0) {
      this.port = await freePort();
      this.controllerPort = await freePort();
    }
    await run('bash', [SCRIPT, 'start'], { env: this.env(), timeout: 180_000 });
  }

  async stop(): Promise<void> {
    if (this.port === 0) return;
    await run('bash', [SCRIPT, 'stop'], { env: this.env(), timeout: 60_000 });
  }

  /** Stops the broker and deletes its data. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }
}
