/**
 * Streaming import of JSONL or CSV into the insight store, in whole batches committed together
 * every IMPORT_COMMIT_MS, and memory bounded by the longest record it reads (MAX_RECORD_CHARS),
 * not by the input. A large file into an empty store is loaded first and indexed after (StagedLoad).
 * Bad lines are reported with their line numbers; with `strict` everything runs in one
 * transaction that is rolled back if any line is bad.
 *
 * Large JSONL inputs are parsed in a worker thread (./worker.ts) while this thread writes:
 * parsing and normalizing cost about as much as the SQLite upsert, so on two cores the overlap
 * roughly halves the wall time.
 */
import { closeSync, createReadStream, openSync, statSync } from 'node:fs';
import { ACTIVE_TEXT_INDEX, type Database } from '../db.js';
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
  /** A file from this size on, into a store without insights, is loaded first and indexed after (default LOAD_THEN_INDEX_MIN_BYTES). */
  loadThenIndexFromBytes?: number;
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

/** Binds rows through a statement of ROWS_PER_STATEMENT rows (one step per 100 rows), the rest one by one. */
function runInStatements(rows: Row[], values: unknown[], bind: (row: Row) => void, many: { run(values: unknown[]): unknown }, one: { run(values: unknown[]): unknown }): void {
  let i = 0;
  for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
    values.length = 0;
    for (let r = i; r < i + ROWS_PER_STATEMENT; r++) bind(rows[r]!);
    many.run(values);
  }
  for (; i < rows.length; i++) {
    values.length = 0;
    bind(rows[i]!);
    one.run(values);
  }
}
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
    runInStatements(rows, this.values, (row) => this.push(row), this.many, this.one);
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

/**
 * The import's page cache ceiling, in MiB, for its duration (the connection's own is restored
 * after). Pages are allocated only as they are touched, so a small import costs nothing more.
 * It also bounds the in-memory part of the staged load's sorts. 1M realistic lines, staged:
 * 32 MiB peaked at 225 MB RSS and ran as fast as 64 MiB (333 MB); for the upsert path 64 and
 * 128 MiB did not keep its index in cache either (it outgrows them) and went over 300 MB.
 */
export const IMPORT_CACHE_MIB = 32;
/**
 * How long whole batches gather in one transaction before it commits. Each commit writes every
 * page the transaction dirtied to the WAL, and in random key order a 10,000-row batch dirties
 * most leaf pages of the unique index: committing each batch wrote 6.8 GB for 1M realistic lines,
 * commits every 2 s 4.6 GB. The write lock is held that long (other writers wait; the busy timeout is 10 s).
 */
export const IMPORT_COMMIT_MS = 2000;
/**
 * …or once this many rows (whole batches) are uncommitted, whichever comes first: on a fast
 * machine a 200,000-line import would otherwise commit once, at its end, and a kill would lose it
 * all. At the 20,000–50,000 rows/s of a large random-order upsert the 2 s come first.
 */
export const IMPORT_COMMIT_MAX_ROWS = 10 * IMPORT_BATCH_ROWS;

