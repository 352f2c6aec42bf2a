/** The one renderer: JSON for --json, aligned plain lines for pipes, tables for a terminal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { describeItems } from '../../../src/cli/render/items.js';
import { render, toJson } from '../../../src/cli/render/render.js';

const plain = new Chalk({ level: 0 });

test('rows: plain lines align their columns; JSON is the command\'s own document when it gives one', async () => {
  const data = { kind: 'rows' as const, columns: ['id', 'text'], rows: [{ id: 1, text: 'a' }, { id: 22, text: 'bb' }], json: { total: 2 } };
  const text = await render(data, 'plain', plain);
  const lines = text.split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[1]!.indexOf('a'), lines[2]!.indexOf('bb'), text);
  assert.deepEqual(JSON.parse(await render(data, 'json', plain)), { total: 2 });
  assert.deepEqual(toJson({ kind: 'rows', columns: ['id'], rows: [{ id: 1 }] }), [{ id: 1 }]);
});

test('a status renders its fields once, progress and duration readable; as JSON it carries the lifecycle', async () => {
  const status = { job_run_id: 'j', job_type: 'metrics', status: 'completed', progress: 100, duration_ms: 1500 };
  const text = await render({ kind: 'status', status }, 'plain', plain);
  assert.match(text, /^progress\s+100%$/m);
  assert.match(text, /^duration_ms\s+1500 \(2s\)$/m);
  const json = JSON.parse(await render({ kind: 'status', status }, 'json', plain)) as { normalized: { state: string } };
  assert.equal(json.normalized.state, 'succeeded');
});

test('item sets read as their labels, comma-separated', () => {
  assert.equal(describeItems(['#billing', 'renew']), '#billing, renew');
  assert.equal(describeItems([]), '');
});

test('an empty list renders nothing in a table or plain lines (the command says "no X yet"); JSON keeps []', async () => {
  const empty = { kind: 'rows' as const, columns: ['job_run_id', 'status'], rows: [] };
  assert.equal(await render(empty, 'plain', plain), '');
  assert.equal(await render(empty, 'table', plain, { columns: 80 }), '');
  assert.equal(await render(empty, 'json', plain), '[]');
});

test('moments get how long ago beside them on a terminal only; plain lines and JSON are unchanged', async () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  const record = { kind: 'record' as const, record: { id: 7, created_at: '2026-12-03T11:58:00.000Z', note_at: 'not a time' } };
  const table = await render(record, 'table', plain, { now, columns: 100 });
  assert.match(table, /2026-12-03T11:58:00\.000Z \(2 min ago\)/);
  assert.match(table, /not a time/);
  assert.doesNotMatch(table, /not a time \(/);
  const lines = await render(record, 'plain', plain, { now });
  assert.match(lines, /^created_at\s+2026-12-03T11:58:00\.000Z$/m);
  assert.deepEqual(JSON.parse(await render(record, 'json', plain, { now })), record.record);
  const rows = await render({ kind: 'rows', columns: ['id', 'started_at'], rows: [{ id: 1, started_at: '2026-12-03T09:00:00.000Z' }] }, 'table', plain, { now, columns: 120 });
  assert.match(rows, /2026-12-03T09:00:00\.000Z \(3 h ago\)/);
});

test('a record\'s sections: a titled table under it, or its "empty" words; JSON is the command\'s document', async () => {
  const data = {
    kind: 'record' as const,
    record: { id: 146, confidence: '0.80' },
    sections: [
      { title: 'merge history', columns: ['merge', 'id', 'text'], rows: [{ merge: '← merged in', id: 3, text: 'Wayne\u001b[31m Retail' }] },
      { title: 'nothing here', columns: ['x'], rows: [], empty: 'none' },
      { title: 'skipped', columns: ['x'], rows: [] },
    ],
    json: { id: 146, history: { merged_from: [] } },
  };
  const text = await render(data, 'plain', plain);
  assert.match(text, /^merge history$/m);
  assert.match(text, /^MERGE\s+ID\s+TEXT$/m);
  assert.match(text, /^← merged in\s+3\s+Wayne\\x1b\[31m Retail$/m, 'others\' words are cleaned');
  assert.match(text, /^nothing here: none$/m);
  assert.doesNotMatch(text, /skipped/);
  assert.match(await render(data, 'table', plain, { columns: 80 }), /│ ← merged in │ 3 {2}│/);
  assert.deepEqual(JSON.parse(await render(data, 'json', plain)), data.json);
});

test('a status\'s error_details and result read as field/value lines, cleaned; JSON keeps them as they came', async () => {
  const status = { job_run_id: 'j', job_type: 'metrics', status: 'failed', error_details: { message: 'store\noffline', code: 'E_STORE', attempts: [1, 2] }, result: { summary: 'half done' } };
  const text = await render({ kind: 'status', status }, 'plain', plain);
  assert.doesNotMatch(text, /\{"message"/, 'not a JSON blob');
  assert.match(text, /^error_details\nmessage\s+store\\noffline\ncode\s+E_STORE\nattempts\[0\]\s+1\nattempts\[1\]\s+2$/m);
  assert.match(text, /^result\nsummary\s+half done$/m);
  // A long value wraps in its table (a cut would lose the server's words).
  const long = { ...status, error_details: { message: `${'word '.repeat(40)}end`, ['evil\u001b[2Jkey']: 1 } };
  const table = await render({ kind: 'status', status: long }, 'table', plain, { columns: 60 });
  assert.match(table.replace(/[│\s]+/g, ' '), / end /);
  assert.match(table, /evil\\x1b\[2Jkey/, 'keys are others\' words too: cleaned');
  const json = JSON.parse(await render({ kind: 'status', status }, 'json', plain)) as { error_details: unknown };
  assert.deepEqual(json.error_details, status.error_details);
});
