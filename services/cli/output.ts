import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../libs/errors';

const WHY: Record<string, string> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'a parent is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
};

/**
 * Fails at once (usage, exit 2) when `file` could not be written, so a long run never ends in an unwritable
 * path. Opens it for appending (an existing file is left as it is) and removes it again if this made it.
 */
export function checkWritable(flag: string, file: string | undefined): void {
  if (file === undefined || file === '-') return;
  const existed = fs.existsSync(file);
  try {
    fs.closeSync(fs.openSync(file, 'a'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`cannot write --${flag} ${file}: ${WHY[code] ?? code}`);
  }
  if (!existed) fs.rmSync(file, { force: true });
}

/** Refuses two outputs on one path: the second would overwrite the first. */
export function checkDistinct(outputs: Record<string, string | undefined>): void {
  const seen = new Map<string, string>();
  for (const [flag, file] of Object.entries(outputs)) {
    if (file === undefined || file === '-') continue;
    const key = fs.existsSync(file) ? fs.realpathSync(file) : path.resolve(file);
    const other = seen.get(key);
    if (other) throw new UsageError(`--${other} and --${flag} name the same file ${file}`);
    seen.set(key, flag);
  }
}
