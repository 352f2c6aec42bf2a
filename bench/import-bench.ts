/**
 * Import throughput: generates an N-line JSONL file (default 200,000; --lines 1000000 for
 * the full figure) of varied insights with ~5 % duplicates, then imports it with the real
 * CLI into a fresh database --runs times (default 3) and reports the median insights/s, the
 * range, and the children's highest peak RSS (GNU time). Prints one JSON line.
 *
 * Baseline: the storage floor. Each CLI run is paired with an in-process run that feeds the
 * same file's rows, already parsed, to the importer's own RowWriter in the same batches and
 * transactions, timing only the writes and the final checkpoint. The ratio import ÷ floor
 * says how much the pipeline (reading, parsing in the worker, handing rows over) adds to
 * what SQLite itself needs for these rows on this machine at that moment.
 *
 * The file is flushed to disk before the first import: otherwise the kernel writes the
 * freshly generated 185 MB back while the first import runs, which slowed it by up to 25 %.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, createWriteStream, fsyncSync, mkdtempSync, openSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';
import { openDatabaseWith } from '../src/engine/store/db.js';
import { IMPORT_BATCH_ROWS, IMPORT_CHECKPOINT_PAGES, RowWriter } from '../src/engine/store/import/import.js';
import { JsonlParser, type Row } from '../src/engine/store/import/rows.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const linesArg = process.argv.indexOf('--lines');
const lines = linesArg === -1 ? 200_000 : Number(process.argv[linesArg + 1]);
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg === -1 ? 3 : Number(process.argv[runsArg + 1]);

const SUBJECTS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne'];
const VERBS = ['renews in', 'asked about', 'churned over', 'expanded seats after', 'complained about', 'praised', 'requested', 'escalated'];
const OBJECTS = ['pricing', 'SSO', 'the Snowflake integration', 'onboarding', 'SOC 2', 'the API rate limits', 'support response times', 'the mobile app'];
const SOURCES = ['gong-call', 'zendesk', 'hubspot', 'slack', 'email', 'product-analytics'];
const TAGS = ['pricing', 'security', 'churn-risk', 'renewal', 'integrations', 'support', 'enterprise', 'onboarding'];

async function generate(file: string): Promise<void> {
  const out = createWriteStream(file);
  let seed = 42;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  const base = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < lines; i++) {
    const n = rand() < 0.05 && i > 10 ? Math.floor(rand() * i) : i; // ~5 % repeat an earlier insight
    const text = `${SUBJECTS[n % 10]} account ${n} ${VERBS[n % 8]} ${OBJECTS[(n >> 3) % 8]} (note ${n}).`;
    const created = new Date(base + (n % 300) * 86_400_000).toISOString();
    const line = JSON.stringify({ text, source: pick(SOURCES), tags: [pick(TAGS), pick(TAGS)], confidence: Math.round(rand() * 100) / 100, created_at: created });
    if (!out.write(`${line}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** Seconds SQLite needs to store the file's rows through the importer's writer, parsing untimed. */
async function storageFloorSeconds(file: string, dbPath: string): Promise<number> {
  const db = openDatabaseWith(Sqlite, dbPath, { create: true });
  db.pragma(`wal_autocheckpoint = ${IMPORT_CHECKPOINT_PAGES}`);
  const writer = new RowWriter(db, 1);
  const writeBatch = db.transaction((rows: Row[]) => writer.write(rows));
  let rows: Row[] = [];
  let ms = 0;
  const flush = () => {
    const start = performance.now();
    writeBatch.immediate(rows);
    ms += performance.now() - start;
    rows = [];
  };
  const parser = new JsonlParser(Date.now(), (row) => {
    rows.push(row);
    if (rows.length === IMPORT_BATCH_ROWS) flush();
  }, () => undefined);
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) parser.push(chunk as Buffer);
  parser.end();
  if (rows.length > 0) flush();
  const start = performance.now();
  db.close(); // the last checkpoint, which the CLI pays too
  return (ms + performance.now() - start) / 1000;
}

/** Seconds and peak RSS (MB) of one command under GNU time, or of a shell line without it. */
function timed(argv: string[], env: Record<string, string> = {}): { seconds: number; peakMb: number } {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.slice(0, 4).join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds: Math.round(seconds * 100) / 100, peakMb: Math.round(Number(r.stderr.trim().split('\n').at(-1)) / 1024) };
}

