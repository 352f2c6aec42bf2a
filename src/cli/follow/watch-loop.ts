/**
 * Following jobs to a terminal state, written once against JobBackend.
 * A watch reports the job's true outcome or a distinct deadline / unreachable
 * outcome; it never turns an unknown into a success.
 */
import { KnownError } from '../../contract/errors.js';
import { isAbortError } from '../../contract/abort.js';
import { TransientError } from '../../remote/transient.js';
import { fullJitterBackoff, pollDelay } from '../../contract/backoff.js';
import { isFailureOutcome } from '../../contract/lifecycle.js';
import { lifecycleOf, type JobBackend, type JobStatus } from '../../contract/jobs.js';

/** Consecutive failed polls of one job before a watch gives up with exit 6 (about 2–3 minutes of outage). */
const MAX_CONSECUTIVE_FAILURES = 30;

export interface WatchClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

export interface WatchOptions {
  /** Absolute deadline (ms since epoch), or undefined for none. */
  deadline?: number;
  /** Fixed poll period; adaptive backoff when undefined. */
  intervalMs?: number;
  /** Delay before the first poll: about 1 s right after a trigger, 0 for `watch`. */
  firstPollDelayMs: number;
  maxConsecutiveFailures?: number;
  signal?: AbortSignal;
  onChange?: (status: JobStatus) => void;
  onPoll?: (status: JobStatus) => void;
  onWarning?: (message: string) => void;
}

export type WatchOutcome =
  | { kind: 'completed'; status: JobStatus }
  | { kind: 'failed'; status: JobStatus }
  | { kind: 'deadline'; last?: JobStatus }
  | { kind: 'interrupted'; last?: JobStatus }
  /** The polls kept failing (MAX_CONSECUTIVE_FAILURES in a row): the job may still be running. */
  | { kind: 'gave_up'; error: KnownError; failures: number; last?: JobStatus }
  | { kind: 'error'; error: KnownError; last?: JobStatus };

export interface WatchResult {
  jobRunId: string;
  outcome: WatchOutcome;
}

async function watchJob(backend: JobBackend, jobRunId: string, clock: WatchClock, options: WatchOptions): Promise<WatchResult> {
  const maxFailures = options.maxConsecutiveFailures ?? MAX_CONSECUTIVE_FAILURES;
  let last: JobStatus | undefined;
  let polls = 0;
  let failures = 0;
  let delay = options.firstPollDelayMs;
  const unknownStates = new Set<string>();
  const done = (outcome: WatchOutcome): WatchResult => ({ jobRunId, outcome });

  for (;;) {
    if (options.signal?.aborted) return done({ kind: 'interrupted', ...(last ? { last } : {}) });
    if (options.deadline !== undefined) {
      const remaining = options.deadline - clock.now();
      if (remaining <= 0) return done({ kind: 'deadline', ...(last ? { last } : {}) });
      delay = Math.min(delay, remaining);
    }
    const requestSignal = deadlineSignal(options.signal, options.deadline, clock.now());
    try {
      if (delay > 0) await clock.sleep(delay, options.signal);
      const status = await backend.status(jobRunId, { retries: 0, ...(requestSignal ? { signal: requestSignal.signal } : {}) });
      failures = 0;
      options.onPoll?.(status);
      if (!last || changed(last, status)) options.onChange?.(status);
      last = status;
      const life = lifecycleOf(status);
      if (life.terminal) return done({ kind: isFailureOutcome(life.outcome) ? 'failed' : 'completed', status });
      if (life.state === 'unknown' && !unknownStates.has(String(status.status))) {
        // A state no mapping knows is never guessed into an outcome: poll on to the deadline.
        unknownStates.add(String(status.status));
        options.onWarning?.(`job ${jobRunId} is in state "${String(status.status)}", an unknown state for an outcome; polling on until it ends or the deadline passes`);
      }
      delay = options.intervalMs ?? pollDelay(polls, clock.random);
      polls++;
    } catch (error) {
      if (options.signal?.aborted) return done({ kind: 'interrupted', ...(last ? { last } : {}) });
      if (requestSignal?.expired() || (isAbortError(error) && options.deadline !== undefined && clock.now() >= options.deadline)) {
        return done({ kind: 'deadline', ...(last ? { last } : {}) });
      }
      if (error instanceof TransientError) {
        failures++;
        // A failure worth only so many tries (a name that does not resolve) ends the watch with its own words.
        if (error.final && error.maxRetries !== undefined && failures > error.maxRetries) return done({ kind: 'error', error: error.final, ...(last ? { last } : {}) });
        if (failures >= maxFailures) {
          return done({ kind: 'gave_up', error, failures, ...(last ? { last } : {}) });
        }
        delay = Math.max(error.retryAfterMs ?? 0, options.intervalMs ?? 0, fullJitterBackoff(failures - 1, clock.random, 1000));
        options.onWarning?.(`${error.message}; polling again in ${(delay / 1000).toFixed(1)}s (${failures} failed in a row, giving up at ${maxFailures})`);
        continue;
      }
      if (error instanceof KnownError) return done({ kind: 'error', error, ...(last ? { last } : {}) });
      throw error;
    } finally {
      requestSignal?.dispose();
    }
  }
}

export function watchJobs(backend: JobBackend, jobRunIds: readonly string[], clock: WatchClock, options: WatchOptions): Promise<WatchResult[]> {
  return Promise.all(jobRunIds.map((id) => watchJob(backend, id, clock, options)));
}

const WATCHED_FIELDS = ['status', 'insights_scanned', 'insights_affected', 'candidates_created', 'errors', 'progress', 'stage', 'attempts', 'reason'] as const;

export function changed(before: JobStatus, after: JobStatus): boolean {
  return WATCHED_FIELDS.some((field) => before[field] !== after[field]);
}

/** Aborts an in-flight poll when the watch deadline passes, so a hung request cannot outlive it. */
function deadlineSignal(parent: AbortSignal | undefined, deadline: number | undefined, now: number) {
  if (deadline === undefined) return undefined;
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort();
  }, Math.max(0, deadline - now));
  const onParentAbort = () => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    expired: () => expired,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
