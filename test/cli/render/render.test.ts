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