/**
 * The store's other round trips on the imported database: export (anchor: the sqlite3 CLI writing
 * the same rows as JSON objects), export → import --restore into a fresh database, and backup
 * (anchor: the sqlite3 CLI's own .backup). Anchors are skipped where sqlite3 is not installed.
 */
function storeFigures(storeFile: string, dir: string): Record<string, number | null> {
  const bin = [process.execPath, path.join(ROOT, 'bin', 'nex-compound.js')];
  const exported = path.join(dir, 'export.jsonl');
  const exportRun = timed([...bin, 'insights', 'export', '--output', exported, '-q'], { NEX_COMPOUND_DB: storeFile });
  const restoreRun = timed([...bin, 'insights', 'import', '--restore', exported, '-q', '--json'], { NEX_COMPOUND_DB: path.join(dir, 'restored.db') });
  const backupRun = timed([...bin, 'backup', path.join(dir, 'backup.db'), '-q'], { NEX_COMPOUND_DB: storeFile });
  const hasSqlite = spawnSync('sqlite3', ['-version']).status === 0;
  const anchor = (args: string[]) => (hasSqlite ? timed(['sh', '-c', args.join(' ')]).seconds : null);
  const json = `SELECT json_object('id', id, 'text', text, 'source', source, 'tags', json(tags), 'confidence', confidence, 'base_confidence', base_confidence, 'reinforcement_count', reinforcement_count, 'status', status, 'merged_into', merged_into, 'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch'), 'last_reinforced_at', strftime('%Y-%m-%dT%H:%M:%fZ', last_reinforced_at / 1000.0, 'unixepoch')) FROM insights ORDER BY id`;
  return {
    export_seconds: exportRun.seconds,
    export_peak_rss_mb: exportRun.peakMb,
    export_anchor_seconds: anchor(['sqlite3', storeFile, JSON.stringify(json), '>', path.join(dir, 'anchor.jsonl')]),
    restore_seconds: restoreRun.seconds,
    restore_peak_rss_mb: restoreRun.peakMb,
    backup_seconds: backupRun.seconds,
    backup_peak_rss_mb: backupRun.peakMb,
    backup_anchor_seconds: anchor(['sqlite3', storeFile, JSON.stringify(`.backup ${path.join(dir, 'anchor.db')}`)]),
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-import-bench-'));
try {
  const file = path.join(dir, 'insights.jsonl');
  const storeFile = path.join(dir, 'store.db');
  await generate(file);
  const fd = openSync(file, 'r');
  fsyncSync(fd);
  closeSync(fd);
  const results: Array<{ seconds: number; perSecond: number; peakMb: number; floorSeconds: number }> = [];
  let summary: { imported: number; reinforced: number } | undefined;
  for (let run = 0; run < runs; run++) {
    const db = path.join(dir, `engine-${run}.db`);
    const start = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(ROOT, 'bin', 'nex-compound.js'), 'insights', 'import', file, '--json', '-q'], {
      encoding: 'utf8',
      env: { ...process.env, NEX_COMPOUND_DB: db },
      maxBuffer: 64 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (r.status !== 0) throw new Error(`import failed (${r.status}): ${r.stderr}`);
    summary = JSON.parse(r.stdout) as { imported: number; reinforced: number };
    if (run === runs - 1) renameSync(db, storeFile);
    for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
    const floorSeconds = await storageFloorSeconds(file, db);
    for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
    results.push({ seconds, perSecond: lines / seconds, peakMb: Number(r.stderr.trim().split('\n').at(-1)) / 1024, floorSeconds });
  }
  const store = storeFigures(storeFile, dir);
  const rates = results.map((r) => r.perSecond).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  const floors = results.map((r) => lines / r.floorSeconds).sort((a, b) => a - b);
  const medianFloor = floors[Math.floor(floors.length / 2)]!;
  process.stdout.write(
    `${JSON.stringify({
      lines,
      runs,
      imported: summary!.imported,
      reinforced: summary!.reinforced,
      seconds: results.map((r) => Math.round(r.seconds * 100) / 100),
      insights_per_second: Math.round(median),
      insights_per_second_min: Math.round(rates[0]!),
      insights_per_second_max: Math.round(rates.at(-1)!),
      floor_seconds: results.map((r) => Math.round(r.floorSeconds * 100) / 100),
      floor_insights_per_second: Math.round(medianFloor),
      peak_rss_mb: Math.round(Math.max(...results.map((r) => r.peakMb))),
      ...store,
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
