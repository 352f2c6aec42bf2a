/**
 * `revert` after `run`, through the built bin on real stores: the pipeline's decay sweep no
 * longer makes its consolidation un-revertable. The store comes back exactly as a copy taken
 * before `run` that only ran the same sweep; `doctor` finds it whole; a second revert is refused,
 * and so is a revert that a later run's consolidation stands in the way of (exit 10).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { sampleAsOfToday } from '../../../src/cli/commands/demo.js';
import { jobParams } from '../../../src/contract/job-params.js';
import { decayedConfidence, shouldArchive } from '../../../src/engine/jobs/decay/job.js';
import { createJob } from '../../../src/engine/queue/queue.js';
import { runNextJob } from '../../../src/engine/queue/runner.js';
import { openDatabaseWith } from '../../../src/engine/store/db.js';
import type { InsightRow } from '../../../src/engine/store/insights.js';
import { runBin, tempDir } from '../../helpers/cli.js';

const DAY = 86_400_000;

function engineDir(prefix: string) {
  const dir = tempDir(prefix);
  return { dir, file: path.join(dir, 'engine.db'), env: { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir } };
}

function withDb<T>(file: string, use: (db: Sqlite.Database) => T): T {
  const db = openDatabaseWith(Sqlite, file, { create: false });
  try {
    return use(db);
  } finally {
    db.close();
  }
}

const insights = (file: string) => withDb(file, (db) => db.prepare('SELECT * FROM insights ORDER BY id').all() as InsightRow[]);

interface JobStatus {
  job_run_id: string;
  job_type: string;
  status: string;
  insights_affected: number;
  candidates_created: number;
}

async function run(env: Record<string, string>): Promise<Map<string, JobStatus>> {
  const r = await runBin(['run', '--local', '--json'], { env, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { status: string; jobs: JobStatus[] };
  assert.deepEqual(
    summary.jobs.map((j) => [j.job_type, j.status]),
    ['consolidation', 'pattern_detection', 'playbook_synthesis', 'decay_sweep', 'metrics'].map((type) => [type, 'completed']),
  );
  return new Map(summary.jobs.map((j) => [j.job_type, j]));
}

async function doctorFindsItWhole(env: Record<string, string>) {
  const doctor = await runBin(['doctor', '--json'], { env });
  assert.equal(doctor.code, 0, doctor.stderr);
  const report = JSON.parse(doctor.stdout) as { ok: boolean; problems: unknown[] };
  assert.deepEqual([report.ok, report.problems], [true, []]);
}

test('run on the demo sample, then revert its consolidation: exit 0, the store a run without the consolidation leaves, doctor finds it whole, a second revert is refused', async () => {
  const { dir, file, env } = engineDir('nex-compound-revert-run-');
  const sample = path.join(dir, 'sample.jsonl');
  writeFileSync(sample, sampleAsOfToday(Date.now()).join(''));
  const imported = await runBin(['insights', 'import', sample, '--json'], { env });
  assert.equal(imported.code, 0, imported.stderr);
  // The store as `run` finds it, kept aside: it will run the same sweep without the consolidation.
  const twin = path.join(dir, 'twin.db');
  withDb(file, (db) => db.prepare('VACUUM INTO ?').run(twin));
  const before = insights(file);

  const jobs = await run(env);
  const consolidation = jobs.get('consolidation')!;
  const sweepId = jobs.get('decay_sweep')!.job_run_id;
  assert.ok(consolidation.candidates_created >= 10, `the sample's near-duplicates were merged: ${consolidation.candidates_created} clusters`);
  const changes = withDb(file, (db) => db.prepare('SELECT insight_id, role FROM insight_changes WHERE job_run_id = ?').all(consolidation.job_run_id) as Array<{ insight_id: number; role: string }>);
  const merged = changes.filter((c) => c.role === 'merged').map((c) => c.insight_id);
  const afterRun = new Map(insights(file).map((r) => [r.id, r]));
  assert.ok(merged.every((id) => afterRun.get(id)!.status === 'merged'));

  const sweep = await runBin(['status', sweepId, '--local', '--details', '--json'], { env });
  assert.equal(sweep.code, 0, sweep.stderr);
  const details = (JSON.parse(sweep.stdout) as { details: { swept_at: string; params: Record<string, unknown> } }).details;
  const sweptAt = Date.parse(details.swept_at);
  const params = jobParams('decay_sweep', details.params);

  const revert = await runBin(['revert', consolidation.job_run_id, '--json'], { env });
  assert.equal(revert.code, 0, revert.stderr);
  const result = JSON.parse(revert.stdout) as { restored: number; restored_archived: number; reapplied_sweeps: string[] };
  assert.equal(result.restored, consolidation.insights_affected);
  assert.deepEqual(result.reapplied_sweeps, [sweepId]);

  // The merged insights are back, each with its own text, count, base and dates, and the
  // confidence and status the sweep gives them.
  const now = new Map(insights(file).map((r) => [r.id, r]));
  const original = new Map(before.map((r) => [r.id, r]));
  let active = 0;
  for (const id of merged) {
    const row = now.get(id)!;
    const was = original.get(id)!;
    assert.deepEqual({ ...row, confidence: 0, status: '' }, { ...was, confidence: 0, status: '' }, `insight ${id} is as before the run`);
    const expected = decayedConfidence(was.base_confidence, was.last_reinforced_at, sweptAt, params);
    assert.ok(Math.abs(row.confidence - expected) < 1e-12, `insight ${id}: ${row.confidence} vs ${expected}`);
    assert.equal(row.status, shouldArchive(expected, was.last_reinforced_at, sweptAt, params) ? 'archived' : 'active', `insight ${id}`);
    if (row.status === 'active') active++;
  }
  assert.ok(active * 2 > merged.length, `${active} of ${merged.length} merged insights are active again`);
  assert.ok(active < merged.length, 'the sample\'s stale ones come back archived, as the sweep archives them');
  assert.ok(merged.some((id) => now.get(id)!.confidence < original.get(id)!.confidence), 'the sweep lowered some');

  // Exactly, every insight: the twin runs the same sweep (same moment, same parameters) without the consolidation.
  const twinDb = openDatabaseWith(Sqlite, twin, { create: false });
  try {
    const job = createJob(twinDb, { workspaceId: 1, jobType: 'decay_sweep', dryRun: false, params: { ...params }, now: sweptAt });
    assert.equal((await runNextJob({ db: twinDb, workerId: 'twin', leaseMs: 30_000, now: () => sweptAt }))?.job_run_id, job.job_run_id);
  } finally {
    twinDb.close();
  }
  assert.deepEqual(insights(file), insights(twin));

  await doctorFindsItWhole(env);
  const again = await runBin(['revert', consolidation.job_run_id], { env });
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, new RegExp(`error: job ${consolidation.job_run_id} was already reverted at `));
  assert.deepEqual(insights(file), insights(twin), 'a refused revert changes nothing');
});

test('a second run whose consolidation merged into the same survivor: revert of the first exits 10 naming it; reverting it first, then the first, works', async () => {
  const { dir, file, env } = engineDir('nex-compound-revert-twice-');
  const start = Date.now() - 40 * DAY;
  const texts = [
    // Worded differently, the same facts (filler words, a hyphen): consolidation merges these.
    'Acme renewal owner is the new VP of Data.',
    'The Acme renewal-owner is the new VP of Data.',
    'The Acme renewal owner is the new VP of Data',
    'Initech asked for SSO via Okta before the pilot ends.',
    'Initech really asked for SSO via Okta before the pilot ends.',
    'Hooli wants a quarterly business review in March.',
  ];
  const sample = path.join(dir, 'sample.jsonl');
  writeFileSync(
    sample,
    texts
      .map((text, i) => JSON.stringify({ text, source: i % 2 ? 'hubspot' : 'gong-call', confidence: 0.5 + i / 20, created_at: new Date(start + i * DAY).toISOString(), last_reinforced_at: new Date(start + (10 + i) * DAY).toISOString() }))
      .join('\n'),
  );
  assert.equal((await runBin(['insights', 'import', sample], { env })).code, 0);
  const before = insights(file);
  const first = (await run(env)).get('consolidation')!;
  assert.equal(first.candidates_created, 2);

  const add = await runBin(['insights', 'add', 'The Acme renewal owner is really the new VP of Data.', '--json'], { env });
  assert.equal(add.code, 0, add.stderr);
  const added = JSON.parse(add.stdout) as { id: number; reinforced: boolean };
  assert.equal(added.reinforced, false);
  const second = (await run(env)).get('consolidation')!;
  assert.equal(withDb(file, (db) => db.prepare('SELECT merged_into FROM insights WHERE id = ?').pluck().get(added.id)), 1, 'the second run merged the new insight into survivor 1');
  const state = insights(file);

  const refused = await runBin(['revert', first.job_run_id], { env });
  assert.equal(refused.code, 10, refused.stderr);
  assert.match(refused.stderr, new RegExp(`error: cannot revert ${first.job_run_id}: the later consolidation run ${second.job_run_id} \\(completed [^)]+\\) changed insight 1 too`));
  assert.ok(refused.stderr.includes(`hint: revert ${second.job_run_id} first (\`nex-compound revert ${second.job_run_id} --local --db ${file}\`)`), refused.stderr);
  assert.deepEqual(insights(file), state, 'a refused revert restores nothing');

  for (const job of [second, first]) {
    const r = await runBin(['revert', job.job_run_id, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
  }
  const after = insights(file);
  assert.deepEqual(
    after.filter((r) => r.id !== added.id).map((r) => ({ ...r, confidence: 0 })),
    before.map((r) => ({ ...r, confidence: 0 })),
    'every insight of the first run is as before it, but for the sweeps\' confidence',
  );
  assert.deepEqual(
    after.map((r) => [r.id, r.status, r.merged_into]),
    [...before.map((r) => [r.id, 'active', null]), [added.id, 'active', null]],
  );
  await doctorFindsItWhole(env);
});
