/** Tables fitted to the terminal: headers give way first, then the widest values; ids never; blocks below a usable width. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import stringWidth from 'string-width';
import { render } from '../../../src/cli/render/render.js';
import { fitColumns, MIN_COLUMN, recordTable, rowsTable } from '../../../src/cli/render/table.js';

const plain = new Chalk({ level: 0 });
const colored = new Chalk({ level: 1 });
const ID = '3f1c2e4a-8b7d-4c6e-9f0a-1b2c3d4e5f60';
const widest = (text: string) => Math.max(...text.split('\n').map((line) => stringWidth(line)));

test('fitColumns: natural widths when they fit; headers give way before values, the widest values next; ids never', () => {
  const names = ['job_run_id', 'job_type', 'candidates', 'text'];
  // Borders and padding: 3 per column and 1.
  assert.deepEqual(fitColumns(names, [10, 8, 10, 4], [36, 13, 1, 30], 200), [36, 13, 10, 30]);
  // 13 columns short: "candidates" keeps the width of its values (down to MIN_COLUMN) first, then text is cut.
  const fitted = fitColumns(names, [10, 8, 10, 4], [36, 13, 1, 30], 36 + 13 + 10 + 30 + 13 - 5)!;
  assert.deepEqual(fitted, [36, 13, MIN_COLUMN, 27]);
  const tight = fitColumns(names, [10, 8, 10, 4], [36, 13, 1, 30], 80)!;
  assert.equal(tight[0], 36);
  assert.equal(tight.reduce((a, b) => a + b, 0) + 13, 80);
  assert.ok(tight.every((w, i) => i === 0 || w >= MIN_COLUMN));
  // No room for the floors: no table.
  assert.equal(fitColumns(names, [10, 8, 10, 4], [36, 13, 1, 30], 60), undefined);
  assert.deepEqual(fitColumns(names, [10, 8, 10, 4], [36, 13, 1, 30], undefined), [36, 13, 10, 30]);
});

test('rows fit the width: cut cells end with …, ids stay whole, a narrow terminal gets one block per row', async () => {
  const names = ['job_run_id', 'job_type', 'status', 'text'];
  const rows = [[ID, 'playbook_synthesis', colored.green('completed'), 'Stark Logistics will not sign the enterprise renewal 日本語 😀 until SSO ships']];
  for (const width of [120, 100, 80]) {
    const table = await rowsTable(names, rows, { columns: width, headers: true });
    assert.ok(widest(table) <= width, `${width}:\n${table}`);
    assert.ok(table.includes(ID), table);
    assert.match(table, /^┌/);
  }
  const cut = await rowsTable(names, rows, { columns: 100, headers: true });
  assert.match(cut, /…/);
  const narrow = await rowsTable(names, rows, { columns: 60, headers: true });
  assert.doesNotMatch(narrow, /┌/);
  assert.match(narrow, new RegExp(`^job_run_id  ${ID}$`, 'm'));
  assert.match(narrow, /^job_type {4}playbook_synthesis$/m);
  assert.ok(widest(narrow) <= 60, narrow);
  const headless = await rowsTable(names, rows, { columns: 200, headers: false });
  assert.doesNotMatch(headless, /job_type/);
  assert.equal(headless.split('\n').length, 3);
});

test('records wrap their values beside the keys; below a usable width they become wrapped key/value lines; ids stay whole', async () => {
  const entries = [
    ['job_run_id', ID],
    ['result', '{"output":"the quick brown fox jumps over the lazy dog and keeps running far past the edge"}'],
  ] as const;
  const wide = await recordTable(entries, plain, undefined);
  assert.equal(wide.split('\n').length, 5);
  const table = await recordTable(entries, plain, 70);
  assert.ok(widest(table) <= 70, table);
  assert.match(table, new RegExp(`│ ${ID} +│`));
  assert.ok(table.replace(/[│\s]+/g, ' ').includes('the quick brown fox jumps over the lazy dog and keeps running far past the edge'), table);
  const lines = await recordTable(entries, plain, 50);
  assert.doesNotMatch(lines, /│/);
  assert.match(lines, new RegExp(`^job_run_id  ${ID}$`, 'm'));
  assert.ok(widest(lines) <= 50, lines);
});

test('render fits a status record and a jobs table to the terminal; plain lines are never cut; --no-headers drops the header row', async () => {
  const status = { job_run_id: ID, job_type: 'metrics', status: 'completed', result: { note: 'word '.repeat(40) } };
  for (const columns of [80, 60]) {
    const text = await render({ kind: 'status', status }, 'table', plain, { columns });
    assert.ok(widest(text) <= columns, text);
    assert.ok(text.includes(ID));
  }
  const rows = { kind: 'rows' as const, columns: ['id', 'text'], rows: [{ id: 7, text: 'x'.repeat(200) }] };
  assert.ok((await render(rows, 'plain', plain, { columns: 60 })).includes('x'.repeat(200)));
  assert.equal(await render(rows, 'plain', plain, { headers: false }), `7  ${'x'.repeat(200)}`);
  assert.match(await render(rows, 'plain', plain), /^ID {2}TEXT$/m);
});

test('a secret is redacted before a cut could leave part of it on screen', async () => {
  const secret = 'sk_live_0123456789abcdefghijklmnop';
  const rows = { kind: 'rows' as const, columns: ['key_id', 'note'], rows: [{ key_id: 'k1', note: `echoed ${secret} back` }] };
  const redact = (text: string) => text.split(secret).join('[redacted]');
  const text = await render(rows, 'table', plain, { columns: 30, redact });
  assert.ok(!text.includes(secret.slice(0, 12)), text);
  const unredacted = await render(rows, 'table', plain, { columns: 30 });
  assert.ok(unredacted.includes(secret.slice(0, 8)), 'without redaction the cut would show part of the secret');
});
