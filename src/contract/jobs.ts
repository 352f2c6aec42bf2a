/** The domain types every backend returns: the Nex contract's snake_case shapes. */
import { NEX_STATES, mapState, normalized, type Normalized } from './lifecycle.js';

export const JOB_TYPES = [
  'consolidation',
  'pattern_detection',
  'playbook_synthesis',
  'decay_sweep',
  'metrics',
] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const JOB_STATUSES = ['accepted', 'running', 'completed', 'failed'] as const;
export type JobStatusValue = (typeof JOB_STATUSES)[number];

export interface TriggerRequest {
  job_type: JobType;
  dry_run: boolean;
}

export interface AcceptedJob {
  job_run_id: string;
  job_type: JobType;
  workspace_id?: number;
  dry_run: boolean;
  status: 'accepted';
  success?: boolean;
  /**
   * The server answered a resent Idempotency-Key with the job an earlier request created
   * (its `Idempotent-Replayed: true` header): nothing new was started.
   */
  replayed?: boolean;
}

export interface JobStatus {
  job_run_id: string;
  job_type?: JobType | string;
  workspace_id?: number;
  status: JobStatusValue | string;
  dry_run?: boolean;
  insights_scanned?: number;
  insights_affected?: number;
  candidates_created?: number;
  errors?: number;
  /** Other job APIs: when the job was created (Nex reports started_at only). */
  created_at?: string;
  started_at?: string;
  completed_at?: string;
  duration_ms?: number;
  error_details?: Record<string, unknown>;
  /** Local engine, Julep (when it has progress) and Nexio (stage). */
  progress?: number;
  stage?: string;
  attempts?: number;
  /** Other job APIs (--provider): what they say beyond Nex's fields. */
  max_attempts?: number;
  reason?: string;
  environment?: string;
  engine_version?: string;
  result?: unknown;
  error?: string;
  /** A success with a warning (Nexio's degraded): why. */
  warning?: string;
  /** Where the state maps in the common lifecycle; absent for Nex, whose states map implicitly. */
  normalized?: Normalized;
  /** The provider's object exactly as it answered; --json prints it with `normalized` added. */
  raw?: Record<string, unknown>;
}

/** Where a status sits in the common lifecycle. */
export function lifecycleOf(status: JobStatus): Normalized {
  return status.normalized ?? normalized('nex', mapState(NEX_STATES, status.status));
}

/** The JSON form of a status: a provider's raw object (Nex: ours) with the normalized fields added. */
export function statusJson(status: JobStatus): Record<string, unknown> {
  const { normalized: _n, raw, ...nex } = status;
  return { ...(raw ?? nex), normalized: lifecycleOf(status) };
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface TriggerOptions extends CallOptions {
  /** Sent as the Idempotency-Key header; generated when absent. */
  idempotencyKey?: string;
}

/**
 * What `trigger`, `status` and `watch` need from wherever jobs run.
 * The remote Nex API implements it now; the bundled local engine implements it too,
 * so `watch` is written once.
 */
export interface JobBackend {
  /** One line for stderr: which backend and host (or database) this run targets. */
  readonly description: string;
  readonly kind: 'local' | 'remote';
  /** A poll period suited to this backend (the local engine answers in microseconds). */
  readonly pollIntervalMs?: number;
  trigger(request: TriggerRequest, options?: TriggerOptions): Promise<AcceptedJob>;
  /** One status read. Transient failures are retried inside up to the backend's retry budget. */
  status(jobRunId: string, options?: CallOptions & { retries?: number }): Promise<JobStatus>;
  /** What a run found in detail (consolidation: its clusters and conflicts); the local engine only. */
  details?(jobRunId: string): Promise<Record<string, unknown> | null>;
}
