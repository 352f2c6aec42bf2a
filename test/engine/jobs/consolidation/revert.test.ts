/**
 * Reverting a consolidation that decay sweeps followed, on real SQLite files through the real
 * runner: the store ends exactly (bit for bit) as a twin store that never ran the consolidation
 * and ran the same sweeps; conflicts that remain (a later consolidation, a reinforcement, a
 * sweep whose moment is unknown) still refuse and restore nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type Sqlite from 'better-sqlite3';
import { RefusedError } from '../../../../src/contract/errors.js';
import { jobParams, type DecayParams } from '../../../../src/contract/job-params.js';
import { revertConsolidation } from '../../../../src/engine/jobs/consolidation/revert.js';
import { decayedConfidence } from '../../../../src/engine/jobs/decay/job.js';
import { claimNextJob, createJob, failJob } from '../../../../src/engine/queue/queue.js';
import { runNextJob } from '../../../../src/engine/queue/runner.js';
import { checkStore } from '../../../../src/engine/store/doctor.js';
import { addInsight } from '../../../../src/engine/store/insights.js';
import { normalizeText } from '../../../../src/engine/text/normalize.js';
import { DAY, NOW, freshDb } from '../../../helpers/engine-db.js';

const DEFAULTS = jobParams('decay_sweep', {});
const { graceMs: GRACE, halfLifeMs: HALF_LIFE } = DEFAULTS;

/** Three clusters of near-duplicates (the consolidation merges 2 and 3 into 1, 5 into 4, 7 into 6) and two loners. */
const TEXTS = [
  'Acme renewal owner is the new VP of Data.',
  'The Acme renewal-owner is the new VP of Data.',
  'The Acme renewal owner is the new VP of Data',
  'Globex opened a ticket about permission errors on shared dashboards.',
  'Globex opened a ticket about permission errors on the shared dashboards.',
  'Initech asked for SSO via Okta before the pilot ends.',
  'Initech really asked for SSO via Okta before the pilot ends.',
  'Umbrella churned because of pricing.',
  'Hooli wants a quarterly business review in March.',
];
const CLUSTERS = new Map([
  [1, [2, 3]],
  [4, [5]],
  [6, [7]],
]);

interface Seed {
  base: number;
  /** How long before NOW it was last reinforced. */
  age: number;
  source: string | null;
  tags: string[];
  count?: number;
}

type Row = Record<string, unknown> & { id: number; text: string; confidence: number; base_confidence: number; status: string; merged_into: number | null; last_reinforced_at: number };

