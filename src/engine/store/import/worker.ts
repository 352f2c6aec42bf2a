/**
 * The parsing half of a parallel JSONL import (see importInsights): runs in a worker thread,
 * turns raw bytes into validated, normalized rows and hands them back packed, so the main
 * thread spends its time in SQLite. On a 2-core machine parsing and writing then overlap.
 *
 * Two ways in:
 * - a file: the worker reads the descriptor itself, so parsing never waits for the writing
 *   thread to find time to read; it blocks (Atomics.wait) once `maxBatchesAhead` batches are
 *   unwritten, which bounds memory;
 * - a stream (stdin): { type: 'chunk', data: Uint8Array } … { type: 'end' } from the main thread.
 * Out: { type: 'batch', rows: PackedRows | null, bad, lines, chunks } per full batch and per consumed chunk,
 *      then { type: 'done', rows, bad, lines, chunks }.
 */
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { JsonlParser, packRows, type Row } from './rows.js';

export interface ImportWorkerData {
  now: number;
  batchSize: number;
  /** Read this file instead of waiting for chunks. */
  file?: {
    fd: number;
    /** [0] counts batches sent and not yet written; the main thread sets it below 0 to stop the worker. */
    batchesInFlight: SharedArrayBuffer;
    maxBatchesAhead: number;
  };
}

export type ImportWorkerMessage = {
  type: 'batch' | 'done';
  rows: ReturnType<typeof packRows> | null;
  bad: Array<{ line: number; message: string }>;
  /** Lines read so far. */
  lines: number;
  /** Chunks consumed so far: the main thread's measure of how far ahead its reading is. */
  chunks: number;
};

const port = parentPort!;
const { now, batchSize, file } = workerData as ImportWorkerData;
const inFlight = file ? new Int32Array(file.batchesInFlight) : undefined;
/** Set when the main thread gave up on the import (it failed or was interrupted). */
class Stopped extends Error {}
const READ_CHUNK_BYTES = 1024 * 1024;
let rows: Row[] = [];
let bad: Array<{ line: number; message: string }> = [];
let chunks = 0;
const parser = new JsonlParser(
  now,
  (row) => {
    rows.push(row);
    if (rows.length >= batchSize) send('batch');
  },
  (line, message) => bad.push({ line, message }),
);

/** Rows travel only in full batches (or at the end); a consumed chunk sends just the tally. */
function send(type: 'batch' | 'done', withRows = true): void {
  const packed = withRows && rows.length > 0 ? packRows(rows) : null;
  const message: ImportWorkerMessage = { type, rows: packed, bad, lines: parser.lines, chunks };
  port.postMessage(message, packed ? [packed.lengths.buffer as ArrayBuffer, packed.numbers.buffer as ArrayBuffer] : []);
  if (packed) rows = [];
  bad = [];
  if (packed && inFlight && type === 'batch') waitForWriter(inFlight, file!.maxBatchesAhead);
}

/** Blocks this thread while the writer is `maxBatchesAhead` batches behind. */
function waitForWriter(counter: Int32Array, maxBatchesAhead: number): void {
  Atomics.add(counter, 0, 1);
  for (;;) {
    const value = Atomics.load(counter, 0);
    if (value < 0) throw new Stopped();
    if (value <= maxBatchesAhead) return;
    Atomics.wait(counter, 0, value, 1000);
  }
}

if (file) {
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    // The parser decodes each chunk into a string at once (copying the bytes of a character
    // split at its end), so the one buffer can be reused.
    for (let read = readSync(file.fd, buffer); read > 0; read = readSync(file.fd, buffer)) {
      parser.push(buffer.subarray(0, read));
      chunks++;
      send('batch', false);
    }
    parser.end();
    send('done');
  } catch (error) {
    if (!(error instanceof Stopped)) throw error;
  }
  port.close();
} else {
  port.on('message', (message: { type: 'chunk'; data: Uint8Array } | { type: 'end' }) => {
    if (message.type === 'chunk') {
      parser.push(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength));
      chunks++;
      send('batch', false);
    } else {
      parser.end();
      send('done');
      port.close();
    }
  });
}
