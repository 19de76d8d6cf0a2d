import net from 'node:net';
import { serviceEnv } from '../helpers/service-env';
import { newOperatorLine } from '../../services/breaker/operators';
import { provisionTopics, realStack, waitFor } from '../helpers/env';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process';

/**
 * Hostile HTTP against the real services (issue 11): a breaker and a detector run from dist/ on their own
 * topics and keys; a seeded mix of malformed request lines, methods, headers and bodies, slow clients and
 * bursts of connections goes at both (127.0.0.1 only, bounded in count and time). Both must still be up and
 * answering, the breaker must still take a valid operator halt, and neither may log a stack for it.
 */
jest.setTimeout(120000);

const SEED = Number(process.env.BULWARK_FUZZ_SEED ?? 20261201);

/** mulberry32: a small seeded PRNG, so a failing run can be repeated with BULWARK_FUZZ_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}
type Rng = ReturnType<typeof prng>;

const LIMITS = {
  BULWARK_HTTP_HEADERS_TIMEOUT_MS: '1000',
  BULWARK_HTTP_REQUEST_TIMEOUT_MS: '2000',
  BULWARK_HTTP_KEEPALIVE_TIMEOUT_MS: '1000',
  BULWARK_HTTP_SOCKET_TIMEOUT_MS: '3000',
  BULWARK_HTTP_MAX_CONNECTIONS: '200',
  BULWARK_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '40',
  BULWARK_HTTP_MAX_BODY_BYTES: '16384',
};

const METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'CONNECT',
  'G3T',
  'get',
  '',
];
const TARGETS = [
  '/',
  '//[',
  'http://[',
  '//a:99999',
  'http://127.0.0.1:1/healthz',
  '*',
  '/healthz',
  '/readyz',
  '/metrics',
  '/v1/breaker/halt',
  '/v1/breaker/resume',
  '/v1/breaker/audit?limit=-1',
  '/v1/withdrawals/status?asset=%00%ff',
  '/v1/withdrawals/status?asset=eth',
  '/%zz',
  '/..%2f..%2fetc/passwd',
  '/\u202egnp.exe',
  `/${'a'.repeat(9000)}`,
  `/healthz?${'a=b&'.repeat(2000)}`,
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1 extra', 'ftp/1', ''];

function randomHeaders(r: Rng, token: string): string[] {
  const h: string[] = [];
  if (r.next() < 0.9) h.push('Host: 127.0.0.1');
  const extra = [
    () => `Authorization: Bearer ${r.pick(['', 'x', token.slice(0, 10), 'a'.repeat(5000), token + 'x'])}`,
    () => 'Authorization: Basic YWxpY2U6c2VjcmV0',
    () => `Content-Type: ${r.pick(['application/json', 'text/plain', '', '\u0000'])}`,
    () => `Content-Length: ${r.pick(['-1', '99999999999999999999', 'abc', '5, 6', '0'])}`,
    () => 'Transfer-Encoding: chunked',
    () => 'Transfer-Encoding: gzip, chunked',
    () => `X-${r.bytes(8).toString('hex')}: ${r.bytes(16).toString('latin1')}`,
    () => `Bad Header Name: x`,
    () => `X-Huge: ${'h'.repeat(20000)}`,
    () => 'Expect: 100-continue',
    () => 'Connection: keep-alive',
    () => ': no name',
  ];
  for (let i = r.int(4); i > 0; i--) h.push(r.pick(extra)());
  return h;
}

function randomBody(r: Rng): { headers: string[]; body: Buffer } {
  const kind = r.int(7);
  if (kind === 0) return { headers: [], body: Buffer.alloc(0) };
  if (kind === 1) {
    const b = r.bytes(r.int(2000));
    return { headers: [`Content-Length: ${b.length}`], body: b };
  }
  if (kind === 2) {
    const b = Buffer.from(
      JSON.stringify({ scope: r.pick(['global', 'asset:ETH', 'nope', '']), reason: 'fuzz' }),
    );
    return { headers: [`Content-Length: ${b.length}`], body: b };
  }
  if (kind === 3) {
    const b = Buffer.from('['.repeat(10000));
    return { headers: [`Content-Length: ${b.length}`], body: b };
  }
  if (kind === 4) {
    const b = Buffer.alloc(200_000, 0x41); // over the body cap
    return { headers: [`Content-Length: ${b.length}`], body: b };
  }
  if (kind === 5) {
    // Chunked, with a mix of valid and broken chunk framing.
    const parts = [`5\r\nhello\r\n`, `zz\r\nbad\r\n`, `ffffffffffff\r\n`, `3\r\nabc\r\n`, `0\r\n\r\n`];
    return {
      headers: ['Transfer-Encoding: chunked'],
      body: Buffer.from(Array.from({ length: 1 + r.int(4) }, () => r.pick(parts)).join('')),
    };
  }
  return { headers: ['Content-Length: 10'], body: Buffer.from('{"sc') }; // shorter than announced
}

interface Outcome {
  status: string; // the status code, or 'closed' (cut without an answer)
  text: string;
}

/** One raw exchange: writes `payload` (maybe in pieces) and reads until the server closes, at most `ms`. */
function exchange(port: number, payload: Buffer, r: Rng, ms = 6000): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const finish = () => {
      clearTimeout(t);
      s.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      resolve({ status: m ? m[1]! : 'closed', text: got });
    };
    const t = setTimeout(finish, ms);
    s.on('connect', () => {
      const cut = r.next() < 0.3 ? r.int(payload.length + 1) : payload.length;
      s.write(payload.subarray(0, cut));
      if (cut < payload.length) setTimeout(() => s.writable && s.write(payload.subarray(cut)), 50);
    });
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', finish);
  });
}

