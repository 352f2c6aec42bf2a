/**
 * The job-status APIs nex-compound follows (src/contract/seeds). A provider is a path template,
 * an auth header and a mapping of its states onto the common lifecycle; everything else —
 * retries, deadlines, rendering, exit codes — is shared. Kept free of heavy imports: settings
 * read the env and config names from here on every run.
 */
import { mapState, normalized, type LifecycleState } from '../contract/lifecycle.js';
import type { JobStatus } from '../contract/jobs.js';

import type { ProviderName } from '../contract/lifecycle.js';

export interface ProviderSpec {
  name: ProviderName;
  /** "the Julep API": used in messages. */
  title: string;
  /** Undefined where the seed names no public host (the jobs API is self-hosted). */
  defaultBaseUrl: string | undefined;
  keyEnv: string;
  baseUrlEnv: string;
  /** Config keys per profile. */
  keyConfig: 'api-key' | 'julep.api-key' | 'nexio.api-key' | 'jobs.api-key';
  baseUrlConfig: 'base-url' | 'julep.base-url' | 'nexio.base-url' | 'jobs.base-url';
  /** What the key is called in hints ("API key", "Bearer token"). */
  credential: string;
  /** Relative to the base URL. */
  statusPath(id: string): string;
  authorization(key: string): string;
  /** A fixed poll period the API asks for; adaptive polling when undefined. */
  pollIntervalMs?: number;
  /** Maps one answer; undefined when the body is not a job status of this API. */
  toStatus(raw: Record<string, unknown>, id: string, apiKey: string): JobStatus | undefined;
  /** Next step for a 404, which on these APIs also covers "not yours". */
  notFoundHint: string;
}

const bearer = (key: string) => `Bearer ${key.replace(/^Bearer\s+/i, '')}`;
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

function withLifecycle(provider: ProviderName, state: LifecycleState, raw: Record<string, unknown>, status: Omit<JobStatus, 'normalized' | 'raw'>): JobStatus {
  const out: JobStatus = { ...status, normalized: normalized(provider, state), raw };
  // Leave unset fields out entirely, so renderers and --ndjson see only what the API said.
  for (const key of Object.keys(out) as Array<keyof JobStatus>) if (out[key] === undefined) delete out[key];
  return out;
}

const NEX: ProviderSpec = {
  name: 'nex',
  title: 'Nex API',
  defaultBaseUrl: 'https://app.nex.ai/api/developers',
  keyEnv: 'NEX_API_KEY',
  baseUrlEnv: 'NEX_BASE_URL',
  keyConfig: 'api-key',
  baseUrlConfig: 'base-url',
  credential: 'API key',
  statusPath: (id) => `v1/compounding/jobs/${encodeURIComponent(id)}`,
  authorization: bearer,
  notFoundHint: 'check the job_run_id, and that the key belongs to the workspace that triggered it',
  toStatus(raw, id) {
    if (typeof raw.status !== 'string') return undefined;
    // Nex statuses are the domain type itself: no raw copy, the lifecycle is implied.
    return { ...(raw as Partial<JobStatus>), job_run_id: typeof raw.job_run_id === 'string' ? raw.job_run_id : id, status: raw.status } as JobStatus;
  },
};

/** Julep GET /jobs/{job_id} (seed 002, contracts/julep-job-status.openapi.yaml). */
const JULEP_STATES: Record<string, LifecycleState> = {
  pending: 'queued',
  in_progress: 'running',
  retrying: 'retrying',
  succeeded: 'succeeded',
  aborted: 'cancelled',
  failed: 'failed',
  unknown: 'unknown',
};

const JULEP: ProviderSpec = {
  name: 'julep',
  title: 'Julep API',
  defaultBaseUrl: 'https://api.julep.ai/api',
  keyEnv: 'JULEP_API_KEY',
  baseUrlEnv: 'JULEP_BASE_URL',
  keyConfig: 'julep.api-key',
  baseUrlConfig: 'julep.base-url',
  credential: 'API key',
  statusPath: (id) => `jobs/${encodeURIComponent(id)}`,
  // The contract's APIKeyHeader scheme: the key itself is the Authorization header's value.
  authorization: (key) => key,
  notFoundHint: 'check the job id, and that this API key can see it',
  toStatus(raw, id) {
    if (!('state' in raw) && !('id' in raw)) return undefined;
    // `state` defaults to pending in the contract, so an answer without it is a pending job.
    const state = raw.state === undefined ? 'pending' : raw.state;
    const life = mapState(JULEP_STATES, state);
    const reason = text(raw.reason);
    const progress = raw.has_progress === true ? num(raw.progress) : undefined;
    return withLifecycle('julep', life, raw, {
      job_run_id: text(raw.id) ?? id,
      job_type: text(raw.name),
      status: String(state),
      progress: progress === undefined ? undefined : Math.max(0, Math.min(100, progress)),
      reason,
      created_at: text(raw.created_at),
      completed_at: life === 'succeeded' || life === 'failed' || life === 'cancelled' ? text(raw.updated_at) : undefined,
      error_details: (life === 'failed' || life === 'cancelled') && reason ? { reason } : undefined,
    });
  },
};

