/**
 * Reverting a consolidation run, in one transaction: the store becomes what it would be had the
 * run never happened, while keeping everything that happened since which the run did not cause.
 *
 * Every insight the run changed gets back the state recorded before the run (text, normalized
 * text, source, tags, base confidence, reinforcement count, created and last-reinforced dates,
 * status, merged_into), carried through the decay sweeps that completed since: each completed,
 * non-dry sweep of the workspace that ran after the run is applied to the restored state again,
 * at the moment and with the parameters it recorded (decay/job.ts, sweepReplay). A sweep's effect
 * on an insight depends only on that insight's base confidence and last_reinforced_at and on the
 * sweep's moment and parameters, so this is exact, not an estimate:
 *   - a survivor gets back its own text, tags, count and dates, and the confidence the sweeps
 *     give its own base and age — not the merged ones, which were higher and fresher;
 *   - a merged-away insight, which the sweeps skipped while it was merged, gets the confidence
 *     they would have given it, and comes back active unless one of them would have archived it;
 *   - a survivor a sweep archived comes back archived: its own base is no higher and its last
 *     reinforcement no later than the merged ones, so the sweep that archived the merge archives
 *     it too (the replay decides in every case, whatever parameters the sweeps had).
 * A dry-run sweep, or one that failed, changed nothing, so there is nothing to apply again; a
 * sweep still running when the revert commits writes its result over the restored insights itself.
 *
 * Before writing anything, each insight must be exactly as the run left it, carried through the
 * same sweeps. The revert refuses (RefusedError, exit 10), naming what blocks it and restoring
 * nothing, when:
 *   - a later consolidation still in force changed one of the same insights (revert it first);
 *   - an insight moved in any other way: a reinforcement (an import or `insights add`) changes
 *     its count, base and last_reinforced_at, which no sweep explains;
 *   - a text the revert gives back to an insight that comes back active now belongs to another
 *     active insight, added since (restoring it would break the unique text among active ones);
 *   - a later sweep was run by a nex-compound that did not record its moment: its effect on the
 *     restored insights cannot be recomputed.
 * Merged chains keep ending on an insight that is not merged: restored insights are active or
 * archived, and anything merged into them stays merged into them.
 */
import { NotFoundError, RefusedError, UsageError } from '../../../contract/errors.js';
import type { Database } from '../../store/db.js';
import type { InsightRow } from '../../store/insights.js';
import type { JobRow } from '../../queue/queue.js';
import { recordedSweep, sweepReplay, type RecordedSweep } from '../decay/job.js';

const COLUMNS = ['text', 'normalized_text', 'source', 'tags', 'confidence', 'base_confidence', 'reinforcement_count', 'created_at', 'last_reinforced_at', 'status', 'merged_into'] as const;
/** The order a moved insight is described in: what only a reinforcement or a merge moves comes before what sweeps move too. */
const CHECKED = [...COLUMNS.filter((c) => c !== 'confidence' && c !== 'status'), 'status', 'confidence'] as const;

export interface RevertResult {
  job_run_id: string;
  restored: number;
  /** Of the restored insights, those that come back archived: the later sweeps would have archived them. */
  restored_archived: number;
  /** The decay sweeps completed since the run, applied again to the restored insights, oldest first. */
  reapplied_sweeps: string[];
  reverted_at: string;
}

interface ChangeRow {
  id: number;
  insight_id: number;
  role: 'survivor' | 'merged';
  before: string;
  after: string;
}

type JobSummary = Pick<JobRow, 'job_run_id' | 'job_type' | 'completed_at'>;

const describeJob = (job: JobSummary) => `${job.job_type} run ${job.job_run_id}${job.completed_at ? ` (completed ${new Date(job.completed_at).toISOString()})` : ''}`;

