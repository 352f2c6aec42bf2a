/**
 * decay_sweep: confidence = floor + (base − floor) · 2^(−max(0, age − grace) / half_life),
 * age measured from last_reinforced_at to the moment of the sweep. Computed from the base
 * confidence, never from the current one, so a sweep's result depends only on when it runs.
 * The result records that moment (swept_at) with the parameters: what `revert` needs to apply
 * a sweep again, exactly, to insights a reverted consolidation gives back (see sweepReplay).
 */
import { ACTIVE_TEXT_INDEX, type Database } from '../../store/db.js';
import type { InsightRow } from '../../store/insights.js';
import { jobParams, type DecayParams } from '../../../contract/job-params.js';
import type { JobContext, JobOutcome } from '../job.js';

/** A change smaller than this is not a change (and not written). */
export const CONFIDENCE_EPSILON = 1e-6;

export function decayedConfidence(base: number, lastReinforcedAt: number, now: number, p: DecayParams): number {
  if (base <= p.floor) return base;
  const age = Math.max(0, now - lastReinforcedAt - p.graceMs);
  return p.floor + (base - p.floor) * 2 ** (-age / p.halfLifeMs);
}

/** Archived only once past the grace period: a fresh insight is never archived for starting low. */
export function shouldArchive(confidence: number, lastReinforcedAt: number, now: number, p: DecayParams): boolean {
  return confidence < p.archiveBelow && now - lastReinforcedAt > p.graceMs;
}

/** decayedConfidence as SQL (SQLite's built-in math), so a sweep never calls back into JS per row. */
const DECAYED = `CASE WHEN base_confidence <= $floor THEN base_confidence
  ELSE $floor + (base_confidence - $floor) * pow(2.0, -(max(0, $now - last_reinforced_at - $grace) * 1.0) / $halfLife) END`;
const ARCHIVE = `((${DECAYED}) < $archiveBelow AND $now - last_reinforced_at > $grace)`;

/**
 * The sweep runs inside SQLite: counted in one aggregate query and applied in one UPDATE
 * inside the completion transaction, two passes in C over a million rows. The UPDATE
 * recomputes from each row's current base and last_reinforced_at, so an insight reinforced
 * while the job ran is never undone. Archived insights keep decaying too (uncounted), so the
 * stored confidence is always f(base, age) whatever sweeps ran before: the result depends
 * only on when this one runs.
 */
export function runDecaySweep(ctx: JobContext): JobOutcome {
  const p = jobParams('decay_sweep', ctx.params);
  const { db, job, now } = ctx;
  const bind = { now, floor: p.floor, grace: p.graceMs, halfLife: p.halfLifeMs, archiveBelow: p.archiveBelow, workspace: job.workspace_id };

  ctx.progress(5, 'computing');
  const counts = db
    .prepare(
      `SELECT count(*) AS scanned,
              coalesce(sum(${ARCHIVE} OR abs((${DECAYED}) - confidence) > ${CONFIDENCE_EPSILON}), 0) AS affected,
              coalesce(sum(${ARCHIVE}), 0) AS archived
       FROM insights WHERE workspace_id = $workspace AND status = 'active'`,
    )
    .get(bind) as { scanned: number; affected: number; archived: number };
  ctx.progress(60, 'writing');

  return {
    counts: { insights_scanned: counts.scanned, insights_affected: counts.affected, candidates_created: 0, errors: 0 },
    result: { archived: counts.archived, params: p, swept_at: new Date(now).toISOString() } satisfies SweepResult,
    apply: () => {
      const active = db.prepare(`SELECT count(*) FROM insights WHERE status = 'active'`).pluck().get() as number;
      if (counts.archived * 2 > active - counts.archived) {
        // Archiving takes a row out of the partial unique index on active texts: one random
        // B-tree delete each (about 2 µs). When most of the index goes, rebuilding it from
        // the rows that stay (a sort, about 1 µs each) is cheaper, and with no index to keep
        // up, status and confidence change in one pass. All inside the completion
        // transaction: other connections never see the store without its index.
        db.exec('DROP INDEX insights_active_normalized');
        db.prepare(
          `UPDATE insights SET confidence = ${DECAYED},
             status = CASE WHEN status = 'active' AND ${ARCHIVE} THEN 'archived' ELSE status END
           WHERE workspace_id = $workspace AND status IN ('active', 'archived')
             AND (confidence != (${DECAYED}) OR (status = 'active' AND ${ARCHIVE}))`,
        ).run(bind);
        db.exec(ACTIVE_TEXT_INDEX);
        return;
      }
      // Two statements: archiving touches the indexed status column, so only the few rows
      // being archived pay for index maintenance; the confidence update touches no index.
      db.prepare(`UPDATE insights SET status = 'archived' WHERE workspace_id = $workspace AND status = 'active' AND ${ARCHIVE}`).run(bind);
      db.prepare(
        `UPDATE insights SET confidence = ${DECAYED}
         WHERE workspace_id = $workspace AND status IN ('active', 'archived') AND confidence != (${DECAYED})`,
      ).run(bind);
    },
  };
}

/** What a sweep records as its result. Times in the store are whole milliseconds, which an ISO date keeps exactly. */
interface SweepResult {
  archived: number;
  params: DecayParams;
  /** The moment ages were measured to. Absent from sweeps run by nex-compound before it was recorded. */
  swept_at: string;
}

/** One sweep as it ran: its moment and its parameters. */
export interface RecordedSweep {
  at: number;
  params: DecayParams;
}

/** The moment and parameters a completed sweep's result records, or undefined when it records no moment. */
export function recordedSweep(result: unknown): RecordedSweep | undefined {
  const recorded = result as Partial<Record<keyof SweepResult, unknown>> | null;
  if (typeof recorded?.swept_at !== 'string' || typeof recorded.params !== 'object' || recorded.params === null) return undefined;
  const at = Date.parse(recorded.swept_at);
  return Number.isFinite(at) ? { at, params: jobParams('decay_sweep', recorded.params as Record<string, unknown>) } : undefined;
}

type SweptColumns = Pick<InsightRow, 'base_confidence' | 'last_reinforced_at' | 'confidence' | 'status'>;

/**
 * What sweeps, in order, make of an insight held in memory: a merged one is skipped; any other
 * takes the decayed confidence, and an active one is archived when the sweep would archive it.
 * Evaluated by SQLite with the very expressions the sweep's UPDATE uses, so the confidences are
 * the same doubles bit for bit (JavaScript's pow may differ from C's in the last place).
 */
export function sweepReplay(db: Database): <T extends SweptColumns>(row: T, sweeps: readonly RecordedSweep[]) => T {
  const evaluate = db.prepare(
    `SELECT ${DECAYED} AS confidence, ${ARCHIVE} AS archive FROM (SELECT $base AS base_confidence, $last AS last_reinforced_at)`,
  );
  return (row, sweeps) => {
    let current = row;
    for (const { at, params: p } of sweeps) {
      if (current.status === 'merged') continue;
      const swept = evaluate.get({
        base: current.base_confidence,
        last: current.last_reinforced_at,
        now: at,
        floor: p.floor,
        grace: p.graceMs,
        halfLife: p.halfLifeMs,
        archiveBelow: p.archiveBelow,
      }) as { confidence: number; archive: number };
      current = { ...current, confidence: swept.confidence, status: current.status === 'active' && swept.archive ? 'archived' : current.status };
    }
    return current;
  };
}
