/** `--latest` on status and watch, and `jobs` filters, against a real local engine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runBin, runInProcess, tempDir } from '../../helpers/cli.js';

test('status --latest and watch --latest follow the newest job of the workspace; jobs filters by type, status and time', async () => {
  const dir = tempDir('nex-compound-latest-');
  const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir };
  const none = await runInProcess(['status', '--latest', '--local'], { env });
  assert.equal(none.code, 4);
  assert.match(none.stderr, /^error: no jobs yet in workspace 1 of the local engine$/m);
  const neither = await runInProcess(['watch', '--local'], { env });
  assert.equal(neither.code, 2);
  assert.match(neither.stderr, /^error: which job\? pass a job_run_id, or --latest/m);

  assert.equal((await runBin(['trigger', 'metrics', '--local', '--wait', '-q'], { env, timeoutMs: 60_000 })).code, 0);
  const second = await runBin(['trigger', 'decay_sweep', '--local', '--dry-run', '--json'], { env });
  const id = (JSON.parse(second.stdout) as { job_run_id: string }).job_run_id;
  const watched = await runBin(['watch', '--latest', '--local', '--json', '--timeout', '60s'], { env, timeoutMs: 90_000 });
  assert.equal(watched.code, 0, watched.stderr);
  assert.equal((JSON.parse(watched.stdout) as { job_run_id: string }).job_run_id, id);
  const status = await runInProcess(['status', '--latest', '--local', '--json'], { env });
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { job_run_id: string; status: string }).job_run_id, id);
  // Finding the newest job and reading it open the same database: one line names it.
  assert.equal(status.stderr.match(/local engine at/g)?.length, 1, status.stderr);
  const both = await runInProcess(['status', id, '--latest', '--local'], { env });
  assert.equal(both.code, 2);

  const list = async (...flags: string[]) => {
    const r = await runInProcess(['jobs', '--local', '--json', ...flags], { env });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as Array<{ job_type: string }>).map((j) => j.job_type);
  };
  assert.deepEqual(await list(), ['decay_sweep', 'metrics']);
  assert.deepEqual(await list('--type', 'metrics'), ['metrics']);
  assert.deepEqual(await list('--status', 'completed'), ['decay_sweep', 'metrics']);
  assert.deepEqual(await list('--since', '1h'), ['decay_sweep', 'metrics']);
  assert.deepEqual(await list('--since', '2099-01-01'), []);
  const typo = await runInProcess(['jobs', '--local', '--type', 'metric'], { env });
  assert.equal(typo.code, 2);
  const badStatus = await runInProcess(['jobs', '--local', '--status', 'done'], { env });
  assert.equal(badStatus.code, 2);
  assert.match(badStatus.stderr, /^error: unknown status "done"$/m);
});
