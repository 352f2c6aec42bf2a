/**
 * The local job queue in SQLite. A job is claimed in an IMMEDIATE transaction with a
 * lease the worker renews; a job whose worker died is re-claimed once the lease expires,
 * up to MAX_ATTEMPTS, and its changes commit atomically with its completion. A worker whose
 * process is still running keeps its job for a while past the lease (HUNG_AFTER_LEASES).
 * A workspace's jobs run one at a time, in trigger order.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JobStatus, JobType } from '../../contract/jobs.js';
import type { Database } from '../store/db.js';

const DEFAULT_LEASE_MS = 30_000;
export const MAX_ATTEMPTS = 3;
/**
 * How many lease periods past its expiry a job stays with an owner whose process is still
 * running. A worker starved of CPU (a loaded CI machine) misses heartbeats without being dead;
 * taking its job at once starts a second copy that competes for the same CPU, and the pair can
 * use up every attempt. A worker silent this long is presumed hung and loses the job anyway.
 */
export const HUNG_AFTER_LEASES = 4;

/** Whether the process with this pid is running; tests pass their own. */
export type ProcessProbe = (pid: number) => boolean;

/** Whether a process with this pid runs on this machine. A zombie (killed, not yet reaped) does not. */
export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) S …": comm may hold spaces or parentheses, the state follows the last ')'.
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

type Abandonment = 'owner gone' | 'owner hung';

/** Why a running job's lease lets another worker take it, or undefined while it does not. */
function abandonment(
  db: Database,
  job: Pick<JobRow, 'lease_owner' | 'lease_expires_at'>,
  now: number,
  lease: number,
  isRunning: ProcessProbe,
): Abandonment | undefined {
  const expires = job.lease_expires_at ?? 0;
  if (expires >= now) return undefined;
  if (expires < now - HUNG_AFTER_LEASES * lease) return 'owner hung';
  const owner = job.lease_owner === null ? undefined : (db.prepare('SELECT pid FROM workers WHERE worker_id = ?').get(job.lease_owner) as { pid: number } | undefined);
  return owner !== undefined && isRunning(owner.pid) ? undefined : 'owner gone';
}

/** Whether a running job's owner is gone (or hung) and its lease expired: a worker should take it. */
export function hasAbandonedJob(db: Database, now: number, lease: number, isRunning: ProcessProbe = processIsRunning): boolean {
  const expired = db
    .prepare(`SELECT lease_owner, lease_expires_at FROM jobs WHERE status = 'running' AND lease_expires_at < ?`)
    .all(now) as Array<Pick<JobRow, 'lease_owner' | 'lease_expires_at'>>;
  return expired.some((job) => abandonment(db, job, now, lease, isRunning) !== undefined);
}

export interface JobRow {
  seq: number;
  job_run_id: string;
  workspace_id: number;
  job_type: JobType;
  dry_run: number;
  status: 'accepted' | 'running' | 'completed' | 'failed';
  attempts: number;
  progress: number;
  stage: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  insights_scanned: number | null;
  insights_affected: number | null;
  candidates_created: number | null;
  errors: number | null;
  error_details: string | null;
  params: string | null;
  result: string | null;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  duration_ms: number | null;
  reverted_at: number | null;
}

/**
 * Every column but `result`, which a consolidation over a million insights fills with
 * megabytes of cluster details: status polls and listings never need it (see getJobResult).
 */
const JOB_COLUMNS =
  'seq, job_run_id, workspace_id, job_type, dry_run, status, attempts, progress, stage, lease_owner, lease_expires_at, insights_scanned, insights_affected, candidates_created, errors, error_details, params, NULL AS result, created_at, started_at, completed_at, duration_ms, reverted_at';

export function getJobResult(db: Database, jobRunId: string): unknown {
  const row = db.prepare('SELECT result FROM jobs WHERE job_run_id = ?').get(jobRunId) as { result: string | null } | undefined;
  return row?.result ? (JSON.parse(row.result) as unknown) : null;
}

export interface JobCounts {
  insights_scanned: number;
  insights_affected: number;
  candidates_created: number;
  errors: number;
}

export function leaseMs(env: Readonly<Record<string, string | undefined>>): number {
  const value = Number(env.NEX_COMPOUND_LEASE_MS);
  return Number.isFinite(value) && value >= 200 ? value : DEFAULT_LEASE_MS;
}

