/** The streaming importer on a real SQLite file: line splitting, CSV quoting, reinforcement, strict mode. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { ACTIVE_TEXT_INDEX, openDatabaseWith } from '../../../../src/engine/store/db.js';
import { IMPORT_CACHE_MIB, importInsights } from '../../../../src/engine/store/import/import.js';
import { listInsights } from '../../../../src/engine/store/insights.js';
import { normalizeText } from '../../../../src/engine/text/normalize.js';
import { UsageError } from '../../../../src/contract/errors.js';
import { tempDir } from '../../../helpers/cli.js';

const NOW = Date.parse('2026-11-01T00:00:00Z');
const db = () => openDatabaseWith(Sqlite, path.join(tempDir('nex-compound-import-'), 'e.db'), { create: true });
/** Feeds the text in awkward chunks: splits inside lines, inside CRLF and inside multi-byte characters. */
async function* chunks(text: string, size = 7) {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
const run = (d: Sqlite.Database, text: string, format: 'jsonl' | 'csv', strict = false, batchSize?: number, parallel = false, chunkSize = 7) =>
  importInsights(d, chunks(text, chunkSize), { workspaceId: 1, format, strict, now: NOW, parallel, ...(batchSize ? { batchSize } : {}) });

test('normalization: case, spacing, NFKC and surrounding punctuation', () => {
  assert.equal(normalizeText('  Acme  RENEWS in Q3. '), 'acme renews in q3');
  assert.equal(normalizeText('"Acme renews in Q3!"'), 'acme renews in q3');
  assert.equal(normalizeText('Ｑ３ ﬁnance'), 'q3 finance');
});

for (const parallel of [false, true]) {
    test(`JSONL: BOM, CRLF, blank lines, a last line without newline, multi-byte text split across chunks${parallel ? ' (parsing worker)' : ''}`, async () => {
    const d = db();
    const text = '\uFEFF' + [JSON.stringify({ text: 'Café Zürich wants SSO — soon' }), '', JSON.stringify({ text: 'Second' })].join('\r\n');
    const summary = await run(d, text, 'jsonl', false, undefined, parallel);
    assert.deepEqual({ lines: summary.lines, imported: summary.imported, skipped: summary.skipped }, { lines: 3, imported: 2, skipped: 0 });
    assert.deepEqual(listInsights(d, { workspaceId: 1 }).map((i) => i.text), ['Café Zürich wants SSO — soon', 'Second']);
  });
}

for (const parallel of [false, true]) {
    test(`duplicates in a file and against the store are reinforced, with the max confidence and latest date${parallel ? ' (parsing worker)' : ''}`, async () => {
    const d = db();
    const lines = [
      { text: 'Acme renews in Q3', confidence: 0.4, last_reinforced_at: '2026-01-01T00:00:00Z' },
      { text: 'acme renews in q3.', confidence: 0.8, last_reinforced_at: '2026-03-01T00:00:00Z' },
      { text: 'ACME renews in Q3', confidence: 0.6, last_reinforced_at: '2026-02-01T00:00:00Z' },
    ].map((l) => JSON.stringify(l));
    const summary = await run(d, lines.join('\n'), 'jsonl', false, 2, parallel);
    assert.equal(summary.imported, 1);
    assert.equal(summary.reinforced, 2);
    const [insight] = listInsights(d, { workspaceId: 1 });
    assert.equal(insight!.reinforcement_count, 3);
    assert.equal(insight!.base_confidence, 0.8);
    assert.equal(insight!.last_reinforced_at, '2026-03-01T00:00:00.000Z');
  });
}

test('CSV: quoted commas, doubled quotes, newlines inside quotes; bad records report the line they start on', async () => {
  const d = db();
  const csv = [
    'text,source,confidence,tags',
    '"Hooli needs SOC 2, Type II",email,0.8,"security;enterprise"',
    '"She said ""renew"" twice",slack,0.5,',
    '"A note',
    'over two lines",zendesk,0.7,support',
    'Too few fields,only',
    'Bad confidence,email,2,x',
  ].join('\n');
  const summary = await run(d, csv, 'csv');
  assert.equal(summary.imported, 3);
  assert.deepEqual(summary.errors.map((e) => e.line), [6, 7]);
  const texts = listInsights(d, { workspaceId: 1 }).map((i) => i.text);
  assert.deepEqual(texts, ['Hooli needs SOC 2, Type II', 'She said "renew" twice', 'A note\nover two lines']);
  await assert.rejects(run(db(), 'body,source\nx,y\n', 'csv'), UsageError);
  const unterminated = await run(db(), 'text\n"never closed\n', 'csv');
  assert.deepEqual(unterminated.errors, [{ line: 2, message: 'unterminated quoted field: the quote opened here never closes' }]);
});

for (const parallel of [false, true]) {
    test(`strict: one bad line among many leaves the store untouched, across batch boundaries${parallel ? ' (parsing worker)' : ''}`, async () => {
    const d = db();
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `note ${i}` }));
    lines.splice(37, 0, '{"text": 12}');
    const summary = await run(d, lines.join('\n'), 'jsonl', true, 10, parallel);
    assert.equal(summary.written, false);
    assert.deepEqual(summary.errors, [{ line: 38, message: '"text" must be a string' }]);
    assert.equal(listInsights(d, { workspaceId: 1 }).length, 0);
    const lenient = await run(d, lines.join('\n'), 'jsonl', false, 10, parallel);
    assert.equal(lenient.imported, 50);
  });
}

