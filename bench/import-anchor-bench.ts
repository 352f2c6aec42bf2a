/**
 * Import against the sqlite3 CLI (issue 24): the same upsert of the same realistic file, the
 * store's import beside SQLite's own shell, interleaved, in one run. Prints one JSON line.
 *
 *   node --import tsx bench/import-anchor-bench.ts [--lines 1000000] [--runs 3]
 *   node --import tsx bench/import-anchor-bench.ts --generate FILE [--lines N]   (the input alone)
 *
 * The file: N JSONL lines of CRM-style notes built around real one-line texts (the 120,000 PyPI
 * summaries of bench/data), drawn by a seeded PRNG, so the normalized texts (the unique index's
 * keys) arrive in random order, as a real export's do. About 8 % repeat an earlier note (its
 * first letter's case flipped, so only normalization makes them one), with their own source,
 * tags, confidence and dates: those reinforce.
 *
 * The anchor: /usr/bin/sqlite3 (Debian's package `sqlite3`) reads the same file with `.import`
 * into a temporary table of lines, then one `INSERT … SELECT json_extract(…) … ON CONFLICT
 * (workspace_id, normalized_text) DO UPDATE` with the store's own reinforcement clause, in one
 * transaction, into a database of the store's schema (WAL, synchronous NORMAL, as the store
 * opens it; the shell's default page cache). Its normalization is `lower(trim(text))`, an
 * approximation of the store's NFKC + case + whitespace + edge-punctuation rule that gives the
 * same keys on this file (the bench checks both stores hold the same counts). Tags are lower-cased
 * and trimmed, without removing repeats. Where sqlite3 is missing the ratio is skipped and the
 * bench says how to install it.
 *
 * Disk writes: GNU time's %O, the kernel's write_bytes of each child (as /proc/<pid>/io counts them).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Sqlite from 'better-sqlite3';
import { openDatabaseWith } from '../src/engine/store/db.js';
import { INSIGHT_INSERT_COLUMNS, REINFORCE_ON_CONFLICT } from '../src/engine/store/insights.js';
import { seededRandom } from './lib/seeded.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const lines = arg('--lines', 200_000);
const runs = arg('--runs', 3);
const SQLITE = '/usr/bin/sqlite3';

const FIRST = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne', 'Soylent', 'Vandelay', 'Pied Piper', 'Massive', 'Oscorp', 'Northwind', 'Contoso', 'Fabrikam', 'Aperture', 'Gringotts'];
const LAST = ['Corp', 'Health', 'Logistics', 'Retail', 'Foods', 'Bio', 'Systems', 'Energy', 'Imports', 'Labs', 'Bank', 'Media'];
const PEOPLE = ['their CTO', 'the VP of Sales', 'a data engineer', 'procurement', 'the champion', 'an admin', 'the CFO', 'their security lead'];
const CHANNELS = ['on the renewal call', 'in a support ticket', 'during onboarding', 'at the QBR', 'in Slack', 'by email', 'in the demo', 'on a Gong call'];
const QUARTERS = ['Q1', 'Q2', 'Q3', 'Q4'];
const TEMPLATES: Array<(c: string, p: string, ch: string, q: string, s: string) => string> = [
  (c, p, ch, _q, s) => `${c}: ${p} asked for something like "${s}" ${ch}`,
  (c, _p, ch, q, s) => `${q} note from ${c} ${ch}: ${s}`,
  (c, p, _ch, q, s) => `${s} (raised by ${p} at ${c}, ${q})`,
  (c, p, ch, _q, s) => `${p} at ${c} compared us with a tool described as "${s}" ${ch}`,
  (c, _p, ch, q, s) => `Evaluating ${s.charAt(0).toLowerCase()}${s.slice(1)} - ${c} wants it before ${q} ${ch}`,
  (c, p, ch, _q, s) => `${c} churn risk: ${p} said ${ch} they now use "${s}"`,
];
const SOURCES = ['gong-call', 'zendesk', 'hubspot', 'slack', 'email', 'product-analytics', 'salesforce', 'intercom'];
const TAGS = ['pricing', 'security', 'churn-risk', 'renewal', 'integrations', 'support', 'enterprise', 'onboarding', 'competitor', 'feature-request', 'expansion', 'Product-Usage'];

function summaries(): string[] {
  const raw = gunzipSync(readFileSync(path.join(ROOT, 'bench', 'data', 'pypi-summaries.jsonl.gz'))).toString('utf8');
  return raw
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text.trim())
    // Single-line, ASCII-edged texts keep lower(trim()) an exact stand-in for the store's normalization.
    .filter((t) => t.length > 0 && /^[a-z0-9]/i.test(t) && /[a-z0-9]$/i.test(t) && !/\s\s|[\t\r\n]/.test(t) && !/[^\x20-\x7e]/.test(t));
}

/** Writes the N-line file; returns how many lines repeat an earlier one. */
async function generateRealisticFile(file: string, count: number, seed = 24): Promise<number> {
  const texts = summaries();
  const rand = seededRandom(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  // A note is its recipe (five indexes); a repeat re-renders an earlier recipe instead of holding its text.
  const recipes = new Uint32Array(count * 5);
  const render = (i: number) => {
    const r = recipes.subarray(i * 5, i * 5 + 5);
    const company = `${FIRST[r[0]! % FIRST.length]} ${LAST[Math.floor(r[0]! / FIRST.length) % LAST.length]}`;
    return TEMPLATES[r[1]! % TEMPLATES.length]!(company, PEOPLE[r[2]! % PEOPLE.length]!, CHANNELS[Math.floor(r[2]! / PEOPLE.length) % CHANNELS.length]!, QUARTERS[r[3]! % 4]!, texts[r[4]!]!);
  };
  const out = createWriteStream(file);
  const start = Date.parse('2024-06-01T00:00:00Z');
  let repeats = 0;
  for (let i = 0; i < count; i++) {
    let text: string;
    if (i > 100 && rand() < 0.08) {
      const earlier = Math.floor(rand() * i);
      recipes.set(recipes.subarray(earlier * 5, earlier * 5 + 5), i * 5);
      const t = render(i);
      const first = t.charAt(0);
      text = (first === first.toUpperCase() ? first.toLowerCase() : first.toUpperCase()) + t.slice(1);
      repeats++;
    } else {
      recipes.set([Math.floor(rand() * FIRST.length * LAST.length), Math.floor(rand() * TEMPLATES.length), Math.floor(rand() * PEOPLE.length * CHANNELS.length), Math.floor(rand() * 4), Math.floor(rand() * texts.length)], i * 5);
      text = render(i);
    }
    const created = start + Math.floor(rand() * 730 * 86_400_000);
    const record: Record<string, unknown> = { text, source: pick(SOURCES), tags: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(TAGS)), confidence: Math.round((0.3 + rand() * 0.7) * 100) / 100, created_at: new Date(created).toISOString() };
    if (rand() < 0.3) record.last_reinforced_at = new Date(created + Math.floor(rand() * 90 * 86_400_000)).toISOString();
    if (!out.write(`${JSON.stringify(record)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return repeats;
}

const ms = (field: string) => `CAST(round((julianday(json_extract(line, '$.${field}')) - 2440587.5) * 86400000) AS INTEGER)`;

/** The anchor's script: the shell's own import, then one upsert with the store's reinforcement clause. */
function anchorScript(file: string): string {
  const text = `trim(json_extract(line, '$.text'))`;
  const confidence = `coalesce(json_extract(line, '$.base_confidence'), json_extract(line, '$.confidence'), 0.5)`;
  const created = `coalesce(${ms('created_at')}, ${ms('last_reinforced_at')})`;
  return [
    '.bail on',
    'PRAGMA journal_mode = WAL;',
    'PRAGMA synchronous = NORMAL;',
    'CREATE TEMP TABLE lines (line TEXT);',
    '.mode ascii',
    // JSON lines hold no raw control characters: 0x1f never splits a line, newline ends a row.
    '.separator "\\037" "\\n"',
    `.import '${file.replace(/'/g, "''")}' lines`,
    'BEGIN IMMEDIATE;',
    `INSERT INTO insights (${INSIGHT_INSERT_COLUMNS})
      SELECT 1, ${text}, lower(${text}), nullif(trim(json_extract(line, '$.source')), ''),
        coalesce((SELECT json_group_array(lower(trim(value))) FROM json_each(line, '$.tags')), '[]'),
        ${confidence}, ${confidence}, coalesce(json_extract(line, '$.reinforcement_count'), 1),
        ${created}, max(coalesce(${ms('last_reinforced_at')}, ${created}), ${created})
      FROM lines WHERE true ORDER BY rowid
      ${REINFORCE_ON_CONFLICT};`,
    'COMMIT;',
    '',
  ].join('\n');
}

