/**
 * The bundled local engine as a JobBackend: jobs are recorded in SQLite and run by a
 * detached background worker, so trigger returns at once exactly like the remote API.
 */
import { NotFoundError } from '../../contract/errors.js';
import type { AcceptedJob, JobBackend, JobStatus, JobType, TriggerRequest } from '../../contract/jobs.js';
import { asStoreError, type Database } from '../store/db.js';
import { createJob, getJob, getJobResult, toJobStatus, type JobRow } from './queue.js';
import type { WorkerSupervisor } from './spawn.js';

/** How often a local watch polls: completion is seen well within 250 ms. */
const LOCAL_POLL_MS = 100;

export interface LocalBackendOptions {
  db: Database;
  dbPath: string;
  workspaceId: number;
  now: () => number;
  workers: WorkerSupervisor;
  /** Parameters recorded with each job of a type (decay settings, thresholds). */
  paramsFor?: (jobType: JobType) => Record<string, unknown> | undefined;
  /** What to do when a job is not found: the caller knows how its users choose a database. */
  notFoundHint?: string;
}

export function acceptedJob(row: JobRow): AcceptedJob {
  return { job_run_id: row.job_run_id, job_type: row.job_type, workspace_id: row.workspace_id, dry_run: row.dry_run === 1, status: 'accepted', success: true };
}

export class LocalBackend implements JobBackend {
  readonly description: string;
  readonly kind = 'local' as const;
  readonly pollIntervalMs = LOCAL_POLL_MS;

  constructor(private readonly options: LocalBackendOptions) {
    this.description = `local engine at ${options.dbPath} (workspace ${options.workspaceId})`;
  }

  async trigger(request: TriggerRequest): Promise<AcceptedJob> {
    const params = this.options.paramsFor?.(request.job_type);
    const row = this.stored(() =>
      createJob(this.options.db, {
        workspaceId: this.options.workspaceId,
        jobType: request.job_type,
        dryRun: request.dry_run,
        ...(params ? { params } : {}),
        now: this.options.now(),
      }),
    );
    this.stored(() => this.options.workers.ensureWorker(true));
    return acceptedJob(row);
  }

  async status(jobRunId: string): Promise<JobStatus> {
    this.stored(() => this.options.workers.ensureWorker(false));
    const row = this.stored(() => getJob(this.options.db, jobRunId));
    if (!row || row.workspace_id !== this.options.workspaceId) {
      throw new NotFoundError(`job ${jobRunId} not found in ${this.description}`, this.options.notFoundHint);
    }
    return toJobStatus(row);
  }

  async details(jobRunId: string): Promise<Record<string, unknown> | null> {
    await this.status(jobRunId);
    return this.stored(() => getJobResult(this.options.db, jobRunId) as Record<string, unknown> | null);
  }

  /** A step on the store: SQLite's own failures (a full disk…) as the store's error kind. */
  private stored<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      throw asStoreError(this.options.db, error);
    }
  }
}
