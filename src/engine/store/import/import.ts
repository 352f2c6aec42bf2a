/**
 * Streaming import of JSONL or CSV into the insight store, in batched IMMEDIATE transactions
 * and memory bounded by the longest record it reads (MAX_RECORD_CHARS), not by the input.
 * Bad lines are reported with their line numbers; with `strict` everything runs in one
 * transaction that is rolled back if any line is bad.
 *
 * Large JSONL inputs are parsed in a worker thread (./worker.ts) while this thread writes:
 * parsing and normalizing cost about as much as the SQLite upsert, so on two cores the overlap
 * roughly halves the wall time.
 */
import { closeSync, createReadStream, openSync } from 'node:fs';
import type { Database } from '../db.js';
import { CsvParser } from './csv.js';
import { JsonlParser, unpackRows, type Row } from './rows.js';
import type { ImportWorkerData, ImportWorkerMessage } from './worker.js';
import { INSIGHT_INSERT_COLUMNS, REINFORCE_ON_CONFLICT } from '../insights.js';

export interface ImportOptions {
  workspaceId: number;
  format: 'jsonl' | 'csv';
  strict: boolean;
  now: number;
  batchSize?: number;
  /** Parse JSONL in a worker thread. Worth its ~40 ms start for inputs beyond a few MB. */
  parallel?: boolean;
  onProgress?: (linesRead: number) => void;
}

export interface ImportSummary {
  lines: number;
  imported: number;
  reinforced: number;
  skipped: number;
  /** The first MAX_REPORTED bad lines. */
  errors: Array<{ line: number; message: string }>;
  written: boolean;
}

/** Bad lines reported one by one (the rest are counted): enough to fix a file by, few enough to read. */
export const MAX_REPORTED = 20;
/**
 * Rows per committed batch. 10,000 imported a 1M-line file as fast as 20,000 or 50,000 and
 * peaked about 60 MB lower (210 against 270 MB); 5,000 was no lower-memory win worth its commits.
 */
export const IMPORT_BATCH_ROWS = 10_000;
/**
 * Rows per multi-row INSERT. 100 was about 8 % faster than 25 over a 1M-line import (three
 * interleaved pairs); 250 gained nothing more. 1,000 bound values stay far below SQLite's 32,766.
 */
const ROWS_PER_STATEMENT = 100;
/** Chunks read ahead of the parsing worker; bounds memory when the writer is the slower side. */
const MAX_CHUNKS_AHEAD = 32;
/**
 * Batches a file-reading worker may have parsed and not yet seen written: it parses the next
 * batch while this thread writes one. More buys no speed (the writer is the slower side) and
 * costs about 15 MB of peak RSS per batch.
 */
const MAX_BATCHES_AHEAD = 1;
/**
 * The parsing worker's young generation. V8's default (three 16 MB semi-spaces) lets a 1M-line
 * import peak near 300 MB; parsing garbage is short-lived, so a smaller one costs it nothing
 * measurable and takes about 30 MB off the import's peak RSS (209–220 MB for 1M lines).
 */
const WORKER_YOUNG_GENERATION_MB = 12;

/** A file to import: read by the parsing worker itself when the import runs in parallel. */
export interface ImportFile {
  kind: 'file';
  path: string;
}

export type ImportInput = AsyncIterable<Buffer | string> | ImportFile;

const isFile = (input: ImportInput): input is ImportFile => (input as Partial<ImportFile>).kind === 'file';

/**
 * Upserts rows (reinforcing existing normalized texts) inside the caller's transaction and
 * counts new against reinforced without RETURNING: a new row always takes max(id) + 1, so the
 * growth of max(id) across the write is the number inserted.
 */
export class RowWriter {
  private readonly many;
  private readonly one;
  private readonly maxId;
  private readonly values: unknown[] = [];

  constructor(
    db: Database,
    private readonly workspaceId: number,
  ) {
    const statement = (rows: number) =>
      db.prepare(`INSERT INTO insights (${INSIGHT_INSERT_COLUMNS}) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ${REINFORCE_ON_CONFLICT}`);
    this.many = statement(ROWS_PER_STATEMENT);
    this.one = statement(1);
    this.maxId = db.prepare('SELECT coalesce(max(id), 0) FROM insights').pluck();
  }