export function createJob(
  db: Database,
  input: { workspaceId: number; jobType: JobType; dryRun: boolean; params?: Record<string, unknown>; now: number },
): JobRow {
  const id = randomUUID();
  db.transaction(() => {
    db.prepare(
      `INSERT INTO jobs (job_run_id, workspace_id, job_type, dry_run, status, params, created_at, started_at)
       VALUES (?, ?, ?, ?, 'accepted', ?, ?, ?)`,
    ).run(id, input.workspaceId, input.jobType, input.dryRun ? 1 : 0, input.params ? JSON.stringify(input.params) : null, input.now, input.now);
    addEvent(db, id, input.now, 'accepted');
  }).immediate();
  return getJob(db, id)!;
}

/** Per connection: `serve` reads a job on every poll, and preparing costs more than the read. */
const getJobStatements = new WeakMap<Database, ReturnType<Database['prepare']>>();

export function getJob(db: Database, jobRunId: string): JobRow | undefined {
  let statement = getJobStatements.get(db);
  if (!statement) getJobStatements.set(db, (statement = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE job_run_id = ?`)));
  return statement.get(jobRunId) as JobRow | undefined;
}

export interface JobFilter {
  jobType?: string;
  status?: JobRow['status'];
  /** Only jobs created at or after this time (ms). */
  createdSince?: number;
}

export function listJobs(db: Database, options: { workspaceId?: number; limit: number } & JobFilter): JobRow[] {
  const where: string[] = [];
  if (options.workspaceId !== undefined) where.push('workspace_id = @workspaceId');
  if (options.jobType !== undefined) where.push('job_type = @jobType');
  if (options.status !== undefined) where.push('status = @status');
  if (options.createdSince !== undefined) where.push('created_at >= @createdSince');
  return db
    .prepare(`SELECT ${JOB_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`)
    .all({ workspaceId: options.workspaceId, jobType: options.jobType, status: options.status, createdSince: options.createdSince, limit: options.limit }) as JobRow[];
}

function addEvent(db: Database, jobRunId: string, at: number, kind: string, detail?: unknown): void {
  db.prepare('INSERT INTO job_events (job_run_id, at, kind, detail) VALUES (?, ?, ?, ?)').run(
    jobRunId,
    at,
    kind,
    detail === undefined ? null : JSON.stringify(detail),
  );
}

/**
 * Forgets workers whose process is gone, or that are silent past HUNG_AFTER_LEASES; returns
 * how many live ones remain. A worker busy with a long step may be late with its heartbeat.
 */
export function forgetGoneWorkers(db: Database, now: number, lease: number, isRunning: ProcessProbe = processIsRunning): number {
  const workers = db.prepare('SELECT worker_id, pid, heartbeat_at FROM workers').all() as Array<{ worker_id: string; pid: number; heartbeat_at: number }>;
  let live = 0;
  for (const worker of workers) {
    if (!isRunning(worker.pid) || now - worker.heartbeat_at > HUNG_AFTER_LEASES * lease) {
      db.prepare('DELETE FROM workers WHERE worker_id = ?').run(worker.worker_id);
    } else live++;
  }
  return live;
}

/** Jobs that a worker could run now: accepted ones, and running ones whose owner is gone (or hung) and lease expired. */
export function hasRunnableJobs(db: Database, now: number, lease: number, isRunning: ProcessProbe = processIsRunning): boolean {
  return db.prepare(`SELECT 1 FROM jobs WHERE status = 'accepted' LIMIT 1`).get() !== undefined || hasAbandonedJob(db, now, lease, isRunning);
}

/**
 * Claims the next job: per workspace, the oldest non-terminal job, unless it is held
 * by a live lease or by an owner that is still running (see HUNG_AFTER_LEASES).
 * A job that already used its attempts is failed instead.
 */
export function claimNextJob(db: Database, workerId: string, now: number, lease: number, isRunning: ProcessProbe = processIsRunning): JobRow | undefined {
  return db
    .transaction((): JobRow | undefined => {
      const open = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE status IN ('accepted', 'running') ORDER BY seq`).all() as JobRow[];
      const blocked = new Set<number>();
      const candidates: Array<{ job: JobRow; reason?: Abandonment }> = [];
      for (const job of open) {
        if (blocked.has(job.workspace_id)) continue;
        blocked.add(job.workspace_id);
        if (job.status !== 'running') candidates.push({ job });
        else {
          const reason = abandonment(db, job, now, lease, isRunning);
          if (reason) candidates.push({ job, reason });
        }
      }
      for (const { job, reason } of candidates) {
        if (job.attempts >= MAX_ATTEMPTS) {
          finish(db, job, now, 'failed', undefined, {
            message: `the worker running this job stopped ${job.attempts} times (killed, crashed or hung); giving up`,
            attempts: job.attempts,
          });
          continue;
        }
        if (job.status === 'running') addEvent(db, job.job_run_id, now, 'lease_expired', { owner: job.lease_owner, attempts: job.attempts, reason });
        db.prepare(
          `UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?, progress = 0, stage = 'starting'
           WHERE job_run_id = ?`,
        ).run(workerId, now + lease, job.job_run_id);
        addEvent(db, job.job_run_id, now, 'claimed', { worker: workerId, attempt: job.attempts + 1 });
        return getJob(db, job.job_run_id);
      }
      return undefined;
    })
    .immediate();
}

