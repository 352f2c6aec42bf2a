/**
 * JSONL lines into a real SQLite file, through both parsers: the length limit cuts a line while it
 * streams and later lines keep their numbers; bytes that are not UTF-8 and lone surrogates make
 * their line bad instead of being stored as U+FFFD.
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
const db = () => openDatabaseWith(Sqlite, path.join(tempDir('nex-compound-rows-'), 'e.db'), { create: true });
async function* chunks(bytes: Buffer, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
const importJsonl = (bytes: Buffer, size: number, parallel: boolean) => {
  const d = db();
  return importInsights(d, chunks(bytes, size), { workspaceId: 1, format: 'jsonl', strict: false, now: NOW, parallel }).then((summary) => ({
    summary,
    texts: listInsights(d, { workspaceId: 1, limit: 1000 }).map((i) => i.text),
  }));
};
const line = (text: string) => JSON.stringify({ text });
/** A JSON line exactly `length` characters long. */
const lineOfLength = (length: number) => line('x'.repeat(length - line('').length));
const TOO_LONG = 'longer than 262,144 characters';

for (const parallel of [false, true]) {
  for (const size of [1000, 1 << 20]) {
    test(`a line past MAX_RECORD_CHARS is one bad line and later lines keep their numbers, with a BOM and CRLF (${size}-byte chunks${parallel ? ', parsing worker' : ''})`, async () => {
      assert.equal(MAX_RECORD_CHARS, 256 * 1024);
      const text = [
        `\uFEFF${line('first')}`,
        lineOfLength(MAX_RECORD_CHARS + 1), // too long by one character; its CR does not count
        line('third'),
        lineOfLength(MAX_RECORD_CHARS), // at the limit: read, then refused for its text's length
        '',
        lineOfLength(3 * MAX_RECORD_CHARS), // spans many chunks of 1000 bytes
        line('seventh'),
        lineOfLength(MAX_RECORD_CHARS + 1), // the last line, without a newline
      ].join('\r\n');
      const { summary, texts } = await importJsonl(Buffer.from(text), size, parallel);
      assert.deepEqual(summary.errors, [
        { line: 2, message: TOO_LONG },
        { line: 4, message: '"text" is longer than 10000 characters' },
        { line: 6, message: TOO_LONG },
        { line: 8, message: TOO_LONG },
      ]);
      assert.deepEqual({ lines: summary.lines, imported: summary.imported, skipped: summary.skipped }, { lines: 8, imported: 3, skipped: 4 });
      assert.deepEqual(texts, ['first', 'third', 'seventh']);
    });
  }
}

/** Lines whose bytes are not UTF-8, among good ones holding two-, three- and four-byte characters. */
const MIXED_BYTES = Buffer.concat([
  Buffer.from(`${line('Café — 😀 ok')}\n`),
  Buffer.from(`${line('Euro € and ✓')}\n`),
  Buffer.from([...Buffer.from('{"text": "bad '), 0xff, ...Buffer.from('"}\n')]), // line 3: a byte no UTF-8 has
  Buffer.from([...Buffer.from('{"text": "cut '), 0xe2, 0x82, ...Buffer.from('A"}\r\n')]), // line 4: a character cut short
  Buffer.from(`${line('Zürich after')}\n`),
  Buffer.from([...Buffer.from('{"text": "overlong '), 0xc0, 0xaf, ...Buffer.from('"}\n')]), // line 6
  Buffer.from([...Buffer.from('{"text": "surrogate '), 0xed, 0xa0, 0x80, ...Buffer.from('"}\n')]), // line 7: CESU-8
  Buffer.from(`${line('ende 👩‍👩‍👧')}\n`),
  Buffer.from([...Buffer.from('{"text": "ends inside a character'), 0xf0, 0x9f, 0x98]), // line 9: the input ends mid-character
]);

test('bytes that are not UTF-8 make their line bad however the chunks split them; split characters are whole again', async () => {
  const expected = [3, 4, 6, 7, 9].map((n) => ({ line: n, message: 'not valid UTF-8' }));
  for (let size = 1; size <= 24; size++) {
    const { summary, texts } = await importJsonl(MIXED_BYTES, size, false);
    assert.deepEqual(summary.errors, expected, `${size}-byte chunks`);
    assert.equal(summary.lines, 9);
    assert.deepEqual(texts, ['Café — 😀 ok', 'Euro € and ✓', 'Zürich after', 'ende 👩‍👩‍👧'], `${size}-byte chunks`);
  }
  for (const size of [5, 4096]) {
    const { summary } = await importJsonl(MIXED_BYTES, size, true);
    assert.deepEqual(summary.errors, expected, `${size}-byte chunks, parsing worker`);
  }
});

test('a line with a bad byte in a chunk of otherwise good lines: only that line is bad', async () => {
  const good = Array.from({ length: 200 }, (_, i) => line(`note ${i} — é`));
  const bytes = Buffer.concat([Buffer.from(good.slice(0, 120).join('\n') + '\n'), Buffer.from([0x7b, 0xfe, 0x7d, 0x0a]), Buffer.from(good.slice(120).join('\n'))]);
  const { summary } = await importJsonl(bytes, 1 << 16, false);
  assert.deepEqual(summary.errors, [{ line: 121, message: 'not valid UTF-8' }]);
  assert.deepEqual({ lines: summary.lines, imported: summary.imported }, { lines: 201, imported: 200 });
});

for (const parallel of [false, true]) {
  test(`a lone surrogate in text, source or a tag is a bad line; a surrogate pair imports${parallel ? ' (parsing worker)' : ''}`, async () => {
    const lines = [
      '{"text": "lone high \\ud800 here"}',
      '{"text": "fine", "source": "lone low \\udc00"}',
      '{"text": "fine too", "tags": ["ok", "\\ud83d"]}',
      '{"text": "pair \\ud83d\\ude00 is an emoji", "source": "\\ud83d\\ude00", "tags": ["\\ud83d\\ude00"]}',
      '{"text": "reversed \\ude00\\ud83d"}',
    ];
    const { summary, texts } = await importJsonl(Buffer.from(lines.join('\n')), 7, parallel);
    assert.deepEqual(summary.errors, [
      { line: 1, message: '"text" is not valid Unicode (a lone surrogate)' },
      { line: 2, message: '"source" is not valid Unicode (a lone surrogate)' },
      { line: 3, message: '"tags" is not valid Unicode (a lone surrogate)' },
      { line: 5, message: '"text" is not valid Unicode (a lone surrogate)' },
    ]);
    assert.deepEqual(texts, ['pair 😀 is an emoji']);
  });
}
