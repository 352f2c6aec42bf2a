/**
 * Runs claimed jobs: dispatches to the job's implementation, keeps the lease alive
 * through progress reports, and completes or fails the job.
 */
import type { JobType } from '../../contract/jobs.js';
import { openDatabase, type Database } from '../store/db.js';
import { LeaseLostError, claimNextJob, completeJob, failJob, heartbeat, type JobRow } from './queue.js';
import type { JobImplementation, StageCount } from '../jobs/job.js';
import { runConsolidation } from '../jobs/consolidation/job.js';
import { runDecaySweep } from '../jobs/decay/job.js';
import { runMetrics } from '../jobs/metrics/job.js';
import { runPatternDetection } from '../jobs/patterns/job.js';
import { runPlaybookSynthesis } from '../jobs/playbook/job.js';

/** The jobs this engine runs. Jobs whose implementation has not landed fail with a clear message. */
export const IMPLEMENTATIONS: Partial<Record<JobType, JobImplementation>> = {
  consolidation: runConsolidation,
  decay_sweep: runDecaySweep,
  metrics: runMetrics,
  pattern_detection: runPatternDetection,
  playbook_synthesis: runPlaybookSynthesis,
};

/**
 * Page cache ceilings that differ from the worker's (JOB_CACHE_MIB). Consolidation reads each
 * page once while planning and writes in id order, so a large cache buys it little, while at
 * a million insights 256 MiB of cache would be a fifth of the run's peak memory. pattern_detection
 * reads the insights once, in rowid order, and writes a few hundred rows: at 100k insights the
 * whole store (~40 MB) would otherwise stay cached, a sixth of its peak, for no speed.
 */
const CACHE_MIB: Partial<Record<JobType, number>> = { consolidation: 32, pattern_detection: 8 };

export function implementedJobTypes(): JobType[] {
  return Object.keys(IMPLEMENTATIONS) as JobType[];
}

export interface RunnerOptions {
  db: Database;
  /**
   * A second connection for lease renewals and progress: the job's connection may be in the
   * middle of iterating a query, and a connection cannot write while it reads. Without one, a
   * connection to the same file is opened for the job (an in-memory database has no second).
   */
  leaseDb?: Database;
  workerId: string;
  leaseMs: number;
  now: () => number;
  /**
   * Fault-injection tests only (NEX_COMPOUND_JOB_SLOWDOWN_MS): each progress report
   * blocks this long, so a test can kill the worker mid-job deterministically.
   */
  slowdownMs?: number;
}

/** Claims and runs one job; returns it, or undefined when nothing was runnable. */
export async function runNextJob(options: RunnerOptions): Promise<JobRow | undefined> {
  const job = claimNextJob(options.db, options.workerId, options.now(), options.leaseMs);
  if (!job) return undefined;
  const cacheMiB = CACHE_MIB[job.job_type];
  if (cacheMiB === undefined) return runJob(options, job);
  const before = options.db.pragma('cache_size', { simple: true }) as number;
  options.db.pragma(`cache_size = -${cacheMiB * 1024}`);
  try {
    return await runJob(options, job);
  } finally {
    options.db.pragma(`cache_size = ${before}`);
  }
}

async function runJob(options: RunnerOptions, job: JobRow): Promise<JobRow> {
  if (options.leaseDb || options.db.memory) return runJobWith(options, job, options.leaseDb ?? options.db);
  const leaseDb = await openDatabase(options.db.name, { create: false });
  try {
    return await runJobWith(options, job, leaseDb);
  } finally {
    leaseDb.close();
  }
}

async function runJobWith(options: RunnerOptions, job: JobRow, leaseDb: Database): Promise<JobRow> {
  const { db, workerId, now } = options;
  const leaseMs = options.leaseMs;
  const implementation = IMPLEMENTATIONS[job.job_type];
  if (!implementation) {
    failJob(db, job, workerId, now(), { message: `the local engine cannot run ${job.job_type} jobs yet`, job_type: job.job_type });
    return job;
  }
  // A short lease (tests) is renewed as often as it needs.
  const gate = new ProgressGate(Math.min(PROGRESS_EVERY_MS, Math.max(50, Math.floor(leaseMs / 6))));
  try {
    const outcome = await implementation({
      db,
      job,
      params: job.params ? (JSON.parse(job.params) as Record<string, unknown>) : {},
      now: now(),
      progress: (percent, stage, count) => {
        if (options.slowdownMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, options.slowdownMs);
        const t = now();
        if (!gate.due(t, stage, percent) && !options.slowdownMs) return;
        if (!heartbeat(leaseDb, job, workerId, t, leaseMs, { progress: Math.max(0, Math.min(99, Math.round(percent))), stage: stageText(stage, count) })) {
          throw new LeaseLostError(job.job_run_id);
        }
      },
    });
    completeJob(db, job, workerId, now(), outcome.counts, outcome.apply, outcome.result);
  } catch (error) {
    if (error instanceof LeaseLostError) return job;
    failJob(db, job, workerId, now(), {
      message: error instanceof Error ? error.message : String(error),
      ...(error instanceof Error && error.name !== 'Error' ? { error: error.name } : {}),
    });
  }
  return job;
}

/**
 * How often a job's progress is written while a stage lasts. Each write is one UPDATE of the
 * job's row on the lease connection (~0.1 ms; WAL, synchronous = NORMAL: no fsync), so a few a
 * second cost nothing, and a watcher polling every second or two sees the counts move. The
 * same write renews the lease, which needs one only every lease/6.
 */
const PROGRESS_EVERY_MS = 250;

/** Whether a progress report is written: a new stage at once, the same stage at most every `everyMs`. */
export class ProgressGate {
  private last = -Infinity;
  private stage: string | undefined;

  constructor(private readonly everyMs: number) {}

  due(now: number, stage: string, percent: number): boolean {
    if (stage === this.stage && now - this.last < this.everyMs && percent < 100) return false;
    this.stage = stage;
    this.last = now;
    return true;
  }
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/** A stage as a watcher reads it: "signing 12,000/60,000", or the stage alone when it counts nothing. */
export function stageText(stage: string, count?: StageCount): string {
  return count ? `${stage} ${grouped(Math.min(count.done, count.total))}/${grouped(count.total)}` : stage;
}