  /** Returns how many of the rows were new insights; the rest reinforced existing ones. */
  write(rows: Row[]): number {
    const before = this.maxId.get() as number;
    const values = this.values;
    let i = 0;
    for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
      values.length = 0;
      for (let r = i; r < i + ROWS_PER_STATEMENT; r++) this.push(rows[r]!);
      this.many.run(values);
    }
    for (; i < rows.length; i++) {
      values.length = 0;
      this.push(rows[i]!);
      this.one.run(values);
    }
    return (this.maxId.get() as number) - before;
  }

  private push(row: Row): void {
    this.values.push(this.workspaceId, row.text, row.normalized_text, row.source, row.tags, row.confidence, row.confidence, row.reinforcement_count, row.created_at, row.last_reinforced_at);
  }
}

/**
 * The import's WAL checkpoint threshold, in pages (64 MiB). SQLite's default (1,000 pages)
 * checkpoints after nearly every 10,000-row batch, two fsyncs each: about 200 for 1M lines,
 * each one a wait on a shared disk. This keeps it to about ten; the WAL stays under ~70 MB.
 */
export const IMPORT_CHECKPOINT_PAGES = 16_384;

export async function importInsights(db: Database, source: ImportInput, options: ImportOptions): Promise<ImportSummary> {
  const previous = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${IMPORT_CHECKPOINT_PAGES}`);
  try {
    return await importWithin(db, source, options);
  } finally {
    db.pragma(`wal_autocheckpoint = ${previous}`);
  }
}

async function importWithin(db: Database, source: ImportInput, options: ImportOptions): Promise<ImportSummary> {
  const summary: ImportSummary = { lines: 0, imported: 0, reinforced: 0, skipped: 0, errors: [], written: false };
  const batchSize = options.batchSize ?? IMPORT_BATCH_ROWS;
  const writer = new RowWriter(db, options.workspaceId);
  const bad = (line: number, message: string) => {
    summary.skipped++;
    if (summary.errors.length < MAX_REPORTED) summary.errors.push({ line, message });
  };
  const writeRows = (rows: Row[]) => {
    const inserted = writer.write(rows);
    summary.imported += inserted;
    summary.reinforced += rows.length - inserted;
  };
  const writeBatch = db.transaction(writeRows);
  let batch: Row[] = [];
  /** Non-strict: each batch in its own IMMEDIATE transaction. Strict: inside the one open transaction. */
  const write = (rows: Row[]) => {
    if (rows.length === 0) return;
    if (options.strict) writeRows(rows);
    else writeBatch.immediate(rows);
  };
  const flush = () => {
    const rows = batch;
    batch = [];
    write(rows);
  };
  const add = (row: Row) => {
    batch.push(row);
    if (batch.length >= batchSize) flush();
  };

  // Strict mode: one transaction around everything, rolled back on the first sign of trouble at the end.
  if (options.strict) db.prepare('BEGIN IMMEDIATE').run();
  try {
    const input = () => (isFile(source) ? createReadStream(source.path, { highWaterMark: 256 * 1024 }) : source);
    if (options.format === 'jsonl' && options.parallel) {
      await importJsonlInWorker(source, options, batchSize, summary, write, bad);
    } else if (options.format === 'jsonl') {
      await parseAll(new JsonlParser(options.now, add, bad), input(), summary, options.onProgress);
    } else {
      await parseAll(new CsvParser(options.now, add, bad), input(), summary, options.onProgress);
    }
    flush();
    if (options.strict) {
      if (summary.skipped > 0) {
        db.prepare('ROLLBACK').run();
        summary.imported = 0;
        summary.reinforced = 0;
      } else {
        db.prepare('COMMIT').run();
        summary.written = true;
      }
    } else summary.written = summary.imported + summary.reinforced > 0;
    return summary;
  } catch (error) {
    if (db.inTransaction) db.prepare('ROLLBACK').run();
    throw error;
  }
}

/**
 * Feeds the input to a parser in this thread. Lines are handled synchronously per chunk: an
 * async step per line would cost more than parsing and writing it.
 */
async function parseAll(
  parser: JsonlParser | CsvParser,
  input: AsyncIterable<Buffer | string>,
  summary: ImportSummary,
  onProgress: ImportOptions['onProgress'],
): Promise<void> {
  for await (const chunk of input) {
    parser.push(chunk);
    summary.lines = parser.lines;
    onProgress?.(summary.lines);
  }
  parser.end();
  summary.lines = parser.lines;
}

/**
 * Feeds the input to a parsing worker and writes the batches it returns. Reading stays at
 * most MAX_CHUNKS_AHEAD chunks ahead of parsing, and the worker sends rows only in full
 * batches, so memory stays bounded whichever side is slower.
 */
async function importJsonlInWorker(
  input: ImportInput,
  options: ImportOptions,
  batchSize: number,
  summary: ImportSummary,
  write: (rows: Row[]) => void,
  bad: (line: number, message: string) => void,
): Promise<void> {
  const { Worker } = await import('node:worker_threads');
  // Under tsx (tests) this module is a .ts file and so is its worker, which needs the loader too.
  const self = new URL(import.meta.url);
  const fromSource = self.pathname.endsWith('.ts');
  const workerUrl = new URL(fromSource ? './worker.ts' : './worker.js', self);
  // A file is opened here so that an unreadable one fails with its usual error, before any thread starts.
  const fd = isFile(input) ? openSync(input.path, 'r') : undefined;
  const inFlight = fd === undefined ? undefined : new Int32Array(new SharedArrayBuffer(4));
  const data: ImportWorkerData = {
    now: options.now,
    batchSize,
    ...(fd !== undefined && inFlight ? { file: { fd, batchesInFlight: inFlight.buffer as SharedArrayBuffer, maxBatchesAhead: MAX_BATCHES_AHEAD } } : {}),
  };
  // A .ts worker entry is resolved before tsx's hooks are ready, so source mode enters through an import().
  const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };
  const worker = fromSource
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); })`, {
        eval: true,
        workerData: data,
        resourceLimits,
      })
    : new Worker(workerUrl, { workerData: data, resourceLimits });
  let consumed = 0;
  let received = false;
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const pending: ImportWorkerMessage[] = [];
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (message: ImportWorkerMessage) => {
    if (message.type === 'done') received = true;
    pending.push(message);
    notify();
  });
  worker.on('error', (error) => {
    failure = error;
    notify();
  });
  worker.on('exit', (code) => {
    if (!received && failure === undefined) failure = new Error(`the import's parsing worker exited with code ${code}`);
    notify();
  });
  /** Writes every batch that has arrived; a write is synchronous, so none arrive meanwhile. */
  const drain = () => {
    for (let message = pending.shift(); message; message = pending.shift()) {
      for (const { line, message: text } of message.bad) bad(line, text);
      if (message.rows) {
        write(unpackRows(message.rows));
        if (inFlight) {
          Atomics.sub(inFlight, 0, 1);
          Atomics.notify(inFlight, 0);
        }
      }
      summary.lines = message.lines;
      consumed = message.chunks;
      if (message.type === 'done') done = true;
    }
    if (failure !== undefined) throw failure;
  };
  const next = () => new Promise<void>((resolve) => (wake = resolve));
  try {
    let sent = 0;
    if (isFile(input)) {
      while (!done) {
        if (pending.length === 0 && failure === undefined) await next();
        drain();
        options.onProgress?.(summary.lines);
      }
      return;
    }
    for await (const chunk of input) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      worker.postMessage({ type: 'chunk', data: bytes });
      sent++;
      drain();
      while (sent - consumed > MAX_CHUNKS_AHEAD) {
        await next();
        drain();
      }
      options.onProgress?.(summary.lines);
    }
    worker.postMessage({ type: 'end' });
    while (!done) {
      if (pending.length === 0 && failure === undefined) await next();
      drain();
    }
  } finally {
    if (!done) {
      if (inFlight) {
        // Wakes a worker waiting for the writer and tells it to stop.
        Atomics.store(inFlight, 0, -1_000_000);
        Atomics.notify(inFlight, 0);
      }
      await worker.terminate();
    }
    if (fd !== undefined) closeSync(fd);
  }
}

