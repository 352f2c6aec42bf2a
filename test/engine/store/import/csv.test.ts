/**
 * CSV into a real SQLite file: a quote that closes rows later is a bad record, not a merged one;
 * an unterminated quote is reported where it opened and swallows nothing; RFC 4180's quoting is
 * enforced with messages that say how to fix it; legitimate multi-line fields still import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { openDatabaseWith } from '../../../../src/engine/store/db.js';
import { importInsights } from '../../../../src/engine/store/import/import.js';
import { MAX_RECORD_CHARS } from '../../../../src/engine/store/import/rows.js';
import { listInsights } from '../../../../src/engine/store/insights.js';
import { tempDir } from '../../../helpers/cli.js';

const NOW = Date.parse('2026-11-01T00:00:00Z');
async function* chunks(bytes: Buffer, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
async function importCsv(csv: string | Buffer, size = 7) {
  const d = openDatabaseWith(Sqlite, path.join(tempDir('nex-compound-csv-'), 'e.db'), { create: true });
  const bytes = typeof csv === 'string' ? Buffer.from(csv) : csv;
  const summary = await importInsights(d, chunks(bytes, size), { workspaceId: 1, format: 'csv', strict: false, now: NOW });
  return { summary, texts: listInsights(d, { workspaceId: 1, limit: 10_000 }).map((i) => i.text) };
}
const HEADER = 'text,source,confidence,tags';

test('a quote that closes three rows later: the opening row is bad, the three rows between import, the closing row is bad', async () => {
  const csv = [
    HEADER,
    'Row one,email,0.5,x',
    '"Row two lost its closing quote,email,0.5,x',
    'Row three,email,0.5,x',
    'Row four,slack,0.6,y',
    'Row five,email,0.7,z',
    'Row six closes it",email,0.5,x',
    'Row seven,email,0.5,x',
  ].join('\n');
  const { summary, texts } = await importCsv(csv);
  assert.deepEqual(summary.errors, [
    { line: 3, message: 'a quoted field opened here closes at line 7 across lines that look like records; a quote is probably missing' },
    { line: 7, message: 'field 1 holds a quote but does not start with one: quote the whole field and double each quote inside it ("say ""hi""")' },
  ]);
  assert.deepEqual(texts, ['Row one', 'Row three', 'Row four', 'Row five', 'Row seven']);
  assert.deepEqual({ lines: summary.lines, skipped: summary.skipped }, { lines: 8, skipped: 2 });
});

test('legitimate multi-line quoted text imports with its newlines, doubled quotes and CRLF; a line as wide as the header that would not import is no record', async () => {
  const csv = [
    HEADER,
    '"First line of a note',
    'second line, with a comma',
    'third, with, three commas", email ,0.8,a;b',
    '"She said ""renew""',
    '""twice""",slack,0.5,',
    '"A note that quotes a table:',
    'name,role,level,team',
    '",email,0.5,x',
    'Plain,email,0.5,x',
  ].join('\r\n');
  for (const size of [1, 7, 1 << 16]) {
    const { summary, texts } = await importCsv(csv, size);
    assert.deepEqual(summary.errors, [], `${size}-byte chunks`);
    assert.deepEqual(texts, [
      'First line of a note\nsecond line, with a comma\nthird, with, three commas',
      'She said "renew"\n"twice"',
      'A note that quotes a table:\nname,role,level,team',
      'Plain',
    ]);
    assert.equal(summary.lines, 10);
  }
});

test('a one-column CSV keeps multi-line quoted text whole: every line would be a record, so the lines say nothing', async () => {
  const { summary, texts } = await importCsv('text\n"one\ntwo\nthree"\nfour\n');
  assert.deepEqual(summary.errors, []);
  assert.deepEqual(texts, ['one\ntwo\nthree', 'four']);
});

test('a quote that never closes is reported at the line it opened, and the lines after it are read as records', async () => {
  const { summary, texts } = await importCsv(`${HEADER}\nfirst,email,0.5,x\n"never closed,email,0.5,x\nthird,email,0.5,x\nfourth,email,0.5,x\n`);
  assert.deepEqual(summary.errors, [{ line: 3, message: 'unterminated quoted field: the quote opened here never closes' }]);
  assert.deepEqual(texts, ['first', 'third', 'fourth']);
  assert.equal(summary.lines, 5);
  const oneColumn = await importCsv('text\n"never closed\n');
  assert.deepEqual(oneColumn.summary.errors, [{ line: 2, message: 'unterminated quoted field: the quote opened here never closes' }]);
});

test('a quoted field running past MAX_RECORD_CHARS is cut there: reported at its opening line, every line after it imported', async () => {
  const rows = Array.from({ length: 4000 }, (_, i) => `row ${i} ${'x'.repeat(100)},email,0.5,t`);
  assert.ok(rows.join('\n').length > 1.5 * MAX_RECORD_CHARS, 'the quoted field would run well past the limit');
  const csv = [HEADER, 'before,email,0.5,x', '"opens and never closes,email,0.5,x', ...rows].join('\n');
  const { summary, texts } = await importCsv(csv, 4096);
  assert.deepEqual(summary.errors, [{ line: 3, message: 'unterminated quoted field: no closing quote within 262,144 characters' }]);
  assert.equal(summary.imported, 4001);
  assert.deepEqual(texts.slice(0, 2), ['before', `row 0 ${'x'.repeat(100)}`]);
  assert.equal(texts.at(-1), `row 3999 ${'x'.repeat(100)}`);
  assert.equal(summary.lines, 4003);
});

test('a physical line past MAX_RECORD_CHARS: a bad record of its own, or the end of a quoted field running into it', async () => {
  const long = `${'y'.repeat(MAX_RECORD_CHARS + 1)},email,0.5,x`;
  const { summary, texts } = await importCsv([HEADER, long, 'after,email,0.5,x', '"opens,email,0.5,x', long, 'last,email,0.5,x'].join('\n'), 65_536);
  assert.deepEqual(summary.errors, [
    { line: 2, message: 'longer than 262,144 characters' },
    { line: 4, message: 'unterminated quoted field: no closing quote within 262,144 characters' },
    { line: 5, message: 'longer than 262,144 characters' },
  ]);
  assert.deepEqual(texts, ['after', 'last']);
});

test('RFC 4180: text after a closing quote, or a quote inside an unquoted field, is a bad record whose message says how to fix it', async () => {
  const csv = [
    HEADER,
    '"closed" and then more,email,0.5,x',
    'she said "hi",email,0.5,x',
    ' "space first",email,0.5,x',
    'good,email,0.5,x',
    '"a ""quoted"" word",email,0.5,x',
    '"multi',
    'line" tail,email,0.5,x',
    'fine,email,0.5,x',
  ].join('\n');
  const { summary, texts } = await importCsv(csv);
  assert.deepEqual(summary.errors, [
    { line: 2, message: 'field 1 goes on after its closing quote: a quote inside a quoted field is written twice ("")' },
    { line: 3, message: 'field 1 holds a quote but does not start with one: quote the whole field and double each quote inside it ("say ""hi""")' },
    { line: 4, message: 'field 1 holds a quote but does not start with one: quote the whole field and double each quote inside it ("say ""hi""")' },
    { line: 7, message: 'the record opened here breaks at line 8: field 1 goes on after its closing quote: a quote inside a quoted field is written twice ("")' },
    { line: 8, message: 'field 1 holds a quote but does not start with one: quote the whole field and double each quote inside it ("say ""hi""")' },
  ]);
  assert.deepEqual(texts, ['good', 'a "quoted" word', 'fine']);
});

test('CSV bytes that are not UTF-8: the record holding them is bad, at its first line', async () => {
  const csv = Buffer.concat([
    Buffer.from(`${HEADER}\nCaf`),
    Buffer.from([0xe9]), // Latin-1 é
    Buffer.from(',email,0.5,x\n"multi\nline caf'),
    Buffer.from([0xe9]),
    Buffer.from('",email,0.5,x\nZürich,email,0.5,x\n'),
  ]);
  for (const size of [1, 3, 4096]) {
    const { summary, texts } = await importCsv(csv, size);
    assert.deepEqual(summary.errors, [
      { line: 2, message: 'not valid UTF-8' },
      { line: 3, message: 'not valid UTF-8 (line 4)' },
    ]);
    assert.deepEqual(texts, ['Zürich']);
    assert.equal(summary.lines, 5);
  }
});
