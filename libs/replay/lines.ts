import fs from 'node:fs';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { UsageError, fileErrorReason } from '../errors';
import type { ReadPosition } from './progress';

/**
 * Streams the lines of a recorded log in bounded memory: a path, `-` for standard input, gzip detected by its
 * magic bytes (not the file name). A missing or unreadable file is a UsageError (exit 2), raised before any
 * work starts.
 */
export async function openLog(file: string): Promise<Readable> {
  return (await openLogAt(file)).stream;
}

/** openLog, with how far through the file reading has got (for progress); no position for standard input. */
export async function openLogAt(file: string): Promise<{ stream: Readable; position?: ReadPosition }> {
  if (file === '-') return { stream: process.stdin };
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
  let totalBytes = 0;
  try {
    totalBytes = fs.fstatSync(fd).size;
  } catch {
    totalBytes = 0; // a pipe or a special file: no share to show
  }
  const position: ReadPosition = { totalBytes, bytesRead: () => stream.bytesRead };
  if (n === 2 && head[0] === 0x1f && head[1] === 0x8b)
    return { stream: stream.pipe(createGunzip()), position };
  return { stream, position };
}

/** Yields each line (without its newline); blank lines are the caller's to skip. */
export async function* readLines(input: Readable): AsyncGenerator<string> {
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) yield line;
}
