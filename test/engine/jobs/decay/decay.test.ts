/**
 * decay_sweep: the formula, its defaults from the contract, a sweep that archives most of a store,
 * and the record of each sweep that lets revert apply it again bit for bit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type Sqlite from 'better-sqlite3';
import { ACTIVE_TEXT_INDEX } from '../../../../src/engine/store/db.js';
import { decayedConfidence, recordedSweep, runDecaySweep, shouldArchive, sweepReplay } from '../../../../src/engine/jobs/decay/job.js';
import { createJob, getJobResult } from '../../../../src/engine/queue/queue.js';
import { runNextJob } from '../../../../src/engine/queue/runner.js';
import type { InsightRow } from '../../../../src/engine/store/insights.js';
import { jobParams } from '../../../../src/contract/job-params.js';
import { DAY, NOW, freshDb, seed, snapshotInsights } from '../../../helpers/engine-db.js';

const DEFAULT_DECAY = jobParams('decay_sweep', {});

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

describe('what a sweep records, and applying it again', () => {
  for (const [label, halfLifeDays, few] of [['archiving a few (two statements)', 400, true], ['archiving most (the index rebuilt)', 45, false]] as const) {
    const params = { halfLifeMs: halfLifeDays * DAY, graceMs: 3 * DAY, floor: 0.07, archiveBelow: 0.2 };
    test(`${label}: the result records the moment and the parameters, and sweepReplay gives every row exactly what the sweep wrote`, async () => {
      const { db } = freshDb();
      seed(db, 2000);
      db.exec(`UPDATE insights SET status = 'archived' WHERE id % 17 = 0; UPDATE insights SET status = 'merged', merged_into = id + 1 WHERE id % 23 = 0`);
      const before = db.prepare('SELECT * FROM insights ORDER BY id').all() as InsightRow[];
      const at = NOW + 20 * DAY + 12_345;
      const job = createJob(db, { workspaceId: 1, jobType: 'decay_sweep', dryRun: false, params, now: at });
      assert.equal((await runNextJob({ db, workerId: 'decay-test', leaseMs: 30_000, now: () => at }))?.job_run_id, job.job_run_id);
      const result = getJobResult(db, job.job_run_id) as { archived: number; swept_at: string };
      assert.equal(result.swept_at, new Date(at).toISOString());
      const recorded = recordedSweep(result);
      assert.deepEqual(recorded, { at, params });
      const after = db.prepare('SELECT * FROM insights ORDER BY id').all() as InsightRow[];
      const replay = sweepReplay(db);
      assert.deepEqual(before.map((row) => replay(row, [recorded!])), after, 'bit for bit');
      const archivedNow = after.filter((r, i) => r.status === 'archived' && before[i]!.status === 'active').length;
      assert.equal(archivedNow, result.archived);
      assert.ok(few ? archivedNow > 0 && archivedNow * 3 < before.length : archivedNow * 2 > before.length, `${archivedNow} archived`);
      assert.ok(after.some((r, i) => r.confidence !== before[i]!.confidence), 'the sweep changed confidences');
      db.close();
    });
  }

  test('a sweep recorded before the moment was (an older nex-compound), or no result at all, is not a recorded sweep', () => {
    assert.equal(recordedSweep({ archived: 3, params: {} }), undefined);
    assert.equal(recordedSweep(null), undefined);
    assert.equal(recordedSweep({ archived: 3, params: {}, swept_at: 'yesterday' }), undefined);
    assert.deepEqual(recordedSweep({ archived: 0, params: {}, swept_at: '2026-11-01T00:00:00.000Z' }), { at: NOW, params: DEFAULT_DECAY }, 'missing parameters are the defaults');
  });
});
