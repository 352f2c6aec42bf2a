/**
 * Consolidation end to end through the real bin on a real SQLite file: a dry run previews
 * exactly what the real run writes, a re-run finds nothing, revert restores the exact state
 * before and refuses once something later touched the same insights, and a worker killed
 * mid-consolidation leaves no partial merge.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { runBin, tempDir } from '../../../helpers/cli.js';
import { openDatabaseWith } from '../../../../src/engine/store/db.js';
import { getJob } from '../../../../src/engine/queue/queue.js';
import { generateLabelledCorpus } from '../../../../bench/lib/labelled-insights.js';
import { readSummaries } from '../../../../bench/lib/labelled-pairs.js';

async function corpusEngine(facts: number, extraEnv: Record<string, string> = {}) {
  const dir = tempDir('nex-compound-consolidation-');
  const file = path.join(dir, 'engine.db');
  const env = { NEX_COMPOUND_DB: file, NEX_COMPOUND_CONFIG_DIR: dir, ...extraEnv };
  const corpus = generateLabelledCorpus({ facts, seed: 5 });
  const jsonl = path.join(dir, 'corpus.jsonl');
  const sources = ['gong-call', 'zendesk', 'hubspot'];
  writeFileSync(
    jsonl,
    corpus.insights
      .map((i) => JSON.stringify({ text: i.text, source: sources[i.id % 3], tags: [`t${i.id % 4}`], confidence: 0.3 + (i.id % 7) / 10, created_at: i.created_at }))
      .join('\n'),
  );
  const imported = await runBin(['insights', 'import', jsonl, '--json'], { env });
  assert.equal(imported.code, 0, imported.stderr);
  return { file, env, corpus };
}

const allRows = (file: string) => {
  const db = openDatabaseWith(Sqlite, file, { create: false });
  try {
    return db.prepare('SELECT * FROM insights ORDER BY id').all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
};

async function consolidate(env: Record<string, string>, dryRun = false) {
  const r = await runBin(['trigger', 'consolidation', '--local', '--wait', '--json', ...(dryRun ? ['--dry-run'] : [])], { env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const status = JSON.parse(r.stdout) as { job_run_id: string; status: string; insights_scanned: number; insights_affected: number; candidates_created: number };
  const details = await runBin(['status', status.job_run_id, '--local', '--details', '--json'], { env });
  assert.equal(details.code, 0, details.stderr);
  return { status, details: JSON.parse(details.stdout).details as { clusters: Array<{ survivor: number; text: string; members: Array<{ id: number }> }>; merged: number } };
}

describe('consolidation through the real bin', () => {
  test('dry run = real run; a re-run finds nothing; revert restores the exact state before', async () => {
    const { file, env } = await corpusEngine(500);
    const before = allRows(file);

    const dry = await consolidate(env, true);
    assert.deepEqual(allRows(file), before, 'a dry run writes nothing but its job record');
    assert.ok(dry.details.clusters.length >= 50, `clusters: ${dry.details.clusters.length}`);

    const real = await consolidate(env);
    assert.deepEqual(real.details.clusters, dry.details.clusters, 'the dry run previewed exactly what the real run did');
    for (const key of ['insights_scanned', 'insights_affected', 'candidates_created'] as const) assert.equal(real.status[key], dry.status[key], key);
    assert.equal(real.status.candidates_created, real.details.clusters.length);
    assert.equal(real.status.insights_affected, real.details.merged + real.details.clusters.length);

    const after = allRows(file);
    const byId = new Map(after.map((r) => [r.id as number, r]));
    for (const cluster of real.details.clusters) {
      const survivor = byId.get(cluster.survivor)!;
      assert.equal(survivor.status, 'active');
      assert.equal(survivor.text, cluster.text);
      const originals = cluster.members.map((m) => before.find((r) => r.id === m.id)!);
      assert.equal(survivor.reinforcement_count, originals.reduce((sum, r) => sum + (r.reinforcement_count as number), 0));
      assert.equal(survivor.created_at, Math.min(...originals.map((r) => r.created_at as number)));
      for (const member of cluster.members) {
        if (member.id === cluster.survivor) continue;
        assert.equal(byId.get(member.id)!.status, 'merged');
        assert.equal(byId.get(member.id)!.merged_into, cluster.survivor);
      }
    }

    const again = await consolidate(env);
    assert.equal(again.status.candidates_created, 0, 're-running right after finds nothing more to merge');

    const human = await runBin(['status', real.status.job_run_id, '--local', '--details'], { env });
    assert.match(human.stdout, /cluster 1: insight \d+ survives/);

    const revert = await runBin(['revert', real.status.job_run_id, '--json'], { env });
    assert.equal(revert.code, 0, revert.stderr);
    assert.equal(JSON.parse(revert.stdout).restored, real.status.insights_affected);
    assert.deepEqual(allRows(file), before, 'revert restores exactly the state before the run');

    const twice = await runBin(['revert', real.status.job_run_id], { env });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /already reverted/);
  });

  test('real text: 5,000 package summaries consolidate, and a run right after creates no cluster', async () => {
    const dir = tempDir('nex-compound-consolidation-real-');
    const file = path.join(dir, 'engine.db');
    const env = { NEX_COMPOUND_DB: file, NEX_COMPOUND_CONFIG_DIR: dir };
    const jsonl = path.join(dir, 'summaries.jsonl');
    writeFileSync(jsonl, readSummaries(5_000).map((text) => JSON.stringify({ text, source: 'pypi' })).join('\n'));
    const imported = await runBin(['insights', 'import', jsonl, '--json'], { env });
    assert.equal(imported.code, 0, imported.stderr);
    const first = await consolidate(env);
    assert.ok(first.status.candidates_created > 0, 'the summaries hold duplicates');
    const second = await consolidate(env);
    assert.equal(second.status.candidates_created, 0, JSON.stringify(second.details.clusters.slice(0, 3)));
  });

  test('revert refuses, naming the cause, once something later changed the same insights; bad ids and job types are clear errors', async () => {
    const { file, env } = await corpusEngine(200);
    const first = await consolidate(env);
    const survivor = first.details.clusters[0]!;
    // A reinforcement of a survivor changes it after the run.
    const add = await runBin(['insights', 'add', survivor.text], { env });
    assert.equal(add.code, 0, add.stderr);
    const rows = allRows(file);
    const refused = await runBin(['revert', first.status.job_run_id], { env });
    assert.equal(refused.code, 10, refused.stderr);
    assert.match(refused.stderr, new RegExp(`insight ${survivor.survivor} changed since \\(reinforcement_count\\)`));
    assert.deepEqual(allRows(file), rows, 'a refused revert restores nothing');

    const sweep = await runBin(['trigger', 'decay_sweep', '--local', '--wait', '--json'], { env });
    const sweepId = JSON.parse(sweep.stdout).job_run_id as string;
    const wrongType = await runBin(['revert', sweepId], { env });
    assert.equal(wrongType.code, 2);
    assert.match(wrongType.stderr, /only consolidation runs can be reverted/);
    const unknown = await runBin(['revert', '5f0c6a36-9a7e-4c43-9d1f-0d6c1d7ab001'], { env });
    assert.equal(unknown.code, 4);
    assert.ok(unknown.stderr.includes(`nex-compound jobs --local --db ${file}`), `the hint reaches this database: ${unknown.stderr}`);
    const malformed = await runBin(['revert', 'not-a-uuid'], { env });
    assert.equal(malformed.code, 2);
  });

  test('revert after a text the run merged away was added again: exit 10 naming the new insight, nothing restored (was a UNIQUE crash)', async () => {
    const { file, env } = await corpusEngine(200);
    const run = await consolidate(env);
    const clusters = run.details.clusters as Array<{ survivor: number; text_from: number; text: string; members: Array<{ id: number; text: string }> }>;
    // Best: a survivor that took another member's text, so its own text is free again.
    const cluster = clusters.find((c) => c.text_from !== c.survivor) ?? clusters[0]!;
    const member = cluster.members.find((m) => m.id === cluster.survivor && m.text !== cluster.text) ?? cluster.members.find((m) => m.text !== cluster.text)!;
    const add = await runBin(['insights', 'add', member.text, '--json'], { env });
    assert.equal(add.code, 0, add.stderr);
    const added = JSON.parse(add.stdout) as { id: number; reinforced: boolean };
    assert.equal(added.reinforced, false, 'a new active insight holds the text');
    const rows = allRows(file);
    const refused = await runBin(['revert', run.status.job_run_id], { env });
    assert.equal(refused.code, 10, refused.stderr);
    assert.match(refused.stderr, new RegExp(`text now belongs to insight ${added.id}, added since`));
    assert.deepEqual(allRows(file), rows, 'nothing was restored');
  });

  test('kill -9 mid-consolidation: no partial merge; the re-claimed run completes with attempts = 2', async () => {
    const { file, env } = await corpusEngine(800, { NEX_COMPOUND_LEASE_MS: '1000', NEX_COMPOUND_JOB_SLOWDOWN_MS: '400' });
    const before = allRows(file);
    const trigger = await runBin(['trigger', 'consolidation', '--local', '--json'], { env });
    const id = JSON.parse(trigger.stdout).job_run_id as string;
    const watcher = openDatabaseWith(Sqlite, file, { create: false });
    let workerPid: number | undefined;
    for (let i = 0; i < 800 && !workerPid; i++) {
      const job = getJob(watcher, id)!;
      const worker = watcher.prepare('SELECT pid FROM workers').get() as { pid: number } | undefined;
      if (job.status === 'running' && /^(finding candidates|comparing candidates|clustering)\b/.test(job.stage ?? '') && worker) workerPid = worker.pid;
      else await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(workerPid, 'the worker reached the middle of the consolidation');
    process.kill(workerPid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(allRows(file), before, 'a killed consolidation left no partial merge');
    watcher.close();

    const watch = await runBin(['watch', id, '--local', '--json', '--timeout', '60s'], { env: { ...env, NEX_COMPOUND_JOB_SLOWDOWN_MS: '0' } });
    assert.equal(watch.code, 0, watch.stderr);
    const final = JSON.parse(watch.stdout);
    assert.equal(final.attempts, 2);
    assert.ok(final.candidates_created > 0);
    const after = openDatabaseWith(Sqlite, file, { create: false });
    assert.equal(after.pragma('integrity_check', { simple: true }), 'ok');
    const merged = (after.prepare(`SELECT count(*) AS n FROM insights WHERE status = 'merged'`).get() as { n: number }).n;
    const logged = (after.prepare(`SELECT count(*) AS n FROM insight_changes WHERE job_run_id = ? AND role = 'merged'`).get(id) as { n: number }).n;
    assert.equal(merged, logged, 'every merge is in the change log, once');
    after.close();
  });
});
