/**
 * Which job `status` and `watch` mean when given no id: `--latest`, the newest job of the backend
 * in use — the local workspace's newest job, or for the remote API the newest one this machine
 * triggered against the same base URL (the API has no listing of its own) — or, at a terminal,
 * the one picked from the recent ones.
 */
import { InterruptedError, NotFoundError, UsageError } from '../../contract/errors.js';
import type { Context } from '../context.js';
import { readRemoteHistory } from '../history.js';
import { canPick, pick } from '../picker.js';
import { relativeTime } from '../render/views.js';
import { chooseBackend, openLocalEngine } from '../settings/backend.js';
import type { Settings } from '../settings/settings.js';

/** How many recent jobs the picker offers, as `gh run watch` does. */
const PICKER_JOBS = 10;

interface RecentJob {
  job_run_id: string;
  job_type: string;
  /** The local engine's state; a remote job of the history is "triggered" (the history keeps no outcome). */
  status: string;
  /** When it was created or started (ms), if known. */
  since?: number;
}

/** The newest jobs of the backend in use, newest first. */
async function recentJobs(ctx: Context, settings: Settings, limit: number): Promise<RecentJob[]> {
  if (settings.provider.name !== 'nex') throw new UsageError(`--latest follows Nex jobs; for the ${settings.provider.title} pass the job id`);
  if (chooseBackend(ctx, settings) === 'remote') {
    const base = settings.baseUrl?.href;
    const entries = readRemoteHistory(ctx.deps, Number.MAX_SAFE_INTEGER).filter((entry) => entry.base_url === base);
    if (entries.length === 0) throw new NotFoundError(`no job was triggered from this machine against ${base ?? 'the remote API'}`, 'pass a job_run_id, or trigger one first');
    return entries.slice(0, limit).map((e) => ({ job_run_id: e.job_run_id, job_type: e.job_type, status: 'triggered', since: Date.parse(e.triggered_at) }));
  }
  const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
  try {
    const jobs = workspace.jobs.list(limit);
    if (jobs.length === 0) throw new NotFoundError(`no jobs yet in workspace ${workspace.id} of the local engine`, '`nex-compound trigger decay_sweep --local` starts one');
    return jobs.map((s) => ({ job_run_id: s.job_run_id, job_type: String(s.job_type ?? 'job'), status: String(s.status), ...(s.started_at ? { since: Date.parse(s.started_at) } : {}) }));
  } finally {
    engine.close();
  }
}

/** One picker line: id, type, status and age, in columns. */
function pickerLine(ctx: Context, job: RecentJob, typeWidth: number): string {
  const age = job.since !== undefined && !Number.isNaN(job.since) ? relativeTime(job.since, ctx.deps.now()) : '';
  return ctx.ui.clean(`${job.job_run_id}  ${job.job_type.padEnd(typeWidth)}  ${job.status.padEnd(9)}  ${age}`);
}

async function pickJob(ctx: Context, settings: Settings, verb: string): Promise<string> {
  const jobs = await recentJobs(ctx, settings, PICKER_JOBS);
  const typeWidth = Math.max(...jobs.map((j) => j.job_type.length));
  const title = `Which job to ${verb}? ↑/↓ or j/k to move, Enter to choose, Esc to cancel`;
  const chosen = await pick(ctx.deps, title, jobs.map((job) => pickerLine(ctx, job, typeWidth)));
  if (chosen === undefined) throw new InterruptedError('no job chosen', 'pass a job_run_id, or --latest for the newest one');
  return jobs[chosen]!.job_run_id;
}

/** The ids given, the latest job's, or at a terminal the one picked: undefined when ids were given. */
export async function jobIdsOrLatest(ctx: Context, settings: Settings, given: readonly string[], latest: boolean, verb = 'watch'): Promise<string[] | undefined> {
  if (latest && given.length > 0) throw new UsageError('give job ids or --latest, not both');
  if (latest) return [(await recentJobs(ctx, settings, 1))[0]!.job_run_id];
  if (given.length > 0) return undefined;
  if (settings.provider.name === 'nex' && canPick(ctx.deps)) return [await pickJob(ctx, settings, verb)];
  throw new UsageError('which job? pass a job_run_id, or --latest for the newest one', '`nex-compound jobs` lists them');
}
