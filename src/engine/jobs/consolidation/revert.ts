/**
 * Reverting a consolidation run: every insight it changed goes back to its recorded state
 * before the run, in one transaction — but only if each is still exactly as the run left it.
 * Anything that touched one since (a later consolidation, a decay sweep, a reinforcement)
 * makes the revert refuse, naming what changed it, rather than silently undo that too.
 */
import { NotFoundError, RefusedError, UsageError } from '../../../contract/errors.js';
import type { Database } from '../../store/db.js';
import type { InsightRow } from '../../store/insights.js';
import type { JobRow } from '../../queue/queue.js';

const COLUMNS = ['text', 'normalized_text', 'source', 'tags', 'confidence', 'base_confidence', 'reinforcement_count', 'created_at', 'last_reinforced_at', 'status', 'merged_into'] as const;

export interface RevertResult {
  job_run_id: string;
  restored: number;
  reverted_at: string;
}

interface ChangeRow {
  id: number;
  insight_id: number;
  role: 'survivor' | 'merged';
  before: string;
  after: string;
}

const describeJob = (job: Pick<JobRow, 'job_run_id' | 'job_type' | 'completed_at'>) =>
  `${job.job_type} run ${job.job_run_id}${job.completed_at ? ` (completed ${new Date(job.completed_at).toISOString()})` : ''}`;

export function revertConsolidation(db: Database, workspaceId: number, jobRunId: string, now: number): RevertResult {
  return db
    .transaction(() => {
      const job = db.prepare('SELECT * FROM jobs WHERE job_run_id = ? AND workspace_id = ?').get(jobRunId, workspaceId) as JobRow | undefined;
      if (!job) throw new NotFoundError(`no job ${jobRunId} in workspace ${workspaceId} of the local engine`);
      if (job.job_type !== 'consolidation') throw new UsageError(`job ${jobRunId} is a ${job.job_type} run; only consolidation runs can be reverted`);
      if (job.dry_run) throw new UsageError(`job ${jobRunId} was a dry run: it changed nothing, so there is nothing to revert`);
      if (job.status !== 'completed') throw new UsageError(`job ${jobRunId} is ${job.status}; only a completed run can be reverted`);
      if (job.reverted_at !== null) throw new UsageError(`job ${jobRunId} was already reverted at ${new Date(job.reverted_at).toISOString()}`);

      const changes = db.prepare('SELECT id, insight_id, role, before, after FROM insight_changes WHERE job_run_id = ? ORDER BY id').all(jobRunId) as ChangeRow[];
      if (changes.length > 0) {
        const lastChange = changes.at(-1)!.id;
        // A later run that is still in force and changed one of these insights.
        const later = db
          .prepare(
            `SELECT j.job_run_id, j.job_type, j.completed_at, c.insight_id FROM insight_changes c JOIN jobs j ON j.job_run_id = c.job_run_id
             WHERE c.id > ? AND j.reverted_at IS NULL AND c.insight_id IN (SELECT insight_id FROM insight_changes WHERE job_run_id = ?)
             ORDER BY c.id LIMIT 1`,
          )
          .get(lastChange, jobRunId) as (Pick<JobRow, 'job_run_id' | 'job_type' | 'completed_at'> & { insight_id: number }) | undefined;
        if (later) {
          throw new RefusedError(`cannot revert ${jobRunId}: the later ${describeJob(later)} changed insight ${later.insight_id} too`, `revert ${later.job_run_id} first`, {
            revertFirst: later.job_run_id,
          });
        }
        const read = db.prepare('SELECT * FROM insights WHERE id = ?');
        for (const change of changes) {
          const now = read.get(change.insight_id) as InsightRow | undefined;
          // `after` holds the columns the run changed; the rest are as they were before it.
          const after = { ...(JSON.parse(change.before) as InsightRow), ...(JSON.parse(change.after) as Partial<InsightRow>) };
          const moved = now ? COLUMNS.find((column) => now[column] !== after[column]) : 'id';
          if (moved) {
            const sweep = db
              .prepare(`SELECT job_run_id, job_type, completed_at FROM jobs WHERE workspace_id = ? AND job_type = 'decay_sweep' AND dry_run = 0 AND status = 'completed' AND seq > ? ORDER BY seq LIMIT 1`)
              .get(workspaceId, job.seq) as Pick<JobRow, 'job_run_id' | 'job_type' | 'completed_at'> | undefined;
            const cause = (moved === 'confidence' || moved === 'status') && sweep ? `the later ${describeJob(sweep)}` : 'a reinforcement (an import or `insights add`) or a later job';
            throw new RefusedError(
              `cannot revert ${jobRunId}: insight ${change.insight_id} changed since (${moved}), by ${cause}`,
              'reverting would overwrite that change; nothing was restored',
            );
          }
        }
        // Merged insights come back as active, and survivors take back their own texts: each of
        // those normalized texts must not belong to an active insight added since.
        const clash = db.prepare(`SELECT id FROM insights WHERE workspace_id = ? AND status = 'active' AND normalized_text = ? AND id != ?`);
        const restored = new Set(changes.map((c) => c.insight_id));
        for (const change of changes) {
          const before = JSON.parse(change.before) as InsightRow;
          if (before.status !== 'active') continue;
          const other = clash.get(workspaceId, before.normalized_text, change.insight_id) as { id: number } | undefined;
          if (other && !restored.has(other.id)) {
            throw new RefusedError(`cannot revert ${jobRunId}: insight ${change.insight_id}'s text now belongs to insight ${other.id}, added since`, 'nothing was restored');
          }
        }
        const restore = db.prepare(`UPDATE insights SET ${COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`);
        // Survivors first: each gives back the normalized text it took from a merged member.
        const ordered = [...changes.filter((c) => c.role === 'survivor'), ...changes.filter((c) => c.role === 'merged')];
        for (const change of ordered) restore.run(JSON.parse(change.before) as InsightRow);
      }
      db.prepare('UPDATE jobs SET reverted_at = ? WHERE job_run_id = ?').run(now, jobRunId);
      db.prepare('INSERT INTO job_events (job_run_id, at, kind, detail) VALUES (?, ?, ?, ?)').run(jobRunId, now, 'reverted', JSON.stringify({ restored: changes.length }));
      return { job_run_id: jobRunId, restored: changes.length, reverted_at: new Date(now).toISOString() };
    })
    .immediate();
}
