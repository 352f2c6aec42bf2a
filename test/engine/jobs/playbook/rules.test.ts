/**
 * playbook_synthesis's rule choice, on real SQLite stores run through the real job runner:
 * Fisher's exact test against exact counting, the significance filter, one rule per pattern
 * (the minimal antecedent, tags preferred in the consequent), and no word with its own tag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fisherUpperTail, logFactorials } from '../../../../src/engine/jobs/playbook/fisher.js';
import { crossesOwnTag } from '../../../../src/engine/jobs/playbook/job.js';
import { listRules } from '../../../../src/engine/jobs/playbook/store.js';
import { addInsight } from '../../../../src/engine/store/insights.js';
import { createJob } from '../../../../src/engine/queue/queue.js';
import { runNextJob } from '../../../../src/engine/queue/runner.js';
import { NOW, freshDb } from '../../../helpers/engine-db.js';

function choose(m: number, k: number): bigint {
  if (k < 0 || k > m) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(m - k + i)) / BigInt(i);
  return r;
}

test("Fisher's one-sided p equals the hypergeometric tail counted exactly", () => {
  // The lady tasting tea: 4 of 4 cups right out of 8 is 1 / 70.
  assert.ok(Math.abs(fisherUpperTail(4, 4, 4, 8, logFactorials(8)) - 1 / 70) < 1e-12);
  const table = logFactorials(400);
  for (const [both, a, c, n] of [[3, 3, 8, 10], [10, 12, 40, 400], [30, 30, 31, 400], [5, 50, 60, 400], [0, 5, 5, 20]] as const) {
    let tail = 0n;
    for (let x = both; x <= Math.min(a, c); x++) tail += choose(c, x) * choose(n - c, a - x);
    const exact = Number((tail * 10n ** 18n) / choose(n, a)) / 1e18;
    const ours = fisherUpperTail(both, a, c, n, table);
    assert.ok(Math.abs(ours - exact) <= 1e-12 + 1e-9 * exact, `${both}/${a}/${c}/${n}: ${ours} vs ${exact}`);
  }
});

test('a word and the tag it names never stand on opposite sides; a part of a tag may', () => {
  assert.ok(crossesOwnTag(['enterpris'], ['#enterprise']));
  assert.ok(crossesOwnTag(['#enterprise', 'renew'], ['enterpris']));
  assert.ok(crossesOwnTag(['row-level secur'], ['#security']));
  assert.ok(!crossesOwnTag(['feedback'], ['#product-feedback']));
  assert.ok(!crossesOwnTag(['#enterprise'], ['#security']));
});

async function run(db: ReturnType<typeof freshDb>['db'], params: Record<string, unknown>) {
  for (const jobType of ['pattern_detection', 'playbook_synthesis'] as const) {
    createJob(db, { workspaceId: 1, jobType, dryRun: false, params: jobType === 'pattern_detection' ? params : {}, now: NOW });
    const job = await runNextJob({ db, workerId: 'rules-test', leaseMs: 30_000, now: () => NOW });
    assert.equal((db.prepare('SELECT status FROM jobs WHERE job_run_id = ?').get(job!.job_run_id) as { status: string }).status, 'completed');
  }
  return JSON.parse(db.prepare(`SELECT result FROM jobs WHERE job_type = 'playbook_synthesis' ORDER BY seq DESC LIMIT 1`).pluck().get() as string) as { splits_tested: number; rules: Array<{ antecedent: string[]; consequent: string[]; p_value: number; source_patterns: number[] }> };
}

test('a confident rule that chance explains is left out: 3 of 3 in 10 insights is not significant, 30 of 30 in 120 is', async () => {
  const small = freshDb().db;
  // #a is in 3 insights, #b in 8 of the 10: "#a ⇒ #b" has confidence 1 and lift 1.25, and p = C(8,3) / C(10,3) ≈ 0.47.
  for (let i = 0; i < 10; i++) addInsight(small, { workspaceId: 1, text: `note ${i}`, tags: [...(i < 3 ? ['a'] : []), ...(i < 8 ? ['b'] : [])], now: NOW });
  const none = await run(small, { items: 'tags', minSupport: { count: 3 }, maxItemShare: 1 });
  assert.deepEqual(none.rules, [], 'no rule');
  assert.ok(none.splits_tested > 0, 'a split was tested and failed the test');
  small.close();

  const large = freshDb().db;
  for (let i = 0; i < 120; i++) addInsight(large, { workspaceId: 1, text: `note ${i}`, tags: [...(i < 30 ? ['a'] : []), ...(i < 36 ? ['b'] : [])], now: NOW });
  const some = await run(large, { items: 'tags' });
  assert.equal(some.rules.length, 1);
  assert.deepEqual([some.rules[0]!.antecedent, some.rules[0]!.consequent], [['#a'], ['#b']]);
  assert.ok(some.rules[0]!.p_value <= 0.05 / some.splits_tested);
  large.close();
});

test('one rule per pattern: the smallest antecedent that determines the rest, with tags rather than words in the consequent', async () => {
  const { db } = freshDb();
  // 40 notes say "quarterly business review" and are tagged renewal + enterprise; 15 others enterprise only.
  const verbs = ['asked for', 'wants', 'scheduled', 'moved', 'skipped'];
  const objects = ['dashboards', 'exports', 'alerts', 'seats', 'invoices'];
  for (let i = 0; i < 40; i++) addInsight(db, { workspaceId: 1, text: `Account ${i} ${verbs[i % 5]} a quarterly business review`, tags: ['renewal', 'enterprise'], now: NOW });
  for (let i = 0; i < 15; i++) addInsight(db, { workspaceId: 1, text: `Account ${i} ${verbs[(i + 2) % 5]} ${objects[i % 5]}`, tags: ['enterprise'], now: NOW });
  for (let i = 0; i < 65; i++) addInsight(db, { workspaceId: 1, text: `Account ${i} ${verbs[(i + 1) % 5]} ${objects[(i * 3) % 5]} again`, tags: ['smb'], now: NOW });
  const result = await run(db, {});
  const rules = listRules(db, 1, { all: false });
  assert.ok(rules.length >= 1, JSON.stringify(result.rules));
  const sources = rules.flatMap((r) => r.source_patterns);
  assert.equal(new Set(sources).size, sources.length, 'no pattern gives two rules');
  const review = rules.find((r) => r.antecedent_labels.some((l) => l.includes('quarterly business review')));
  assert.ok(review, JSON.stringify(rules.map((r) => [r.antecedent_labels, r.consequent_labels])));
  assert.deepEqual(review.consequent, ['#enterprise', '#renewal'], 'the tags are the consequent, the phrase the antecedent');
  assert.equal(review.antecedent.length, 1, 'one item determines both tags');
  assert.equal(review.examples.length, 2);
  for (const r of rules) assert.ok(!crossesOwnTag(r.antecedent, r.consequent));
  db.close();
});
