/** `nex-compound jobs`: the local engine's job history, or the remote jobs this machine triggered. */
import { UsageError } from '../../contract/errors.js';
import { parseDuration, parseJobType, parseNonNegativeInt } from '../../contract/parse.js';
import type { JobFilter } from '../../engine/index.js';
import { JOB_TYPES } from '../../contract/jobs.js';
import { defineCommand, valueOption, type CommandResult, type OptionValues } from '../command.js';
import type { Context } from '../context.js';
import { historyPath, readRemoteHistory } from '../history.js';
import { chooseBackend, openLocalEngine } from '../settings/backend.js';
import { resolveSettings } from '../settings/settings.js';

const STATUSES = ['accepted', 'running', 'completed', 'failed'] as const;

const OPTIONS = {
  limit: valueOption('--limit <n>', 'how many, newest first (default 20)'),
  type: valueOption('--type <job_type>', 'only jobs of this type', { values: JOB_TYPES }),
  status: valueOption('--status <status>', 'only jobs in this state: accepted, running, completed or failed (local engine)', { values: STATUSES }),
  since: valueOption('--since <when>', 'only jobs created since: a duration back from now (2h, 7d) or a date (2026-11-30)'),
} as const;

/** The filters as given, checked: a typo in a type or status is a usage error, not an empty list. */
function jobFilter(options: OptionValues<typeof OPTIONS>, now: number): JobFilter {
  const filter: JobFilter = {};
  if (options.type !== undefined) filter.jobType = parseJobType(options.type);
  if (options.status !== undefined) {
    if (!(STATUSES as readonly string[]).includes(options.status)) throw new UsageError(`unknown status "${options.status}"`, `use one of: ${STATUSES.join(', ')}`);
    filter.status = options.status as (typeof STATUSES)[number];
  }
  if (options.since !== undefined) filter.createdSince = sinceTime(options.since, now);
  return filter;
}

function sinceTime(text: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const ms = Date.parse(text.trim());
    if (Number.isNaN(ms)) throw new UsageError(`--since "${text}" is not a date`, 'e.g. 2026-11-30 or 2026-11-30T12:00:00Z');
    return ms;
  }
  return now - parseDuration(text, '--since');
}

export default defineCommand({
  name: 'jobs',
  description: "job history: the local engine's, or the remote jobs this machine triggered",
  options: OPTIONS,
  run: (ctx, _args, options) => jobsCommand(ctx, options),
});

async function jobsCommand(ctx: Context, options: OptionValues<typeof OPTIONS>): Promise<CommandResult> {
  const limit = options.limit !== undefined ? parseNonNegativeInt(options.limit, '--limit') : 20;
  const filter = jobFilter(options, ctx.deps.now());
  const settings = await resolveSettings(ctx.globals, {}, ctx.deps);
  if (chooseBackend(ctx, settings) === 'remote') {
    if (filter.status !== undefined) throw new UsageError('--status needs the local engine: the remote history keeps what was triggered, not how it ended', 'drop --status, or add --local');
    const entries = readRemoteHistory(ctx.deps, Number.MAX_SAFE_INTEGER)
      .filter((e) => (filter.jobType === undefined || e.job_type === filter.jobType) && (filter.createdSince === undefined || Date.parse(e.triggered_at) >= filter.createdSince))
      .slice(0, limit);
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
    const statuses = workspace.jobs.list(limit, filter);
    const filtered = Object.keys(filter).length > 0;
    if (statuses.length === 0 && limit > 0) ctx.ui.hint(filtered ? 'no jobs match' : 'no jobs yet: `nex-compound trigger decay_sweep --local --wait` runs one');
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
