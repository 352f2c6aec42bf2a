/**
 * `nex-compound run`: the compounding pipeline in dependency order, each job triggered once
 * the one before it has completed, one summary at the end, and the first failure's exit code.
 * The loop is written against JobBackend, so it is the same on the Nex API, `serve` and the
 * local engine; `demo` uses it too.
 */
import { randomUUID } from 'node:crypto';
import type { ChalkInstance } from 'chalk';
import { openBackend } from '../settings/backend.js';
import type { Context } from '../context.js';
import { CliError, DeadlinePassedError, UsageError } from '../../contract/errors.js';
import { resolveSettings, type Settings } from '../settings/settings.js';
import { formatDuration, parseJobType, parseNonNegativeInt } from '../../contract/parse.js';
import { isGithubActions } from '../ci/detect.js';
import { JOB_TYPES, statusJson, type JobBackend, type JobStatus, type JobType } from '../../contract/jobs.js';
import { colorStatus, type Rendered } from '../render/render.js';
import type { CommandResult } from '../command.js';
import { sendTrigger } from './trigger.js';
import { observeJobs, worstError, type FollowOptions } from './watch.js';

/** Each job reads what the one before it wrote: merged insights, then patterns, then rules. */
export const PIPELINE_ORDER: readonly JobType[] = JOB_TYPES;

export interface RunCommandOptions extends FollowOptions {
  dryRun?: boolean;
  jobs?: string;
  retries?: string;
}

export interface RunInput {
  jobTypes: JobType[];
  dryRun: boolean;
  strict: boolean;
  retries: number | undefined;
}

/** --jobs a,b picks a subset; the pipeline order is kept whatever order they are named in. */
export function parseRunInput(options: RunCommandOptions): RunInput {
  let jobTypes: JobType[] = [...PIPELINE_ORDER];
  if (options.jobs !== undefined) {
    const named = options.jobs.split(',').map((part) => part.trim()).filter(Boolean);
    if (named.length === 0) throw new UsageError('--jobs needs at least one job type', `e.g. --jobs ${PIPELINE_ORDER.slice(0, 2).join(',')}`);
    const chosen = new Set(named.map(parseJobType));
    jobTypes = PIPELINE_ORDER.filter((type) => chosen.has(type));
  }
  const retries = options.retries !== undefined ? parseNonNegativeInt(options.retries, '--retries') : undefined;
  return { jobTypes, dryRun: Boolean(options.dryRun), strict: Boolean(options.strict), retries };
}

export interface PipelineOutcome {
  /** The final state of every job that was started, in pipeline order. */
  statuses: JobStatus[];
  /** Jobs never started because an earlier one did not complete. */
  skipped: JobType[];
  /** The first failure: it decides the exit code. */
  error?: CliError;
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
          `rerun the rest with: nex-compound run --jobs ${jobTypes.slice(index).join(',')} (raise --timeout, or 0 for none)`,
        ),
      };
    }
    let errors: CliError[];
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
      if (!(error instanceof CliError)) throw error;
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

export async function runCommand(ctx: Context, options: RunCommandOptions): Promise<CommandResult> {
  const input = parseRunInput(options);
  const settings = await resolveSettings(ctx.globals, options, ctx.deps);
  const backend = await openBackend(ctx, settings, input.retries !== undefined ? { retries: input.retries } : {});
  const { deps, ui } = ctx;
  ui.info(`pipeline: ${input.jobTypes.join(' → ')}${input.dryRun ? ' (dry run: each job previews the data as it is now)' : ''}`);
  const outcome = await runPipeline(ctx, backend, input.jobTypes, settings, input);
  if (isGithubActions(deps.env)) {
    const github = await import('../ci/github.js');
    github.reportJobs(new github.GithubActions(deps.env, ui), outcome.statuses, outcome.error ? [outcome.error.message] : [], {
      perJob: true,
      title: `nex-compound run${input.dryRun ? ' (dry run)' : ''}`,
      skipped: outcome.skipped,
    });
  }
  const data = ui.options.ndjson ? undefined : pipelineSummary(outcome, input.dryRun, backend.kind, ui.outChalk);
  return { ...(data ? { data } : {}), ...(outcome.error ? { error: outcome.error } : {}) };
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
        status: colorStatus(s, chalk),
        scanned: s.insights_scanned,
        affected: s.insights_affected,
        candidates: s.candidates_created,
        errors: s.errors,
        duration: s.duration_ms !== undefined ? formatDuration(s.duration_ms) : '',
      })),
      ...outcome.skipped.map((jobType) => ({ job_type: jobType, job_run_id: '', status: chalk.dim('skipped') })),
    ],
    json: {
      ...extraJson,
      status: outcome.error ? 'failed' : 'completed',
      dry_run: dryRun,
      backend,
      jobs: outcome.statuses.map(statusJson),
      skipped: outcome.skipped,
      ...(outcome.error ? { error: { message: outcome.error.message, exit_code: outcome.error.exitCode } } : {}),
    },
  };
}