test('the parsing worker and the in-process parser leave identical stores and summaries', async () => {
  // Duplicates land inside one multi-row statement, across statements and across batches;
  // bad lines of every kind are spread through; chunks split lines anywhere.
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 97 === 13) lines.push('{"text": "broken');
    else if (i % 101 === 7) lines.push(JSON.stringify({ text: `note ${i}`, confidence: 2 }));
    else if (i % 89 === 5) lines.push(JSON.stringify({ text: `note ${i}`, created_at: 'yesterday' }));
    else lines.push(JSON.stringify({ text: `Note ${i % 1000}${i % 3 === 0 ? '.' : ''}`, source: `s${i % 4}`, tags: [`t${i % 5}`], confidence: (i % 100) / 100, last_reinforced_at: NOW - i * 1000 }));
  }
  const text = lines.join('\n');
  const serial = db();
  const parallel = db();
  const a = await run(serial, text, 'jsonl', false, 700, false, 4096);
  const b = await run(parallel, text, 'jsonl', false, 700, true, 1001);
  // A file is read by the worker itself, which waits whenever a batch is still unwritten:
  // 30-row batches make it wait about a hundred times.
  const file = path.join(tempDir('nex-compound-import-file-'), 'in.jsonl');
  writeFileSync(file, text);
  const fromFile = db();
  const c = await importInsights(fromFile, { kind: 'file', path: file }, { workspaceId: 1, format: 'jsonl', strict: false, now: NOW, parallel: true, batchSize: 30 });
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  assert.equal(a.imported, 1000);
  assert.equal(a.imported + a.reinforced + a.skipped, 3000);
  const all = (d: Sqlite.Database) => d.prepare('SELECT * FROM insights ORDER BY id').all();
  assert.deepEqual(all(parallel), all(serial));
  assert.deepEqual(all(fromFile), all(serial));
});

