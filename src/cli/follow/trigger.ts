/** Sending one trigger, shared by `trigger` and `run`. */
import { InterruptedError, KnownError, TriggerOutcomeUnknownError } from '../../contract/errors.js';
import { sameBackendFlags, shellWord } from '../settings/backend.js';
import { isAbortError } from '../../contract/abort.js';
import type { AcceptedJob, JobBackend, TriggerRequest } from '../../contract/jobs.js';
import type { Context } from '../context.js';
import type { Settings } from '../settings/settings.js';

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
    const retry = `nex-compound trigger ${request.job_type}${request.dry_run ? ' --dry-run' : ''} --idempotency-key ${shellWord(idempotencyKey)}${sameBackendFlags(ctx, settings, backend.kind)}`;
    if (deps.signal?.aborted && (isAbortError(error) || !(error instanceof KnownError))) {
      throw new InterruptedError(`interrupted before the trigger was answered; a job may or may not have been created (Idempotency-Key ${idempotencyKey})`, `retry safely with: ${retry}`);
    }
    if (error instanceof TriggerOutcomeUnknownError) {
      throw new TriggerOutcomeUnknownError(error.message, error.idempotencyKey, `${error.hint}: ${retry}`, { cause: error });
    }
    throw error;
  }
  // The local engine starts a job per trigger: only a server answers a resent key with an earlier job.
  job = { ...job, replayed: job.replayed === true };
  if (job.replayed) ui.info(`replayed by the server (same Idempotency-Key): job ${job.job_run_id} was created by an earlier request; nothing new was started`);
  if (backend.kind === 'remote') {
    const { recordRemoteJob } = await import('../history.js');
    const problem = recordRemoteJob(deps, job, settings.baseUrl?.href ?? '', settings.profile);
    if (problem) ui.warn(problem);
  }
  return job;
}