function randomRequest(r: Rng, token: string): Buffer {
  if (r.next() < 0.1) return r.bytes(1 + r.int(300)); // pure garbage
  const line = `${r.pick(METHODS)} ${r.pick(TARGETS)} ${r.pick(VERSIONS)}`.trim();
  const { headers: bodyHeaders, body } = randomBody(r);
  const head = [line, ...randomHeaders(r, token), ...bodyHeaders].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]);
}

/** Slow clients: trickled headers, an endless chunked body, an announced body never sent. Resolves when cut. */
function slowClient(port: number, kind: number, token: string): Promise<'cut' | 'held'> {
  const halt = 'POST /v1/breaker/halt HTTP/1.1\r\nHost: x\r\n';
  const first = [
    'GET /healthz HTTP/1.1\r\nHost: x\r\n',
    `${halt}Transfer-Encoding: chunked\r\n\r\n`,
    `${halt}Content-Length: 5000\r\n\r\n`,
    // Authenticated, so the breaker reads this body: only the request timeout ends it.
    `${halt}Authorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`,
  ][kind % 4]!;
  const drip = ['X-a: b\r\n', '1\r\na\r\n', '', '1\r\n \r\n'][kind % 4]!;
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(first));
    let n = 0;
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    const t = setInterval(() => {
      // 150 drips of 100 ms: fifteen seconds, far longer than any limit configured above.
      if (++n > 150) {
        clearInterval(t);
        s.destroy();
        process.stdout.write(`held kind ${kind} port ${port} ${JSON.stringify(got)}\n`);
        resolve('held');
      } else if (drip && s.writable) s.write(drip);
    }, 100);
    s.on('error', () => undefined);
    s.on('close', () => {
      clearInterval(t);
      resolve(n > 150 ? 'held' : 'cut');
    });
  });
}

async function getJson(port: number, path: string, init: RequestInit = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * Opens `n` connections and holds them idle (a connection-exhaustion attack), waits until the server has
 * closed all it must refuse (at least `n - cap`), then sends a request on each survivor.
 */
async function burstOf(port: number, n: number, cap: number) {
  let closed = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', () => resolve(s));
          s.once('close', () => closed++);
        }),
    ),
  );
  await waitFor(() => closed >= n - cap, 10000, 20);
  const open = sockets.filter((s) => !s.destroyed);
  const outcomes = await Promise.all(
    open.map(
      (s) =>
        new Promise<Outcome>((resolve) => {
          let got = '';
          s.on('data', (d: Buffer) => (got += d.toString('latin1')));
          s.on('close', () =>
            resolve({ status: /^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 'closed', text: got }),
          );
          s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        }),
    ),
  );
  // A refusal still on its way when the request went out closes without a byte, like the ones before it.
  const late = outcomes.filter((o) => o.text === '').length;
  const answers = outcomes.filter((o) => o.text !== '');
  const refused = n - open.length + late;
  return { refused, answers };
}

/** Runs `fns` with at most `width` at once. */
async function inWaves<T>(fns: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < fns.length; i += width)
    out.push(...(await Promise.all(fns.slice(i, i + width).map((f) => f()))));
  return out;
}

