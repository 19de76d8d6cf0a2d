import net from 'node:net';

/**
 * A TCP proxy in front of a real server, so a test can cut the network (every connection dropped, new ones
 * refused) and restore it, while the server keeps its data. Used to take Redis "away" mid-stream.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private up = true;
  private loseReply?: { match: (sent: Buffer) => boolean; holdMs: number; done: () => void };
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = net.createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      let swallowing = false;
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        const lose = this.loseReply;
        if (swallowing || !lose || !lose.match(chunk)) return;
        // The request reaches the server; its reply (and anything after it) never reaches the client, and
        // the connection then drops, as when a reply is lost on the network.
        this.loseReply = undefined;
        swallowing = true;
        setTimeout(() => {
          drop();
          lose.done();
        }, lose.holdMs);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (!swallowing) client.write(chunk);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Drops every open connection and refuses new ones until restore(). */
  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /**
   * Once: the first request chunk `match` accepts is delivered, but no reply on that connection reaches the
   * client for `holdMs`, then the connection is dropped. Resolves when it has happened.
   */
  loseReplyTo(match: (sent: Buffer) => boolean, holdMs = 300): Promise<void> {
    return new Promise((resolve) => {
      this.loseReply = { match, holdMs, done: resolve };
    });
  }

  restore(): void {
    this.up = true;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
