/**
 * `--latest` for status and watch: the newest job of the backend in use — the local workspace's
 * newest job, or for the remote API the newest one this machine triggered against the same base
 * URL (the API has no listing of its own).
 */
import { NotFoundError, UsageError } from '../../contract/errors.js';
import type { Context } from '../context.js';
import { readRemoteHistory } from '../history.js';
import { chooseBackend, openLocalEngine } from '../settings/backend.js';
import type { Settings } from '../settings/settings.js';

async function latestJobId(ctx: Context, settings: Settings): Promise<string> {
  if (settings.provider.name !== 'nex') throw new UsageError(`--latest follows Nex jobs; for the ${settings.provider.title} pass the job id`);
  if (chooseBackend(ctx, settings) === 'remote') {
    const base = settings.baseUrl?.href;
    const newest = readRemoteHistory(ctx.deps, Number.MAX_SAFE_INTEGER).find((entry) => entry.base_url === base);
    if (!newest) throw new NotFoundError(`no job was triggered from this machine against ${base ?? 'the remote API'}`, 'pass a job_run_id, or trigger one first');
    return newest.job_run_id;
  }
  const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
  try {
    const [newest] = workspace.jobs.list(1);
    if (!newest) throw new NotFoundError(`no jobs yet in workspace ${workspace.id} of the local engine`, '`nex-compound trigger decay_sweep --local` starts one');
    return newest.job_run_id;
  } finally {
    engine.close();
  }
}

/** The ids given, or the latest job's: exactly one of the two. */
export async function jobIdsOrLatest(ctx: Context, settings: Settings, given: readonly string[], latest: boolean): Promise<string[] | undefined> {
  if (latest && given.length > 0) throw new UsageError('give job ids or --latest, not both');
  if (!latest) {
    if (given.length === 0) throw new UsageError('which job? pass a job_run_id, or --latest for the newest one', '`nex-compound jobs` lists them');
    return undefined;
  }
  return [await latestJobId(ctx, settings)];
}