describe('HTTP fuzz against the running breaker and detector', () => {
  const { kafka, fresh } = realStack();
  const services: ServiceProcess[] = [];
  afterAll(async () => {
    for (const s of services) await s.stop();
  });

  it('survives malformed requests, slow clients and bursts, and still halts on a valid operator call', async () => {
    const prefix = fresh('http-fuzz');
    await provisionTopics(kafka, prefix, 2);
    const alice = newOperatorLine('alice');
    const bob = newOperatorLine('bob');
    const common = {
      ...serviceEnv(prefix, { partitions: 2 }),
      BULWARK_LOG_LEVEL: 'info',
      ...LIMITS,
    };
    const [breaker, detector] = await Promise.all([
      startServiceProcess('breaker', {
        ...common,
        BULWARK_BREAKER_PORT: '0',
        BULWARK_OPERATORS: `${alice.line},${bob.line}`,
        // The fuzz fails hundreds of logins from 127.0.0.1; the operator call at the end comes from there too.
        BULWARK_AUTH_FAILURES_PER_MIN: '1000000',
      }),
      startServiceProcess('detector', { ...common, BULWARK_DETECTOR_PORT: '0', BULWARK_TICK_MS: '200' }),
    ]);
    services.push(breaker, detector);
    for (const s of [breaker, detector])
      await waitFor(async () => (await getJson(s.port, '/readyz')).status === 200, 60000);

    const r = prng(SEED);
    const ports = [breaker.port, detector.port];
    const started = Date.now();

    // 1. A few hundred random, malformed requests, ten at a time.
    const outcomes = await inWaves(
      Array.from({ length: 300 }, () => {
        const port = r.pick(ports);
        const payload = randomRequest(r, alice.token);
        const rr = prng(r.int(2 ** 31));
        return () => exchange(port, payload, rr);
      }),
      10,
    );
    // 2. Slow clients on both services at once, while ordinary requests keep being answered.
    const slow = Promise.all(
      Array.from({ length: 32 }, (_, i) => slowClient(ports[i % 2]!, i >> 1, alice.token)),
    );
    const during = await inWaves(
      Array.from({ length: 20 }, () => () => getJson(breaker.port, '/v1/withdrawals/status')),
      5,
    );
    // 3. A burst: more connections to the breaker at once than the per-address cap, then a request on each.
    const burst = await burstOf(breaker.port, 80, Number(LIMITS.BULWARK_HTTP_MAX_CONNECTIONS_PER_ADDRESS));
    const slowResults = await slow;
    const elapsed = Date.now() - started;

    const histogram: Record<string, number> = {};
    for (const o of [...outcomes, ...burst.answers]) histogram[o.status] = (histogram[o.status] ?? 0) + 1;
    process.stdout.write(
      `http fuzz seed ${SEED}: ${JSON.stringify(histogram)}, burst ${burst.refused} refused, in ${elapsed} ms\n`,
    );

    // Nothing the fuzz sent was an internal error, and no answer carried a stack trace.
    expect(histogram['500']).toBeUndefined();
    expect([...outcomes, ...burst.answers].filter((o) => /\n\s+at /.test(o.text))).toEqual([]);
    // Every slow client was cut by the server, none outlived the limits.
    expect(slowResults.filter((x) => x === 'held')).toEqual([]);
    expect(during.every((d) => d.status === 200 && d.body.allowed === true)).toBe(true);
    // The burst met the per-address cap: the excess refused at once, every admitted one answered.
    expect(burst.refused).toBeGreaterThanOrEqual(40);
    expect(burst.answers.length).toBeGreaterThan(0);
    expect(burst.answers.filter((o) => o.status !== '200')).toEqual([]);

    // Both services are up and answer as before.
    for (const s of [breaker, detector]) {
      expect(s.running()).toBe(true);
      await waitFor(async () => (await getJson(s.port, '/healthz')).status === 200);
      expect(await getJson(s.port, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await getJson(s.port, '/readyz')).toMatchObject({ status: 200, body: { ready: true } });
    }
    expect(await getJson(breaker.port, '/v1/withdrawals/status')).toMatchObject({
      status: 200,
      body: { allowed: true, scope: 'global', state: 'open' },
    });
    const metrics = await (await fetch(`http://127.0.0.1:${breaker.port}/metrics`)).text();
    expect(metrics).toMatch(/bulwark_http_client_errors_total\{reason="malformed"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/bulwark_http_connections_refused_total\{reason="per-address"[^}]*\} [1-9]/);

    // A valid operator halt still works.
    const halt = await getJson(breaker.port, '/v1/breaker/halt', {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'global', reason: 'http fuzz finished' }),
    });
    expect(halt).toMatchObject({ status: 200, body: { changed: true, state: 'halted' } });
    expect(await getJson(breaker.port, '/v1/withdrawals/status')).toMatchObject({
      status: 200,
      body: { allowed: false, state: 'halted' },
    });

    // Clean logs: client faults are debug-only, so the HTTP layer logged nothing at info or above, and no
    // line anywhere carries a stack.
    for (const s of [breaker, detector]) {
      expect(s.lines.filter((l) => String(l.component ?? '').endsWith('http') && l.level >= 30)).toEqual([]);
      expect(s.lines.filter((l) => JSON.stringify(l).includes('"stack"'))).toEqual([]);
      expect(s.other.filter((l) => /\n\s+at |Error/.test(l))).toEqual([]);
    }
  });
});
