/** `nex-compound jobs`: the local engine's job history, or the remote jobs this machine triggered. */
import { parseNonNegativeInt } from '../../contract/parse.js';
import { defineCommand, valueOption, type CommandResult, type OptionValues } from '../command.js';
import type { Context } from '../context.js';
import { historyPath, readRemoteHistory } from '../history.js';
import { chooseBackend, openLocalEngine } from '../settings/backend.js';
import { resolveSettings } from '../settings/settings.js';

const OPTIONS = {
  limit: valueOption('--limit <n>', 'how many, newest first (default 20)'),
} as const;

export default defineCommand({
  name: 'jobs',
  description: "job history: the local engine's, or the remote jobs this machine triggered",
  options: OPTIONS,
  run: (ctx, _args, options) => jobsCommand(ctx, options),
});

async function jobsCommand(ctx: Context, options: OptionValues<typeof OPTIONS>): Promise<CommandResult> {
  const limit = options.limit !== undefined ? parseNonNegativeInt(options.limit, '--limit') : 20;
  const settings = await resolveSettings(ctx.globals, {}, ctx.deps);
  if (chooseBackend(ctx, settings) === 'remote') {
    const entries = readRemoteHistory(ctx.deps, limit);
    ctx.ui.info(ctx.ui.errChalk.dim(`→ jobs triggered from this machine on the remote Nex API (${historyPath(ctx.deps)})`));
    if (entries.length === 0 && limit > 0) ctx.ui.hint('no remote jobs triggered from this machine yet');
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
  const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
  try {
    const statuses = workspace.jobs.list(limit);
    if (statuses.length === 0 && limit > 0) ctx.ui.hint('no jobs yet: `nex-compound trigger decay_sweep --local --wait` runs one');
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
    engine.close();
  }
}
