/**
 * consolidation: merges near-duplicate insights (see src/engine/consolidate/plan.ts for how
 * clusters are found). The plan is computed outside any transaction; `apply` writes it in
 * the completion transaction, re-reading each member so that an insight reinforced or
 * archived meanwhile is merged as it is now (or left out), and records in insight_changes
 * every row's state before the run and the columns it changed, which is what `revert`
 * restores from.
 */
import { normalizeText } from '../../text/normalize.js';
import type { InsightRow } from '../../store/insights.js';
import { planConsolidation, type Plan, type PlannedCluster } from './plan.js';
import type { Database } from '../../store/db.js';
import { jobParams } from '../../../contract/job-params.js';
import type { JobContext, JobOutcome } from '../job.js';

/** Merged confidence never reaches certainty. */
const CONFIDENCE_CAP = 0.99;

export interface ConsolidationResult {
  threshold: number;
  candidate_pairs: number;
  duplicate_pairs: number;
  merged: number;
  clusters: PlannedCluster[];
  conflicts: Plan['conflicts'];
  conflicts_total: number;
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
  const { threshold } = jobParams('consolidation', ctx.params);
  ctx.progress(1, 'loading insights');
  // No normalized_text: active insights never share one (a unique index), and at a million
  // insights leaving it out saves ~150 MB.
  const insights = db
    .prepare(`SELECT id, text, created_at FROM insights WHERE workspace_id = ? AND status = 'active'`)
    .all(job.workspace_id) as Array<{ id: number; text: string; created_at: number }>;
  const history = mergedHistory(db, job.workspace_id);
  const plan = planConsolidation(insights, {
    threshold,
    history: (id) => history.get(id) ?? [],
    progress: (fraction, stage, count) => ctx.progress(3 + 90 * fraction, stage, count),
  });
  const merged = plan.clusters.reduce((sum, c) => sum + c.members.length - 1, 0);
  const result: ConsolidationResult = {
    threshold,
    candidate_pairs: plan.candidate_pairs,
    duplicate_pairs: plan.duplicate_pairs,
    merged,
    clusters: plan.clusters,
    conflicts: plan.conflicts,
    conflicts_total: plan.conflicts_total,
  };
  // The writes happen in the completion transaction, all at once: no count can be seen mid-way.
  const changed = merged + plan.clusters.length;
  ctx.progress(95, job.dry_run ? 'finishing (dry run: nothing to write)' : `writing ${changed.toLocaleString('en-US')} changed insight${changed === 1 ? '' : 's'}`);
  return {
    counts: {
      insights_scanned: plan.scanned,
      // Merged away plus survivors changed: every member of every cluster.
      insights_affected: changed,
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

type MemberState = Pick<InsightRow, 'source' | 'tags' | 'confidence' | 'base_confidence' | 'reinforcement_count' | 'created_at' | 'last_reinforced_at'>;

const byId = (a: number, b: number) => a - b;

/**
 * Writes the plan in three passes, each in id order: rows visited in order share pages,
 * where cluster order visits the table at random (~1.6× slower on a store larger than
 * the page cache). First what every member is now (one merged or archived since the plan
 * is left out, and a cluster left with its survivor alone is dropped); then the merged
 * members — which leave the unique index on normalized text before a survivor takes one of
 * their texts; then the survivors.
 */
function applyPlan(db: Database, jobRunId: string, workspaceId: number, clusters: PlannedCluster[]): void {
  const readState = db.prepare(
    `SELECT status, source, tags, confidence, base_confidence, reinforcement_count, created_at, last_reinforced_at FROM insights WHERE workspace_id = ? AND id = ?`,
  );
  const memberIds = clusters.flatMap((c) => c.members.map((m) => m.id)).sort(byId);
  const now = new Map<number, MemberState>();
  for (const id of memberIds) {
    const row = readState.get(workspaceId, id) as (MemberState & { status: string }) | undefined;
    if (row?.status === 'active') now.set(id, row);
  }

  const merges: Array<{ id: number; survivor: number; similarity: number }> = [];
  const survivors: Array<{ id: number; changes: Partial<InsightRow> }> = [];
  for (const cluster of clusters) {
    const members = cluster.members.filter((m) => now.has(m.id));
    if (!now.has(cluster.survivor) || members.length < 2) continue;
    const rows = members.map((m) => now.get(m.id)!);
    const tags: string[] = [];
    for (const row of rows) for (const tag of JSON.parse(row.tags) as string[]) if (!tags.includes(tag)) tags.push(tag);
    const survivor = now.get(cluster.survivor)!;
    survivors.push({
      id: cluster.survivor,
      changes: {
        text: cluster.text,
        normalized_text: normalizeText(cluster.text),
        source: survivor.source ?? rows.find((r) => r.source !== null)?.source ?? null,
        tags: JSON.stringify(tags),
        confidence: combinedConfidence(rows.map((r) => ({ source: r.source, value: r.confidence }))),
        base_confidence: combinedConfidence(rows.map((r) => ({ source: r.source, value: r.base_confidence }))),
        reinforcement_count: rows.reduce((sum, r) => sum + r.reinforcement_count, 0),
        created_at: Math.min(...rows.map((r) => r.created_at)),
        last_reinforced_at: Math.max(...rows.map((r) => r.last_reinforced_at)),
      },
    });
    for (const m of members) if (m.id !== cluster.survivor) merges.push({ id: m.id, survivor: cluster.survivor, similarity: m.similarity });
  }
  now.clear();

  const read = db.prepare(`SELECT * FROM insights WHERE id = ?`);
  const markMerged = db.prepare(`UPDATE insights SET status = 'merged', merged_into = ? WHERE id = ?`);
  const updateSurvivor = db.prepare(
    `UPDATE insights SET text = ?, normalized_text = ?, source = ?, tags = ?, confidence = ?, base_confidence = ?,
       reinforcement_count = ?, created_at = ?, last_reinforced_at = ? WHERE id = ?`,
  );
  const log = db.prepare(`INSERT INTO insight_changes (job_run_id, insight_id, role, survivor_id, similarity, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  merges.sort((a, b) => a.id - b.id);
  for (const m of merges) {
    const row = read.get(m.id) as InsightRow;
    markMerged.run(m.survivor, m.id);
    log.run(jobRunId, m.id, 'merged', m.survivor, m.similarity, JSON.stringify(row), JSON.stringify({ status: 'merged', merged_into: m.survivor }));
  }
  survivors.sort((a, b) => a.id - b.id);
  for (const { id, changes } of survivors) {
    const row = read.get(id) as InsightRow;
    const after: InsightRow = { ...row, ...changes };
    updateSurvivor.run(after.text, after.normalized_text, after.source, after.tags, after.confidence, after.base_confidence, after.reinforcement_count, after.created_at, after.last_reinforced_at, id);
    log.run(jobRunId, id, 'survivor', id, 1, JSON.stringify(row), JSON.stringify(changes));
  }
}
