/** The small human views: how long ago, and nested details as field/value rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detailRows, momentOf, relativeTime } from '../../../src/cli/render/views.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

test('relative times: seconds, minutes, hours, days, months, years; ahead as "in …"', () => {
  const cases: Array<[number, string]> = [
    [0, 'just now'],
    [4 * S, 'just now'],
    [42 * S, '42 s ago'],
    [2 * MIN + 30 * S, '2 min ago'],
    [59 * MIN, '59 min ago'],
    [3 * H, '3 h ago'],
    [47 * H, '47 h ago'],
    [5 * D, '5 days ago'],
    [59 * D, '59 days ago'],
    [120 * D, '4 months ago'],
    [800 * D, '2 years ago'],
  ];
  for (const [ago, text] of cases) assert.equal(relativeTime(NOW - ago, NOW), text, `${ago} ms ago`);
  assert.equal(relativeTime(NOW + 2 * MIN, NOW), 'in 2 min');
});

test('a moment is a *_at field holding an ISO time; anything else is not', () => {
  assert.equal(momentOf('created_at', '2026-12-03T11:58:00.000Z'), NOW - 2 * MIN);
  assert.equal(momentOf('triggered_at', '2026-12-03T13:00:00+01:00'), NOW);
  assert.equal(momentOf('created', '2026-12-03T11:58:00.000Z'), undefined, 'not named as a moment');
  assert.equal(momentOf('created_at', 'yesterday'), undefined);
  assert.equal(momentOf('created_at', 1764763080000), undefined, 'a number is left as it is');
  assert.equal(momentOf('revoked_at', ''), undefined);
});

test('details: one row per leaf, paths dotted and indexed; empty and deep values as JSON', () => {
  const rows = detailRows({ message: 'boom', code: 42, retryable: true, cause: null, errors: [{ code: 'E1' }, 'plain'], empty: {}, none: [], deep: { a: { b: { c: { d: 1 } } } } });
  assert.deepEqual(rows, [
    { field: 'message', value: 'boom' },
    { field: 'code', value: 42 },
    { field: 'retryable', value: true },
    { field: 'cause', value: 'null' },
    { field: 'errors[0].code', value: 'E1' },
    { field: 'errors[1]', value: 'plain' },
    { field: 'empty', value: '{}' },
    { field: 'none', value: '[]' },
    { field: 'deep.a.b.c', value: '{"d":1}' },
  ]);
  assert.deepEqual(detailRows('just text'), [{ field: '(value)', value: 'just text' }]);
});

test('details: past the limit the rest are counted, not listed', () => {
  const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
  const rows = detailRows(many, 10);
  assert.equal(rows.length, 11);
  assert.deepEqual(rows.at(-1), { field: '…', value: '40 more (--json shows every field)' });
});
