/**
 * The local engine's job runner with real processes and a real SQLite file:
 * detached workers, kill -9 mid-job and re-claim, concurrency, dry runs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { runBin, tempDir } from '../../helpers/cli.js';
import { openDatabaseWith } from '../../../src/engine/store/db.js';
import { decayedConfidence } from '../../../src/engine/jobs/decay/job.js';
import { jobParams } from '../../../src/contract/job-params.js';
import { freshDb, seed, snapshotInsights, NOW } from '../../helpers/engine-db.js';

const DEFAULT_DECAY = jobParams('decay_sweep', {});
import { HUNG_AFTER_LEASES, claimNextJob, createJob, getJob, hasRunnableJobs, processIsRunning } from '../../../src/engine/queue/queue.js';

const localEnv = (file: string, extra: Record<string, string> = {}) => ({ NEX_COMPOUND_DB: file, ...extra });

describe('local jobs through the real bin', () => {
  test('trigger returns at once; a detached worker runs the job; watch follows it; counts are right', async () => {
    const { file, db } = freshDb();
    seed(db, 500);
    db.close();
    const trigger = await runBin(['trigger', 'decay_sweep', '--local', '--json'], { env: localEnv(file) });
    assert.equal(trigger.code, 0, trigger.stderr);
    const accepted = JSON.parse(trigger.stdout);
    assert.equal(accepted.status, 'accepted');
    assert.match(trigger.stderr, /local engine at .*engine\.db \(workspace 1\)/);
    const watch = await runBin(['watch', accepted.job_run_id, '--local', '--json'], { env: localEnv(file) });
    assert.equal(watch.code, 0, watch.stderr);
    const final = JSON.parse(watch.stdout);
    assert.equal(final.status, 'completed');
    assert.equal(final.insights_scanned, 500);
    assert.equal(final.progress, 100);
    assert.equal(final.attempts, 1);

    const after = openDatabaseWith(Sqlite, file, { create: false });
    const rows = after.prepare('SELECT confidence, base_confidence, last_reinforced_at, status FROM insights').all() as Array<{ confidence: number; base_confidence: number; last_reinforced_at: number; status: string }>;
    const at = Date.parse(final.completed_at);
    let changed = 0;
    for (const r of rows) {
      if (Math.abs(r.confidence - r.base_confidence) > 1e-6 || r.status !== 'active') changed++;
      // Computed at the job's run time, within the job's own duration of completed_at.
      const expected = decayedConfidence(r.base_confidence, r.last_reinforced_at, at, DEFAULT_DECAY);
      assert.ok(Math.abs(r.confidence - expected) < 1e-3);
    }
    assert.equal(changed, final.insights_affected);
    after.close();
  });

  test('a dry run reports the counts of a real run and leaves every insight unchanged', async () => {
    const { file, db } = freshDb();
    seed(db, 300);
    const before = snapshotInsights(db);
    db.close();
    const dry = await runBin(['trigger', 'decay_sweep', '--local', '--dry-run', '--wait', '--json'], { env: localEnv(file) });
    assert.equal(dry.code, 0, dry.stderr);
    const dryStatus = JSON.parse(dry.stdout);
    assert.equal(dryStatus.dry_run, true);
    assert.ok(dryStatus.insights_affected > 0);
    const check = openDatabaseWith(Sqlite, file, { create: false });
    assert.deepEqual(snapshotInsights(check), before);
    check.close();
    const real = await runBin(['trigger', 'decay_sweep', '--local', '--wait', '--json'], { env: localEnv(file) });
    assert.equal(JSON.parse(real.stdout).insights_affected, dryStatus.insights_affected);
  });

  test('kill -9 of the worker mid-job: the job is re-claimed, completes with attempts = 2, nothing half-changed', async () => {
    const { file, db } = freshDb();
    seed(db, 20_000);
    const before = snapshotInsights(db) as Array<{ confidence: number }>;
    db.close();
    const env = localEnv(file, { NEX_COMPOUND_LEASE_MS: '1000', NEX_COMPOUND_JOB_SLOWDOWN_MS: '600' });
    const trigger = await runBin(['trigger', 'decay_sweep', '--local', '--json'], { env });
    const id = JSON.parse(trigger.stdout).job_run_id as string;

    // Wait until the worker is mid-job, then kill it without a chance to clean up.
    const watcher = openDatabaseWith(Sqlite, file, { create: false });
    let workerPid: number | undefined;
    for (let i = 0; i < 200 && !workerPid; i++) {
      const job = getJob(watcher, id)!;
      const worker = watcher.prepare('SELECT pid FROM workers').get() as { pid: number } | undefined;
      if (job.status === 'running' && job.stage === 'computing' && worker) workerPid = worker.pid;
      else await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(workerPid, 'the worker reached the middle of the job');
    process.kill(workerPid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const mid = snapshotInsights(watcher) as Array<{ confidence: number }>;
    assert.deepEqual(mid, before, 'a killed job left no partial change');
    watcher.close();

    const watch = await runBin(['watch', id, '--local', '--json', '--timeout', '60s'], { env: { ...env, NEX_COMPOUND_JOB_SLOWDOWN_MS: '0' } });
    assert.equal(watch.code, 0, watch.stderr);
    const final = JSON.parse(watch.stdout);
    assert.equal(final.status, 'completed');
    assert.equal(final.attempts, 2);
    assert.equal(final.insights_scanned, 20_000);

    const after = openDatabaseWith(Sqlite, file, { create: false });
    assert.equal(after.pragma('integrity_check', { simple: true }), 'ok');
    const events = after.prepare('SELECT kind FROM job_events WHERE job_run_id = ? ORDER BY id').all(id).map((e) => (e as { kind: string }).kind);
    assert.deepEqual(events, ['accepted', 'claimed', 'lease_expired', 'claimed', 'completed']);
    after.close();
  });

  test('a worker that is alive but late with its heartbeat keeps its job: no second worker, attempts = 1', async () => {
    const { file, db } = freshDb();
    seed(db, 2000);
    db.close();
    // Each progress report blocks 1.1 s, more than twice the 0.5 s lease, while the --wait poll
    // looks for abandoned jobs every 100 ms; the worker's process is running all along.
    const env = localEnv(file, { NEX_COMPOUND_LEASE_MS: '500', NEX_COMPOUND_JOB_SLOWDOWN_MS: '1100' });
    const run = await runBin(['trigger', 'decay_sweep', '--local', '--wait', '--json', '--timeout', '60s'], { env });
    assert.equal(run.code, 0, run.stderr);
    const final = JSON.parse(run.stdout);
    assert.equal(final.status, 'completed');
    assert.equal(final.attempts, 1);
    const after = openDatabaseWith(Sqlite, file, { create: false });
    const events = after.prepare('SELECT kind FROM job_events WHERE job_run_id = ? ORDER BY id').all(final.job_run_id).map((e) => (e as { kind: string }).kind);
    after.close();
    assert.deepEqual(events, ['accepted', 'claimed', 'completed']);
  });

  test('an expired lease is taken at once from a dead or zombie owner, and from a running one only once it is presumed hung', async () => {
    const { spawn, spawnSync } = await import('node:child_process');
    // A zombie: the backgrounded child exits a second later, when its parent has exec'd into a
    // sleep that never reaps it. (A child that exits before the exec may be reaped by the shell.)
    const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 30 >/dev/null'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const zombie = await new Promise<number>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    try {
      const state = () => {
        const stat = readFileSync(`/proc/${zombie}/stat`, 'latin1');
        return stat[stat.lastIndexOf(')') + 2];
      };
      for (let i = 0; i < 1_000 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(state(), 'Z', 'the child became a zombie');
      assert.equal(processIsRunning(zombie), false, 'a zombie is not running');
    } finally {
      parent.kill('SIGKILL');
    }
    const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
    assert.equal(processIsRunning(process.pid), true);
    assert.equal(processIsRunning(exited), false);

    const lease = 1000;
    const cases = [
      { owner: process.pid, takenAfter: HUNG_AFTER_LEASES * lease + 1, reason: 'owner hung' },
      { owner: exited, takenAfter: 1, reason: 'owner gone' },
      { owner: undefined, takenAfter: 1, reason: 'owner gone' },
    ];
    for (const { owner, takenAfter, reason } of cases) {
      const { db } = freshDb();
      const job = createJob(db, { workspaceId: 1, jobType: 'metrics', dryRun: false, now: NOW });
      assert.equal(claimNextJob(db, 'first', NOW, lease)?.job_run_id, job.job_run_id);
      if (owner !== undefined) db.prepare('INSERT INTO workers (worker_id, pid, heartbeat_at) VALUES (?, ?, ?)').run('first', owner, NOW);
      const expires = NOW + lease;
      for (const at of [expires, expires + 1, expires + takenAfter - 1]) {
        if (at >= expires + takenAfter) continue;
        assert.equal(hasRunnableJobs(db, at, lease), false, `owner ${owner}: runnable ${at - expires} ms after expiry`);
        assert.equal(claimNextJob(db, 'second', at, lease), undefined, `owner ${owner}: taken ${at - expires} ms after expiry`);
      }
      const at = expires + takenAfter;
      assert.equal(hasRunnableJobs(db, at, lease), true, `owner ${owner}`);
      const taken = claimNextJob(db, 'second', at, lease);
      assert.equal(taken?.lease_owner, 'second', `owner ${owner}`);
      assert.equal(taken?.attempts, 2);
      const event = db.prepare(`SELECT detail FROM job_events WHERE job_run_id = ? AND kind = 'lease_expired'`).get(job.job_run_id) as { detail: string };
      assert.equal(JSON.parse(event.detail).reason, reason, `owner ${owner}`);
      db.close();
    }
  });

  test('a job whose worker died three times is failed with error_details', async () => {
    const { file, db } = freshDb();
    const job = createJob(db, { workspaceId: 1, jobType: 'metrics', dryRun: false, now: Date.now() });
    db.prepare(`UPDATE jobs SET status = 'running', attempts = 3, lease_owner = 'dead', lease_expires_at = 1 WHERE job_run_id = ?`).run(job.job_run_id);
    db.close();
    const watch = await runBin(['watch', job.job_run_id, '--local', '--json', '--timeout', '30s'], { env: localEnv(file) });
    assert.equal(watch.code, 1, watch.stderr);
    const final = JSON.parse(watch.stdout);
    assert.equal(final.status, 'failed');
    assert.match(final.error_details.message, /stopped 3 times/);
  });

  test('8 processes triggering at once: every job recorded and run, one at a time per workspace, no SQLITE_BUSY', async () => {
    const { file, db } = freshDb();
    seed(db, 2000);
    db.close();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => runBin(['trigger', i % 2 ? 'metrics' : 'decay_sweep', '--local', '--json'], { env: localEnv(file) })),
    );
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /SQLITE_BUSY|locked/);
    }
    const ids = results.map((r) => JSON.parse(r.stdout).job_run_id as string);
    const watch = await runBin(['watch', ...ids, '--local', '--json', '--timeout', '60s'], { env: localEnv(file) });
    assert.equal(watch.code, 0, watch.stderr);
    const check = openDatabaseWith(Sqlite, file, { create: false });
    const jobs = check.prepare('SELECT job_run_id, status FROM jobs ORDER BY seq').all() as Array<{ job_run_id: string; status: string }>;
    assert.equal(jobs.length, 8);
    assert.ok(jobs.every((j) => j.status === 'completed'));
    // One at a time, in trigger order: each claim comes after the previous completion.
    const events = check.prepare(`SELECT e.kind, e.at, j.seq FROM job_events e JOIN jobs j USING (job_run_id) WHERE e.kind IN ('claimed', 'completed') ORDER BY e.id`).all() as Array<{ kind: string; seq: number }>;
    const order = events.map((e) => `${e.kind}:${e.seq}`);
    const expected = jobs.flatMap((_, i) => [`claimed:${i + 1}`, `completed:${i + 1}`]);
    assert.deepEqual(order, expected);
    check.close();
  });
});

describe('database errors are one clear line with exit 8', () => {
  test('a path in a missing directory, a directory, a corrupt file, a newer schema', async () => {
    const dir = tempDir('nex-compound-dberr-');
    const corrupt = path.join(dir, 'corrupt.db');
    writeFileSync(corrupt, 'this is not a database at all, just some text padding it out to more than a page'.repeat(100));
    const newer = path.join(dir, 'newer.db');
    const n = new Sqlite(newer);
    n.pragma('user_version = 999');
    n.close();
    const blocker = path.join(dir, 'file');
    writeFileSync(blocker, 'x');
    for (const [db, pattern] of [
      [path.join(dir, 'missing', 'x.db'), /does not exist/],
      [dir, /is a directory/],
      [corrupt, /corrupt or not a nex-compound database/],
      [newer, /newer nex-compound/],
      [path.join(blocker, 'x.db'), /does not exist|cannot open/],
    ] as const) {
      const r = await runBin(['trigger', 'metrics', '--local', '--db', db]);
      assert.equal(r.code, 8, `${db}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

});
