/**
 * The bundled local engine as a JobBackend: jobs are recorded in SQLite and run by a
 * detached background worker, so trigger returns at once exactly like the remote API.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '../../contract/errors.js';
import type { AcceptedJob, JobBackend, JobStatus, TriggerRequest } from '../../contract/jobs.js';
import type { Database } from '../store/db.js';
import { HUNG_AFTER_LEASES, createJob, getJob, getJobResult, hasAbandonedJob, hasRunnableJobs, leaseMs, processIsRunning, toJobStatus } from './queue.js';

/** How often a local watch polls: completion is seen well within 250 ms. */
export const LOCAL_POLL_MS = 100;
const RESPAWN_GUARD_MS = 1_000;

export interface LocalBackendOptions {
  db: Database;
  dbPath: string;
  workspaceId: number;
  env: Readonly<Record<string, string | undefined>>;
  now: () => number;
  /** Parameters recorded with each job of a type (decay settings, thresholds). */
  paramsFor?: (jobType: TriggerRequest['job_type']) => Record<string, unknown> | undefined;
}

export class LocalBackend implements JobBackend {
  readonly description: string;
  readonly kind = 'local' as const;
  readonly pollIntervalMs = LOCAL_POLL_MS;
  private lastSpawn = 0;

  constructor(private readonly options: LocalBackendOptions) {
    this.description = `local engine at ${options.dbPath} (workspace ${options.workspaceId})`;
  }

  async trigger(request: TriggerRequest): Promise<AcceptedJob> {
    const params = this.options.paramsFor?.(request.job_type);
    const row = createJob(this.options.db, {
      workspaceId: this.options.workspaceId,
      jobType: request.job_type,
      dryRun: request.dry_run,
      ...(params ? { params } : {}),
      now: this.options.now(),
    });
    this.ensureWorker(true);
    return { job_run_id: row.job_run_id, job_type: row.job_type, workspace_id: row.workspace_id, dry_run: row.dry_run === 1, status: 'accepted', success: true };
  }

  async status(jobRunId: string): Promise<JobStatus> {
    this.ensureWorker(false);
    const row = getJob(this.options.db, jobRunId);
    if (!row || row.workspace_id !== this.options.workspaceId) {
      throw new NotFoundError(`job ${jobRunId} not found in ${this.description}`, 'check the job_run_id, --db and --workspace; `nex-compound jobs --local` lists the jobs');
    }
    return toJobStatus(row);
  }

  async details(jobRunId: string): Promise<Record<string, unknown> | null> {
    await this.status(jobRunId);
    return getJobResult(this.options.db, jobRunId) as Record<string, unknown> | null;
  }

  /**
   * Starts a worker when jobs are waiting and no live worker would take them: after a
   * trigger, or when a killed worker's lease has expired (re-claim).
   */
  ensureWorker(afterTrigger: boolean): void {
    const now = this.options.now();
    if (now - this.lastSpawn < RESPAWN_GUARD_MS) return;
    const { db } = this.options;
    const lease = leaseMs(this.options.env);
    if (!hasRunnableJobs(db, now, lease)) return;
    const workers = db.prepare('SELECT worker_id, pid, heartbeat_at FROM workers').all() as Array<{ worker_id: string; pid: number; heartbeat_at: number }>;
    let live = 0;
    for (const worker of workers) {
      // A worker busy with a long step may be late with its heartbeat; only a gone or hung one is forgotten.
      if (!processIsRunning(worker.pid) || now - worker.heartbeat_at > HUNG_AFTER_LEASES * lease) {
        db.prepare('DELETE FROM workers WHERE worker_id = ?').run(worker.worker_id);
      } else live++;
    }
    // A live worker picks up new jobs by itself; accepted jobs waiting behind a busy one need no second worker.
    if (live > 0 && afterTrigger) return;
    if (live > 0 && !hasAbandonedJob(db, now, lease)) return;
    this.lastSpawn = now;
    spawnWorker(this.options.dbPath, this.options.env);
  }
}

export function spawnWorker(dbPath: string, env: Readonly<Record<string, string | undefined>>): number | undefined {
  const self = fileURLToPath(import.meta.url);
  // Under the test runner the sources are TypeScript run through tsx; built, they are plain JS.
  const fromSource = self.endsWith('.ts');
  const script = fileURLToPath(new URL(`./worker.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const args = fromSource ? ['--import', 'tsx', script, '--db', dbPath] : [script, '--db', dbPath];
  let log: number | 'ignore' = 'ignore';
  try {
    log = openSync(`${dbPath}.worker.log`, 'a', 0o600);
  } catch {
    log = 'ignore';
  }
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'ignore', log],
    env: { ...(env as NodeJS.ProcessEnv) },
  });
  child.unref();
  if (typeof log === 'number') closeSync(log);
  return child.pid;
}
