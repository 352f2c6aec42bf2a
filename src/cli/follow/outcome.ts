/** How a job's end reads: a success with warnings, a failure's reason. */
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

/** A failed job's reason from its error_details: its message, or the details redacted, then cut. */
export function summarizeDetails(details: Record<string, unknown>, redact: (text: string) => string): string {
  const message = details.message ?? details.error ?? details.reason;
  if (typeof message === 'string' && message) return redact(message);
  const text = redact(JSON.stringify(details));
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
