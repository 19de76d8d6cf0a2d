import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { httpMetrics, type HttpMetrics } from '../metrics';
import { LazyBody, RequestAbortedError } from './body';
import { ConnectionCap } from './connection-cap';
import { HttpError } from './http-error';
import { parseRequestTarget } from './request-target';

export { HttpError } from './http-error';

/**
 * The small HTTP server every Bulwark service runs: /metrics, /healthz, /readyz, plus the routes a service
 * adds. Handlers return data; this layer turns it into JSON.
 *
 * One error policy: whatever goes wrong in a request fails that request, never the process. A route's
 * HttpError is sent as it is; an unexpected error is a 500 (logged once at error, with its stack); a client
 * fault (malformed target or request, timeout, abort, connection over the cap) is answered or cut, counted,
 * and logged at debug without a stack, so an unauthenticated client cannot flood the logs.
 */
export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  remoteAddress: string;
  /** The raw body, read on the first call (413 over the cap). Authenticate first: nothing is read before. */
  readBody(): Promise<Buffer>;
  /** The body as JSON, read on the first call; undefined when empty, 400 when not JSON. */
  json(): Promise<unknown>;
}
export interface HttpResponse {
  status: number;
  /** Sent as JSON, unless `raw` is given. */
  body: unknown;
  /** A non-JSON answer (a console asset): sent as is; `headers` must say its content-type. */
  raw?: Buffer | string;
  headers?: Record<string, string>;
}
export type Handler = (req: HttpRequest) => Promise<HttpResponse> | HttpResponse;

export interface ReadyCheck {
  ready: boolean;
  reasons: string[];
}

/** How long a client may take and how much it may hold; every value is a cap on one client's cost. */
export interface HttpLimits {
  /** Until the request's headers are complete (trickled headers are cut after this). */
  headersTimeoutMs: number;
  /** Until the whole request, body included, has arrived (an endless or unsent body is cut). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic either way for this long is destroyed. */
  socketTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxBodyBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10000,
  keepAliveTimeoutMs: 5000,
  socketTimeoutMs: 15000,
  maxConnections: 1000,
  maxConnectionsPerAddress: 100,
  maxBodyBytes: 16 * 1024,
};

export interface ServiceHttpOptions {
  port: number;
  host?: string;
  registry: Registry;
  logger: Logger;
  /** Liveness: false only when the process should be restarted. */
  healthy?: () => boolean;
  ready: () => Promise<ReadyCheck> | ReadyCheck;
  limits?: Partial<HttpLimits>;
  /** PEM certificate (chain) and key: serve HTTPS instead of HTTP. */
  tls?: { cert: Buffer | string; key: Buffer | string };
}

type ClientFault = 'malformed' | 'timeout' | 'aborted' | 'headers-too-large' | 'tls';

const FAULT_STATUS: Partial<Record<ClientFault, number>> = {
  malformed: 400,
  timeout: 408,
  'headers-too-large': 431,
};

export class ServiceHttp {
  private readonly routes = new Map<string, Handler>();
  private readonly limits: HttpLimits;
  private readonly metrics: HttpMetrics;
  /** The response in progress on a socket, so a client error never writes into a response already begun. */
  private readonly inFlight = new WeakMap<Duplex, http.ServerResponse>();
  /** Sockets already cut for a client fault: their request's own failure is not counted again. */
  private readonly faulted = new WeakSet<Duplex>();
  private server?: http.Server;

