/**
 * Consolidation's pure parts: the similarity measure and its contradiction guard, the
 * clustering rules (no transitive chains, determinism), and merge quality on the labelled
 * benchmark corpus — the same generator `npm run bench` scores at a larger size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compare } from '../../../../src/engine/jobs/consolidation/similarity.js';
import { textFeatures } from '../../../../src/engine/text/features.js';
import { DEFAULT_THRESHOLD, planConsolidation, type PlanInsight } from '../../../../src/engine/jobs/consolidation/plan.js';
import { combinedConfidence } from '../../../../src/engine/jobs/consolidation/job.js';
import { normalizeText } from '../../../../src/engine/text/normalize.js';
import { generateLabelledCorpus, scoreClusters } from '../../../../bench/lib/labelled-insights.js';

const verdict = (a: string, b: string) => compare(textFeatures(a), textFeatures(b), DEFAULT_THRESHOLD);
const insight = (id: number, text: string, created = id): PlanInsight => ({ id, text, normalized_text: normalizeText(text), created_at: created });

test('duplicates: case and punctuation, reordered clauses, a filler word added, a stop word dropped, an abbreviation, a contraction', () => {
  const base = 'Acme Corp will renew in Q3 if SSO ships before the summit.';
  for (const variant of [
    'acme corp will renew in q3 if sso ships before the summit',
    'If SSO ships before the summit, Acme Corp will renew in Q3.',
    'Acme Corp will definitely renew in Q3 if SSO ships before the summit.',
    'Acme Corp will renew in Q3 if SSO ships before summit.',
    'Acme Corp will renew in Q3 if single sign-on ships before the summit.',
  ]) {
    assert.equal(verdict(base, variant).kind, 'duplicate', variant);
  }
  assert.equal(verdict('Soylent has not logged in for 45 days', "Soylent hasn't logged in for 45 days").kind, 'duplicate');
  assert.equal(verdict('The account manager asked for documentation', 'The acct manager asked for docs').kind, 'duplicate');
});

test('the contradiction guard: a number, a date, a negation or a name differs → a conflict, never a duplicate', () => {
  const base = 'Tyrell Bio plans to add 200 seats in March.';
  assert.deepEqual(pick(verdict(base, 'Tyrell Bio plans to add 250 seats in March.')), { kind: 'conflict', reason: 'number' });
  assert.deepEqual(pick(verdict(base, 'Tyrell Bio plans to add 200 seats in April.')), { kind: 'conflict', reason: 'date' });
  assert.deepEqual(pick(verdict(base, 'Tyrell Bio does not plan to add 200 seats in March.')), { kind: 'conflict', reason: 'negation' });
  assert.deepEqual(pick(verdict('Umbrella Health is evaluating Tableau.', 'Umbrella Health is evaluating Looker.')), { kind: 'conflict', reason: 'entity' });
  // Another subject is another statement, not a contradiction: two companies may both add seats.
  assert.equal(verdict(base, 'Cyberdyne plans to add 200 seats in March.').kind, 'different');
  // A number or a date on one side only makes that side more specific: a different fact, not a conflict.
  assert.equal(verdict('Tyrell Bio plans to add seats in March.', base).kind, 'different');
  // Another key word is another statement: not merged, and not worth reporting.
  assert.equal(verdict('Hooli wants faster exports for the finance team', 'Hooli wants faster dashboards for the finance team').kind, 'different');
  // "SSO" and "SSL" are one letter apart, but names are never typos of each other.
  assert.notEqual(verdict('Globex requires SSO for contractors', 'Globex requires SSL for contractors').kind, 'duplicate');
});

function pick(v: ReturnType<typeof verdict>) {
  return { kind: v.kind, ...('reason' in v ? { reason: v.reason } : {}) };
}

test('no transitive chains: each member meets the threshold against the canonical (oldest) insight', () => {
  // At a strict threshold: B is A with one filler word added, C is B with another; A~B and
  // B~C, but C is two filler words from A.
  const threshold = 0.98;
  const strict = (x: string, y: string) => compare(textFeatures(x), textFeatures(y), threshold).kind;
  const a = insight(1, 'Initech wants audit logs');
  const b = insight(2, 'Initech really wants audit logs');
  const c = insight(3, 'Initech really wants audit logs, definitely');
  assert.equal(strict(a.text, b.text), 'duplicate');
  assert.equal(strict(b.text, c.text), 'duplicate');
  assert.equal(strict(a.text, c.text), 'different');
  const plan = planConsolidation([c, b, a], { threshold });
  assert.equal(plan.clusters.length, 1);
  assert.deepEqual(plan.clusters[0]!.members.map((m) => m.id), [1, 2]);
  assert.equal(plan.clusters[0]!.survivor, 1, 'the oldest insight survives');
  // The survivor takes the most informative member's text unless that would pull C in on a re-run.
  const rerun = planConsolidation([{ ...a, text: plan.clusters[0]!.text, normalized_text: normalizeText(plan.clusters[0]!.text) }, c], {
    threshold,
    history: (id) => (id === 1 ? [b.text] : []),
  });
  assert.equal(rerun.clusters.length, 0, 're-running finds nothing more to merge');
});

test('a member that contradicts another member stays out, even if it matches the canonical insight', () => {
  const plan = planConsolidation(
    [
      insight(1, 'Wayne Retail expanded to new regions'),
      insight(2, 'Wayne Retail expanded to 3 new regions'),
      insight(3, 'Wayne Retail expanded to 4 new regions'),
    ],
    { threshold: 0.6 },
  );
  for (const cluster of plan.clusters) {
    const ids = cluster.members.map((m) => m.id);
    assert.ok(!(ids.includes(2) && ids.includes(3)), `2 and 3 differ in a number: ${JSON.stringify(ids)}`);
  }
  assert.ok(plan.conflicts.some((c) => c.a === 2 && c.b === 3 && c.reason === 'number'));
});

test('deterministic: the same insights in any order give the same plan', () => {
  const corpus = generateLabelledCorpus({ facts: 400, seed: 3 });
  const input = corpus.insights.map((i) => insight(i.id, i.text, i.created_at));
  const reference = planConsolidation(input, { threshold: DEFAULT_THRESHOLD });
  assert.ok(reference.clusters.length > 20);
  fc.assert(
    fc.property(fc.array(fc.nat(), { minLength: input.length, maxLength: input.length }), (keys) => {
      const shuffled = input.map((x, i) => ({ x, k: keys[i]! })).sort((p, q) => p.k - q.k).map((p) => p.x);
      assert.deepEqual(planConsolidation(shuffled, { threshold: DEFAULT_THRESHOLD }), reference);
    }),
    { numRuns: 5 },
  );
});

test('quality on the labelled corpus: precision ≥ 0.99, recall ≥ 0.95, no hard negative merged', () => {
  const corpus = generateLabelledCorpus({ facts: 2_000, seed: 11 });
  const plan = planConsolidation(
    corpus.insights.map((i) => insight(i.id, i.text, i.created_at)),
    { threshold: DEFAULT_THRESHOLD, maxConflicts: Infinity },
  );
  const report = scoreClusters(corpus, plan.clusters.map((c) => c.members.map((m) => m.id)), plan.conflicts);
  assert.ok(report.precision >= 0.99, JSON.stringify(report));
  assert.ok(report.recall >= 0.95, JSON.stringify(report));
  assert.ok(report.hard_negatives > 150);
  assert.equal(report.hard_negative_false_merges, 0, JSON.stringify(report.false_merges_by_kind));
});

test('merged confidence: noisy-OR across sources, the highest within a source, capped at 0.99', () => {
  assert.equal(combinedConfidence([{ source: 'gong', value: 0.6 }, { source: 'gong', value: 0.7 }]), 0.7);
  assert.ok(Math.abs(combinedConfidence([{ source: 'gong', value: 0.6 }, { source: 'zendesk', value: 0.5 }]) - 0.8) < 1e-12);
  assert.equal(combinedConfidence([{ source: 'a', value: 0.95 }, { source: 'b', value: 0.9 }, { source: null, value: 0.9 }]), 0.99);
});

test('progress: the stages in order, counted ones every 1,024 items with done ≤ total, the fraction never going back', () => {
  const corpus = generateLabelledCorpus({ facts: 1_500, seed: 11 });
  const reports: Array<{ fraction: number; stage: string; count?: { done: number; total: number } }> = [];
  planConsolidation(corpus.insights.map((i) => insight(i.id, i.text, i.created_at)), { threshold: DEFAULT_THRESHOLD, progress: (fraction, stage, count) => reports.push({ fraction, stage, ...(count ? { count } : {}) }) });
  const stages = reports.map((r) => r.stage).filter((stage, i, all) => i === 0 || all[i - 1] !== stage);
  assert.deepEqual(stages, ['signing', 'learning the vocabulary', 'finding candidates', 'comparing candidates', 'clustering']);
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.fraction >= reports[i - 1]!.fraction, `${reports[i - 1]!.stage} ${reports[i - 1]!.fraction} → ${reports[i]!.stage} ${reports[i]!.fraction}`);
  assert.equal(reports.at(-1)!.fraction, 1);
  const signing = reports.filter((r) => r.stage === 'signing').map((r) => r.count!);
  assert.deepEqual(signing.map((c) => c.done), [0, 1024, 2048].slice(0, Math.ceil(corpus.insights.length / 1024)));
  for (const { count } of reports) if (count) assert.ok(count.done <= count.total && count.total > 0);
  assert.ok(reports.length < 40, `cheap: ${reports.length} reports`);
});
