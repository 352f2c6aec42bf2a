/** GITHUB_ACTIONS=true: step outputs, the job summary, annotations and log groups, as real processes. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { nexioRun, startNexioServer } from '../../fakes/providers.js';
import { runBin, tempDir } from '../../helpers/cli.js';

const NEXIO_KEY = 'nx_test_4c3b2a1908f7';
const ID = '990d0fae-dc17-43af-aaed-ff8b580c17ab';

/** Reads $GITHUB_OUTPUT the way the runner does: name<<delimiter … delimiter blocks. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([A-Za-z0-9_-]+)<<(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const [, name, delimiter] = match;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
    assert.ok(i < lines.length, `unterminated output ${name}`);
    outputs[name!] = value.join('\n');
  }
  return outputs;
}

function actionsEnv() {
  const dir = tempDir('nex-compound-gha-');
  const output = path.join(dir, 'output');
  const summary = path.join(dir, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  return { dir, output, summary, env: { CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary } };
}

test('a local trigger --wait writes its outputs and a summary row, and folds the watch log in a group', async () => {
  const gha = actionsEnv();
  const db = path.join(gha.dir, 'engine.db');
  const r = await runBin(['--local', '--db', db, 'trigger', 'metrics', '--wait', '--interval', '50ms'], { env: gha.env });
  assert.equal(r.code, 0, r.stderr);
  const outputs = parseOutputs(readFileSync(gha.output, 'utf8'));
  assert.match(outputs.job_run_id!, /^[0-9a-f-]{36}$/);
  assert.equal(outputs.status, 'completed');
  for (const name of ['insights_scanned', 'insights_affected', 'candidates_created', 'errors']) assert.match(outputs[name]!, /^\d+$/, name);
  const summary = readFileSync(gha.summary, 'utf8');
  assert.match(summary, /\| job \| job_run_id \| status \|/);
  assert.ok(summary.includes(`| metrics | \`${outputs.job_run_id}\` | ✅ completed |`), summary);
  // The group wraps the progress lines; stdout stays data only.
  const stderr = r.stderr.split('\n');
  const open = stderr.findIndex((l) => l.startsWith('::group::nex-compound: watching job'));
  const close = stderr.indexOf('::endgroup::');
  assert.ok(open >= 0 && close > open, r.stderr);
  assert.ok(stderr.slice(open + 1, close).some((l) => l.includes('metrics completed')));
  assert.doesNotMatch(r.stdout, /::/);
});

test('a trigger without --wait outputs the job_run_id and accepted', async () => {
  const gha = actionsEnv();
  const r = await runBin(['--local', '--db', path.join(gha.dir, 'engine.db'), 'trigger', 'decay_sweep'], { env: gha.env });
  assert.equal(r.code, 0, r.stderr);
  const outputs = parseOutputs(readFileSync(gha.output, 'utf8'));
  assert.equal(outputs.status, 'accepted');
  assert.match(outputs.job_run_id!, /^[0-9a-f-]{36}$/);
});

test('a failed job gets an ::error:: annotation and exit 1; a degraded one a ::warning:: and exit 0', async () => {
  const server = await startNexioServer({ apiKeys: [NEXIO_KEY] });
  try {
    const env = { NEXIO_API_KEY: NEXIO_KEY, NEXIO_BASE_URL: server.url };
    server.addJob({ id: ID, environment: 'test', steps: [{ body: nexioRun(ID, { status: 'failed', environment: 'test' }) }] });
    let gha = actionsEnv();
    let r = await runBin(['watch', '--provider', 'nexio', '--interval', '50ms', ID], { env: { ...env, ...gha.env } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^::error title=nex-compound::job 990d0fae-.* failed: /m);
    assert.equal(parseOutputs(readFileSync(gha.output, 'utf8')).status, 'failed');
    assert.match(readFileSync(gha.summary, 'utf8'), /❌ failed/);

    server.addJob({ id: ID, environment: 'test', steps: [{ body: nexioRun(ID, { status: 'degraded', environment: 'test' }) }] });
    gha = actionsEnv();
    r = await runBin(['watch', '--provider', 'nexio', '--interval', '50ms', ID], { env: { ...env, ...gha.env } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^::warning title=nex-compound::job .* degraded: /m);
    assert.match(readFileSync(gha.summary, 'utf8'), /⚠️ degraded/);
    // The key never reaches the files the next steps read.
    assert.ok(!readFileSync(gha.output, 'utf8').includes(NEXIO_KEY));
  } finally {
    await server.close();
  }
});

test('a missing or unwritable $GITHUB_OUTPUT is a warning, never a failed step', async () => {
  const gha = actionsEnv();
  const db = path.join(gha.dir, 'engine.db');
  let r = await runBin(['--local', '--db', db, 'trigger', 'metrics', '--wait', '--interval', '50ms'], { env: { ...gha.env, GITHUB_OUTPUT: undefined } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: GITHUB_OUTPUT is not set: step outputs not written/m);
  r = await runBin(['--local', '--db', db, 'trigger', 'metrics', '--wait', '--interval', '50ms'], { env: { ...gha.env, GITHUB_OUTPUT: path.join(gha.dir, 'missing-dir', 'output') } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: could not write step outputs to GITHUB_OUTPUT .*ENOENT/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('outside GitHub Actions nothing of this appears', async () => {
  const dir = tempDir('nex-compound-gha-');
  const r = await runBin(['--local', '--db', path.join(dir, 'engine.db'), 'trigger', 'metrics', '--wait', '--interval', '50ms'], { env: { CI: 'true' } });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /::group::|::error|::warning/);
});
