/**
 * Triggers that carry an Idempotency-Key (serve): within 24 hours the same key with the same
 * request answers the job it created; with another request it is a conflict.
 */
import { createHash } from 'node:crypto';
import type { JobType } from '../../contract/jobs.js';
import type { Database } from '../store/db.js';
import { createJob, getJob, type JobRow } from './queue.js';

const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface KeyedTrigger {
  workspaceId: number;
  jobType: JobType;
  dryRun: boolean;
  params?: Record<string, unknown>;
  idempotencyKey?: string;
  now: number;
}

export type KeyedTriggerOutcome = { job: JobRow; replay: boolean } | { conflict: true };

/** One IMMEDIATE transaction: two requests with one key cannot both create a job. */
export function triggerOnce(db: Database, request: KeyedTrigger): KeyedTriggerOutcome {
  const { workspaceId, idempotencyKey, now } = request;
  const requestHash = createHash('sha256').update(JSON.stringify({ job_type: request.jobType, dry_run: request.dryRun })).digest('hex');
  return db
    .transaction((): KeyedTriggerOutcome => {
      if (idempotencyKey !== undefined) {
        const seen = db
          .prepare('SELECT request_hash, job_run_id, created_at FROM idempotency_keys WHERE workspace_id = ? AND idempotency_key = ?')
          .get(workspaceId, idempotencyKey) as { request_hash: string; job_run_id: string; created_at: number } | undefined;
        if (seen && now - seen.created_at < IDEMPOTENCY_WINDOW_MS) {
          if (seen.request_hash !== requestHash) return { conflict: true };
          const job = getJob(db, seen.job_run_id);
          if (job) return { job, replay: true };
        }
      }
      const job = createJob(db, { workspaceId, jobType: request.jobType, dryRun: request.dryRun, ...(request.params ? { params: request.params } : {}), now });
      if (idempotencyKey !== undefined) {
        db.prepare(
          `INSERT INTO idempotency_keys (workspace_id, idempotency_key, request_hash, job_run_id, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (workspace_id, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash, job_run_id = excluded.job_run_id, created_at = excluded.created_at`,
        ).run(workspaceId, idempotencyKey, requestHash, job.job_run_id, now);
      }
      return { job, replay: false };
    })
    .immediate();
}
