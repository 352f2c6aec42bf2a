/** How a job's progress reports become what a watcher reads: the stage text and how often it is written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressGate, runNextJob, stageText } from '../../../src/engine/queue/runner.js';
import { createJob } from '../../../src/engine/queue/queue.js';
import { NOW, freshDb, seed } from '../../helpers/engine-db.js';

test('a counted stage reads "name done/total" with thousands grouped; an uncounted one is its name', () => {
  assert.equal(stageText('signing', { done: 12_000, total: 60_000 }), 'signing 12,000/60,000');
  assert.equal(stageText('comparing candidates', { done: 0, total: 9_698 }), 'comparing candidates 0/9,698');
  assert.equal(stageText('clustering', { done: 70, total: 60 }), 'clustering 60/60', 'never past the total');
  assert.equal(stageText('learning the vocabulary'), 'learning the vocabulary');
});

test('progress is written at once for a new stage, then at most every interval while the stage lasts, and always at 100 %', () => {
  const gate = new ProgressGate(250);
  assert.equal(gate.due(1_000, 'signing', 3), true, 'the first report');
  assert.equal(gate.due(1_100, 'signing', 10), false, 'the same stage, too soon');
  assert.equal(gate.due(1_249, 'signing', 20), false);
  assert.equal(gate.due(1_250, 'signing', 30), true, 'the interval passed');
  assert.equal(gate.due(1_260, 'clustering', 90), true, 'a new stage is written at once');
  assert.equal(gate.due(1_270, 'clustering', 100), true, 'the end is never held back');
});

test('progress written while a job is still reading its insights goes through a second connection: every job completes on a file store', async () => {
  const { db } = freshDb();
  seed(db, 3_000);
  for (const jobType of ['pattern_detection', 'consolidation', 'playbook_synthesis', 'decay_sweep', 'metrics'] as const) {
    const created = createJob(db, { workspaceId: 1, jobType, dryRun: false, now: NOW });
    // slowdownMs writes every report, so some land while a read of the job's connection is open.
    const job = await runNextJob({ db, workerId: 'runner-test', leaseMs: 60_000, now: () => NOW, slowdownMs: 1 });
    assert.equal(job?.job_run_id, created.job_run_id);
    const row = db.prepare('SELECT status, error_details FROM jobs WHERE job_run_id = ?').get(created.job_run_id) as { status: string; error_details: string | null };
    assert.equal(row.status, 'completed', `${jobType}: ${row.error_details}`);
  }
  db.close();
});
