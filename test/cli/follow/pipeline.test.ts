/**
 * `nex-compound run`: the pipeline in dependency order, stopping at the first failure with its
 * exit code. Remote runs go over real HTTP to the fake Nex server; local runs spawn the built
 * bin against a real SQLite file.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRunInput } from '../../../src/cli/commands/run.js';
import { UsageError } from '../../../src/contract/errors.js';
import { startFakeNexServer, type FakeNexServer, type JobStatusBody } from '../../helpers/fake-nex-server.js';
import { ROOT, runBin, runInProcess, tempDir } from '../../helpers/cli.js';

const KEY = 'test-key-123';
const PIPELINE = ['consolidation', 'pattern_detection', 'playbook_synthesis', 'decay_sweep', 'metrics'];

describe('parsing', () => {
  test('the whole pipeline by default; --jobs keeps pipeline order and drops repeats', () => {
    assert.deepEqual(parseRunInput({}).jobTypes, PIPELINE);
    assert.deepEqual(parseRunInput({ jobs: 'metrics, consolidation,metrics' }).jobTypes, ['consolidation', 'metrics']);
    assert.deepEqual(parseRunInput({ jobs: 'decay-sweep' }).jobTypes, ['decay_sweep']);
    assert.equal(parseRunInput({ dryRun: true }).dryRun, true);
  });

  test('an unknown job type, an empty list or a bad --retries is a usage error', () => {
    assert.throws(() => parseRunInput({ jobs: 'consolidation,paterns' }), (e: unknown) => e instanceof UsageError && /unknown job type "paterns"/.test(e.message));
    assert.throws(() => parseRunInput({ jobs: ' , ' }), (e: unknown) => e instanceof UsageError && /at least one job type/.test(e.message));
    assert.throws(() => parseRunInput({ retries: '-1' }), UsageError);
  });
});

describe('against the Nex API', () => {
  let server: FakeNexServer;
  const completed = (jobType: string): Array<Partial<JobStatusBody>> => [
    { status: 'running', insights_scanned: 10 },
    { status: 'completed', insights_scanned: 20, insights_affected: jobType.length, candidates_created: 1, errors: 0 },
  ];
  before(async () => {
    server = await startFakeNexServer({
      apiKeys: { [KEY]: { workspaceId: 42, scopes: ['record.write'] }, 'read-only-key': { workspaceId: 42, scopes: [] } },
      defaultScript: (jobType) =>
        jobType === 'pattern_detection'
          ? [{ status: 'running' }, { status: 'failed', errors: 1, error_details: { message: 'pattern store unavailable' } }]
          : completed(jobType),
    });
  });
  after(() => server.close());

  const cli = (argv: string[], env: Record<string, string> = {}) =>
    runInProcess([...argv, '--base-url', server.url], { fakeClock: true, env: { NEX_API_KEY: KEY, ...env } });
  const triggered = (from: number) =>
    server.requests.slice(from).filter((q) => q.method === 'POST').map((q) => JSON.parse(q.body) as { job_type: string; dry_run: boolean });

  test('a failing job stops the pipeline with exit 1; later jobs are never triggered and show as skipped', async () => {
    const from = server.requests.length;
    const r = await cli(['run', '--interval', '1s']);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(triggered(from).map((b) => b.job_type), ['consolidation', 'pattern_detection']);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^JOB_TYPE\s+JOB_RUN_ID\s+STATUS\s+SCANNED/);
    assert.match(lines[1]!, /^consolidation\s+[0-9a-f-]{36}\s+completed\s+20\s+13\s+1\s+0/);
    assert.match(lines[2]!, /^pattern_detection\s+[0-9a-f-]{36}\s+failed/);
    assert.deepEqual(lines.slice(3).map((l) => l.split(/\s+/)), [['playbook_synthesis', 'skipped'], ['decay_sweep', 'skipped'], ['metrics', 'skipped']]);
    assert.match(r.stderr, /^error: job [0-9a-f-]{36} \(pattern_detection\) failed: pattern store unavailable$/m);
    assert.match(r.stderr, /\[2\/5\] pattern_detection did not complete: not starting playbook_synthesis, decay_sweep, metrics/);
  });

  test('--json: one document with every started job, the skipped ones and the error; the exit code stays the failure\'s', async () => {
    const r = await cli(['run', '--dry-run', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.status, 'failed');
    assert.equal(doc.dry_run, true);
    assert.equal(doc.backend, 'remote');
    assert.deepEqual(doc.jobs.map((j: { job_type: string; status: string }) => [j.job_type, j.status]), [['consolidation', 'completed'], ['pattern_detection', 'failed']]);
    assert.ok(doc.jobs.every((j: { dry_run: boolean }) => j.dry_run === true));
    assert.deepEqual(doc.skipped, ['playbook_synthesis', 'decay_sweep', 'metrics']);
    assert.equal(doc.error.exit_code, 1);
  });

  test('the jobs named with --jobs run in pipeline order and all complete: exit 0', async () => {
    const from = server.requests.length;
    const r = await cli(['run', '--jobs', 'metrics,decay_sweep,consolidation', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(triggered(from).map((b) => b.job_type), ['consolidation', 'decay_sweep', 'metrics']);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.status, 'completed');
    assert.deepEqual(doc.skipped, []);
    // Each job is triggered only after the previous one completed: its trigger follows the previous job's last GET.
    const sequence = server.requests.slice(from).map((q) => (q.method === 'POST' ? `POST ${JSON.parse(q.body).job_type}` : 'GET'));
    assert.deepEqual(sequence, ['POST consolidation', 'GET', 'GET', 'POST decay_sweep', 'GET', 'GET', 'POST metrics', 'GET', 'GET']);
  });

  test('a trigger refused with 403 stops the pipeline at once with exit 3', async () => {
    const from = server.requests.length;
    const r = await cli(['run'], { NEX_API_KEY: 'read-only-key' });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(triggered(from).length, 1);
    assert.match(r.stderr, /record\.write/);
    assert.doesNotMatch(r.stderr, /read-only-key/);
  });

  test('--timeout covers the whole pipeline: a job still running at the deadline exits 5 and nothing after it starts', async () => {
    const stuck = await startFakeNexServer({ defaultScript: () => [{ status: 'running' }] });
    try {
      const r = await runInProcess(['run', '--timeout', '20s', '--base-url', stuck.url], { fakeClock: true, env: { NEX_API_KEY: KEY } });
      assert.equal(r.code, 5, r.stderr);
      assert.equal(stuck.requests.filter((q) => q.method === 'POST').length, 1);
      assert.match(r.stderr, /the 20s deadline passed while job [0-9a-f-]{36} was running/);
      assert.match(r.stdout, /^pattern_detection\s+skipped/m);
    } finally {
      await stuck.close();
    }
  });

  test('GitHub Actions: per-job outputs, skipped jobs, an overall status, a summary table and an ::error:: annotation', async () => {
    const dir = tempDir('nex-compound-run-gha-');
    const output = path.join(dir, 'output');
    const summary = path.join(dir, 'summary');
    writeFileSync(output, '');
    writeFileSync(summary, '');
    const r = await runBin(['run', '--interval', '50ms', '--base-url', server.url], {
      env: { NEX_API_KEY: KEY, CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary },
    });
    assert.equal(r.code, 1, r.stderr);
    const outputs = Object.fromEntries(
      [...readFileSync(output, 'utf8').matchAll(/^([a-z_]+)<<(ghadelimiter_[0-9a-f-]+)\n([\s\S]*?)\n\2$/gm)].map((m) => [m[1]!, m[3]!]),
    );
    assert.equal(outputs.consolidation_status, 'completed');
    assert.equal(outputs.consolidation_insights_affected, '13');
    assert.match(outputs.consolidation_job_run_id!, /^[0-9a-f-]{36}$/);
    assert.equal(outputs.pattern_detection_status, 'failed');
    assert.equal(outputs.pattern_detection_errors, '1');
    assert.equal(outputs.playbook_synthesis_status, 'skipped');
    assert.equal(outputs.metrics_status, 'skipped');
    assert.equal(outputs.status, 'failed');
    assert.equal(outputs.job_run_ids, `${outputs.consolidation_job_run_id},${outputs.pattern_detection_job_run_id}`);
    const table = readFileSync(summary, 'utf8');
    assert.match(table, /^### nex-compound run$/m);
    assert.match(table, /^\| consolidation \| `[0-9a-f-]{36}` \| ✅ completed \| 20 \| 13 \| 1 \| 0 \|/m);
    assert.match(table, /^\| pattern_detection \| `[0-9a-f-]{36}` \| ❌ failed \|/m);
    assert.match(table, /^\| decay_sweep \| \| ⏭️ skipped \|/m);
    assert.match(r.stderr, /^::error title=nex-compound::job [0-9a-f-]{36} \(pattern_detection\) failed: pattern store unavailable$/m);
    assert.equal((r.stderr.match(/^::group::nex-compound run \[\d\/5\]/gm) ?? []).length, 2);
    assert.doesNotMatch(r.stdout, /::/);
  });
});

describe('against the local engine', () => {
  const dir = tempDir('nex-compound-run-local-');
  const db = path.join(dir, 'engine.db');
  const env = { HOME: dir, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') };
  const local = (argv: string[]) => runBin(['--local', '--db', db, ...argv], { env, timeoutMs: 60_000 });

  before(async () => {
    const r = await local(['insights', 'import', path.join(ROOT, 'data', 'demo-insights.jsonl')]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('--dry-run runs every job and leaves every insight as it was', async () => {
    const before = (await local(['insights', 'export'])).stdout;
    const r = await local(['run', '--dry-run', '--json', '--interval', '50ms']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.jobs.map((j: { job_type: string }) => j.job_type), PIPELINE);
    assert.ok(doc.jobs.every((j: { status: string; dry_run: boolean }) => j.status === 'completed' && j.dry_run));
    assert.equal((await local(['insights', 'export'])).stdout, before);
    assert.match(r.stderr, /local engine at .*engine\.db/);
  });

  test('the real pipeline completes in order, each job starting after the previous one ended', async () => {
    const r = await local(['run', '--json', '--interval', '50ms']);
    assert.equal(r.code, 0, r.stderr);
    const jobs = JSON.parse(r.stdout).jobs as Array<{ job_type: string; status: string; started_at: string; completed_at: string; insights_affected: number }>;
    assert.deepEqual(jobs.map((j) => [j.job_type, j.status]), PIPELINE.map((t) => [t, 'completed']));
    for (let i = 1; i < jobs.length; i++) assert.ok(Date.parse(jobs[i]!.started_at) >= Date.parse(jobs[i - 1]!.completed_at), `${jobs[i]!.job_type} started early`);
    // Planted near-duplicates are merged, and pattern detection then finds the recurring themes.
    assert.ok(jobs[0]!.insights_affected > 0);
    const history = JSON.parse((await local(['jobs', '--json', '--limit', '5'])).stdout) as Array<{ job_run_id: string }>;
    assert.deepEqual(new Set(history.map((j) => j.job_run_id)), new Set(jobs.map((j: unknown) => (j as { job_run_id: string }).job_run_id)));
  });

  test('an unknown job type in --jobs exits 2 before any job is recorded', async () => {
    const count = (JSON.parse((await local(['jobs', '--json', '--limit', '100'])).stdout) as unknown[]).length;
    const r = await local(['run', '--jobs', 'consolidation,metrix']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown job type "metrix" — did you mean "metrics"\?/);
    assert.equal((JSON.parse((await local(['jobs', '--json', '--limit', '100'])).stdout) as unknown[]).length, count);
  });
});
