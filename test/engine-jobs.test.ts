/**
 * The local engine's job runner with real processes and a real SQLite file:
 * detached workers, kill -9 mid-job and re-claim, concurrency, dry runs, decay maths.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import Sqlite from 'better-sqlite3';
import { runBin, tempDir } from './helpers/cli.js';
import { ACTIVE_TEXT_INDEX, openDatabaseWith } from '../src/engine/store/db.js';
import { DEFAULT_DECAY, decayedConfidence, runDecaySweep, shouldArchive } from '../src/engine/jobs/decay/job.js';
import { HUNG_AFTER_LEASES, claimNextJob, createJob, getJob, hasRunnableJobs, processIsRunning } from '../src/engine/queue/queue.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-01T00:00:00Z');

function freshDb(): { file: string; db: Sqlite.Database } {
  const file = path.join(tempDir('nex-compound-engine-'), 'engine.db');
  return { file, db: openDatabaseWith(Sqlite, file, { create: true }) };
}

/** Seeds n insights with varied ages and confidences, directly (the import path is tested elsewhere). */
function seed(db: Sqlite.Database, n: number, workspaceId = 1): void {
  const insert = db.prepare(
    `INSERT INTO insights (workspace_id, text, normalized_text, source, tags, confidence, base_confidence, created_at, last_reinforced_at)
     VALUES (?, ?, ?, 'seed', '[]', ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const base = 0.2 + ((i * 7919) % 80) / 100;
      const age = ((i * 104729) % 400) * DAY;
      insert.run(workspaceId, `insight number ${i}`, `insight number ${i}`, base, base, NOW - age - DAY, NOW - age);
    }
  })();
}

function snapshotInsights(db: Sqlite.Database) {
  return db.prepare('SELECT id, confidence, base_confidence, status FROM insights ORDER BY id').all();
}

const localEnv = (file: string, extra: Record<string, string> = {}) => ({ NEX_COMPOUND_DB: file, ...extra });

describe('decay maths', () => {
  test('the formula: no decay inside the grace period, one half-life halves the distance to the floor', () => {
    const p = DEFAULT_DECAY;
    assert.equal(decayedConfidence(0.8, NOW, NOW + 6 * DAY, p), 0.8);
    const oneHalfLife = decayedConfidence(0.8, NOW, NOW + 7 * DAY + 30 * DAY, p);
    assert.ok(Math.abs(oneHalfLife - (0.05 + 0.75 / 2)) < 1e-12);
    assert.ok(decayedConfidence(0.8, NOW, NOW + 5000 * DAY, p) - 0.05 < 1e-9);
    assert.equal(decayedConfidence(0.03, NOW, NOW + 500 * DAY, p), 0.03, 'below the floor nothing rises');
    assert.equal(shouldArchive(0.09, NOW, NOW + 1 * DAY, p), false, 'never archived inside the grace period');
    assert.equal(shouldArchive(0.09, NOW, NOW + 8 * DAY, p), true);
  });

  test('property: sweeps at t1 then t2 equal one sweep at t2 (path independence)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ base: fc.double({ min: 0, max: 1, noNaN: true }), ageDays: fc.integer({ min: 0, max: 2000 }) }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 400 }),
        (rows, d1, d2) => {
          const once = freshDb();
          const twice = freshDb();
          for (const { db } of [once, twice]) {
            const insert = db.prepare(
              `INSERT INTO insights (text, normalized_text, tags, confidence, base_confidence, created_at, last_reinforced_at) VALUES (?, ?, '[]', ?, ?, ?, ?)`,
            );
            rows.forEach((r, i) => insert.run(`t${i}`, `t${i}`, r.base, r.base, NOW - r.ageDays * DAY, NOW - r.ageDays * DAY));
          }
          const t1 = NOW + d1 * DAY;
          const t2 = t1 + d2 * DAY;
          const sweep = (db: Sqlite.Database, at: number) => {
            const job = createJob(db, { workspaceId: 1, jobType: 'decay_sweep', dryRun: false, now: at });
            const outcome = runDecaySweep({ db, job, params: {}, now: at, progress: () => undefined });
            db.transaction(() => outcome.apply?.())();
          };
          sweep(twice.db, t1);
          sweep(twice.db, t2);
          sweep(once.db, t2);
          const a = snapshotInsights(once.db) as Array<{ confidence: number; status: string }>;
          const b = snapshotInsights(twice.db) as Array<{ confidence: number; status: string }>;
          once.db.close();
          twice.db.close();
          assert.equal(a.length, b.length);
          a.forEach((row, i) => {
            assert.equal(row.status, b[i]!.status);
            assert.ok(Math.abs(row.confidence - b[i]!.confidence) <= 1e-12, `${row.confidence} vs ${b[i]!.confidence}`);
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('decay_sweep when it archives most of the store', () => {
  const indexRow = (db: Sqlite.Database) =>
    db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = 'insights_active_normalized'`).get() as { sql: string };
  const sweep = (db: Sqlite.Database, at: number) => {
    const job = createJob(db, { workspaceId: 1, jobType: 'decay_sweep', dryRun: false, now: at });
    const outcome = runDecaySweep({ db, job, params: {}, now: at, progress: () => undefined });
    db.transaction(() => outcome.apply?.()).immediate();
  };

  test('the rebuilt unique index is the one migration 1 made; every row follows the formula; other workspaces keep theirs', () => {
    const { db } = freshDb();
    seed(db, 3000);
    seed(db, 200, 2);
    // Archived insights keep decaying and are never brought back.
    db.exec(`UPDATE insights SET status = 'archived' WHERE workspace_id = 1 AND id % 50 = 0`);
    const before = indexRow(db);
    const schemaVersion = () => db.pragma('schema_version', { simple: true }) as number;
    const version = schemaVersion();
    assert.equal(before.sql, ACTIVE_TEXT_INDEX, 'the constant matches the migration');
    const at = NOW + 300 * DAY; // most insights are then far past the archive threshold
    const rows = db.prepare('SELECT id, workspace_id, base_confidence, confidence, last_reinforced_at, status FROM insights ORDER BY id').all() as Array<{
      id: number; workspace_id: number; base_confidence: number; confidence: number; last_reinforced_at: number; status: string;
    }>;
    sweep(db, at);
    const after = indexRow(db);
    assert.equal(schemaVersion(), version + 2, 'this sweep dropped and recreated the index');
    assert.equal(after.sql, before.sql);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const now = new Map((db.prepare('SELECT id, confidence, status FROM insights').all() as Array<{ id: number; confidence: number; status: string }>).map((r) => [r.id, r]));
    let archived = 0;
    for (const r of rows) {
      const got = now.get(r.id)!;
      if (r.workspace_id === 2) {
        assert.deepEqual(got, { id: r.id, confidence: r.confidence, status: r.status }, 'another workspace is untouched');
        continue;
      }
      const expected = decayedConfidence(r.base_confidence, r.last_reinforced_at, at, DEFAULT_DECAY);
      assert.ok(Math.abs(got.confidence - expected) < 1e-12);
      const archive = shouldArchive(expected, r.last_reinforced_at, at, DEFAULT_DECAY);
      assert.equal(got.status, archive || r.status === 'archived' ? 'archived' : 'active');
      if (archive) archived++;
    }
    assert.ok(archived > 2000, `${archived} of 3000 archived`);
    // The index still holds every active insight of both workspaces, and still enforces uniqueness.
    const indexed = db.prepare(`SELECT count(*) FROM insights INDEXED BY insights_active_normalized WHERE workspace_id IN (1, 2) AND status = 'active'`).pluck().get();
    assert.equal(indexed, db.prepare(`SELECT count(*) FROM insights NOT INDEXED WHERE status = 'active'`).pluck().get());
    const active = db.prepare(`SELECT workspace_id, text, normalized_text FROM insights WHERE status = 'active' AND workspace_id = 2 LIMIT 1`).get() as { workspace_id: number; text: string; normalized_text: string };
    assert.throws(
      () => db.prepare(`INSERT INTO insights (workspace_id, text, normalized_text, confidence, base_confidence, created_at, last_reinforced_at) VALUES (?, ?, ?, 0.5, 0.5, 0, 0)`).run(active.workspace_id, active.text, active.normalized_text),
      /UNIQUE constraint failed/,
    );
    // A later sweep that archives little keeps the index as it is.
    const rebuilt = schemaVersion();
    sweep(db, at + DAY);
    assert.equal(schemaVersion(), rebuilt);
    db.close();
  });
});

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

  test('in CI without a key and without --local: exit 3, never a silent local run', async () => {
    const r = await runBin(['trigger', 'metrics'], { env: { CI: 'true', NEX_COMPOUND_DB: path.join(tempDir(), 'x.db') } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /--local/);
  });
});