export async function importInsights(db: Database, source: ImportInput, options: ImportOptions): Promise<ImportSummary> {
  const previous = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  const previousCache = db.pragma('cache_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${IMPORT_CHECKPOINT_PAGES}`);
  // A connection that already has a larger cache keeps it (cache_size is in pages when positive, KiB when negative).
  const previousKiB = previousCache < 0 ? -previousCache : (previousCache * (db.pragma('page_size', { simple: true }) as number)) / 1024;
  if (previousKiB < IMPORT_CACHE_MIB * 1024) db.pragma(`cache_size = -${IMPORT_CACHE_MIB * 1024}`);
  try {
    return await importWithin(db, source, options);
  } finally {
    db.pragma(`wal_autocheckpoint = ${previous}`);
    db.pragma(`cache_size = ${previousCache}`);
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
  // Strict mode and a load into an empty store: one transaction around everything.
  const staged = startStagedLoad(db, source, options.workspaceId, options.loadThenIndexFromBytes ?? LOAD_THEN_INDEX_MIN_BYTES);
  const oneTransaction = options.strict || staged !== undefined;
  const writeRows = staged
    ? (rows: Row[]) => staged.stage(rows)
    : (rows: Row[]) => {
        const inserted = writer.write(rows);
        summary.imported += inserted;
        summary.reinforced += rows.length - inserted;
      };
  let batch: Row[] = [];
  const commits = new BatchCommits(db);
  /** Whole batches, committed together (IMPORT_COMMIT_MS, IMPORT_COMMIT_MAX_ROWS); or inside the one open transaction. */
  const write = (rows: Row[]) => {
    if (rows.length === 0) return;
    if (oneTransaction) writeRows(rows);
    else commits.write(rows.length, () => writeRows(rows));
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

  // Strict mode: rolled back on the first sign of trouble at the end.
  if (options.strict && !staged) db.prepare('BEGIN IMMEDIATE').run();
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
    if (!oneTransaction) commits.commit();
    if (options.strict && summary.skipped > 0) {
      db.prepare('ROLLBACK').run();
      summary.imported = 0;
      summary.reinforced = 0;
    } else if (oneTransaction) {
      if (staged) Object.assign(summary, staged.finish());
      db.prepare('COMMIT').run();
      summary.written = options.strict || summary.imported + summary.reinforced > 0;
    } else summary.written = summary.imported + summary.reinforced > 0;
    return summary;
  } catch (error) {
    if (oneTransaction) {
      if (db.inTransaction) db.prepare('ROLLBACK').run();
    } else commits.keepWholeBatches();
    throw error;
  }
}

/**
 * Files from this size on, imported into a store without insights, are loaded first and indexed
 * after (StagedLoad). Below it the upsert path is as fast, and it commits as it goes.
 */
export const LOAD_THEN_INDEX_MIN_BYTES = 32 * 2 ** 20;

/**
 * Begins the one transaction of a staged load when the input is a file of at least
 * LOAD_THEN_INDEX_MIN_BYTES and the store holds no insight (checked under the write lock).
 */
function startStagedLoad(db: Database, source: ImportInput, workspaceId: number, minBytes: number): StagedLoad | undefined {
  if (!isFile(source)) return undefined;
  try {
    if (statSync(source.path).size < minBytes) return undefined;
  } catch {
    return undefined; // the import itself reports an unreadable file
  }
  db.prepare('BEGIN IMMEDIATE').run();
  try {
    if (db.prepare('SELECT 1 FROM insights LIMIT 1').get() === undefined) return new StagedLoad(db, workspaceId);
  } catch (error) {
    db.prepare('ROLLBACK').run();
    throw error;
  }
  db.prepare('COMMIT').run();
  return undefined;
}

/**
 * A large import into an empty store, in one transaction: rows are appended in file order to a
 * temporary table, then folded by normalized text into insights in order of first appearance,
 * and the unique index is built once, by sorting, at the end. Upserting random keys instead
 * rewrites most of the index's pages at every commit. The result is the upsert's, row for row:
 * the first line of a text gives its id, text, source, tags and created_at; its count is the sum
 * of the lines' counts; its confidence and last_reinforced_at the highest of theirs.
 * A kill leaves the store as it was (no batch, and the index untouched).
 */
class StagedLoad {
  private readonly many;
  private readonly one;
  private readonly values: unknown[] = [];
  private rows = 0;

  constructor(
    private readonly db: Database,
    private readonly workspaceId: number,
  ) {
    db.exec('CREATE TEMP TABLE import_staged (seq INTEGER PRIMARY KEY, text TEXT, normalized_text TEXT, source TEXT, tags TEXT, confidence REAL, reinforcement_count INTEGER, created_at INTEGER, last_reinforced_at INTEGER)');
    const statement = (rows: number) =>
      db.prepare(`INSERT INTO temp.import_staged (text, normalized_text, source, tags, confidence, reinforcement_count, created_at, last_reinforced_at) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
    this.many = statement(ROWS_PER_STATEMENT);
    this.one = statement(1);
  }

  stage(rows: Row[]): void {
    runInStatements(rows, this.values, (row) => this.push(row), this.many, this.one);
    this.rows += rows.length;
  }

  private push(row: Row): void {
    this.values.push(row.text, row.normalized_text, row.source, row.tags, row.confidence, row.reinforcement_count, row.created_at, row.last_reinforced_at);
  }

  /**
   * Folds the staged rows into insights and builds the index; returns the new against the reinforced.
   * Only texts that repeat are grouped into a side table (one sort of the staged rows); the rows
   * then go into insights in one scan in file order, each looked up there. Joining every group back
   * to its first row instead, then sorting the result by position, took three times as long.
   */
  finish(): { imported: number; reinforced: number } {
    this.db.exec(`CREATE TEMP TABLE import_repeated (normalized_text TEXT PRIMARY KEY, first INTEGER, count INTEGER, confidence REAL, last_reinforced_at INTEGER) WITHOUT ROWID;
      INSERT INTO temp.import_repeated
        SELECT normalized_text, min(seq), sum(reinforcement_count), max(confidence), max(last_reinforced_at)
        FROM temp.import_staged GROUP BY normalized_text HAVING count(*) > 1;
      DROP INDEX insights_active_normalized;`);
    const { changes } = this.db
      .prepare(
        `INSERT INTO insights (${INSIGHT_INSERT_COLUMNS})
         SELECT ?, s.text, s.normalized_text, s.source, s.tags, coalesce(r.confidence, s.confidence), coalesce(r.confidence, s.confidence),
           coalesce(r.count, s.reinforcement_count), s.created_at, coalesce(r.last_reinforced_at, s.last_reinforced_at)
         FROM temp.import_staged AS s LEFT JOIN temp.import_repeated AS r ON r.normalized_text = s.normalized_text
         WHERE r.first IS NULL OR r.first = s.seq
         ORDER BY s.seq`,
      )
      .run(this.workspaceId);
    this.db.exec(ACTIVE_TEXT_INDEX);
    this.db.exec('DROP TABLE temp.import_staged; DROP TABLE temp.import_repeated;');
    return { imported: changes, reinforced: this.rows - changes };
  }
}

/**
 * Commits whole batches by time (or a count of rows) rather than one by one. Every commit writes each index page the
 * transaction dirtied into the WAL, and texts arrive in random key order, so a 10,000-row batch
 * dirties most leaf pages of the unique index: committing every batch wrote 12× the bytes the
 * sqlite3 shell writes for the same upsert. Each batch runs in a savepoint, so what a commit, a
 * kill or a failure leaves is always whole batches in file order.
 */
class BatchCommits {
  private openedAt = 0;
  private uncommitted = 0;
  private inBatch = false;
  private readonly statements;

  constructor(private readonly db: Database) {
    const run = (sql: string) => db.prepare(sql);
    this.statements = { begin: run('BEGIN IMMEDIATE'), commit: run('COMMIT'), rollback: run('ROLLBACK'), savepoint: run('SAVEPOINT import_batch'), release: run('RELEASE import_batch'), undo: run('ROLLBACK TO import_batch') };
  }

  write(rows: number, batch: () => void): void {
    if (!this.db.inTransaction) {
      this.statements.begin.run();
      this.openedAt = performance.now();
      this.uncommitted = 0;
    }
    this.statements.savepoint.run();
    this.inBatch = true;
    batch();
    this.statements.release.run();
    this.inBatch = false;
    this.uncommitted += rows;
    if (this.uncommitted >= IMPORT_COMMIT_MAX_ROWS || performance.now() - this.openedAt >= IMPORT_COMMIT_MS) this.commit();
  }

  commit(): void {
    if (this.db.inTransaction) this.statements.commit.run();
  }

  /** After a failure: the batch it interrupted is undone, the whole ones before it are kept. */
  keepWholeBatches(): void {
    if (!this.db.inTransaction) return; // SQLite rolled everything back itself (a full disk, an I/O error)
    try {
      if (this.inBatch) {
        this.statements.undo.run();
        this.statements.release.run();
      }
      this.statements.commit.run();
    } catch {
      if (this.db.inTransaction) this.statements.rollback.run();
    }
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

