/**
 * What the memory store holds after a log: replays FILE through StreamEngine on the memory window store (as
 * `replay --store memory` does, without the report), then, after a full GC, prints the live heap, what the
 * users hold (dedup eventIds, facts) and the heap by object kind from a heap snapshot. Run by hand:
 *
 *   npm run bench:heap -- FILE [--no-snapshot]
 *
 * No Kafka or Redis. The snapshot (written to the OS temp folder and deleted) is about 1.3 times the live heap.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import v8 from 'node:v8';
import { MemoryWindowStore, StreamEngine, type SourcedEvent } from '../libs/engine';
import { parseEvent } from '../libs/events';
import { defaultRulesConfig } from '../libs/rules';
import { table } from './common';

const BATCH = 500;

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size by object kind (constructor name for objects, V8's type otherwise), largest first. */
function heapByKind(file: string, top: number): [string, number, number][] {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as HeapSnapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const kinds = new Map<string, [number, number]>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + iType]!]!;
    const name = snap.strings[snap.nodes[i + iName]!] ?? '';
    // Arrays named '' are the backing stores of Maps and Sets; named ones are elements of objects.
    const kind = type === 'object' ? name : type === 'array' ? `array ${name || '(Map/Set tables)'}` : type;
    const k = kinds.get(kind) ?? [0, 0];
    k[0]++;
    k[1] += snap.nodes[i + iSize]!;
    kinds.set(kind, k);
  }
  return [...kinds]
    .map(([kind, [count, bytes]]): [string, number, number] => [kind, count, bytes])
    .sort((a, b) => b[2] - a[2])
    .slice(0, top);
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file || file.startsWith('--')) {
    console.error('usage: npm run bench:heap -- FILE [--no-snapshot]');
    process.exit(2);
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const store = new MemoryWindowStore();
  const engine = new StreamEngine(store, defaultRulesConfig());
  const users = new Set<string>();
  let batch: SourcedEvent[] = [];
  let watermark = -Infinity;
  const flush = async () => {
    const res = await engine.applyBatch(batch, { watermarkMs: watermark });
    await engine.ackFlags(res.flags);
    await engine.ackFlags(await engine.closeDue(watermark - defaultRulesConfig().graceMs - 1));
    batch = [];
  };
  for await (const line of readline.createInterface({
    input: fs.createReadStream(file),
    crlfDelay: Infinity,
  })) {
    const p = parseEvent(line);
    if (p.kind !== 'valid') continue;
    watermark = Math.max(watermark, p.event.occurredAtMs);
    users.add(p.event.userId);
    batch.push({ event: p.event, source: 'bench' });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  gc();
  const heap = process.memoryUsage();
  const held = { users: users.size, eventIds: 0, flagsKept: 0, maps: 0, factEntries: 0 };
  for (const id of users) {
    const u = store.user(id);
    const f = u.facts;
    held.eventIds += u.events.size;
    held.flagsKept += u.raised.size;
    held.maps += 6; // events, raised, unacked, whitelist, sessions, devices
    held.factEntries +=
      f.whitelist.size + f.velocity.length + f.mfaPassed.length + f.mfaChanges.length + f.sessions.size;
    for (const times of f.devices.values()) held.factEntries += times.length;
  }
  console.log(
    `live heap after the log and a full GC: ${(heap.heapUsed / 1e6).toFixed(0)} MB ` +
      `(heap committed ${(heap.heapTotal / 1e6).toFixed(0)} MB, RSS now ${(heap.rss / 1e6).toFixed(0)} MB)`,
  );
  console.log(
    `${held.users} users hold ${held.eventIds} dedup eventIds, ${held.factEntries} fact entries, ` +
      `${held.flagsKept} raised flags, in ${held.maps} Maps`,
  );
  if (process.argv.includes('--no-snapshot')) return;
  const snapshot = path.join(os.tmpdir(), `bulwark-heap-${process.pid}.heapsnapshot`);
  v8.writeHeapSnapshot(snapshot);
  try {
    const rows: (string | number)[][] = [['kind', 'count', 'MB']];
    for (const [kind, count, bytes] of heapByKind(snapshot, 12))
      rows.push([kind, count, (bytes / 1e6).toFixed(1)]);
    console.log(table(rows));
  } finally {
    fs.rmSync(snapshot, { force: true });
  }
  void store; // held until here: the snapshot is of its state
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
