/**
 * Binary min-heap ordered by (t, seq). `seq` is a global generation counter, so equal times keep their
 * generation order and the output never depends on the heap's internal layout.
 */
export interface HeapItem {
  t: number;
  seq: number;
}

export class MinHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = l;
      let c = items[l]!;
      if (r < n) {
        const rc = items[r]!;
        if (before(rc, c)) {
          child = r;
          c = rc;
        }
      }
      if (!before(c, last)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

function before(a: HeapItem, b: HeapItem): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
