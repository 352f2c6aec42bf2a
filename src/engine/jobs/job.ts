import type { Database } from '../store/db.js';
import type { JobCounts, JobRow } from '../queue/queue.js';

/** What a job implementation gets from the runner. */
export interface JobContext {
  db: Database;
  job: JobRow;
  params: Record<string, unknown>;
  /** The moment the job runs; results depend on it, never on the wall clock inside the job. */
  now: number;
  /**
   * Reports progress (0–100) and the stage, with how far into it when the stage counts items
   * ("signing 12,000/60,000"); renews the lease. Cheap to call often: the runner writes at
   * most a few times a second, and at once when the stage changes.
   */
  progress(percent: number, stage: string, count?: StageCount): void;
}

/** How many of a stage's items are done. */
export interface StageCount {
  done: number;
  total: number;
}

/** A job computes everything first; `apply` writes it, inside the completion transaction. */
export interface JobOutcome {
  counts: JobCounts;
  apply?: () => void;
  result?: unknown;
}

export type JobImplementation = (ctx: JobContext) => JobOutcome | Promise<JobOutcome>;
