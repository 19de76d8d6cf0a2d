import type { Socket } from 'node:net';

/**
 * Caps open connections per remote address and in all, so one client (or a crowd of slow ones) cannot take
 * every socket the process has. A socket over the cap is refused at once, before a byte is parsed.
 */
export type RefusedBecause = 'total' | 'per-address';

export class ConnectionCap {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Counts `socket` in until it closes; returns why it must be refused instead, or null. */
  admit(socket: Socket): RefusedBecause | null {
    const address = socket.remoteAddress ?? 'unknown';
    const mine = this.byAddress.get(address) ?? 0;
    if (this.total >= this.maxTotal) return 'total';
    if (mine >= this.maxPerAddress) return 'per-address';
    this.total++;
    this.byAddress.set(address, mine + 1);
    socket.once('close', () => {
      this.total--;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left > 0) this.byAddress.set(address, left);
      else this.byAddress.delete(address);
    });
    return null;
  }

  get open(): number {
    return this.total;
  }
}
