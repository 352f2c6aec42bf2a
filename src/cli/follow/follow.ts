/**
 * Following jobs to their end, shared by `watch`, `trigger --wait`, `run` and `demo`: live
 * progress on stderr, warnings, the CI log group and annotations, and the outcome that decides
 * the exit code when several jobs end differently.
 */
import { DeadlinePassedError, InterruptedError, JobFailedError, KnownError, ServiceError, type ErrorKind } from '../../contract/errors.js';
import { lifecycleOf, type JobBackend, type JobStatus } from '../../contract/jobs.js';
import { formatDuration } from '../render/render.js';
import { isGithubActions } from '../ci/detect.js';
import type { CommandResult } from '../command.js';
import type { Context } from '../context.js';
import { createWatchReporter } from '../render/progress.js';
import { sameBackendFlags } from '../settings/backend.js';
import type { Settings } from '../settings/settings.js';
import { strictFailure, summarizeDetails, warningMessage } from './outcome.js';
import { watchJobs, type WatchResult } from './watch-loop.js';

export interface ObservePolicy {
  /** A success with warnings (Nexio's degraded) fails the run. */
  strict?: boolean;
  /** An absolute deadline (ms since the epoch) shared with other work; default now + the --timeout. */
  deadline?: number;
  /** The title of the Actions log group around the watch. */
  groupTitle?: string;
}

export interface Observed {
  /** Each job's last known state. */
  statuses: JobStatus[];
  /** Each job's failure, timeout or transport error, as the exit code sees it. */
  errors: KnownError[];
}

/** Follows jobs until each ends: live progress on stderr, warnings, and each job's outcome as data. */
export async function observeJobs(
  ctx: Context,
  backend: JobBackend,
  ids: readonly string[],
  settings: Settings,
  firstPollDelayMs: number,
  policy: ObservePolicy = {},
): Promise<Observed> {
  const { deps, ui } = ctx;
  const gha = isGithubActions(deps.env) ? new (await import('../ci/github.js')).GithubActions(deps.env, ui) : undefined;
  // Folded in the Actions log: a long watch's lines stay one click away instead of in the way.
  gha?.group(policy.groupTitle ?? `nex-compound: watching ${ids.length === 1 ? `job ${ids[0]}` : `${ids.length} jobs`}`);
  const reporter = await createWatchReporter(ui, ids, deps.now);
  const deadline = policy.deadline ?? (settings.timeoutMs > 0 ? deps.now() + settings.timeoutMs : undefined);
  const intervalMs = settings.intervalMs ?? backend.pollIntervalMs;
  let results: WatchResult[];
  try {
    results = await watchJobs(backend, ids, deps, {
      ...(deadline !== undefined ? { deadline } : {}),
      ...(intervalMs !== undefined ? { intervalMs } : {}),
      firstPollDelayMs: firstPollDelayMs > 0 && backend.pollIntervalMs !== undefined ? backend.pollIntervalMs : firstPollDelayMs,
      ...(deps.signal ? { signal: deps.signal } : {}),
      onChange: (status) => reporter.change(status),
      onPoll: (status) => reporter.poll(status),
      onWarning: (message) => reporter.warn(message),
    });
  } finally {
    reporter.stop();
    gha?.endGroup();
  }
  const strict = Boolean(policy.strict);
  const place: Place = { kind: backend.kind, flags: sameBackendFlags(ctx, settings, backend.kind), redact: (text) => ui.redact(text) };
  const statuses = results.map(finalStatus).filter((s): s is JobStatus => s !== undefined);
  const errors = results.map((r) => outcomeError(r, settings, strict, place)).filter((e): e is KnownError => e !== undefined);
  if (!strict) {
    for (const status of statuses) {
      const warning = warningMessage(status);
      if (warning) ui.warn(warning);
    }
  }
  return { statuses, errors };
}

