import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';

/**
 * The small HTTP server every Bulwark service runs: /metrics, /healthz, /readyz, plus the routes a service
 * adds. Handlers return data; this layer turns it into JSON, and any thrown error into a 500 without a
 * stack trace (the stack goes to the log).
 */
export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  remoteAddress: string;
}
export interface HttpResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
export type Handler = (req: HttpRequest) => Promise<HttpResponse> | HttpResponse;

export interface ReadyCheck {
  ready: boolean;
  reasons: string[];
}

export interface ServiceHttpOptions {
  port: number;
  host?: string;
  registry: Registry;
  logger: Logger;
  /** Liveness: false only when the process should be restarted. */
  healthy?: () => boolean;
  ready: () => Promise<ReadyCheck> | ReadyCheck;
  maxBodyBytes?: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.error ?? status));
  }
}

export class ServiceHttp {
  private readonly routes = new Map<string, Handler>();
  private server?: http.Server;

  constructor(private readonly opts: ServiceHttpOptions) {
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

  async listen(): Promise<number> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (req.method === 'GET' && url.pathname === '/metrics') {
        const text = await this.opts.registry.metrics();
        res.writeHead(200, { 'content-type': this.opts.registry.contentType });
        res.end(text);
        return;
      }
      const handler = this.routes.get(`${req.method ?? 'GET'} ${url.pathname}`);
      if (!handler) {
        const pathKnown = [...this.routes.keys()].some((k) => k.endsWith(` ${url.pathname}`));
        throw new HttpError(pathKnown ? 405 : 404, { error: pathKnown ? 'method not allowed' : 'not found' });
      }
      const body = await readJsonBody(req, this.opts.maxBodyBytes ?? 16 * 1024);
      const out = await handler({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        remoteAddress: req.socket.remoteAddress ?? '',
      });
      send(res, out.status, out.body, out.headers);
    } catch (err) {
      if (err instanceof HttpError) {
        send(res, err.status, err.body);
      } else {
        this.opts.logger.error({ err, path: url.pathname }, 'request failed');
        send(res, 500, { error: 'internal error' });
      }
    }
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

async function readJsonBody(req: http.IncomingMessage, limit: number): Promise<unknown> {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new HttpError(413, { error: `body larger than ${limit} bytes` });
    chunks.push(b);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, { error: 'body is not valid JSON', field: '(body)' });
  }
}
