/**
 * The compounding pipeline in dependency order, each job triggered once the one before it has
 * completed, and the summary of what ran. Written against JobBackend, so it is the same on the
 * Nex API, `serve` and the local engine; `run` and `demo` share it.
 */
import { randomUUID } from 'node:crypto';
import type { ChalkInstance } from 'chalk';
import { DeadlinePassedError, KnownError } from '../../contract/errors.js';
import { JOB_TYPES, statusJson, type JobBackend, type JobStatus, type JobType } from '../../contract/jobs.js';
import type { Context } from '../context.js';
import { exitCodeOf } from '../exit-codes.js';
import { colorStatus, formatDuration, styled, type Rendered } from '../render/render.js';
import { sameBackendFlags } from '../settings/backend.js';
import type { Settings } from '../settings/settings.js';
import { observeJobs, worstError } from './follow.js';
import { sendTrigger } from './trigger.js';

/** Each job reads what the one before it wrote: merged insights, then patterns, then rules. */
export const PIPELINE_ORDER: readonly JobType[] = JOB_TYPES;

export interface PipelineOutcome {
  /** The final state of every job that was started, in pipeline order. */
  statuses: JobStatus[];
  /** Jobs never started because an earlier one did not complete. */
  skipped: JobType[];
  /** The first failure: it decides the exit code. */
  error?: KnownError;
}

export async function runPipeline(
  ctx: Context,
  backend: JobBackend,
  jobTypes: readonly JobType[],
  settings: Settings,
  options: { dryRun: boolean; strict: boolean },
): Promise<PipelineOutcome> {
  const { deps, ui } = ctx;
  // One deadline for the whole pipeline: a CI step's budget does not grow with the number of jobs.
  const deadline = settings.timeoutMs > 0 ? deps.now() + settings.timeoutMs : undefined;
  const statuses: JobStatus[] = [];
  const total = jobTypes.length;
  for (const [index, jobType] of jobTypes.entries()) {
    const step = `[${index + 1}/${total}] ${jobType}${options.dryRun ? ' (dry run)' : ''}`;
    if (deadline !== undefined && deps.now() >= deadline) {
      return {
        statuses,
        skipped: jobTypes.slice(index),
        error: new DeadlinePassedError(
          `the ${formatDuration(settings.timeoutMs)} deadline passed before ${jobType} was triggered`,
          `rerun the rest with: nex-compound run --jobs ${jobTypes.slice(index).join(',')}${sameBackendFlags(ctx, settings, backend.kind)} (raise --timeout, or 0 for none)`,
        ),
      };
    }
    let errors: KnownError[];
    try {
      const job = await sendTrigger(ctx, backend, settings, { job_type: jobType, dry_run: options.dryRun }, randomUUID());
      ui.info(`${step}: accepted as ${job.job_run_id}`);
      const observed = await observeJobs(ctx, backend, [job.job_run_id], settings, 1000, {
        strict: options.strict,
        ...(deadline !== undefined ? { deadline } : {}),
        groupTitle: `nex-compound run ${step}: job ${job.job_run_id}`,
      });
      statuses.push(...observed.statuses);
      errors = observed.errors;
    } catch (error) {
      // A trigger that failed (auth, unreachable, unknown outcome) ends the pipeline like a failed job.
      if (!(error instanceof KnownError)) throw error;
      errors = [error];
    }
    const error = worstError(errors);
    if (error) {
      const rest = jobTypes.slice(index + 1);
      if (rest.length) ui.info(`${step} did not complete: not starting ${rest.join(', ')}`);
      return { statuses, skipped: [...rest], error };
    }
  }
  return { statuses, skipped: [] };
}

/** One row per job: what ran, what it found and how long it took; skipped jobs are listed too. */
export function pipelineSummary(
  outcome: PipelineOutcome,
  dryRun: boolean,
  backend: 'local' | 'remote',
  chalk: ChalkInstance,
  extraJson: Record<string, unknown> = {},
): Rendered {
  return {
    kind: 'rows',
    columns: ['job_type', 'job_run_id', 'status', 'scanned', 'affected', 'candidates', 'errors', 'duration'],
    rows: [
      ...outcome.statuses.map((s) => ({
        job_type: s.job_type ?? '',
        job_run_id: s.job_run_id,
        status: styled(colorStatus(s, chalk)),
        scanned: s.insights_scanned,
        affected: s.insights_affected,
        candidates: s.candidates_created,
        errors: s.errors,
        duration: s.duration_ms !== undefined ? formatDuration(s.duration_ms) : '',
      })),
      ...outcome.skipped.map((jobType) => ({ job_type: jobType, job_run_id: '', status: styled(chalk.dim('skipped')) })),
    ],
    json: {
      ...extraJson,
      status: outcome.error ? 'failed' : 'completed',
      dry_run: dryRun,
      backend,
      jobs: outcome.statuses.map(statusJson),
      skipped: outcome.skipped,
      ...(outcome.error ? { error: { message: outcome.error.message, exit_code: exitCodeOf(outcome.error) } } : {}),
    },
  };
}
