/**
 * metrics: a snapshot of the pipeline, stored per run: insight counts by status, a
 * 10-bucket confidence histogram, the stale ratio, pattern and rule counts, jobs by
 * type and status, and the last run of each type with its duration.
 */
import type { Database } from '../../store/db.js';
import type { JobContext, JobOutcome } from '../job.js';
import { jobParams } from '../../../contract/job-params.js';

export interface MetricsSnapshot {
  taken_at: string;
  workspace_id: number;
  insights: { active: number; merged: number; archived: number; total: number };
  confidence_histogram: number[];
  average_confidence: number | null;
  stale_ratio: number;
  patterns: number;
  rules: number;
  jobs: Record<string, Record<string, number>>;
  last_runs: Record<string, { job_run_id: string; status: string; completed_at: string | null; duration_ms: number | null }>;
}

function tableCount(db: Database, table: string, workspaceId: number): number {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table);
  if (!exists) return 0;
  return (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE workspace_id = ?`).get(workspaceId) as { n: number }).n;
}

function takeSnapshot(db: Database, workspaceId: number, now: number, params: Record<string, unknown> = {}): MetricsSnapshot {
  const byStatus = { active: 0, merged: 0, archived: 0, total: 0 };
  for (const row of db.prepare(`SELECT status, count(*) AS n FROM insights WHERE workspace_id = ? GROUP BY status`).all(workspaceId) as Array<{ status: keyof typeof byStatus; n: number }>) {
    byStatus[row.status] = row.n;
    byStatus.total += row.n;
  }
  const histogram = new Array<number>(10).fill(0);
  for (const row of db
    .prepare(`SELECT min(CAST(confidence * 10 AS INTEGER), 9) AS bucket, count(*) AS n FROM insights WHERE workspace_id = ? AND status = 'active' GROUP BY bucket`)
    .all(workspaceId) as Array<{ bucket: number; n: number }>) {
    histogram[row.bucket] = row.n;
  }
  const { avg } = db.prepare(`SELECT avg(confidence) AS avg FROM insights WHERE workspace_id = ? AND status = 'active'`).get(workspaceId) as { avg: number | null };
  // Stale: not reinforced within one half-life beyond the grace period.
  const p = jobParams('metrics', params);
  const staleBefore = now - p.graceMs - p.halfLifeMs;
  const { stale } = db
    .prepare(`SELECT count(*) AS stale FROM insights WHERE workspace_id = ? AND status = 'active' AND last_reinforced_at < ?`)
    .get(workspaceId, staleBefore) as { stale: number };

  const jobs: MetricsSnapshot['jobs'] = {};
  for (const row of db.prepare(`SELECT job_type, status, count(*) AS n FROM jobs WHERE workspace_id = ? GROUP BY job_type, status`).all(workspaceId) as Array<{ job_type: string; status: string; n: number }>) {
    (jobs[row.job_type] ??= {})[row.status] = row.n;
  }
  const lastRuns: MetricsSnapshot['last_runs'] = {};
  for (const row of db
    .prepare(
      `SELECT job_type, job_run_id, status, completed_at, duration_ms FROM jobs j
       WHERE workspace_id = ? AND status IN ('completed', 'failed')
         AND seq = (SELECT max(seq) FROM jobs WHERE workspace_id = j.workspace_id AND job_type = j.job_type AND status IN ('completed', 'failed'))`,
    )
    .all(workspaceId) as Array<{ job_type: string; job_run_id: string; status: string; completed_at: number | null; duration_ms: number | null }>) {
    lastRuns[row.job_type] = {
      job_run_id: row.job_run_id,
      status: row.status,
      completed_at: row.completed_at === null ? null : new Date(row.completed_at).toISOString(),
      duration_ms: row.duration_ms,
    };
  }
  return {
    taken_at: new Date(now).toISOString(),
    workspace_id: workspaceId,
    insights: byStatus,
    confidence_histogram: histogram,
    average_confidence: avg === null ? null : Math.round(avg * 10_000) / 10_000,
    stale_ratio: byStatus.active === 0 ? 0 : Math.round((stale / byStatus.active) * 10_000) / 10_000,
    patterns: tableCount(db, 'patterns', workspaceId),
    rules: tableCount(db, 'playbook_rules', workspaceId),
    jobs,
    last_runs: lastRuns,
  };
}

export function runMetrics(ctx: JobContext): JobOutcome {
  const snapshot = takeSnapshot(ctx.db, ctx.job.workspace_id, ctx.now, ctx.params);
  return {
    counts: { insights_scanned: snapshot.insights.total, insights_affected: 0, candidates_created: 0, errors: 0 },
    result: snapshot,
    apply: () => {
      ctx.db
        .prepare('INSERT INTO metrics_snapshots (workspace_id, job_run_id, taken_at, snapshot) VALUES (?, ?, ?, ?)')
        .run(ctx.job.workspace_id, ctx.job.job_run_id, ctx.now, JSON.stringify(snapshot));
    },
  };
}

export function recentSnapshots(db: Database, workspaceId: number, limit: number): MetricsSnapshot[] {
  return (db.prepare('SELECT snapshot FROM metrics_snapshots WHERE workspace_id = ? ORDER BY taken_at DESC, id DESC LIMIT ?').all(workspaceId, limit) as Array<{ snapshot: string }>)
    .map((row) => JSON.parse(row.snapshot) as MetricsSnapshot)
    .reverse();
}
