import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HttpError, ServiceHttp, type HttpLimits } from './server';

/**
 * The server's error policy and limits, through real sockets on 127.0.0.1: every hostile request fails that
 * request (or connection), the server keeps answering, and client faults log at debug without stacks.
 */
jest.setTimeout(20000);

interface LogLine {
  level: number;
  msg: string;
  err?: unknown;
  [k: string]: unknown;
}

const servers: ServiceHttp[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function start(limits: Partial<HttpLimits> = {}) {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  const registry = new Registry();
  const opts = {
    port: 0,
    registry,
    logger: pino({ level: 'debug' }, sink),
    ready: () => ({ ready: true, reasons: [] }),
    limits,
  };
  const http = new ServiceHttp(opts);
  const seen = { reading: 0 };
  http.route('POST', '/echo', async (req) => {
    seen.reading++;
    return { status: 200, body: { got: await req.json() } };
  });
  http.route('POST', '/guarded', async (req) => {
    if (req.headers.authorization !== 'Bearer ok')
      throw new HttpError(401, { error: 'missing bearer token' });
    return { status: 200, body: { got: await req.json() } };
  });
  http.route('GET', '/boom', () => {
    throw new Error('a bug in a route');
  });
  servers.push(http);
  const port = await http.listen();
  return { port, lines, registry, seen };
}

/** Sends raw bytes and collects what comes back until the server closes the connection. */
function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.setTimeout(15000, () => s.destroy(new Error(`no close from the server; got ${JSON.stringify(got)}`)));
  });
}

/** Opens a socket that keeps `drip` going every 100 ms; resolves with what it read once the server closed it. */
function dripping(port: number, first: string, drip: () => string): Promise<{ got: string; drips: number }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(first));
    let got = '';
    let drips = 0;
    const t = setInterval(() => {
      drips++;
      // 100 drips is ten seconds, far beyond the limits under test: the server never cut the client.
      if (drips > 100) s.destroy();
      else if (s.writable) s.write(drip());
    }, 100);
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearInterval(t);
      resolve({ got, drips });
    });
  });
}

/** Polls until `fn` holds (tests never assert on timing). */
async function eventually(fn: () => Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function healthz(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  return (await m.get()).values
    .filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))
    .reduce((s, v) => s + v.value, 0);
}

const noStacks = (lines: LogLine[]) => lines.filter((l) => /\n\s+at /.test(JSON.stringify(l)) || l.err);

