/**
 * The local engine's one front door. Everything above the engine — the CLI, `serve` — opens a
 * database here and works through what it returns; nothing above reaches into the engine's
 * modules or speaks SQL. It knows nothing of flags, terminals or exit codes: failures are the
 * contract's error kinds.
 *
 * What a trigger, a status poll and key checks need is loaded with this module; everything else
 * (insights, the importer, patterns, the playbook, metrics, revert, keyed triggers) when first
 * used, which is why those methods return promises: a local trigger or status stays cheap to start.
 */
import type { AcceptedJob, JobStatus, JobType } from '../contract/jobs.js';
import type { Scope } from '../contract/scopes.js';
import type { PatternRecord } from './jobs/patterns/store.js';
import type { RuleRecord } from './jobs/playbook/store.js';
import type { MetricsSnapshot } from './jobs/metrics/job.js';
import { LocalBackend, acceptedJob } from './queue/local-backend.js';
import { getJob, listJobs, toJobStatus, type JobFilter } from './queue/queue.js';
import { WorkerSupervisor } from './queue/spawn.js';
import { asStoreError, databaseFile, openDatabase, type Database } from './store/db.js';
import type { ExportRecord, Insight, InsightStatus, NewInsight } from './store/insights.js';
import type { ApiKeyRow } from './store/keys.js';
import type { StoreVersion } from './store/changes.js';
import type { StoreCheck } from './store/doctor.js';
import type { BackupSummary } from './store/backup.js';
import type { ImportInput, ImportOptions, ImportSummary } from './store/import/import.js';
import type { RestoreSummary } from './store/import/restore.js';
import type { RevertResult } from './jobs/consolidation/revert.js';

export { defaultDatabasePath } from './store/db.js';
export type { ApiKeyRow, BackupSummary, StoreVersion, JobFilter, StoreCheck, ExportRecord, ImportInput, ImportSummary, RestoreSummary, Insight, InsightStatus, MetricsSnapshot, PatternRecord, RevertResult, RuleRecord };

export interface EngineOptions {
  /** Create the file (and, for the default location, its directory) when missing. */
  create: boolean;
  /** Whether the path is the default one (its directory may be created). */
  isDefaultPath?: boolean;
  /** The caller only reads: a database that cannot be written here is opened read-only instead of refused. */
  readOnlyFallback?: boolean;
  /** The environment handed to background workers (and the lease setting read from it). */
  env: Readonly<Record<string, string | undefined>>;
  now: () => number;
}

/** An open engine database. Close it when done; background workers carry on without it. */
export interface Engine {
  /** The database file, resolved. */
  readonly path: string;
  /** Opened read-only (readOnlyFallback): reads work, writes fail as the store's error. */
  readonly readOnly: boolean;
  workspace(id: number): Workspace;
  /** A workspace no insight belongs to yet. */
  unusedWorkspaceId(): Promise<number>;
  /** SQLite's integrity check and the store's own invariants: what is wrong, if anything. */
  check(): Promise<StoreCheck>;
  /** How many insights (of every workspace) and jobs the database holds. */
  counts(): Promise<{ insights: number; jobs: number }>;
  /** A consistent copy of the whole database (every workspace, jobs, keys) at `destination`, a path that must not exist yet. */
  backup(destination: string): Promise<BackupSummary>;
  /**
   * Replaces the whole database with a backup, in one transaction; refuses while a job is queued
   * or running. Jobs the backup caught unfinished are handed to a worker.
   */
  restore(backupFile: string): Promise<Pick<BackupSummary, 'insights' | 'jobs'> & { unfinished: number }>;
  /** Starts a background worker when queued or abandoned jobs need one. */
  ensureWorker(afterTrigger: boolean): void;
  /**
   * How far the store has moved, for a server's caches: read from SQLite at most once per
   * event-loop turn, so another process's commit shows from the next turn on. A completed or
   * failed job's status stays as it is until `replacements` moves (a restore).
   */
  versionReader(): Promise<() => StoreVersion>;
  keys: {
    create(workspaceId: number, scopes: Scope[]): Promise<{ key: string; row: ApiKeyRow }>;
    list(): Promise<ApiKeyRow[]>;
    /** The revoked key, or undefined when there is none by that id. */
    revoke(keyId: string): Promise<ApiKeyRow | undefined>;
    /**
     * A check of presented secrets for a server: it answers synchronously with the active key a
     * secret belongs to (cached until the store moves; see versionReader).
     */
    verifier(): Promise<(presented: string) => ApiKeyRow | undefined>;
  };
  close(): void;
}

