import net from 'node:net';
import { BulwarkError, StateStoreError } from '../errors';
import {
  UnreachableError,
  describeLostDependency,
  requireKafkaReachable,
  requireRedisReachable,
} from './reachable';

/** A local port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function errorOf(p: Promise<unknown>): Promise<UnreachableError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UnreachableError);
    return err as UnreachableError;
  }
  throw new Error('expected an UnreachableError');
}

describe('start-up reachability', () => {
  // ioredis keeps a never-connected socket's 2 s disconnect timer alive after disconnect(); let it fire so
  // Jest sees no open handle.
  afterAll(() => new Promise((r) => setTimeout(r, 2100)));

  it('names BULWARK_KAFKA_BROKERS when no broker accepts a connection', async () => {
    const port = await closedPort();
    const err = await errorOf(requireKafkaReachable([`127.0.0.1:${port}`], { attempts: 1 }));
    expect(err.message).toBe(
      `cannot reach Kafka at BULWARK_KAFKA_BROKERS=127.0.0.1:${port} (127.0.0.1:${port} ECONNREFUSED): ` +
        'start the broker or set BULWARK_KAFKA_BROKERS',
    );
  });

  it('is satisfied by any one broker that accepts', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      await expect(
        requireKafkaReachable([`127.0.0.1:${await closedPort()}`, `127.0.0.1:${port}`], { attempts: 1 }),
      ).resolves.toBeUndefined();
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('names BULWARK_REDIS_URL without its password when Redis does not answer', async () => {
    const port = await closedPort();
    const err = await errorOf(requireRedisReachable(`redis://app:s3cret@127.0.0.1:${port}`));
    expect(err.message).toBe(
      `cannot reach Redis at BULWARK_REDIS_URL=redis://app:***@127.0.0.1:${port} (ECONNREFUSED): ` +
        'start Redis or set BULWARK_REDIS_URL',
    );
  });

  it('says which dependency a failure mid-run came from', () => {
    const kafka = Object.assign(new Error('Connection error: connect ECONNREFUSED'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
    });
    expect(describeLostDependency(kafka, { brokers: ['k:1'] })).toBe(
      'lost Kafka at BULWARK_KAFKA_BROKERS=k:1: Connection error: connect ECONNREFUSED',
    );
    expect(
      describeLostDependency(new StateStoreError('rule engine: Connection is closed.'), {
        redisUrl: 'redis://:pw@r:1',
        redisProblem: 'ECONNRESET',
      }),
    ).toBe(
      'lost Redis at BULWARK_REDIS_URL=redis://:***@r:1 (ECONNRESET): rule engine: Connection is closed.',
    );
    expect(
      describeLostDependency(new BulwarkError('other', { code: 'X' }), { redisUrl: 'redis://r:1' }),
    ).toBe(undefined);
  });
});