test('a file import whose writing fails stops its parsing worker, keeps the written batches and closes the file', async () => {
  const d = db();
  const file = path.join(tempDir('nex-compound-import-file-'), 'in.jsonl');
  writeFileSync(file, Array.from({ length: 5000 }, (_, i) => JSON.stringify({ text: `fact ${i}` })).join('\n'));
  // The 101st insert fails, while the worker is blocked waiting for the writer.
  d.exec(`CREATE TRIGGER fail_late BEFORE INSERT ON insights WHEN (SELECT count(*) FROM insights) >= 100 BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
  const openFds = () => readdirSync('/proc/self/fd').length;
  const before = openFds();
  const options = { workspaceId: 1, format: 'jsonl' as const, now: NOW, parallel: true, batchSize: 50 };
  await assert.rejects(importInsights(d, { kind: 'file', path: file }, { ...options, strict: false }), /disk says no/);
  assert.equal(d.prepare('SELECT count(*) FROM insights').pluck().get(), 100, 'the two committed batches stay');
  await assert.rejects(importInsights(d, { kind: 'file', path: file }, { ...options, strict: true }), /disk says no/);
  assert.equal(d.prepare('SELECT count(*) FROM insights').pluck().get(), 100, 'strict: nothing more');
  assert.equal(d.inTransaction, false);
  assert.equal(d.pragma('wal_autocheckpoint', { simple: true }), 1000, "the connection's checkpoint threshold is restored");
  assert.equal(openFds(), before, 'the file descriptor is closed');
});

test('an import into a store that already has rows counts new against reinforced exactly', async () => {
  const d = db();
  await run(d, Array.from({ length: 60 }, (_, i) => JSON.stringify({ text: `fact ${i * 2}` })).join('\n'), 'jsonl');
  // Half of these exist already; the new ones interleave with them inside 100-row statements.
  const summary = await run(d, Array.from({ length: 120 }, (_, i) => JSON.stringify({ text: `fact ${i}` })).join('\n'), 'jsonl', false, 1000, true);
  assert.deepEqual({ imported: summary.imported, reinforced: summary.reinforced }, { imported: 60, reinforced: 60 });
  assert.equal(listInsights(d, { workspaceId: 1, limit: 1000 }).length, 120);
});

test("the import's page cache and checkpoint threshold are the connection's own again afterwards, whether it succeeds or fails", async () => {
  const d = db();
  d.pragma('cache_size = -3000');
  const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `note ${(i * 7919) % 300}` })).join('\n');
  let during: unknown;
  const summary = await importInsights(d, chunks(lines, 512), {
    workspaceId: 1,
    format: 'jsonl',
    strict: false,
    now: NOW,
    batchSize: 100,
    onProgress: () => (during ??= d.pragma('cache_size', { simple: true })),
  });
  assert.equal(summary.imported, 300);
  assert.equal(during, -IMPORT_CACHE_MIB * 1024, 'the import ran with its own cache');
  assert.equal(d.pragma('cache_size', { simple: true }), -3000);
  assert.equal(d.pragma('wal_autocheckpoint', { simple: true }), 1000);
  d.exec(`CREATE TRIGGER refuse BEFORE INSERT ON insights BEGIN SELECT RAISE(ABORT, 'no'); END`);
  await assert.rejects(run(d, JSON.stringify({ text: 'one more' }), 'jsonl'), /no/);
  assert.equal(d.pragma('cache_size', { simple: true }), -3000);
  assert.equal(d.inTransaction, false);
});

test('a connection whose cache is already larger keeps it, whether given in pages or in KiB', async () => {
  for (const larger of [`${(IMPORT_CACHE_MIB * 1024 * 1024 * 2) / 4096}`, `-${IMPORT_CACHE_MIB * 1024 * 2}`]) {
    const d = db();
    d.pragma('page_size = 4096');
    d.pragma(`cache_size = ${larger}`);
    const set = d.pragma('cache_size', { simple: true });
    let during: unknown;
    await importInsights(d, chunks(JSON.stringify({ text: 'one fact' }), 512), { workspaceId: 1, format: 'jsonl', strict: false, now: NOW, onProgress: () => (during ??= d.pragma('cache_size', { simple: true })) });
    assert.equal(during, set, `cache_size ${larger} was kept during the import`);
    assert.equal(d.pragma('cache_size', { simple: true }), set);
  }
});

test('batches committed together: a failing batch is undone whole, the whole batches before it in the same transaction stay, in file order', async () => {
  const d = db();
  d.exec(`CREATE TRIGGER fail_at BEFORE INSERT ON insights WHEN NEW.text = 'fact 250' BEGIN SELECT RAISE(ABORT, 'bad row'); END`);
  const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ text: `fact ${i}` })).join('\n');
  await assert.rejects(run(d, lines, 'jsonl', false, 100), /bad row/);
  const texts = d.prepare('SELECT text FROM insights ORDER BY id').pluck().all();
  assert.deepEqual(texts, Array.from({ length: 200 }, (_, i) => `fact ${i}`));
});

test('a file loaded into an empty store first and indexed after leaves the rows, ids, counts and summary the upsert path leaves', async () => {
  const file = path.join(tempDir('nex-compound-import-staged-'), 'in.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    // Random key order, repeats of earlier lines in other case and with trailing punctuation, own counts, dates, confidences.
    const n = (i * 7919) % 2000;
    const record: Record<string, unknown> = { text: i % 3 === 0 ? `Account ${n} asked about SSO.` : `account ${n} asked about sso`, source: `src-${i % 5}`, tags: [`t${i % 4}`], confidence: ((i * 37) % 100) / 100, created_at: NOW - ((i * 131) % 500) * 86_400_000 };
    if (i % 7 === 0) record.reinforcement_count = 2;
    if (i % 11 === 0) record.last_reinforced_at = NOW - ((i * 17) % 50) * 86_400_000;
    lines.push(JSON.stringify(record));
    if (i === 1500) lines.push('not json');
  }
  writeFileSync(file, lines.join('\n'));
  const all = (d: Sqlite.Database) => d.prepare('SELECT * FROM insights ORDER BY id').all();
  for (const parallel of [false, true]) {
    const upserted = db();
    const staged = db();
    const options = { workspaceId: 1, format: 'jsonl' as const, strict: false, now: NOW, parallel, batchSize: 500 };
    const upsertSummary = await importInsights(upserted, { kind: 'file', path: file }, { ...options, loadThenIndexFromBytes: Infinity });
    const stagedSummary = await importInsights(staged, { kind: 'file', path: file }, { ...options, loadThenIndexFromBytes: 0 });
    assert.deepEqual(stagedSummary, upsertSummary);
    assert.equal(upsertSummary.skipped, 1);
    assert.equal(upsertSummary.reinforced, 1000, 'the file repeats itself');
    assert.deepEqual(all(staged), all(upserted));
    assert.equal(staged.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(staged.prepare("SELECT sql FROM sqlite_master WHERE name = 'insights_active_normalized'").pluck().get(), ACTIVE_TEXT_INDEX);
    assert.equal(staged.prepare("SELECT count(*) FROM sqlite_temp_master").pluck().get(), 0, 'no staging table left behind');
  }
});

test('the staged load is only for an empty store, and a strict one with a bad line leaves the store and its index as they were', async () => {
  const file = path.join(tempDir('nex-compound-import-staged-'), 'in.jsonl');
  writeFileSync(file, [JSON.stringify({ text: 'Acme renews' }), JSON.stringify({ text: 'acme renews.' }), 'oops'].join('\n'));
  const d = db();
  const options = { workspaceId: 1, format: 'jsonl' as const, now: NOW, loadThenIndexFromBytes: 0 };
  const strict = await importInsights(d, { kind: 'file', path: file }, { ...options, strict: true });
  assert.deepEqual({ written: strict.written, imported: strict.imported }, { written: false, imported: 0 });
  assert.equal(d.prepare('SELECT count(*) FROM insights').pluck().get(), 0);
  assert.equal(d.prepare("SELECT sql FROM sqlite_master WHERE name = 'insights_active_normalized'").pluck().get(), ACTIVE_TEXT_INDEX);
  const first = await importInsights(d, { kind: 'file', path: file }, { ...options, strict: false });
  assert.deepEqual({ imported: first.imported, reinforced: first.reinforced }, { imported: 1, reinforced: 1 });
  // Now the store has an insight: the upsert path reinforces it.
  const second = await importInsights(d, { kind: 'file', path: file }, { ...options, strict: false });
  assert.deepEqual({ imported: second.imported, reinforced: second.reinforced }, { imported: 0, reinforced: 2 });
  assert.equal(d.prepare('SELECT reinforcement_count FROM insights').pluck().get(), 4);
  assert.equal(d.inTransaction, false);
});
