/** --jq: real jq semantics (jq-web), strings raw as gh prints them, one-line usage errors, and the flag end to end. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/contract/errors.js';
import { applyJq, checkJq, jqMessage } from '../../../src/cli/render/jq.js';
import { runInProcess, tempDir } from '../../helpers/cli.js';

const out = async (document: unknown, filter: string, terminal: boolean) => (await applyJq(document, filter, terminal)).output;

const jobs = [
  { job_run_id: 'a1', status: 'completed', x: 1 },
  { job_run_id: 'b2', status: 'failed', x: 2 },
  { job_run_id: 'c3', status: 'completed', x: 3 },
];

test('jq semantics: select, map/add, string interpolation, reduce, try/catch, @csv; strings raw, other values JSON', async () => {
  assert.equal(await out(jobs, '.[] | select(.status=="completed") | .job_run_id', false), 'a1\nc3\n');
  assert.equal(await out(jobs, 'map(.x) | add', false), '6\n');
  assert.equal(await out(jobs, '.[] | "\\(.job_run_id):\\(.x)"', false), 'a1:1\nb2:2\nc3:3\n');
  assert.equal(await out(jobs, 'reduce .[] as $j (0; . + $j.x)', false), '6\n');
  assert.equal(await out(jobs, '.[] | try error("no") catch .', false), 'no\nno\nno\n');
  assert.equal(await out(jobs, '[.[].x] | @csv', false), '1,2,3\n');
  assert.equal(await out(jobs, 'group_by(.status) | map({s: .[0].status, n: length})', false), '[{"s":"completed","n":2},{"s":"failed","n":1}]\n');
  assert.equal(await out(jobs, 'empty', false), '');
  // jq's output exactly: empty strings and blanks at the end are results too.
  assert.equal(await out(jobs, '"a", "", "  "', false), 'a\n\n  \n');
  // A failure after some output is still a failure.
  await assert.rejects(applyJq([1, 'a'], '.[] | . + 1', false), /--jq: string \("a"\) and number \(1\) cannot be added/);
  // What jq writes on stderr (debug) comes back apart from the output.
  assert.deepEqual(await applyJq({}, '"x" | debug | empty', false), { output: '', stderr: ['["DEBUG:","x"]'] });
});

test('on a terminal objects are indented and escape sequences in strings are shown, not sent', async () => {
  assert.equal(await out({ a: 1 }, '.', true), '{\n  "a": 1\n}\n');
  assert.equal(await out({ t: 'red\u001b[31m!\u0007' }, '.t', true), 'red\\x1b[31m!\\x07\n');
  // A pipe gets what jq -r writes.
  assert.equal(await out({ t: 'red\u001b[31m!' }, '.t', false), 'red\u001b[31m!\n');
});

test('errors are one line of jq\'s own words; compile errors are caught before the command runs; exitCode is left alone', async () => {
  process.exitCode = undefined;
  await assert.rejects(checkJq('.['), (error: unknown) => error instanceof UsageError && /^--jq: syntax error, unexpected end of file at <top-level>, line 1$/.test(error.message));
  await assert.rejects(checkJq('nosuchfn'), /--jq: nosuchfn\/0 is not defined at <top-level>, line 1/);
  // Fails on null, but may work on the real document: not refused early.
  await checkJq('.[0].x');
  await assert.rejects(applyJq(jobs, '.foo', false), (error: unknown) => error instanceof UsageError && error.message === '--jq: Cannot index array with string "foo"');
  assert.equal(process.exitCode, undefined, 'jq\'s exit status leaked into the process');
  assert.equal(jqMessage(new Error('jq: error (at <unknown>): x\nsecond')), 'x');
});

test('--jq on a command: implies --json, prints raw strings; a bad filter exits 2 with one line and runs nothing', async () => {
  const db = `${tempDir()}/e.db`;
  const add = await runInProcess(['insights', 'add', 'Acme renewal is blocked on SSO', '--db', db, '--jq', '.id']);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /^\d+\n$/);
  const list = await runInProcess(['insights', 'list', '--db', db, '--jq', '.[] | select(.text | test("SSO")) | .text']);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout, 'Acme renewal is blocked on SSO\n');
  const bad = await runInProcess(['insights', 'add', 'never added', '--db', db, '--jq', '.[']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /--jq: syntax error/);
  assert.equal(bad.stderr.split('\n').filter((line) => /error/.test(line)).length, 1, bad.stderr);
  const after = await runInProcess(['insights', 'list', '--db', db, '--jq', 'length']);
  assert.equal(after.stdout, '1\n', 'the command ran despite a filter that does not compile');
  const runtime = await runInProcess(['insights', 'list', '--db', db, '--jq', '.x']);
  assert.equal(runtime.code, 2);
  assert.match(runtime.stderr, /--jq: Cannot index array with string "x"/);
  const ndjson = await runInProcess(['watch', '3f1c2e4a-8b7d-4c6e-9f0a-1b2c3d4e5f60', '--ndjson', '--jq', '.']);
  assert.equal(ndjson.code, 2);
  assert.match(ndjson.stderr, /--jq filters the one document --json prints/);
});
