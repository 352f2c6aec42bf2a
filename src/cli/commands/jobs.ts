import { chooseBackend, openLocalEngine } from '../settings/backend.js';
import type { Context } from '../context.js';
import { resolveSettings } from '../settings/settings.js';
import { parseNonNegativeInt } from '../../contract/parse.js';
import { listJobs, toJobStatus } from '../../engine/queue/queue.js';
import { readRemoteHistory, historyPath } from '../history.js';
import type { CommandResult } from '../command.js';

export async function jobsCommand(ctx: Context, options: { limit?: string }): Promise<CommandResult> {
  const limit = options.limit !== undefined ? parseNonNegativeInt(options.limit, '--limit') : 20;
  const settings = await resolveSettings(ctx.globals, {}, ctx.deps);
  if (chooseBackend(ctx, settings) === 'remote') {
    const entries = readRemoteHistory(ctx.deps, limit);
    ctx.ui.info(ctx.ui.errChalk.dim(`→ jobs triggered from this machine on the remote Nex API (${historyPath(ctx.deps)})`));
    if (entries.length === 0) ctx.ui.hint('no remote jobs triggered from this machine yet');
    else ctx.ui.hint('`nex-compound status <job_run_id>` shows a job\'s current state');
    return {
      data: {
        kind: 'rows',
        columns: ['job_run_id', 'job_type', 'dry_run', 'triggered_at', 'base_url'],
        rows: entries.map((e) => ({ ...e })),
        json: entries,
      },
    };
  }
  const engine = await openLocalEngine(ctx);
  try {
    const statuses = listJobs(engine.db, { workspaceId: engine.workspaceId, limit }).map(toJobStatus);
    if (statuses.length === 0) ctx.ui.hint('no jobs yet: `nex-compound trigger decay_sweep --local --wait` runs one');
    return {
      data: {
        kind: 'rows',
        columns: ['job_run_id', 'job_type', 'status', 'dry_run', 'scanned', 'affected', 'candidates', 'attempts', 'started_at', 'duration_ms'],
        rows: statuses.map((s) => ({
          job_run_id: s.job_run_id,
          job_type: s.job_type,
          status: s.status,
          dry_run: s.dry_run,
          scanned: s.insights_scanned,
          affected: s.insights_affected,
          candidates: s.candidates_created,
          attempts: s.attempts,
          started_at: s.started_at,
          duration_ms: s.duration_ms,
        })),
        json: statuses,
      },
    };
  } finally {
    engine.db.close();
  }
}