describe('ServiceHttp: no request stops the server', () => {
  it.each([
    ['//[', 400],
    ['http://[', 400],
    // A well-formed origin-form path (empty first segment) that no route serves; it used to throw in URL.
    ['//a:99999', 404],
  ])('answers GET %s with %i and keeps serving', async (target, status) => {
    const { port, registry, lines } = await start();
    const got = await raw(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(got).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(await healthz(port)).toBe(200);
    expect(await metric(registry, 'bulwark_http_requests_total', { status: String(status) })).toBe(1);
    expect(noStacks(lines)).toEqual([]);
  });

  it('answers a malformed request line with 400 and a close, logging only at debug', async () => {
    const { port, lines, registry } = await start();
    expect(await raw(port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1.1 400 /);
    expect(await healthz(port)).toBe(200);
    expect(await metric(registry, 'bulwark_http_client_errors_total', { reason: 'malformed' })).toBe(1);
    expect(lines.filter((l) => l.level > 20)).toEqual([]);
  });

  it('turns a route bug into a 500 logged once at error, and keeps serving', async () => {
    const { port, lines, registry } = await start();
    const res = await fetch(`http://127.0.0.1:${port}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['request failed']);
    expect(await metric(registry, 'bulwark_http_requests_total', { route: '/boom', status: '500' })).toBe(1);
    expect(await healthz(port)).toBe(200);
  });
});

describe('ServiceHttp: slow clients are cut', () => {
  const limits = { headersTimeoutMs: 300, requestTimeoutMs: 600, socketTimeoutMs: 5000 };

  it('cuts trickled headers with a 408', async () => {
    const { port, registry } = await start(limits);
    const { got, drips } = await dripping(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', () => 'X-a: b\r\n');
    expect(drips).toBeLessThanOrEqual(100);
    expect(got).toMatch(/^HTTP\/1.1 408 /);
    expect(await metric(registry, 'bulwark_http_client_errors_total', { reason: 'timeout' })).toBe(1);
    expect(await healthz(port)).toBe(200);
  });

  it('cuts a never-ending chunked body', async () => {
    const { port } = await start({ ...limits, maxBodyBytes: 10_000_000 });
    const { got, drips } = await dripping(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      () => '1\r\n1\r\n',
    );
    expect(drips).toBeLessThanOrEqual(100);
    expect(got).toMatch(/^HTTP\/1.1 408 /);
    expect(await healthz(port)).toBe(200);
  });

  it('cuts a Content-Length body that never comes', async () => {
    const { port, lines } = await start(limits);
    const got = await raw(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a"');
    expect(got).toMatch(/^HTTP\/1.1 408 /);
    expect(await healthz(port)).toBe(200);
    expect(noStacks(lines)).toEqual([]);
  });

  it('closes an idle keep-alive connection', async () => {
    const { port } = await start({ ...limits, keepAliveTimeoutMs: 300 });
    const got = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(got).toMatch(/^HTTP\/1.1 200 /);
  });
});

describe('ServiceHttp: connection caps', () => {
  /** Opens a socket and reports whether the server closed it before anything was sent. */
  function openIdle(port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  }
  const closed = (s: net.Socket) => new Promise<boolean>((resolve) => s.once('close', () => resolve(true)));

  it.each([
    ['per address', { maxConnectionsPerAddress: 2, maxConnections: 10 }, 'per-address'],
    ['in all', { maxConnectionsPerAddress: 10, maxConnections: 2 }, 'total'],
  ])('refuses a connection over the cap %s and admits again once one closes', async (_l, caps, reason) => {
    const { port, registry } = await start(caps);
    const a = await openIdle(port);
    const b = await openIdle(port);
    const c = await openIdle(port);
    c.on('error', () => undefined);
    expect(await closed(c)).toBe(true);
    expect(await metric(registry, 'bulwark_http_connections_refused_total', { reason })).toBe(1);
    // The admitted ones still work; once one goes, a new client gets in.
    a.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => a.once('data', r));
    b.destroy();
    await eventually(async () => (await healthz(port)) === 200);
    a.destroy();
  });
});

describe('ServiceHttp: bodies', () => {
  it('logs a request aborted mid-body at debug, without a stack, and counts it', async () => {
    const { port, lines, registry, seen } = await start();
    const s = net.connect(port, '127.0.0.1', () =>
      s.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a":'),
    );
    s.on('error', () => undefined);
    await eventually(async () => seen.reading === 1); // the handler is reading the body: now the client goes
    s.destroy();
    await eventually(
      async () => (await metric(registry, 'bulwark_http_client_errors_total', { reason: 'aborted' })) === 1,
    );
    expect(lines.filter((l) => l.level > 20)).toEqual([]);
    expect(noStacks(lines)).toEqual([]);
    expect(lines.some((l) => l.level === 20 && l.reason === 'aborted')).toBe(true);
  });

  it('answers an unauthenticated request without waiting for its body, then closes', async () => {
    const { port } = await start({ requestTimeoutMs: 10000, headersTimeoutMs: 5000 });
    // The body is announced and never sent: only a server that reads it before authenticating waits.
    const got = await raw(port, 'POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    expect(got).toMatch(/^HTTP\/1.1 401 /);
    expect(got).toMatch(/connection: close/i);
  });

  it('sends 100 Continue only to a request whose body a route reads', async () => {
    const { port } = await start();
    const head = (auth: string) =>
      `POST /guarded HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const refused = await raw(port, head(''));
    expect(refused).toMatch(/^HTTP\/1.1 401 /);
    const admitted = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(head('Authorization: Bearer ok\r\n')));
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.startsWith('HTTP/1.1 100 ') && got.endsWith('\r\n\r\n') && !got.includes('200'))
          s.write('{}');
      });
      s.on('close', () => resolve(got));
    });
    expect(admitted).toMatch(/^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200 /);
  });

  it('reads the body once authenticated', async () => {
    const { port } = await start();
    const res = await fetch(`http://127.0.0.1:${port}/guarded`, {
      method: 'POST',
      headers: { authorization: 'Bearer ok' },
      body: JSON.stringify({ scope: 'global' }),
    });
    expect(await res.json()).toEqual({ got: { scope: 'global' } });
  });

  it('refuses a body over the cap with 413, and garbage JSON with 400', async () => {
    const { port } = await start({ maxBodyBytes: 10 });
    const big = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'x'.repeat(11) });
    expect(big.status).toBe(413);
    const bad = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: '(body)' });
  });
});
