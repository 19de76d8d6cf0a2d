import type http from 'node:http';
import { HttpError } from './http-error';

/**
 * A request body read on demand, so a route authenticates before a single body byte is read: an
 * unauthenticated client cannot make the server buffer or wait for its body. Read once, then remembered.
 */
export class RequestAbortedError extends Error {
  constructor(readonly code: string) {
    super(`request aborted by the client (${code})`);
    this.name = 'RequestAbortedError';
  }
}

export class LazyBody {
  private read?: Promise<Buffer>;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly limit: number,
    /** Called before the first read: where the client waits for `100 Continue`, it is sent only now. */
    private readonly beforeRead: () => void = () => undefined,
  ) {}

  /** The raw body: at most `limit` bytes (413 beyond, before reading when Content-Length says so). */
  bytes(): Promise<Buffer> {
    this.read ??= this.readAll();
    return this.read;
  }

  /** The body as JSON; undefined when empty; 400 naming `(body)` when it is not JSON. */
  async json(): Promise<unknown> {
    const raw = await this.bytes();
    if (raw.length === 0) return undefined;
    try {
      return JSON.parse(raw.toString('utf8')) as unknown;
    } catch {
      throw new HttpError(400, { error: 'body is not valid JSON', field: '(body)' });
    }
  }

  private readAll(): Promise<Buffer> {
    const req = this.req;
    const tooLarge = () => new HttpError(413, { error: `body larger than ${this.limit} bytes` });
    if (Number(req.headers['content-length'] ?? 0) > this.limit) return Promise.reject(tooLarge());
    this.beforeRead();
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (err?: Error) => {
        req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
        if (err) reject(err);
        else resolve(Buffer.concat(chunks));
      };
      const onData = (b: Buffer) => {
        size += b.length;
        if (size <= this.limit) return void chunks.push(b);
        req.pause(); // the rest stays unread; the answer closes the connection
        done(tooLarge());
      };
      const onEnd = () => done();
      // Reading a request fails only when the client goes away: reset, or closed before the body ended.
      const onError = (err: NodeJS.ErrnoException) => done(new RequestAbortedError(err.code ?? 'aborted'));
      const onClose = () => done(new RequestAbortedError('closed before the body ended'));
      req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
    });
  }
}