/** The workspace's decay sweeps that changed the store after the run, oldest first, each with its moment and parameters. */
function laterSweeps(db: Database, jobRunId: string, job: JobRow): Array<{ job_run_id: string; sweep: RecordedSweep }> {
  // A workspace's jobs run one at a time in trigger order, so a higher seq completed later.
  const rows = db
    .prepare(
      `SELECT job_run_id, job_type, completed_at, result FROM jobs
       WHERE workspace_id = ? AND job_type = 'decay_sweep' AND dry_run = 0 AND status = 'completed' AND seq > ? ORDER BY seq`,
    )
    .all(job.workspace_id, job.seq) as Array<JobSummary & { result: string | null }>;
  return rows.map((row) => {
    const sweep = recordedSweep(row.result === null ? null : (JSON.parse(row.result) as unknown));
    if (!sweep) {
      throw new RefusedError(
        `cannot revert ${jobRunId}: the later ${describeJob(row)} was run by an older nex-compound that did not record the moment it measured from, so what it would have made of the restored insights cannot be recomputed`,
        'nothing was restored',
      );
    }
    return { job_run_id: row.job_run_id, sweep };
  });
}

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
      let sweeps: Array<{ job_run_id: string; sweep: RecordedSweep }> = [];
      let archived = 0;
      if (changes.length > 0) {
        const lastChange = changes.at(-1)!.id;
        // A later run that is still in force and changed one of these insights.
        const later = db
          .prepare(
            `SELECT j.job_run_id, j.job_type, j.completed_at, c.insight_id FROM insight_changes c JOIN jobs j ON j.job_run_id = c.job_run_id
             WHERE c.id > ? AND j.reverted_at IS NULL AND c.insight_id IN (SELECT insight_id FROM insight_changes WHERE job_run_id = ?)
             ORDER BY c.id LIMIT 1`,
          )
          .get(lastChange, jobRunId) as (JobSummary & { insight_id: number }) | undefined;
        if (later) {
          throw new RefusedError(`cannot revert ${jobRunId}: the later ${describeJob(later)} changed insight ${later.insight_id} too`, `revert ${later.job_run_id} first`, {
            revertFirst: later.job_run_id,
          });
        }
        sweeps = laterSweeps(db, jobRunId, job);
        const replay = sweepReplay(db);
        const sweptBy = (row: InsightRow) => replay(row, sweeps.map((s) => s.sweep));
        const read = db.prepare('SELECT * FROM insights WHERE id = ?');
        const targets = new Map<number, InsightRow>();
        for (const change of changes) {
          const current = read.get(change.insight_id) as InsightRow | undefined;
          const before = JSON.parse(change.before) as InsightRow;
          // `after` holds the columns the run changed; the rest are as they were before it.
          const expected = sweptBy({ ...before, ...(JSON.parse(change.after) as Partial<InsightRow>) });
          const moved = current ? CHECKED.find((column) => current[column] !== expected[column]) : 'id';
          if (moved) {
            throw new RefusedError(
              `cannot revert ${jobRunId}: insight ${change.insight_id} changed since (${moved}), by a reinforcement (an import or \`insights add\`) or a later job`,
              'reverting would overwrite that change; nothing was restored',
            );
          }
          targets.set(change.insight_id, sweptBy(before));
        }
        // Insights that come back active take back their own texts: none of those normalized
        // texts may belong to an active insight added since.
        const clash = db.prepare(`SELECT id FROM insights WHERE workspace_id = ? AND status = 'active' AND normalized_text = ? AND id != ?`);
        for (const [id, target] of targets) {
          if (target.status !== 'active') continue;
          const other = clash.get(workspaceId, target.normalized_text, id) as { id: number } | undefined;
          if (other && !targets.has(other.id)) {
            throw new RefusedError(`cannot revert ${jobRunId}: insight ${id}'s text now belongs to insight ${other.id}, added since`, 'nothing was restored');
          }
        }
        const restore = db.prepare(`UPDATE insights SET ${COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`);
        // Survivors first: each gives back the normalized text it took from a merged member.
        const ordered = [...changes.filter((c) => c.role === 'survivor'), ...changes.filter((c) => c.role === 'merged')];
        for (const change of ordered) {
          const target = targets.get(change.insight_id)!;
          restore.run(target);
          if (target.status === 'archived') archived++;
        }
      }
      const reapplied = sweeps.map((s) => s.job_run_id);
      db.prepare('UPDATE jobs SET reverted_at = ? WHERE job_run_id = ?').run(now, jobRunId);
      db.prepare('INSERT INTO job_events (job_run_id, at, kind, detail) VALUES (?, ?, ?, ?)').run(
        jobRunId,
        now,
        'reverted',
        JSON.stringify({ restored: changes.length, restored_archived: archived, reapplied_sweeps: reapplied }),
      );
      return { job_run_id: jobRunId, restored: changes.length, restored_archived: archived, reapplied_sweeps: reapplied, reverted_at: new Date(now).toISOString() };
    })
    .immediate();
}