/** Renews the lease and records progress; false when the lease was lost to another worker. */
export function heartbeat(
  db: Database,
  job: Pick<JobRow, 'job_run_id'>,
  workerId: string,
  now: number,
  lease: number,
  progress?: { progress: number; stage: string },
): boolean {
  const result = db
    .prepare(
      `UPDATE jobs SET lease_expires_at = ?, progress = COALESCE(?, progress), stage = COALESCE(?, stage)
       WHERE job_run_id = ? AND lease_owner = ? AND status = 'running'`,
    )
    .run(now + lease, progress?.progress ?? null, progress?.stage ?? null, job.job_run_id, workerId);
  return result.changes === 1;
}

export class LeaseLostError extends Error {
  constructor(jobRunId: string) {
    super(`lost the lease on job ${jobRunId}: another worker re-claimed it`);
  }
}

/**
 * Completes the job and applies its changes in one IMMEDIATE transaction: either both
 * happen or neither does. A dry run applies nothing.
 */
export function completeJob(
  db: Database,
  job: JobRow,
  workerId: string,
  now: number,
  counts: JobCounts,
  apply: (() => void) | undefined,
  result?: unknown,
): void {
  db.transaction(() => {
    const current = getJob(db, job.job_run_id);
    if (!current || current.lease_owner !== workerId || current.status !== 'running') throw new LeaseLostError(job.job_run_id);
    if (!job.dry_run) apply?.();
    finish(db, current, now, 'completed', counts, undefined, result);
  }).immediate();
}

export function failJob(db: Database, job: JobRow, workerId: string, now: number, details: Record<string, unknown>): void {
  db.transaction(() => {
    const current = getJob(db, job.job_run_id);
    if (!current || current.lease_owner !== workerId || current.status !== 'running') return;
    finish(db, current, now, 'failed', undefined, details);
  }).immediate();
}

function finish(
  db: Database,
  job: JobRow,
  now: number,
  status: 'completed' | 'failed',
  counts: JobCounts | undefined,
  errorDetails?: Record<string, unknown>,
  result?: unknown,
): void {
  db.prepare(
    `UPDATE jobs SET status = ?, progress = ?, stage = ?, lease_owner = NULL, lease_expires_at = NULL,
       insights_scanned = ?, insights_affected = ?, candidates_created = ?, errors = ?,
       error_details = ?, result = ?, completed_at = ?, duration_ms = ?
     WHERE job_run_id = ?`,
  ).run(
    status,
    status === 'completed' ? 100 : job.progress,
    status === 'completed' ? 'done' : job.stage,
    counts?.insights_scanned ?? job.insights_scanned ?? 0,
    counts?.insights_affected ?? job.insights_affected ?? 0,
    counts?.candidates_created ?? job.candidates_created ?? 0,
    counts?.errors ?? (status === 'failed' ? Math.max(1, job.errors ?? 0) : 0),
    errorDetails ? JSON.stringify(errorDetails) : null,
    result === undefined ? null : JSON.stringify(result),
    now,
    Math.max(0, now - job.created_at),
    job.job_run_id,
  );
  addEvent(db, job.job_run_id, now, status, errorDetails);
}

/** The contract's status shape (optional fields omitted), plus the local progress, stage and attempts. */
export function toJobStatus(row: JobRow): JobStatus {
  const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
  const status: JobStatus = {
    job_run_id: row.job_run_id,
    job_type: row.job_type,
    workspace_id: row.workspace_id,
    status: row.status,
    dry_run: row.dry_run === 1,
    progress: row.progress,
    attempts: row.attempts,
  };
  if (row.stage) status.stage = row.stage;
  for (const field of ['insights_scanned', 'insights_affected', 'candidates_created', 'errors'] as const) {
    if (row[field] !== null) status[field] = row[field];
  }
  const started = iso(row.started_at ?? row.created_at);
  if (started) status.started_at = started;
  const completed = iso(row.completed_at);
  if (completed) status.completed_at = completed;
  if (row.duration_ms !== null) status.duration_ms = row.duration_ms;
  if (row.status === 'failed' && row.error_details) status.error_details = JSON.parse(row.error_details) as Record<string, unknown>;
  return status;
}