interface Measured {
  seconds: number;
  peakMb: number;
  writeMb: number;
  stdout: string;
}

/**
 * Runs a command under GNU time: wall time, peak RSS (%M) and disk writes (%O: the kernel's
 * write_bytes of the process and its children, the /proc/<pid>/io figure, in 512-byte units).
 */
function measure(argv: string[], env: Record<string, string>, input?: string): Measured {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %O', ...argv], { encoding: 'utf8', env: { ...process.env, ...env }, input, maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.slice(0, 3).join(' ')} failed (${r.status}): ${r.stderr}`);
  const [peakKb, blocks] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { seconds, peakMb: peakKb! / 1024, writeMb: (blocks! * 512) / 2 ** 20, stdout: r.stdout };
}

function counts(file: string): { rows: number; reinforcements: number } {
  const db = new Sqlite(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) AS rows, sum(reinforcement_count) - count(*) AS reinforcements FROM insights').get() as { rows: number; reinforcements: number };
  } finally {
    db.close();
  }
}

const removeDb = (file: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

const generateOnly = process.argv.indexOf('--generate');
if (generateOnly !== -1) {
  // Just the input, for profiling or other tools: --generate FILE [--lines N].
  await generateRealisticFile(process.argv[generateOnly + 1]!, lines);
  process.exit(0);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-import-anchor-'));
try {
  const file = path.join(dir, 'realistic.jsonl');
  const repeats = await generateRealisticFile(file, lines);
  // Flushed now, so the kernel's write-back of the fresh file does not land inside the first run.
  const fd = openSync(file, 'r');
  fsyncSync(fd);
  closeSync(fd);
  const hasSqlite = existsSync(SQLITE);
  if (!hasSqlite) process.stderr.write(`import bench: ${SQLITE} is missing, so the anchor is skipped: install it with \`sudo apt-get install sqlite3\` (Debian's package sqlite3)\n`);
  const engine: Measured[] = [];
  const anchor: Measured[] = [];
  let engineCounts: ReturnType<typeof counts> | undefined;
  let anchorCounts: ReturnType<typeof counts> | undefined;
  for (let run = 0; run < runs; run++) {
    const engineDb = path.join(dir, `engine-${run}.db`);
    engine.push(measure([process.execPath, path.join(ROOT, 'bin', 'nex-compound.js'), 'insights', 'import', file, '--json', '-q'], { NEX_COMPOUND_DB: engineDb }));
    engineCounts = counts(engineDb);
    removeDb(engineDb);
    if (hasSqlite) {
      const anchorDb = path.join(dir, `anchor-${run}.db`);
      openDatabaseWith(Sqlite, anchorDb, { create: true }).close(); // the store's schema, empty
      anchor.push(measure([SQLITE, anchorDb], {}, anchorScript(file)));
      anchorCounts = counts(anchorDb);
      removeDb(anchorDb);
    }
  }
  const engineSeconds = median(engine.map((m) => m.seconds));
  const anchorSeconds = hasSqlite ? median(anchor.map((m) => m.seconds)) : null;
  process.stdout.write(
    `${JSON.stringify({
      lines,
      runs,
      repeats,
      load: os.loadavg().map((l) => round(l)),
      engine_seconds: engine.map((m) => round(m.seconds)),
      engine_median_seconds: round(engineSeconds),
      engine_peak_rss_mb: Math.round(Math.max(...engine.map((m) => m.peakMb))),
      engine_write_mb: Math.round(median(engine.map((m) => m.writeMb))),
      engine_counts: engineCounts,
      anchor_seconds: anchor.map((m) => round(m.seconds)),
      anchor_median_seconds: anchorSeconds === null ? null : round(anchorSeconds),
      anchor_peak_rss_mb: hasSqlite ? Math.round(Math.max(...anchor.map((m) => m.peakMb))) : null,
      anchor_write_mb: hasSqlite ? Math.round(median(anchor.map((m) => m.writeMb))) : null,
      anchor_counts: anchorCounts ?? null,
      ratio: anchorSeconds === null ? null : round(engineSeconds / anchorSeconds, 3),
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