  constructor(private readonly opts: ServiceHttpOptions) {
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
    this.metrics = httpMetrics(opts.registry);
    this.route('GET', '/healthz', () => {
      const ok = this.opts.healthy ? this.opts.healthy() : true;
      return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'unhealthy' } };
    });
    this.route('GET', '/readyz', async () => {
      const r = await this.opts.ready();
      return { status: r.ready ? 200 : 503, body: { ready: r.ready, reasons: r.reasons } };
    });
  }

  route(method: string, path: string, handler: Handler): this {
    this.routes.set(`${method} ${path}`, handler);
    return this;
  }

  get scheme(): 'http' | 'https' {
    return this.opts.tls ? 'https' : 'http';
  }

  async listen(): Promise<number> {
    const l = this.limits;
    const serverOptions: http.ServerOptions = {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(l.headersTimeoutMs / 4))),
    };
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res);
    const server = this.opts.tls
      ? https.createServer(
          {
            ...serverOptions,
            cert: this.opts.tls.cert,
            key: this.opts.tls.key,
            handshakeTimeout: l.headersTimeoutMs,
          },
          onRequest,
        )
      : http.createServer(serverOptions, onRequest);
    server.keepAliveTimeout = l.keepAliveTimeoutMs;
    server.setTimeout(l.socketTimeoutMs);
    this.server = server;

    const cap = new ConnectionCap(l.maxConnections, l.maxConnectionsPerAddress);
    // Before Node's own listener, so a refused socket is never parsed.
    server.prependListener('connection', (socket: Socket) => {
      const refused = cap.admit(socket);
      if (refused === null) return;
      this.metrics.refused.inc({ reason: refused });
      this.opts.logger.debug({ reason: refused }, 'connection refused: over the connection cap');
      socket.destroy();
    });
    // `Expect: 100-continue`: the client is invited to send its body only once a route reads it.
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) =>
      this.onRequest(req, res, true),
    );
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      this.clientFault('tls', err.code);
      socket.destroy();
    });
    server.on('timeout', (socket: Duplex) => {
      this.clientFault('timeout', 'socket idle');
      socket.destroy();
    });

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // After start a server error (e.g. EMFILE on accept) must not be an unhandled 'error' event: it is not
    // a reason to exit, and Node keeps accepting once descriptors are free.
    server.on('error', (err: NodeJS.ErrnoException) =>
      this.opts.logger.warn({ code: err.code, err: err.message }, 'http server error'),
    );
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue = false): void {
    this.inFlight.set(req.socket, res);
    res.once('finish', () => this.inFlight.delete(req.socket));
    this.handle(req, res, expectsContinue).catch((err: unknown) => {
      // Only a fault in the error path itself lands here; the request still ends, the process stays up.
      this.opts.logger.error({ err }, 'request failed while answering an error');
      res.destroy();
    });
  }

  private async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    expectsContinue: boolean,
  ): Promise<void> {
    let route = 'unmatched';
    try {
      const target = parseRequestTarget(req.url ?? '');
      if (!target) throw new HttpError(400, { error: 'malformed request target' });
      const method = req.method ?? 'GET';
      if (method === 'GET' && target.path === '/metrics') {
        route = '/metrics';
        const text = await this.opts.registry.metrics();
        this.send(req, res, route, 200, text, { 'content-type': this.opts.registry.contentType });
        return;
      }
      const handler = this.routes.get(`${method} ${target.path}`);
      if (!handler) {
        const pathKnown = [...this.routes.keys()].some((k) => k.endsWith(` ${target.path}`));
        throw new HttpError(pathKnown ? 405 : 404, { error: pathKnown ? 'method not allowed' : 'not found' });
      }
      route = target.path;
      const body = new LazyBody(req, this.limits.maxBodyBytes, () => {
        if (expectsContinue && !res.headersSent) res.writeContinue();
      });
      const out = await handler({
        method,
        path: target.path,
        query: target.query,
        headers: req.headers,
        remoteAddress: req.socket.remoteAddress ?? '',
        readBody: () => body.bytes(),
        json: () => body.json(),
      });
      this.send(req, res, route, out.status, out.raw ?? JSON.stringify(out.body), out.headers);
    } catch (err) {
      this.fail(req, res, route, err);
    }
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, route: string, err: unknown): void {
    if (err instanceof HttpError) {
      this.send(req, res, route, err.status, JSON.stringify(err.body));
      return;
    }
    if (err instanceof RequestAbortedError || req.destroyed) {
      if (!this.faulted.has(req.socket)) this.clientFault('aborted', (err as { code?: string }).code, route);
      res.destroy();
      return;
    }
    this.opts.logger.error({ err, route }, 'request failed');
    this.send(req, res, route, 500, JSON.stringify({ error: 'internal error' }));
  }

  private send(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: string,
    status: number,
    text: string | Buffer,
    headers: Record<string, string> = {},
  ): void {
    this.metrics.requests.inc({ route, status: String(status) });
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      // A body left unread (refused before reading, or over the cap) is not drained: the connection goes.
      ...(req.complete ? {} : { connection: 'close' }),
      ...headers,
    });
    res.end(text);
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const code = err.code ?? 'unknown';
    const fault: ClientFault =
      code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT'
        ? 'timeout'
        : code === 'HPE_HEADER_OVERFLOW'
          ? 'headers-too-large'
          : code === 'ECONNRESET' || code === 'EPIPE' || code === 'HPE_INVALID_EOF_STATE'
            ? 'aborted'
            : 'malformed';
    this.faulted.add(socket);
    this.clientFault(fault, code);
    const status = FAULT_STATUS[fault];
    if (status === undefined || !socket.writable || this.inFlight.get(socket)?.headersSent) {
      socket.destroy();
      return;
    }
    // No request object exists here: the answer is written to the socket, which then closes.
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
      () => socket.destroy(),
    );
  }

  private clientFault(reason: ClientFault, code?: string, route?: string): void {
    this.metrics.clientErrors.inc({ reason });
    this.opts.logger.debug({ reason, code, route }, 'client fault: connection cut');
  }
}
