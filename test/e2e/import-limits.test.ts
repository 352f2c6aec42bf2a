/**
 * An import's memory is bounded by the longest record it reads (MAX_RECORD_CHARS), not by its
 * input: the built bin imports files holding a quote that never closes and lines of tens of
 * megabytes, from a file and from standard input, and its peak RSS is measured (the process's own
 * getrusage, recorded at exit by a preloaded module, so it includes the parsing worker thread).
 *
 * The files are written in chunks and never held by the test. Before the limit, the CSV case
 * peaked near 2 GB (the rest of the file buffered in one quoted field) and the JSONL line at 3.7 GB.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, tempDir } from '../helpers/cli.js';

/** Well above what a bounded import needs (about 100 MB), far below what an unbounded one takes. */
const PEAK_RSS_LIMIT_MB = 300;
const MB = 1024 * 1024;

const dir = tempDir('nex-compound-import-limits-');
after(() => rmSync(dir, { recursive: true, force: true }));

const PEAK_FILE = path.join(dir, 'peak-kb');
const PRELOAD = path.join(dir, 'peak.mjs');
writeFileSync(
  PRELOAD,
  `import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
if (isMainThread) process.on('exit', () => writeFileSync(${JSON.stringify(PEAK_FILE)}, String(process.resourceUsage().maxRSS)));
`,
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  peakMb: number;
}

/** Runs the built bin's import with its peak RSS recorded; standard input, if given, is read from a file. */
function importWithPeak(args: string[], db: string, stdinFile?: string): Promise<Run> {
  rmSync(PEAK_FILE, { force: true });
  const stdin = stdinFile === undefined ? 'ignore' : openSync(stdinFile, 'r');
  const env = { PATH: process.env.PATH ?? '', HOME: dir, NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config'), NEX_COMPOUND_DB: db };
  const child = spawn(process.execPath, ['--import', pathToFileURL(PRELOAD).href, BIN, 'insights', 'import', ...args, '--json'], { env, stdio: [stdin, 'pipe', 'pipe'] });
  if (typeof stdin === 'number') closeSync(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  // Not a timed assertion: only a guard against a hang.
  const guard = setTimeout(() => child.kill('SIGKILL'), 300_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      let peakKb = Number.NaN;
      try {
        peakKb = Number(readFileSync(PEAK_FILE, 'utf8'));
      } catch {
        // no exit handler ran: the process was killed (a V8 heap abort, the guard)
      }
      resolve({ code, stdout, stderr, peakMb: peakKb / 1024 });
    });
  });
}

/** Writes the file from parts that are strings or generators of strings, awaiting the stream's drain. */
async function writeStreamed(file: string, parts: Iterable<string>): Promise<void> {
  const out = createWriteStream(file);
  for (const part of parts) {
    if (!out.write(part)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

function* repeated(piece: string, times: number): Generator<string> {
  for (let i = 0; i < times; i++) yield piece;
}

const summaryOf = (run: Run) => JSON.parse(run.stdout) as { lines: number; imported: number; skipped: number };

test('a 60 MB CSV whose second record opens a quote that never closes: that line is reported, every record after it imported, in bounded memory', async (t) => {
  const file = path.join(dir, 'unclosed.csv');
  // An ignored "notes" column makes the file big without making the store slow to fill.
  const notes = 'n'.repeat(2000);
  const ROWS = 20_000;
  const LONG_LINE_AT = 10_000;
  function* body(): Generator<string> {
    yield 'text,source,confidence,tags,notes\n';
    yield 'first record,email,0.5,x,\n';
    yield '"the second record opens a quote that never closes,email,0.5,x,\n';
    for (let i = 0; i < ROWS; i++) {
      // A 20 MB line, a record of its own, is cut while it streams (line 10,004).
      if (i === LONG_LINE_AT) yield* repeated('z'.repeat(MB), 20);
      yield `row ${i},email,0.5,x,${notes}\n`;
    }
  }
  await writeStreamed(file, body());
  const run = await importWithPeak([file], path.join(dir, 'csv.db'));
  rmSync(file);
  assert.equal(run.code, 9, run.stderr);
  assert.deepEqual(run.stderr.split('\n').filter((l) => l.startsWith(file)), [
    `${file}:3: unterminated quoted field: no closing quote within 262,144 characters`,
    `${file}:${LONG_LINE_AT + 4}: longer than 262,144 characters`,
  ]);
  assert.deepEqual(summaryOf(run), { lines: ROWS + 3, imported: ROWS, reinforced: 0, skipped: 2, written: true });
  t.diagnostic(`peak RSS ${run.peakMb.toFixed(0)} MB`);
  assert.ok(run.peakMb < PEAK_RSS_LIMIT_MB, `peak RSS ${run.peakMb.toFixed(0)} MB`);
});

test('a 100 MB JSONL line, from a file and from standard input: reported as too long at its number, the next line imported, in bounded memory', async (t) => {
  const file = path.join(dir, 'long.jsonl');
  function* body(): Generator<string> {
    yield '{"text": "before the long line"}\n';
    yield '{"text": "';
    yield* repeated('x'.repeat(MB), 100);
    yield '"}\n';
    yield '{"text": "after the long line"}\n';
  }
  await writeStreamed(file, body());
  const fromFile = await importWithPeak([file], path.join(dir, 'file.db'));
  const fromStdin = await importWithPeak(['-'], path.join(dir, 'stdin.db'), file);
  rmSync(file);
  for (const [run, name] of [[fromFile, file], [fromStdin, 'stdin']] as const) {
    assert.equal(run.code, 9, `${name}: ${run.stderr}`);
    assert.deepEqual(run.stderr.split('\n').filter((l) => l.startsWith(`${name}:`)), [`${name}:2: longer than 262,144 characters`]);
    assert.deepEqual(summaryOf(run), { lines: 3, imported: 2, reinforced: 0, skipped: 1, written: true });
    t.diagnostic(`${name}: peak RSS ${run.peakMb.toFixed(0)} MB`);
    assert.ok(run.peakMb < PEAK_RSS_LIMIT_MB, `${name}: peak RSS ${run.peakMb.toFixed(0)} MB`);
  }
});
