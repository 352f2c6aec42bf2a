import type { Database } from '../store/db.js';
import type { JobCounts, JobRow } from '../queue/queue.js';

/** What a job implementation gets from the runner. */
export interface JobContext {
  db: Database;
  job: JobRow;
  params: Record<string, unknown>;
  /** The moment the job runs; results depend on it, never on the wall clock inside the job. */
  now: number;
  /** Reports progress (0–100) and renews the lease; cheap to call often. */
  progress(percent: number, stage: string): void;
}

/** A job computes everything first; `apply` writes it, inside the completion transaction. */
export interface JobOutcome {
  counts: JobCounts;
  apply?: () => void;
  result?: unknown;
}

export type JobImplementation = (ctx: JobContext) => JobOutcome | Promise<JobOutcome>;