/** Shared by `watch` and `trigger --wait`: follow jobs, then return their final states and the outcome. */
export async function followJobs(
  ctx: Context,
  backend: JobBackend,
  ids: readonly string[],
  settings: Settings,
  firstPollDelayMs: number,
  policy: { strict: boolean } = { strict: false },
): Promise<CommandResult> {
  const { deps, ui } = ctx;
  const { statuses, errors } = await observeJobs(ctx, backend, ids, settings, firstPollDelayMs, policy);
  if (isGithubActions(deps.env)) {
    const github = await import('../ci/github.js');
    github.reportJobs(new github.GithubActions(deps.env, ui), statuses, errors.map((e) => e.message));
  }
  const error = worstError(errors);
  if (error && errors.length > 1) {
    for (const other of errors) if (other !== error) ui.err(`${ui.errChalk.red('error:')} ${ui.clean(other.message)}`);
  }
  const data = ui.options.ndjson || statuses.length === 0 ? undefined : ({ kind: 'statuses', statuses } as const);
  return { ...(data ? { data } : {}), ...(error ? { error } : {}) };
}

function finalStatus(result: WatchResult): JobStatus | undefined {
  const { outcome } = result;
  return outcome.kind === 'completed' || outcome.kind === 'failed' ? outcome.status : outcome.last;
}

/** Where the watched jobs live, for follow-up commands that must reach them again. */
interface Place {
  kind: 'local' | 'remote';
  flags: string;
  redact: (text: string) => string;
}

function outcomeError(result: WatchResult, settings: Settings, strict: boolean, place: Place): KnownError | undefined {
  const { jobRunId, outcome } = result;
  const resume = `resume with: nex-compound watch ${jobRunId}${place.flags}`;
  switch (outcome.kind) {
    case 'completed':
      return strict ? strictFailure(outcome.status) : undefined;
    case 'failed': {
      const details = outcome.status.error_details;
      const reason = details ? summarizeDetails(details, place.redact) : 'no error_details given';
      const what = outcome.status.job_type ?? 'job';
      if (lifecycleOf(outcome.status).outcome === 'cancelled') {
        return new JobFailedError(`job ${jobRunId} (${what}) was cancelled (${outcome.status.status})${details ? `: ${reason}` : ''}`);
      }
      return new JobFailedError(`job ${jobRunId} (${what}) failed: ${reason}`);
    }
    case 'deadline':
      return new DeadlinePassedError(
        `the ${formatDuration(settings.timeoutMs)} deadline passed while job ${jobRunId} was ${outcome.last?.status ?? 'not yet seen'}; it may still be running`,
        `${resume} (raise --timeout, or 0 for none)`,
      );
    case 'interrupted': {
      const where = place.kind === 'local' ? "in the local engine's background worker" : 'on the server';
      return new InterruptedError(`interrupted; job ${jobRunId} keeps running ${where}${outcome.last ? ` (last seen ${lastSeen(outcome.last)})` : ''}`, resume);
    }
    case 'gave_up':
      return new ServiceError(`${outcome.error.message} — gave up after ${outcome.failures} consecutive failed polls`, `the job may still be running; ${resume}`);
    case 'error':
      return outcome.error;
  }
}

/** A job's last known state in a few words: its status, progress and stage. */
function lastSeen(status: JobStatus): string {
  const progress = status.progress !== undefined ? ` at ${Math.round(status.progress)}%` : '';
  return `${String(status.status)}${progress}${status.stage ? `, stage ${String(status.stage)}` : ''}`;
}

/** Which outcome decides the exit code when several jobs end differently. */
const PRECEDENCE: readonly ErrorKind[] = ['interrupted', 'auth', 'not_found', 'unavailable', 'deadline', 'job_failed'];

export function worstError(errors: readonly KnownError[]): KnownError | undefined {
  const rank = (e: KnownError) => {
    const index = PRECEDENCE.indexOf(e.kind);
    return index === -1 ? PRECEDENCE.length : index;
  };
  return [...errors].sort((a, b) => rank(a) - rank(b))[0];
}