function store(seeds: Seed[]): Sqlite.Database {
  const { db } = freshDb();
  const insert = db.prepare(
    `INSERT INTO insights (text, normalized_text, source, tags, confidence, base_confidence, reinforcement_count, created_at, last_reinforced_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  seeds.forEach((s, i) => {
    const text = TEXTS[i]!;
    // Created in text order (the oldest is a cluster's survivor), last reinforced `age` ago.
    insert.run(text, normalizeText(text), s.source, JSON.stringify(s.tags), s.base, s.base, s.count ?? 1, NOW - 900 * DAY + i, NOW - s.age);
  });
  return db;
}

const rows = (db: Sqlite.Database) => db.prepare('SELECT * FROM insights ORDER BY id').all() as Row[];

async function runJob(db: Sqlite.Database, jobType: 'consolidation' | 'decay_sweep', at: number, options: { params?: DecayParams; dryRun?: boolean; workspaceId?: number } = {}): Promise<string> {
  const job = createJob(db, { workspaceId: options.workspaceId ?? 1, jobType, dryRun: options.dryRun ?? false, ...(options.params ? { params: { ...options.params } } : {}), now: at });
  const ran = await runNextJob({ db, workerId: 'revert-test', leaseMs: 30_000, now: () => at });
  assert.equal(ran?.job_run_id, job.job_run_id);
  const done = db.prepare('SELECT status, error_details FROM jobs WHERE job_run_id = ?').get(job.job_run_id) as { status: string; error_details: string | null };
  assert.equal(done.status, 'completed', done.error_details ?? '');
  return job.job_run_id;
}

/** Consolidates at NOW and checks it merged exactly CLUSTERS. */
async function consolidate(db: Sqlite.Database, at = NOW): Promise<string> {
  const id = await runJob(db, 'consolidation', at);
  const merged = rows(db).filter((r) => r.status === 'merged').map((r) => [r.id, r.merged_into]);
  assert.deepEqual(merged, [...CLUSTERS].flatMap(([survivor, members]) => members.map((m) => [m, survivor])), 'the fixture merges the three clusters');
  return id;
}

const refusal = (fn: () => unknown): RefusedError => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RefusedError, `expected a RefusedError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the revert to be refused');
};

const SEEDS: Seed[] = [
  // Cluster 1: different sources, so the survivor's merged base (noisy-OR) is above each member's.
  { base: 0.8, age: GRACE + HALF_LIFE, source: 'gong-call', tags: ['renewal'] },
  { base: 0.6, age: GRACE + 2 * HALF_LIFE, source: 'hubspot', tags: ['renewal', 'enterprise'] },
  { base: 0.5, age: GRACE + 2 * HALF_LIFE, source: 'gong-call', tags: [] },
  // Cluster 4, one source.
  { base: 0.7, age: GRACE + HALF_LIFE, source: 'zendesk', tags: ['support'], count: 2 },
  { base: 0.9, age: GRACE + 3 * HALF_LIFE, source: 'zendesk', tags: ['support'] },
  // Cluster 6.
  { base: 0.4, age: 1 * DAY, source: null, tags: [] },
  { base: 0.45, age: 2 * DAY, source: 'slack', tags: ['security'] },
  { base: 0.6, age: GRACE + HALF_LIFE, source: 'hubspot', tags: [] },
  { base: 0.3, age: 0, source: 'hubspot', tags: [] },
];

describe('revert after decay sweeps', () => {
  test('after a sweep that lowered the survivors\' confidence: every insight is exactly as in a store that never consolidated and ran the same sweep', async () => {
    const reverted = store(SEEDS);
    const twin = store(SEEDS);
    const before = rows(reverted);
    const consolidation = await consolidate(reverted);
    const consolidated = rows(reverted);
    const sweep = await runJob(reverted, 'decay_sweep', NOW);
    // Another workspace's sweep, later: it must not be applied to workspace 1's insights.
    await runJob(reverted, 'decay_sweep', NOW + 40 * DAY, { workspaceId: 2 });
    const swept = rows(reverted);
    for (const survivor of [1, 4]) {
      assert.ok(swept[survivor - 1]!.confidence < consolidated[survivor - 1]!.confidence, `the sweep lowered survivor ${survivor}'s confidence`);
    }

    const result = revertConsolidation(reverted, 1, consolidation, NOW + DAY);
    assert.deepEqual({ ...result, reverted_at: '' }, { job_run_id: consolidation, restored: 7, restored_archived: 0, reapplied_sweeps: [sweep], reverted_at: '' });

    await runJob(twin, 'decay_sweep', NOW);
    assert.deepEqual(rows(reverted), rows(twin), 'bit for bit the store that never consolidated');

    // The exact confidences: ages of one, two and three half-lives past the grace period halve
    // the distance to the floor once, twice and three times (exact in binary floating point).
    const after = rows(reverted);
    const halved = (base: number, times: number) => DEFAULTS.floor + (base - DEFAULTS.floor) / 2 ** times;
    assert.deepEqual(
      after.map((r) => [r.id, r.status, r.merged_into, r.confidence]),
      [
        [1, 'active', null, halved(0.8, 1)],
        [2, 'active', null, halved(0.6, 2)],
        [3, 'active', null, halved(0.5, 2)],
        [4, 'active', null, halved(0.7, 1)],
        [5, 'active', null, halved(0.9, 3)],
        [6, 'active', null, 0.4],
        [7, 'active', null, 0.45],
        [8, 'active', null, halved(0.6, 1)],
        [9, 'active', null, 0.3],
      ],
    );
    // Everything but the sweep's confidence is as before the consolidation.
    assert.deepEqual(
      after.map((r) => ({ ...r, confidence: 0 })),
      before.map((r) => ({ ...r, confidence: 0 })),
    );
    assert.deepEqual(checkStore(reverted).problems, []);
    assert.throws(() => revertConsolidation(reverted, 1, consolidation, NOW + 2 * DAY), /already reverted/);
    reverted.close();
    twin.close();
  });

  test('after a sweep that archived a survivor: it comes back archived with its own text, so do its stale members, and a new insight may hold a text given back to an archived one', async () => {
    // Cluster 1 is stale: its survivor, merged and swept 200 days on, falls below archive-below.
    const stale: Seed[] = SEEDS.map((s, i) => (i < 3 ? { ...s, age: 200 * DAY + i * DAY } : s));
    const reverted = store(stale);
    const twin = store(stale);
    const consolidation = await consolidate(reverted);
    const mergedText = rows(reverted)[0]!.text;
    assert.equal(mergedText, TEXTS[1], 'survivor 1 took member 2\'s text');
    const sweep = await runJob(reverted, 'decay_sweep', NOW + DAY);
    assert.equal(rows(reverted)[0]!.status, 'archived', 'the sweep archived survivor 1');
    // With survivor 1 archived, member 2's text is free: adding it creates a new active insight.
    const added = addInsight(reverted, { workspaceId: 1, text: TEXTS[1]!, now: NOW + 2 * DAY });
    assert.equal(added.reinforced, false);

    const result = revertConsolidation(reverted, 1, consolidation, NOW + 3 * DAY);
    assert.deepEqual([result.restored, result.restored_archived, result.reapplied_sweeps], [7, 3, [sweep]]);

    await runJob(twin, 'decay_sweep', NOW + DAY);
    assert.equal(addInsight(twin, { workspaceId: 1, text: TEXTS[1]!, now: NOW + 2 * DAY }).insight.id, added.insight.id);
    assert.deepEqual(rows(reverted), rows(twin), 'bit for bit the store that never consolidated');
    const [one, two, three] = rows(reverted);
    assert.deepEqual([one!.text, one!.status, two!.status, three!.status], [TEXTS[0], 'archived', 'archived', 'archived']);
    for (const row of [one!, two!, three!]) {
      assert.ok(Math.abs(row.confidence - decayedConfidence(row.base_confidence, row.last_reinforced_at, NOW + DAY, DEFAULTS)) < 1e-12, 'the sweep\'s formula');
    }
    assert.equal(rows(reverted).find((r) => r.id === added.insight.id)!.status, 'active', 'the new insight keeps its text');
    assert.deepEqual(checkStore(reverted).problems, []);
    reverted.close();
    twin.close();
  });

  test('every sweep since is applied again, in order and with its own parameters; dry runs and failed sweeps are not', async () => {
    const reverted = store(SEEDS);
    const twin = store(SEEDS);
    const consolidation = await consolidate(reverted);
    const harsh: DecayParams = { halfLifeMs: 20 * DAY, graceMs: 0, floor: 0.2, archiveBelow: 0.25 };
    const mild: DecayParams = { halfLifeMs: 400 * DAY, graceMs: 30 * DAY, floor: 0, archiveBelow: 0 };
    const sweeps = [
      await runJob(reverted, 'decay_sweep', NOW + 10 * DAY, { params: mild }),
      await runJob(reverted, 'decay_sweep', NOW + 20 * DAY, { params: harsh, dryRun: true }),
      await runJob(reverted, 'decay_sweep', NOW + 30 * DAY, { params: harsh }),
      await runJob(reverted, 'decay_sweep', NOW + 60 * DAY, { params: mild }),
    ];
    // A sweep that failed: its changes rolled back with it, and it recorded no result.
    const failed = createJob(reverted, { workspaceId: 1, jobType: 'decay_sweep', dryRun: false, params: { ...harsh }, now: NOW + 60 * DAY });
    assert.equal(claimNextJob(reverted, 'revert-test', NOW + 60 * DAY, 30_000)?.job_run_id, failed.job_run_id);
    failJob(reverted, failed, 'revert-test', NOW + 60 * DAY, { message: 'disk full' });
    const result = revertConsolidation(reverted, 1, consolidation, NOW + 61 * DAY);
    assert.deepEqual(result.reapplied_sweeps, [sweeps[0], sweeps[2], sweeps[3]]);
    for (const [at, params] of [[NOW + 10 * DAY, mild], [NOW + 30 * DAY, harsh], [NOW + 60 * DAY, mild]] as const) await runJob(twin, 'decay_sweep', at, { params });
    const expected = rows(twin);
    assert.ok(expected.some((r) => r.status === 'archived') && expected.some((r) => r.status === 'active'), 'the harsh sweep archived some, not all');
    assert.deepEqual(rows(reverted), expected);
    reverted.close();
    twin.close();
  });
});

/** A near-duplicate of survivor 1's merged text that a second consolidation merges into it. */
const NEAR_SURVIVOR = 'The Acme renewal owner is now the new VP of Data.';

describe('revert still refuses what sweeps do not explain', () => {
  test('a later consolidation touched the same insight: RefusedError naming it; reverting it first, then this one, gives the store that never consolidated', async () => {
    const reverted = store(SEEDS);
    const twin = store(SEEDS);
    const first = await consolidate(reverted);
    await runJob(reverted, 'decay_sweep', NOW + DAY);
    const added = addInsight(reverted, { workspaceId: 1, text: NEAR_SURVIVOR, now: NOW + 2 * DAY });
    assert.equal(added.reinforced, false);
    const second = await runJob(reverted, 'consolidation', NOW + 3 * DAY);
    const merged = reverted.prepare('SELECT merged_into FROM insights WHERE id = ?').pluck().get(added.insight.id);
    assert.equal(merged, 1, 'the second consolidation merged the new insight into survivor 1');
    const sweep = await runJob(reverted, 'decay_sweep', NOW + 4 * DAY);
    const state = rows(reverted);

    const refused = refusal(() => revertConsolidation(reverted, 1, first, NOW + 5 * DAY));
    assert.match(refused.message, new RegExp(`cannot revert ${first}: the later consolidation run ${second} \\(completed [^)]+\\) changed insight 1 too`));
    assert.equal(refused.revertFirst, second);
    assert.deepEqual(rows(reverted), state, 'a refused revert restores nothing');

    assert.deepEqual(revertConsolidation(reverted, 1, second, NOW + 5 * DAY).reapplied_sweeps, [sweep]);
    assert.equal(revertConsolidation(reverted, 1, first, NOW + 6 * DAY).restored, 7);

    await runJob(twin, 'decay_sweep', NOW + DAY);
    addInsight(twin, { workspaceId: 1, text: NEAR_SURVIVOR, now: NOW + 2 * DAY });
    await runJob(twin, 'decay_sweep', NOW + 4 * DAY);
    assert.deepEqual(rows(reverted), rows(twin));
    assert.deepEqual(checkStore(reverted).problems, []);
    reverted.close();
    twin.close();
  });

  test('a reinforcement after the sweep, or before it: refused, naming the reinforcement count', async () => {
    for (const reinforceFirst of [false, true]) {
      const db = store(SEEDS);
      const consolidation = await consolidate(db);
      const survivorText = rows(db)[3]!.text;
      if (reinforceFirst) addInsight(db, { workspaceId: 1, text: survivorText, confidence: 0.1, now: NOW + DAY });
      await runJob(db, 'decay_sweep', NOW + 2 * DAY);
      if (!reinforceFirst) addInsight(db, { workspaceId: 1, text: survivorText, confidence: 0.1, now: NOW + 3 * DAY });
      const state = rows(db);
      const refused = refusal(() => revertConsolidation(db, 1, consolidation, NOW + 4 * DAY));
      assert.match(refused.message, /insight 4 changed since \(reinforcement_count\), by a reinforcement/);
      assert.equal(refused.revertFirst, undefined);
      assert.deepEqual(rows(db), state, 'a refused revert restores nothing');
      db.close();
    }
  });

  test('a confidence no sweep explains is refused too', async () => {
    const db = store(SEEDS);
    const consolidation = await consolidate(db);
    await runJob(db, 'decay_sweep', NOW);
    db.prepare('UPDATE insights SET confidence = confidence - 1e-9 WHERE id = 4').run();
    assert.match(refusal(() => revertConsolidation(db, 1, consolidation, NOW + DAY)).message, /insight 4 changed since \(confidence\)/);
    db.close();
  });

  test('a sweep that did not record its moment (an older nex-compound) is refused, naming it', async () => {
    const db = store(SEEDS);
    const consolidation = await consolidate(db);
    const sweep = await runJob(db, 'decay_sweep', NOW);
    db.prepare(`UPDATE jobs SET result = json_remove(result, '$.swept_at') WHERE job_run_id = ?`).run(sweep);
    const state = rows(db);
    const refused = refusal(() => revertConsolidation(db, 1, consolidation, NOW + DAY));
    assert.match(refused.message, new RegExp(`the later decay_sweep run ${sweep} \\(completed [^)]+\\) was run by an older nex-compound`));
    assert.deepEqual(rows(db), state);
    db.close();
  });

  test('a merged-away text now held by a new active insight: refused when the merged insight would come back active', async () => {
    const db = store(SEEDS);
    const consolidation = await consolidate(db);
    await runJob(db, 'decay_sweep', NOW);
    // Survivor 1 took member 2's text; member 3's own text is free while 3 is merged.
    const added = addInsight(db, { workspaceId: 1, text: TEXTS[2]!, now: NOW + DAY });
    assert.equal(added.reinforced, false);
    const refused = refusal(() => revertConsolidation(db, 1, consolidation, NOW + 2 * DAY));
    assert.match(refused.message, new RegExp(`insight 3's text now belongs to insight ${added.insight.id}, added since`));
    db.close();
  });
});

test('property: consolidate, sweep any number of times with any parameters, revert = never consolidate', async () => {
  const seedArb: fc.Arbitrary<Seed> = fc.record({
    base: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.05, 0.1, 0.5, 1)),
    age: fc.oneof(fc.integer({ min: 0, max: 500 * DAY }), fc.constantFrom(0, GRACE, GRACE + 1, GRACE + HALF_LIFE)),
    source: fc.constantFrom(null, 'gong-call', 'hubspot'),
    tags: fc.subarray(['renewal', 'support', 'pricing']),
    count: fc.integer({ min: 1, max: 5 }),
  });
  // Thresholds spread evenly (fc.double favours values near 0, where nothing is ever archived).
  const fraction = (max: number) => fc.integer({ min: 0, max: 1000 }).map((n) => (n / 1000) * max);
  const paramsArb: fc.Arbitrary<DecayParams> = fc.record({
    halfLifeMs: fc.integer({ min: DAY, max: 200 * DAY }),
    graceMs: fc.integer({ min: 0, max: 30 * DAY }),
    floor: fc.oneof(fraction(0.4), fc.double({ min: 0, max: 0.4, noNaN: true })),
    archiveBelow: fc.oneof(fraction(0.5), fc.double({ min: 0, max: 0.5, noNaN: true })),
  });
  const sweepArb = fc.record({ after: fc.integer({ min: 0, max: 120 * DAY }), params: paramsArb, dryRun: fc.boolean() });
  let archivedSurvivors = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(seedArb, { minLength: TEXTS.length, maxLength: TEXTS.length }), fc.array(sweepArb, { minLength: 1, maxLength: 4 }), async (seeds, sweeps) => {
      const reverted = store(seeds);
      const twin = store(seeds);
      try {
        const consolidation = await consolidate(reverted);
        let at = NOW;
        for (const s of sweeps) {
          at += s.after;
          await runJob(reverted, 'decay_sweep', at, { params: s.params, dryRun: s.dryRun });
          if (!s.dryRun) await runJob(twin, 'decay_sweep', at, { params: s.params });
        }
        if (rows(reverted)[0]!.status === 'archived') archivedSurvivors++;
        revertConsolidation(reverted, 1, consolidation, at + 1);
        assert.deepEqual(rows(reverted), rows(twin));
        assert.deepEqual(checkStore(reverted).problems, []);
      } finally {
        reverted.close();
        twin.close();
      }
    }),
    { numRuns: 50 },
  );
  assert.ok(archivedSurvivors > 0, 'the generator reaches survivors a sweep archived');
});
