/**
 * Whole-database copies through SQLite's online backup, as better-sqlite3 exposes it.
 *
 * A backup copies every page in one step, so it reads one snapshot: a worker writing meanwhile
 * (WAL lets it) neither blocks it nor restarts it, and the copy is the database as of one commit.
 * A restore is the same API run the other way, from the backup into the live file: SQLite writes
 * it as one transaction on the destination, so other connections see the old database or the new
 * one, never a mix, and a restore killed half way leaves the old one.
 */
import { chmodSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { RefusedError, StorageError } from '../../contract/errors.js';
import { SCHEMA_VERSION, migrateDatabase, type Database } from './db.js';

/** Pages per backup step: all of them, so the copy is taken within one read transaction. */
const ALL_PAGES = 0x7fffffff;

export interface BackupSummary {
  bytes: number;
  insights: number;
  jobs: number;
}

/** How much a database holds: what a backup or restore reports. */
export function counts(db: Database): Pick<BackupSummary, 'insights' | 'jobs'> {
  return {
    insights: db.prepare('SELECT count(*) FROM insights').pluck().get() as number,
    jobs: db.prepare('SELECT count(*) FROM jobs').pluck().get() as number,
  };
}

/** Writes a consistent copy of the whole database to `destination`, a path that does not exist yet. */
export async function backupDatabase(db: Database, destination: string): Promise<BackupSummary> {
  const progress = await db.backup(destination, { progress: () => ALL_PAGES });
  chmodSync(destination, 0o600);
  // One self-contained file: opened in WAL mode (the live database's), reading it would leave -wal and -shm files beside it.
  const { default: Sqlite } = await import('better-sqlite3');
  const copy = new Sqlite(destination, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  return { bytes: progress.totalPages * pageSize, ...counts(db) };
}

/** A backup file, opened read-only and checked: a nex-compound database, whole, of a schema this version reads. */
async function openBackup(file: string): Promise<Database> {
  const { default: Sqlite } = await import('better-sqlite3');
  let backup: BetterSqlite3.Database;
  try {
    backup = new Sqlite(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new StorageError(`cannot open the backup ${file}: ${(error as Error).message}`, 'pass a file written by `nex-compound backup`');
  }
  try {
    const version = backup.pragma('user_version', { simple: true }) as number;
    const tables = backup.prepare(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('insights', 'jobs')`).pluck().get() as number;
    if (version < 1 || tables !== 2) throw new StorageError(`${file} is not a nex-compound backup`, 'pass a file written by `nex-compound backup`');
    if (version > SCHEMA_VERSION) throw new StorageError(`the backup ${file} was written by a newer nex-compound (schema ${version}; this version knows ${SCHEMA_VERSION})`, 'upgrade nex-compound');
    const check = backup.pragma('quick_check(5)', { simple: false }) as Array<{ quick_check: string }>;
    if (!(check.length === 1 && check[0]!.quick_check === 'ok')) {
      throw new StorageError(`the backup ${file} is damaged: ${check.map((c) => c.quick_check).join('; ')}`, 'use another backup; the live database was not touched');
    }
    return backup;
  } catch (error) {
    backup.close();
    if (error instanceof StorageError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw new StorageError(`${file} is not a nex-compound backup (${code})`, 'pass a file written by `nex-compound backup`');
    throw error;
  }
}

/** Jobs a restore would drop while they wait or run: the restore waits for none, so it refuses. */
function openJobs(db: Database): Array<{ job_run_id: string; job_type: string; status: string }> {
  return db.prepare(`SELECT job_run_id, job_type, status FROM jobs WHERE status IN ('accepted', 'running') ORDER BY seq LIMIT 5`).all() as Array<{
    job_run_id: string;
    job_type: string;
    status: string;
  }>;
}

/**
 * Replaces the whole live database with a backup. Refuses while a job is queued or running
 * (it would vanish, or write into the restored store); the caller keeps a copy of the live
 * database first if it wants one. Jobs the backup caught unfinished run again once a worker starts.
 */
export async function restoreDatabase(db: Database, backupFile: string): Promise<Pick<BackupSummary, 'insights' | 'jobs'> & { unfinished: number }> {
  const backup = await openBackup(backupFile);
  try {
    const busy = openJobs(db);
    if (busy.length > 0) {
      const first = busy[0]!;
      throw new RefusedError(
        `cannot restore while ${first.job_type} job ${first.job_run_id} is ${first.status === 'accepted' ? 'queued' : 'running'}${busy.length > 1 ? ` (and ${busy.length - 1} more)` : ''}: the restore would drop it`,
        `wait for it: nex-compound watch ${first.job_run_id}`,
      );
    }
    await backup.backup(db.name, { progress: () => ALL_PAGES });
  } finally {
    backup.close();
  }
  // The backup may predate this version's schema; the live connection brings it up to date.
  migrateDatabase(db);
  const unfinished = db.prepare(`SELECT count(*) FROM jobs WHERE status IN ('accepted', 'running')`).pluck().get() as number;
  return { ...counts(db), unfinished };
}
