import { JobFailedError, type KnownError } from '../../contract/errors.js';
import { lifecycleOf, type JobStatus } from '../../contract/jobs.js';

/** What a success with warnings says on stderr when --strict is not set. */
export function warningMessage(status: JobStatus): string | undefined {
  if (lifecycleOf(status).outcome !== 'succeeded_with_warnings') return undefined;
  return `job ${status.job_run_id} ${status.status}: ${status.warning ?? 'it succeeded with warnings'} (--strict makes this a failure)`;
}

/** With --strict, a success with warnings (Nexio's degraded) is a failure exit. */
export function strictFailure(status: JobStatus): KnownError | undefined {
  if (lifecycleOf(status).outcome !== 'succeeded_with_warnings') return undefined;
  return new JobFailedError(`job ${status.job_run_id} ended ${status.status}: ${status.warning ?? 'it succeeded with warnings'} (--strict)`, 'drop --strict to accept a success with warnings');
}
