/** metrics: one snapshot per run with counts, a confidence histogram and the stale ratio; read back newest last. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recentSnapshots } from '../../../../src/engine/jobs/metrics/job.js';
import { createJob } from '../../../../src/engine/queue/queue.js';
import { runNextJob } from '../../../../src/engine/queue/runner.js';
import { DAY, NOW, freshDb, seed } from '../../../helpers/engine-db.js';

test('a metrics run stores a snapshot whose counts add up, and recentSnapshots returns them oldest first', async () => {
  const { db } = freshDb();
  seed(db, 40);
  db.prepare(`UPDATE insights SET status = 'archived' WHERE id % 10 = 0`).run();
  for (const at of [NOW, NOW + DAY]) {
    createJob(db, { workspaceId: 1, jobType: 'metrics', dryRun: false, now: at });
    const job = await runNextJob({ db, workerId: 'metrics-test', leaseMs: 30_000, now: () => at });
    assert.equal(job?.job_type, 'metrics');
  }
  const snapshots = recentSnapshots(db, 1, 10);
  assert.equal(snapshots.length, 2);
  assert.ok(snapshots[0]!.taken_at < snapshots[1]!.taken_at, 'oldest first');
  const latest = snapshots[1]!;
  assert.deepEqual(latest.insights, { active: 36, merged: 0, archived: 4, total: 40 });
  assert.equal(latest.confidence_histogram.reduce((a, b) => a + b, 0), 36, 'the histogram covers the active insights');
  assert.ok(latest.stale_ratio >= 0 && latest.stale_ratio <= 1);
  assert.deepEqual(recentSnapshots(db, 2, 10), [], 'another workspace has none');
  db.close();
});
