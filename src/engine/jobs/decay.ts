/**
 * decay_sweep: confidence = floor + (base − floor) · 2^(−max(0, age − grace) / half_life),
 * age measured from last_reinforced_at to the moment of the sweep. Computed from the base
 * confidence, never from the current one, so a sweep's result depends only on when it runs.
 */
import type { JobContext, JobOutcome } from './context.js';

const DAY_MS = 86_400_000;

export interface DecayParams {
  halfLifeMs: number;
  graceMs: number;
  floor: number;
  archiveBelow: number;
}

export const DEFAULT_DECAY: DecayParams = {
  halfLifeMs: 30 * DAY_MS,
  graceMs: 7 * DAY_MS,
  floor: 0.05,
  archiveBelow: 0.1,
};

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

export function decayParams(params: Record<string, unknown>): DecayParams {
  const pick = (key: keyof DecayParams) => (typeof params[key] === 'number' ? (params[key] as number) : DEFAULT_DECAY[key]);
  return { halfLifeMs: pick('halfLifeMs'), graceMs: pick('graceMs'), floor: pick('floor'), archiveBelow: pick('archiveBelow') };
}

export function runDecaySweep(ctx: JobContext): JobOutcome {
  const p = decayParams(ctx.params);
  const { db, job, now } = ctx;
  // Archived insights keep decaying too (uncounted), so the stored confidence is always
  // f(base, age) whatever sweeps ran before: the result depends only on when this one runs.
  const total = (db.prepare(`SELECT count(*) AS n FROM insights WHERE workspace_id = ? AND status IN ('active', 'archived')`).get(job.workspace_id) as { n: number }).n;
  const rows = db
    .prepare(`SELECT id, confidence, base_confidence, last_reinforced_at, status = 'archived' FROM insights WHERE workspace_id = ? AND status IN ('active', 'archived')`)
    .raw()
    .iterate(job.workspace_id) as IterableIterator<[number, number, number, number, number]>;

  // Typed arrays keep a million pending updates in ~20 MB.
  const ids = new Float64Array(total);
  const values = new Float64Array(total);
  const seenBase = new Float64Array(total);
  const seenLast = new Float64Array(total);
  const archive = new Uint8Array(total);
  let written = 0;
  let newlyArchived = 0;
  let affected = 0;
  let scanned = 0;
  let seen = 0;
  for (const [id, confidence, base, last, wasArchived] of rows) {
    seen++;
    const next = decayedConfidence(base, last, now, p);
    if (wasArchived) {
      if (next !== confidence) {
        ids[written] = id;
        values[written] = next;
        seenBase[written] = base;
        seenLast[written] = last;
        archive[written] = 1;
        written++;
      }
      continue;
    }
    scanned++;
    const archived = shouldArchive(next, last, now, p);
    // Every change is written, so the stored value is always exactly f(base, age): that is
    // what makes sweeps path-independent. Only changes above the epsilon count as affected.
    if (archived || next !== confidence) {
      ids[written] = id;
      values[written] = next;
      seenBase[written] = base;
      seenLast[written] = last;
      archive[written] = archived ? 1 : 0;
      written++;
      if (archived || Math.abs(next - confidence) > CONFIDENCE_EPSILON) affected++;
      if (archived) newlyArchived++;
    }
    if ((seen & 0xfff) === 0) ctx.progress(Math.floor((seen / Math.max(1, total)) * 90), 'computing');
  }
  ctx.progress(90, 'writing');

  return {
    counts: { insights_scanned: scanned, insights_affected: affected, candidates_created: 0, errors: 0 },
    result: { archived: newlyArchived, params: p },
    apply: () => {
      // An insight reinforced while the sweep computed keeps its new state: it is not stale.
      const update = db.prepare(
        `UPDATE insights SET confidence = ?, status = CASE WHEN ? = 1 THEN 'archived' ELSE status END
         WHERE id = ? AND status IN ('active', 'archived') AND base_confidence = ? AND last_reinforced_at = ?`,
      );
      for (let i = 0; i < written; i++) update.run(values[i], archive[i], ids[i], seenBase[i], seenLast[i]);
    },
  };
}
