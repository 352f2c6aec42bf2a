/**
 * consolidation: merges near-duplicate insights (see src/engine/consolidate/plan.ts for how
 * clusters are found). The plan is computed outside any transaction; `apply` writes it in
 * the completion transaction, re-reading each member so that an insight reinforced or
 * archived meanwhile is merged as it is now (or left out), and records every row's state
 * before and after in insight_changes, which is what `revert` restores from.
 */
import { normalizeText } from '../normalize.js';
import type { InsightRow } from '../insights.js';
import { DEFAULT_THRESHOLD, planConsolidation, type Plan, type PlannedCluster } from '../consolidate/plan.js';
import type { Database } from '../db.js';
import type { JobContext, JobOutcome } from './context.js';

/** Merged confidence never reaches certainty. */
const CONFIDENCE_CAP = 0.99;

export interface ConsolidationResult {
  threshold: number;
  candidate_pairs: number;
  duplicate_pairs: number;
  merged: number;
  clusters: Array<PlannedCluster & { members: Array<{ id: number; similarity: number; text: string }> }>;
  conflicts: Plan['conflicts'];
  conflicts_total: number;
}

export function consolidationThreshold(params: Record<string, unknown>): number {
  return typeof params.threshold === 'number' ? params.threshold : DEFAULT_THRESHOLD;
}

/** Texts merged (directly or through a chain) into each active insight by earlier runs. */
function mergedHistory(db: Database, workspaceId: number): Map<number, string[]> {
  const rows = db.prepare(`SELECT id, text, status, merged_into FROM insights WHERE workspace_id = ? AND (status = 'merged' OR id IN (SELECT merged_into FROM insights WHERE workspace_id = ? AND status = 'merged'))`).all(workspaceId, workspaceId) as Array<{
    id: number;
    text: string;
    status: string;
    merged_into: number | null;
  }>;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const history = new Map<number, string[]>();
  for (const row of rows) {
    if (row.status !== 'merged') continue;
    let root = row;
    for (let hops = 0; root.status === 'merged' && root.merged_into !== null && hops < 1_000; hops++) {
      const next = byId.get(root.merged_into);
      if (!next) break;
      root = next;
    }
    if (root.status === 'merged') continue;
    const list = history.get(root.id) ?? [];
    list.push(row.text);
    history.set(root.id, list);
  }
  return history;
}

export function runConsolidation(ctx: JobContext): JobOutcome {
  const { db, job } = ctx;
  const threshold = consolidationThreshold(ctx.params);
  ctx.progress(1, 'loading');
  const insights = db
    .prepare(`SELECT id, text, normalized_text, created_at FROM insights WHERE workspace_id = ? AND status = 'active'`)
    .all(job.workspace_id) as Array<{ id: number; text: string; normalized_text: string; created_at: number }>;
  const history = mergedHistory(db, job.workspace_id);
  const plan = planConsolidation(insights, {
    threshold,
    history: (id) => history.get(id) ?? [],
    progress: (fraction, stage) => ctx.progress(3 + 90 * fraction, stage),
  });
  const texts = new Map(insights.map((i) => [i.id, i.text]));
  const merged = plan.clusters.reduce((sum, c) => sum + c.members.length - 1, 0);
  const result: ConsolidationResult = {
    threshold,
    candidate_pairs: plan.candidate_pairs,
    duplicate_pairs: plan.duplicate_pairs,
    merged,
    clusters: plan.clusters.map((c) => ({ ...c, members: c.members.map((m) => ({ ...m, text: texts.get(m.id)! })) })),
    conflicts: plan.conflicts,
    conflicts_total: plan.conflicts_total,
  };
  ctx.progress(95, 'writing');
  return {
    counts: {
      insights_scanned: plan.scanned,
      // Merged away plus survivors changed: every member of every cluster.
      insights_affected: merged + plan.clusters.length,
      candidates_created: plan.clusters.length,
      errors: 0,
    },
    result,
    apply: () => applyPlan(db, job.job_run_id, job.workspace_id, plan.clusters),
  };
}

/** Noisy-OR across distinct sources, the highest within one source; insights without a source count as one source. */
export function combinedConfidence(members: Array<{ source: string | null; value: number }>): number {
  const best = new Map<string, number>();
  for (const { source, value } of members) {
    const key = source ?? '';
    best.set(key, Math.max(best.get(key) ?? 0, value));
  }
  let miss = 1;
  for (const value of best.values()) miss *= 1 - value;
  const highest = Math.max(...best.values());
  return Math.max(highest, Math.min(CONFIDENCE_CAP, 1 - miss));
}

function applyPlan(db: Database, jobRunId: string, workspaceId: number, clusters: PlannedCluster[]): void {
  const read = db.prepare(`SELECT * FROM insights WHERE workspace_id = ? AND id = ?`);
  const markMerged = db.prepare(`UPDATE insights SET status = 'merged', merged_into = ? WHERE id = ?`);
  const updateSurvivor = db.prepare(
    `UPDATE insights SET text = ?, normalized_text = ?, source = ?, tags = ?, confidence = ?, base_confidence = ?,
       reinforcement_count = ?, created_at = ?, last_reinforced_at = ? WHERE id = ?`,
  );
  const log = db.prepare(`INSERT INTO insight_changes (job_run_id, insight_id, role, survivor_id, similarity, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  for (const cluster of clusters) {
    // Members as they are now: one merged or archived since the plan is left out.
    const members = cluster.members
      .map((m) => ({ ...m, row: read.get(workspaceId, m.id) as InsightRow | undefined }))
      .filter((m): m is typeof m & { row: InsightRow } => m.row?.status === 'active');
    const survivor = members.find((m) => m.id === cluster.survivor);
    if (!survivor || members.length < 2) continue;
    const rows = members.map((m) => m.row);
    const tags: string[] = [];
    for (const row of rows) for (const tag of JSON.parse(row.tags) as string[]) if (!tags.includes(tag)) tags.push(tag);
    const after: InsightRow = {
      ...survivor.row,
      text: cluster.text,
      normalized_text: normalizeText(cluster.text),
      source: survivor.row.source ?? rows.find((r) => r.source !== null)?.source ?? null,
      tags: JSON.stringify(tags),
      confidence: combinedConfidence(rows.map((r) => ({ source: r.source, value: r.confidence }))),
      base_confidence: combinedConfidence(rows.map((r) => ({ source: r.source, value: r.base_confidence }))),
      reinforcement_count: rows.reduce((sum, r) => sum + r.reinforcement_count, 0),
      created_at: Math.min(...rows.map((r) => r.created_at)),
      last_reinforced_at: Math.max(...rows.map((r) => r.last_reinforced_at)),
    };
    // Merged members leave the unique index on normalized text before the survivor takes one of theirs.
    for (const m of members) {
      if (m.id === survivor.id) continue;
      markMerged.run(survivor.id, m.id);
      log.run(jobRunId, m.id, 'merged', survivor.id, m.similarity, JSON.stringify(m.row), JSON.stringify({ ...m.row, status: 'merged', merged_into: survivor.id }));
    }
    updateSurvivor.run(after.text, after.normalized_text, after.source, after.tags, after.confidence, after.base_confidence, after.reinforcement_count, after.created_at, after.last_reinforced_at, survivor.id);
    log.run(jobRunId, survivor.id, 'survivor', survivor.id, 1, JSON.stringify(survivor.row), JSON.stringify(after));
  }
}
