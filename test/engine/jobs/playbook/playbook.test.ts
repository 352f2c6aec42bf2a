/** playbook_synthesis over stored patterns, read back through the playbook store: figures that match the counts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listRules } from '../../../../src/engine/jobs/playbook/store.js';
import { addInsight } from '../../../../src/engine/store/insights.js';
import { createJob } from '../../../../src/engine/queue/queue.js';
import { runNextJob } from '../../../../src/engine/queue/runner.js';
import { NOW, freshDb } from '../../../helpers/engine-db.js';

test('rules come out largest leverage first, each with support, confidence and lift that the insights bear out', async () => {
  const { db } = freshDb();
  const texts = [
    ...Array.from({ length: 12 }, (_, i) => ({ text: `renewal call ${i} went well`, tags: ['renewal', 'billing'] })),
    ...Array.from({ length: 4 }, (_, i) => ({ text: `renewal question ${i}`, tags: ['renewal'] })),
    ...Array.from({ length: 20 }, (_, i) => ({ text: `onboarding session ${i}`, tags: ['onboarding'] })),
  ];
  for (const t of texts) addInsight(db, { workspaceId: 1, text: t.text, tags: t.tags, now: NOW });
  for (const jobType of ['pattern_detection', 'playbook_synthesis'] as const) {
    createJob(db, { workspaceId: 1, jobType, dryRun: false, params: { items: 'tags' }, now: NOW });
    const job = await runNextJob({ db, workerId: 'playbook-test', leaseMs: 30_000, now: () => NOW });
    assert.equal(job?.job_type, jobType);
    assert.equal((db.prepare('SELECT status FROM jobs WHERE job_run_id = ?').get(job!.job_run_id) as { status: string }).status, 'completed');
  }
  const rules = listRules(db, 1, { all: false });
  assert.ok(rules.length > 0, 'billing ⇒ renewal holds in every billing insight');
  for (let i = 1; i < rules.length; i++) assert.ok(rules[i - 1]!.beyond_chance >= rules[i]!.beyond_chance, 'largest leverage first');
  const billing = rules.find((r) => r.antecedent_labels.join() === '#billing' && r.consequent_labels.join() === '#renewal');
  assert.ok(billing, JSON.stringify(rules.map((r) => [r.antecedent_labels, r.consequent_labels])));
  assert.equal(billing.support, 12);
  assert.equal(billing.confidence, 1);
  assert.ok(Math.abs(billing.lift - 36 / 16) < 1e-9, `lift = 1 / (16/36), got ${billing.lift}`);
  assert.ok(Math.abs(billing.beyond_chance - (12 - (12 * 16) / 36)) < 0.05, `leverage as a count: 12 − 12·16/36, got ${billing.beyond_chance}`);
  assert.deepEqual(listRules(db, 2, { all: true }), [], 'another workspace has none');
  db.close();
});
