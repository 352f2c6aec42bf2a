import { randomUUID } from 'node:crypto';
import { openBackend } from '../settings/backend.js';
import type { Context } from '../context.js';
import { InterruptedError, UsageError } from '../../contract/errors.js';
import { isAbortError } from '../deps.js';
import { resolveSettings, type Settings } from '../settings/settings.js';
import { parseJobType, parseNonNegativeInt } from '../../contract/parse.js';
import { isGithubActions } from '../ci/detect.js';
import type { AcceptedJob, JobBackend, TriggerRequest } from '../../contract/jobs.js';
import type { CommandResult } from '../command.js';
import type { FollowOptions } from './watch.js';

export interface TriggerCommandOptions extends FollowOptions {
  dryRun?: boolean;
  wait?: boolean;
  idempotencyKey?: string;
  retries?: string;
}

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{8,255}$/;

export function parseTriggerInput(jobTypeArg: string, options: TriggerCommandOptions) {
  const jobType = parseJobType(jobTypeArg);
  if (options.idempotencyKey !== undefined && !IDEMPOTENCY_KEY_RE.test(options.idempotencyKey)) {
    throw new UsageError('--idempotency-key must be 8–255 printable characters without spaces (a UUID is best)');
  }
  const retries = options.retries !== undefined ? parseNonNegativeInt(options.retries, '--retries') : undefined;
  return { jobType, dryRun: Boolean(options.dryRun), idempotencyKey: options.idempotencyKey ?? randomUUID(), retries };
}

export async function triggerCommand(ctx: Context, jobTypeArg: string, options: TriggerCommandOptions): Promise<CommandResult> {
  const input = parseTriggerInput(jobTypeArg, options);
  const settings = await resolveSettings(ctx.globals, options, ctx.deps);
  const backend = await openBackend(ctx, settings, input.retries !== undefined ? { retries: input.retries } : {});
  const { ui, deps } = ctx;
  const job = await sendTrigger(ctx, backend, settings, { job_type: input.jobType, dry_run: input.dryRun }, input.idempotencyKey);
  if (!options.wait) {
    if (isGithubActions(deps.env)) {
      const { GithubActions } = await import('../ci/github.js');
      new GithubActions(deps.env, ui).setOutputs({ job_run_id: job.job_run_id, status: job.status });
    }
    ui.hint(`follow it with: nex-compound watch ${job.job_run_id}`);
    return { data: { kind: 'accepted', job } };
  }
  ui.info(`accepted ${job.job_type} job ${job.job_run_id}${job.dry_run ? ' (dry run)' : ''}`);
  // Following a job loads the watch loop and its renderers; a plain trigger, the common CI step, does not.
  const { followJobs } = await import('./watch.js');
  return followJobs(ctx, backend, [job.job_run_id], settings, 1000);
}

/** One trigger: an interrupted request says how to retry safely; a remote job goes into the local history. */
export async function sendTrigger(
  ctx: Context,
  backend: JobBackend,
  settings: Settings,
  request: TriggerRequest,
  idempotencyKey: string,
): Promise<AcceptedJob> {
  const { ui, deps } = ctx;
  let job: AcceptedJob;
  try {
    job = await backend.trigger(request, { idempotencyKey, ...(deps.signal ? { signal: deps.signal } : {}) });
  } catch (error) {
    if (isAbortError(error) || deps.signal?.aborted) {
      throw new InterruptedError(
        `interrupted before the trigger was answered; a job may or may not have been created (Idempotency-Key ${idempotencyKey})`,
        `retry safely with: nex-compound trigger ${request.job_type}${request.dry_run ? ' --dry-run' : ''} --idempotency-key ${idempotencyKey}`,
      );
    }
    throw error;
  }
  if (backend.kind === 'remote') {
    const { recordRemoteJob } = await import('../history.js');
    const problem = recordRemoteJob(deps, job, settings.baseUrl?.href ?? '', settings.profile);
    if (problem) ui.warn(problem);
  }
  return job;
}
