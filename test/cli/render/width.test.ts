/** Display width, cutting and wrapping: escapes shown as text and grapheme clusters are never split. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import stringWidth from 'string-width';
import { sanitize } from '../../../src/contract/sanitize.js';
import { textWidth } from '../../../src/cli/render/width.js';

const ESCAPE_TEXT = /\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt])/g;

test('width counts display columns: CJK and emoji two, our colors none, escapes as the characters they show', async () => {
  const tw = await textWidth(['日本', '😀']);
  assert.equal(tw.width('abc'), 3);
  assert.equal(tw.width('日本語'), 6);
  assert.equal(tw.width('ok 😀'), 5);
  assert.equal(tw.width('👩‍👩‍👧'), 2);
  assert.equal(tw.width('e\u0301'), 1);
  assert.equal(tw.width('\u001b[32mdone\u001b[39m'), 4);
  assert.equal(tw.width(sanitize('a\u001bb')), 6);
});

test('cut ends with … inside the width and never splits a shown escape, a surrogate pair or a wide character', async () => {
  const tw = await textWidth(['日本']);
  assert.equal(tw.cut('abcdef', 10), 'abcdef');
  assert.equal(tw.cut('abcdef', 4), 'abc…');
  // "ab\x1b…" would leave "\x" on screen: the escape goes whole or not at all.
  assert.equal(tw.cut(sanitize('ab\u001b[31mred'), 5), 'ab…');
  assert.equal(tw.cut(sanitize('ab\u001b[31mred'), 7), 'ab\\x1b…');
  assert.equal(tw.cut('日本語', 4), '日…');
  assert.equal(tw.cut('a😀b', 2), 'a…');
  // Our own colors survive a cut, and are closed after it.
  assert.equal(tw.cut('\u001b[31mcompleted\u001b[39m', 5), '\u001b[31mcomp…\u001b[0m');
  assert.equal(tw.cut('anything', 0), '');
});

test('property: a cut is a prefix of whole tokens plus …, never wider than asked', async () => {
  const tw = await textWidth(['é']);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 1, max: 30 }), (raw, max) => {
      const text = sanitize(raw);
      const cut = tw.cut(text, max);
      assert.ok(tw.width(cut) <= max, `${JSON.stringify(cut)} is wider than ${max}`);
      if (cut === text) return;
      assert.ok(cut.endsWith('…'));
      const kept = cut.slice(0, -1);
      assert.ok(text.startsWith(kept));
      // No lone surrogate and no partial escape at the cut.
      assert.doesNotMatch(kept, /[\ud800-\udbff]$/);
      const rest = text.slice(kept.length);
      const across = [...text.matchAll(ESCAPE_TEXT)].some((m) => m.index < kept.length && m.index + m[0].length > kept.length);
      assert.ok(!across, `${JSON.stringify(kept)} | ${JSON.stringify(rest)} splits an escape`);
      assert.equal(stringWidth(cut), tw.width(cut));
    }),
  );
});

test('wrap breaks at spaces, breaks a long word between tokens, and keeps every character', async () => {
  const tw = await textWidth(['x']);
  assert.deepEqual(tw.wrap('the quick brown fox', 10), ['the quick', 'brown fox']);
  assert.deepEqual(tw.wrap('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
  const escaped = sanitize('ab\u001bcd');
  for (const line of tw.wrap(escaped, 4)) assert.ok(!/\\x?$|\\x1$/.test(line), line);
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z]{1,12}$/), { maxLength: 12 }), fc.integer({ min: 1, max: 20 }), (words, max) => {
      const text = words.join(' ');
      const lines = tw.wrap(text, max);
      for (const line of lines) assert.ok(tw.width(line) <= max, `${JSON.stringify(line)} > ${max}`);
      assert.equal(lines.join('').replace(/ /g, ''), text.replace(/ /g, ''));
    }),
  );
  // A colored value wrapped: each line closes its color, the next reopens it (the border stays plain).
  assert.deepEqual(tw.wrap('\u001b[33mone two\u001b[39m', 4), ['\u001b[33mone\u001b[0m', '\u001b[33mtwo\u001b[39m']);
});
