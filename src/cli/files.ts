/**
 * Files the CLI writes (an export, the remote-job history) are written whole or not at all: into a
 * temporary file beside the target, flushed to disk, then renamed over it. A kill, a full disk or a
 * failing source leaves the previous file as it was.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, createWriteStream, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The temporary name of a file being written: hidden, beside it (a rename within one directory is atomic). */
function temporaryName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Flushes a file, then its directory (so the rename itself survives a crash). */
function flush(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    const dir = openSync(path.dirname(file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some file systems cannot sync a directory; the file itself is flushed.
  }
}

/** Streams `source` into `target` atomically (mode 0600); on any failure the temporary file is removed. */
export async function writeStreamAtomically(target: string, source: Readable): Promise<void> {
  const temporary = temporaryName(target);
  try {
    await pipeline(source, createWriteStream(temporary, { mode: 0o600, flags: 'wx' }));
    flush(temporary);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Writes `text` to `target` atomically (mode 0600). */
export function writeFileAtomically(target: string, text: string): void {
  const temporary = temporaryName(target);
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    flush(temporary);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Lets `write` produce the file at a temporary path beside `target` (SQLite's backup writes its
 * own file), then flushes it and renames it over the target (mode 0600).
 */
export async function writeAtomicallyWith(target: string, write: (temporary: string) => Promise<void>): Promise<void> {
  const temporary = temporaryName(target);
  try {
    await write(temporary);
    chmodSync(temporary, 0o600);
    flush(temporary);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