/** The Bedrock-backed service's GET /api/jobs/:id (seed 003). */
const JOBS_STATES: Record<string, LifecycleState> = {
  pending: 'queued',
  processing: 'running',
  completed: 'succeeded',
  failed: 'failed',
};
/** "Number of processing attempts (max 3 retries)"; its failed example stops at attempts 3. */
const JOBS_API_MAX_ATTEMPTS = 3;

const JOBS: ProviderSpec = {
  name: 'jobs',
  title: 'jobs API',
  defaultBaseUrl: undefined,
  keyEnv: 'JOBS_API_TOKEN',
  baseUrlEnv: 'JOBS_API_URL',
  keyConfig: 'jobs.api-key',
  baseUrlConfig: 'jobs.base-url',
  credential: 'Bearer token (JWT)',
  statusPath: (id) => `api/jobs/${encodeURIComponent(id)}`,
  authorization: bearer,
  pollIntervalMs: 3_000,
  notFoundHint: 'check the job id: jobs are visible only to the user whose token created them',
  toStatus(raw, id) {
    if (typeof raw.status !== 'string') return undefined;
    let life = mapState(JOBS_STATES, raw.status);
    const attempts = num(raw.attempts);
    // A job back in PENDING or PROCESSING after a failed attempt is being retried.
    if ((life === 'queued' || life === 'running') && attempts !== undefined && attempts > 1) life = 'retrying';
    const started = text(raw.startedAt);
    const completed = text(raw.completedAt);
    const duration = started && completed ? Date.parse(completed) - Date.parse(started) : NaN;
    const error = text(raw.error);
    return withLifecycle('jobs', life, raw, {
      job_run_id: text(raw.id) ?? id,
      job_type: text(raw.type),
      status: raw.status,
      attempts,
      max_attempts: attempts !== undefined ? Math.max(JOBS_API_MAX_ATTEMPTS, attempts) : undefined,
      created_at: text(raw.createdAt),
      started_at: started,
      completed_at: completed,
      duration_ms: Number.isFinite(duration) && duration >= 0 ? duration : undefined,
      result: life === 'succeeded' && raw.result !== null ? raw.result : undefined,
      error,
      error_details: life === 'failed' ? { message: error ?? 'no error message given' } : undefined,
    });
  },
};

/** Nexio GET /api/v1/runs/{run_id} (seed 004). */
const NEXIO_STATES: Record<string, LifecycleState> = {
  queued: 'queued',
  processing: 'running',
  completed: 'succeeded',
  degraded: 'succeeded_with_warnings',
  failed: 'failed',
};

/** Nexio keys say their environment: nx_test_… sandbox, nx_live_… production. */
export function nexioEnvironment(key: string): 'test' | 'live' | undefined {
  const match = /^(?:Bearer\s+)?nx_(test|live)_/i.exec(key);
  return match ? (match[1]!.toLowerCase() as 'test' | 'live') : undefined;
}

const NEXIO: ProviderSpec = {
  name: 'nexio',
  title: 'Nexio API',
  defaultBaseUrl: 'https://api.usenexio.com',
  keyEnv: 'NEXIO_API_KEY',
  baseUrlEnv: 'NEXIO_BASE_URL',
  keyConfig: 'nexio.api-key',
  baseUrlConfig: 'nexio.base-url',
  credential: 'API key (nx_test_… or nx_live_…)',
  statusPath: (id) => `api/v1/runs/${encodeURIComponent(id)}`,
  authorization: bearer,
  notFoundHint: 'check the run id; an nx_test_ key sees only test runs and an nx_live_ key only live ones',
  toStatus(raw, id, apiKey) {
    if (typeof raw.status !== 'string') return undefined;
    const life = mapState(NEXIO_STATES, raw.status);
    const output = raw.output && typeof raw.output === 'object' ? (raw.output as Record<string, unknown>) : undefined;
    const error = text(raw.error);
    const details = raw.error_details && typeof raw.error_details === 'object' ? (raw.error_details as Record<string, unknown>) : undefined;
    return withLifecycle('nexio', life, raw, {
      job_run_id: text(raw.run_id) ?? id,
      status: raw.status,
      stage: text(raw.stage),
      environment: text(raw.environment) ?? nexioEnvironment(apiKey),
      engine_version: text(raw.engine_version),
      created_at: text(raw.created_at),
      completed_at: text(raw.completed_at),
      duration_ms: num(raw.duration_ms),
      error,
      warning: life === 'succeeded_with_warnings' ? (text(output?.degradation_reason) ?? 'degraded (no degradation_reason given)') : undefined,
      error_details: life === 'failed' ? { ...(error ? { message: error } : {}), ...(details ?? {}) } : undefined,
    });
  },
};

export const PROVIDERS: Readonly<Record<ProviderName, ProviderSpec>> = { nex: NEX, julep: JULEP, nexio: NEXIO, jobs: JOBS };