export interface TriggerInput {
  jobType: JobType;
  dryRun: boolean;
  params?: Record<string, unknown>;
  idempotencyKey?: string;
}

/** What one workspace of the engine holds and runs. */
export interface Workspace {
  readonly id: number;
  /** The workspace's jobs as a JobBackend (trigger, status, details), as `watch` follows them. */
  backend(options?: { paramsFor?: (jobType: JobType) => Record<string, unknown> | undefined; notFoundHint?: string }): LocalBackend;
  jobs: {
    /** Newest first; `filter` narrows by type, status and creation time. */
    list(limit: number, filter?: JobFilter): JobStatus[];
    /** The job's status, or undefined when this workspace has no such job. */
    find(jobRunId: string): JobStatus | undefined;
    /** Records a job once per Idempotency-Key (24 hours); a key reused with another request is a conflict. */
    trigger(input: TriggerInput): Promise<{ job: AcceptedJob; replay: boolean } | { conflict: true }>;
  };
  insights: {
    add(input: Omit<NewInsight, 'workspaceId' | 'now'>): Promise<{ insight: Insight; reinforced: boolean }>;
    import(source: ImportInput, options: Omit<ImportOptions, 'workspaceId' | 'now'>): Promise<ImportSummary>;
    /** Reads an export back exactly (ids, statuses, merge links) into this workspace, which must be empty; all or nothing. */
    restore(source: AsyncIterable<Buffer | string>, options?: { onProgress?: (linesRead: number) => void }): Promise<RestoreSummary>;
    list(filter: { status?: InsightStatus; source?: string; search?: string; limit?: number }): Promise<Insight[]>;
    get(id: number): Promise<Insight | undefined>;
    history(id: number): Promise<{ merged_from: Insight[]; merged_into: Insight | null }>;
    export(): Promise<IterableIterator<ExportRecord>>;
  };
  patterns: {
    list(options: { all: boolean; limit: number; members: boolean }): Promise<{ total: number; patterns: PatternRecord[] }>;
  };
  playbook: {
    list(options: { all: boolean }): Promise<RuleRecord[]>;
  };
  metrics: {
    /** The latest snapshots, oldest first. */
    recent(limit: number): Promise<MetricsSnapshot[]>;
  };
  /** Undoes a consolidation run exactly, or refuses (naming what changed its insights since). */
  revert(jobRunId: string): Promise<RevertResult>;
}

export async function openEngine(file: string, options: EngineOptions): Promise<Engine> {
  const db = await openDatabase(file, { create: options.create, isDefaultPath: options.isDefaultPath ?? false, readOnlyFallback: options.readOnlyFallback ?? false });
  return engineOver(db, options);
}

/** The job types this engine runs (all of the contract's today). */
export async function implementedJobTypes(): Promise<JobType[]> {
  return (await import('./queue/runner.js')).implementedJobTypes();
}

const store = () => import('./store/insights.js');

/** Rows read lazily: a store failing halfway (a damaged page, a disk error) is the store's error kind. */
function* storeErrors<T>(db: Database, rows: IterableIterator<T>): IterableIterator<T> {
  try {
    yield* rows;
  } catch (error) {
    throw asStoreError(db, error);
  }
}

/** Every method of a facet, its SQLite failures turned into the store's error kind. */
function guarded<T extends object>(db: Database, facet: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(facet)) {
    out[name] = (...args: unknown[]) => {
      try {
        const result: unknown = (method as (...a: unknown[]) => unknown)(...args);
        return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(asStoreError(db, error))) : result;
      } catch (error) {
        throw asStoreError(db, error);
      }
    };
  }
  return out as T;
}
const keys = () => import('./store/keys.js');
const versions = () => import('./store/changes.js');

