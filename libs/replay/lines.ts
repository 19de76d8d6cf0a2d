import fs from 'node:fs';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { UsageError, fileErrorReason } from '../errors';

/**
 * Streams the lines of a recorded log in bounded memory: a path, `-` for standard input, gzip detected by its
 * magic bytes (not the file name). A missing or unreadable file is a UsageError (exit 2), raised before any
 * work starts.
 */
export async function openLog(file: string): Promise<Readable> {
  if (file === '-') return process.stdin;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const why = fileErrorReason(err);
    throw new UsageError(`cannot read ${file}: ${why}`);
  }
  const head = Buffer.alloc(2);
  let n = 0;
  try {
    n = fs.readSync(fd, head, 0, 2, 0);
  } catch (err) {
    fs.closeSync(fd);
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'read error'}`);
  }
  const stream = fs.createReadStream('', { fd, start: 0, highWaterMark: 1 << 20 });
  if (n === 2 && head[0] === 0x1f && head[1] === 0x8b) return stream.pipe(createGunzip());
  return stream;
}

/** Yields each line (without its newline); blank lines are the caller's to skip. */
export async function* readLines(input: Readable): AsyncGenerator<string> {
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) yield line;
}
