/**
 * The parsing half of a parallel JSONL import (see importInsights): runs in a worker thread,
 * turns raw chunks into validated, normalized rows and hands them back packed, so the main
 * thread spends its time in SQLite. On a 2-core machine parsing and writing then overlap.
 *
 * In:  { type: 'chunk', data: Uint8Array } … { type: 'end' }
 * Out: { type: 'batch', rows: PackedRows | null, bad, lines, chunks } per full batch and per consumed chunk,
 *      then { type: 'done', rows, bad, lines, chunks }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JsonlParser, packRows, type Row } from './import-rows.js';

export interface ImportWorkerData {
  now: number;
  batchSize: number;
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
const { now, batchSize } = workerData as ImportWorkerData;
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
}

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