function engineOver(db: Database, options: EngineOptions): Engine {
  const { now } = options;
  const workers = new WorkerSupervisor(db, db.name, options.env, now);
  const workspaces = new Map<number, Workspace>();
  const engine: Engine = {
    path: databaseFile(db),
    readOnly: db.readonly,
    workspace(id) {
      let workspace = workspaces.get(id);
      if (!workspace) workspaces.set(id, (workspace = workspaceOver(db, id, workers, now)));
      return workspace;
    },
    unusedWorkspaceId: async () => (await store()).unusedWorkspaceId(db),
    ensureWorker: (afterTrigger) => workers.ensureWorker(afterTrigger),
    versionReader: async () => (await versions()).storeVersion(db),
    // The whole database's facets: SQLite's own failures become the store's error kind, as in every facet.
    ...guarded(db, {
      counts: async () => (await import('./store/backup.js')).counts(db),
      backup: async (destination: string) => (await import('./store/backup.js')).backupDatabase(db, destination),
      restore: async (backupFile: string) => {
        const restored = await (await import('./store/backup.js')).restoreDatabase(db, backupFile);
        if (restored.unfinished > 0) workers.ensureWorker(false);
        return restored;
      },
      check: async () => (await import('./store/doctor.js')).checkStore(db),
    }),
    keys: {
      create: async (workspaceId, scopes) => (await keys()).createApiKey(db, workspaceId, scopes, now()),
      list: async () => (await keys()).listApiKeys(db),
      revoke: async (keyId) => (await keys()).revokeApiKey(db, keyId, now()),
      verifier: async () => (await keys()).keyVerifier(db, (await versions()).storeVersion(db)),
    },
    close: () => db.close(),
  };
  return engine;
}

function workspaceOver(db: Database, workspaceId: number, workers: WorkerSupervisor, now: () => number): Workspace {
  return {
    id: workspaceId,
    backend: (options = {}) => new LocalBackend({ db, dbPath: db.name, workspaceId, now, workers, ...options }),
    jobs: guarded(db, {
      list: (limit: number, filter: JobFilter = {}) => listJobs(db, { ...filter, workspaceId, limit }).map(toJobStatus),
      find(jobRunId) {
        const row = getJob(db, jobRunId);
        return row && row.workspace_id === workspaceId ? toJobStatus(row) : undefined;
      },
      async trigger(input) {
        const { triggerOnce } = await import('./queue/idempotency.js');
        const outcome = triggerOnce(db, { workspaceId, ...input, now: now() });
        if ('conflict' in outcome) return outcome;
        if (!outcome.replay) workers.ensureWorker(true);
        return { job: acceptedJob(outcome.job), replay: outcome.replay };
      },
    }),
    insights: guarded(db, {
      add: async (input) => (await store()).addInsight(db, { ...input, workspaceId, now: now() }),
      import: async (source, options) => (await import('./store/import/import.js')).importInsights(db, source, { ...options, workspaceId, now: now() }),
      restore: async (source, options = {}) => (await import('./store/import/restore.js')).restoreInsights(db, source, { ...options, workspaceId }),
      list: async (filter) => (await store()).listInsights(db, { ...filter, workspaceId }),
      get: async (id) => (await store()).getInsight(db, workspaceId, id),
      history: async (id) => (await store()).mergeHistory(db, workspaceId, id),
      export: async () => storeErrors(db, (await store()).exportInsights(db, workspaceId)),
    }),
    patterns: guarded(db, { list: async (options: { all: boolean; limit: number; members: boolean }) => (await import('./jobs/patterns/store.js')).listPatterns(db, workspaceId, options) }),
    playbook: guarded(db, { list: async (options: { all: boolean }) => (await import('./jobs/playbook/store.js')).listRules(db, workspaceId, options) }),
    metrics: guarded(db, { recent: async (limit: number) => (await import('./jobs/metrics/job.js')).recentSnapshots(db, workspaceId, limit) }),
    revert: async (jobRunId) => {
      try {
        return (await import('./jobs/consolidation/revert.js')).revertConsolidation(db, workspaceId, jobRunId, now());
      } catch (error) {
        throw asStoreError(db, error);
      }
    },
  };
}
