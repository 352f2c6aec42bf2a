/**
 * The local engine's SQLite database: where it lives, how it is opened (WAL, busy
 * timeout), versioned migrations, and one-line errors for every way a file can be unusable.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { StorageError } from '../../contract/errors.js';
import { normalizeText } from '../text/normalize.js';

export type Database = BetterSqlite3.Database;

const BUSY_TIMEOUT_MS = 10_000;

/**
 * The unique index that makes an insight's normalized text its identity among active insights.
 * Migration 1 created it with exactly this statement; decay_sweep drops and recreates it when
 * it archives most of a store (test/engine/jobs/decay/decay.test.ts checks the two stay identical).
 */
export const ACTIVE_TEXT_INDEX = `CREATE UNIQUE INDEX insights_active_normalized ON insights (workspace_id, normalized_text) WHERE status = 'active'`;

/** Each entry moves the schema from version i to i + 1. Never edit a shipped entry; append. */
/** SQL, or a function for what SQL cannot say (a new text identity computed in JavaScript). */
const MIGRATIONS: ReadonlyArray<string | ((db: Database) => void)> = [
  `
  CREATE TABLE insights (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1,
    text TEXT NOT NULL,
    normalized_text TEXT NOT NULL,
    source TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    base_confidence REAL NOT NULL CHECK (base_confidence >= 0 AND base_confidence <= 1),
    reinforcement_count INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    last_reinforced_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'archived')),
    merged_into INTEGER REFERENCES insights(id)
  );
  CREATE UNIQUE INDEX insights_active_normalized ON insights (workspace_id, normalized_text) WHERE status = 'active';

  CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_run_id TEXT NOT NULL UNIQUE,
    workspace_id INTEGER NOT NULL,
    job_type TEXT NOT NULL,
    dry_run INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'running', 'completed', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    progress INTEGER NOT NULL DEFAULT 0,
    stage TEXT,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    insights_scanned INTEGER,
    insights_affected INTEGER,
    candidates_created INTEGER,
    errors INTEGER,
    error_details TEXT,
    params TEXT,
    result TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    completed_at INTEGER,
    duration_ms INTEGER
  );
  CREATE INDEX jobs_runnable ON jobs (workspace_id, status, seq);

  CREATE TABLE job_events (
    id INTEGER PRIMARY KEY,
    job_run_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT
  );
  CREATE INDEX job_events_job ON job_events (job_run_id, id);

  CREATE TABLE metrics_snapshots (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    job_run_id TEXT NOT NULL,
    taken_at INTEGER NOT NULL,
    snapshot TEXT NOT NULL
  );
  CREATE INDEX metrics_snapshots_workspace ON metrics_snapshots (workspace_id, taken_at);

  CREATE TABLE workers (
    worker_id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  `,
  // 2: consolidation's change log, so a run can be shown and reverted exactly.
  `
  CREATE TABLE insight_changes (
    id INTEGER PRIMARY KEY,
    job_run_id TEXT NOT NULL,
    insight_id INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('survivor', 'merged')),
    survivor_id INTEGER NOT NULL,
    similarity REAL,
    before TEXT NOT NULL,
    after TEXT NOT NULL
  );
  CREATE INDEX insight_changes_job ON insight_changes (job_run_id, id);
  CREATE INDEX insight_changes_insight ON insight_changes (insight_id, id);
  ALTER TABLE jobs ADD COLUMN reverted_at INTEGER;
  `,
  // 3: pattern_detection's patterns (upserted by key; members as a blob of ascending insight
  // ids, see patterns/idlist.ts) and
  // playbook_synthesis's rules (never deleted: deprecated when they no longer hold).
  `
  CREATE TABLE patterns (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    pattern_key TEXT NOT NULL,
    items TEXT NOT NULL,
    labels TEXT NOT NULL,
    size INTEGER NOT NULL,
    support INTEGER NOT NULL,
    members BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'stale')),
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (workspace_id, pattern_key)
  );
  CREATE TABLE playbook_rules (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    rule_key TEXT NOT NULL,
    antecedent TEXT NOT NULL,
    consequent TEXT NOT NULL,
    antecedent_labels TEXT NOT NULL,
    consequent_labels TEXT NOT NULL,
    text TEXT NOT NULL,
    support INTEGER NOT NULL,
    confidence REAL NOT NULL,
    lift REAL NOT NULL,
    source_patterns TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprecated')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deprecated_at INTEGER,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (workspace_id, rule_key),
    UNIQUE (workspace_id, rule_id)
  );
  `,
  // 4: serve's API keys (only a SHA-256 of each key is kept) and Idempotency-Keys of triggers.
  `
  CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE idempotency_keys (
    workspace_id INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    job_run_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, idempotency_key)
  ) WITHOUT ROWID;
  `,
  // 5: normalized text keeps a closing "+"/"#" run ("c++", "c#"). The new form only splits what
  // the old one joined (old = new with its edges stripped), so no two rows can collide.
  renormalizeNameSuffixes,
];

function renormalizeNameSuffixes(db: Database): void {
  const rows = db.prepare(`SELECT id, text, normalized_text FROM insights WHERE text GLOB '*[+#]*'`).all() as Array<{ id: number; text: string; normalized_text: string }>;
  const update = db.prepare('UPDATE insights SET normalized_text = ? WHERE id = ?');
  for (const row of rows) {
    const renormalized = normalizeText(row.text);
    if (renormalized !== row.normalized_text) update.run(renormalized, row.id);
  }
}

export const SCHEMA_VERSION = MIGRATIONS.length;

export function defaultDatabasePath(env: Readonly<Record<string, string | undefined>>, homedir: string): string {
  const dataHome = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(homedir, '.local', 'share');
  return path.join(dataHome, 'nex-compound', 'engine.db');
}

export interface OpenOptions {
  /** Create the file (and, for the default location, its directory) when missing. */
  create: boolean;
  /** Whether the path is the default one (its directory may be created). */
  isDefaultPath?: boolean;
  readonly?: boolean;
  /**
   * The caller only reads: when the file cannot be opened for writing (read-only media, a
   * file of another user), open it read-only instead of failing. Such a database is not
   * migrated, so it must already be of this version's schema.
   */
  readOnlyFallback?: boolean;
  /**
   * Page cache ceiling in MiB (SQLite's default is 2). Pages are allocated only as they are
   * read, so a high ceiling costs memory only on a database that large.
   */
  cacheMiB?: number;
}

/**
 * The job worker's page cache: a sweep over 1M insights touches ~130 MiB of table and index;
 * when that fits in cache, archiving (an index delete per row) stops spilling pages mid-transaction.
 */
export const JOB_CACHE_MIB = 256;

/** better-sqlite3 is loaded here, only by commands that use the local engine. */
export async function openDatabase(file: string, options: OpenOptions): Promise<Database> {
  const { default: Sqlite } = await import('better-sqlite3');
  return openDatabaseWith(Sqlite, file, options);
}

/**
 * Retries work that hit a lock SQLite's busy handler does not wait for: two processes opening
 * a new database at once race to switch it to WAL and to migrate it, and the loser gets
 * SQLITE_BUSY at once. Waits up to the busy timeout, as any other lock would.
 */
function untilFree<T>(work: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      return work();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const busy = typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
      if (!busy || Date.now() + delay > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
    }
  }
}

let addonPath: string | null | undefined;

/**
 * Where better-sqlite3's compiled addon is. Handing its path to the constructor skips the
 * `bindings` package's search, which stats candidate paths and reads a stack trace: 3–15 ms
 * of every local command on this VM. A build elsewhere (build/Debug) falls back to the search.
 */
function nativeAddon(): string | undefined {
  if (addonPath === undefined) {
    try {
      addonPath = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
    } catch {
      addonPath = null;
    }
  }
  return addonPath ?? undefined;
}

export function openDatabaseWith(Sqlite: typeof BetterSqlite3, file: string, options: OpenOptions): Database {
  try {
    return openForWriting(Sqlite, file, options);
  } catch (error) {
    if (!(options.readOnlyFallback && error instanceof StorageError && error.notWritable && existsSync(path.resolve(file)))) throw error;
    return openForReading(Sqlite, path.resolve(file));
  }
}

/** The file a database was opened from, where that is not its own name (a private snapshot of it). */
const snapshotOf = new WeakMap<Database, string>();

/** The database file as the user named it (resolved), also when what is open is a snapshot of it. */
export function databaseFile(db: Database): string {
  return snapshotOf.get(db) ?? db.name;
}

/**
 * A database that cannot be written here, opened to be read as it is. SQLite reads a WAL database
 * only where it can keep its shared-memory file beside it; in a read-only directory (read-only
 * media, a mounted backup) it cannot, so a private copy in the temporary directory is read instead.
 */
function openForReading(Sqlite: typeof BetterSqlite3, resolved: string): Database {
  const nativeBinding = nativeAddon();
  const open = (file: string) => new Sqlite(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS, ...(nativeBinding ? { nativeBinding } : {}) });
  let db: Database;
  try {
    db = open(resolved);
    db.pragma('user_version', { simple: true });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!(code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN'))) throw storageError(resolved, error);
    db = openSnapshot(open, resolved);
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) {
      throw new StorageError(
        `the database ${resolved} is read-only here and was written by ${version > SCHEMA_VERSION ? 'a newer' : 'an older'} nex-compound (schema ${version}; this version reads ${SCHEMA_VERSION})`,
        version > SCHEMA_VERSION ? 'upgrade nex-compound' : 'open it once where it can be written, so it is upgraded, or copy it to a writable place',
        { otherPathHelps: true },
      );
    }
  } catch (error) {
    db.close();
    if (error instanceof StorageError) throw error;
    throw storageError(resolved, error);
  }
  return db;
}

function openSnapshot(open: (file: string) => Database, resolved: string): Database {
  let dir: string | undefined;
  try {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-read-'));
    const copy = path.join(dir, path.basename(resolved));
    copyFileSync(resolved, copy);
    // Committed transactions not yet checkpointed live in the -wal file: the copy needs it too.
    if (existsSync(`${resolved}-wal`)) copyFileSync(`${resolved}-wal`, `${copy}-wal`);
    const db = open(copy);
    snapshotOf.set(db, resolved);
    const remove = dir;
    process.once('exit', () => rmSync(remove, { recursive: true, force: true }));
    return db;
  } catch (error) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw storageError(resolved, error, 'read-only here, and no private copy of it could be made to read');
  }
}

function openForWriting(Sqlite: typeof BetterSqlite3, file: string, options: OpenOptions): Database {
  const resolved = path.resolve(file);
  const dir = path.dirname(resolved);
  if (!existsSync(dir)) {
    if (options.isDefaultPath && options.create) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw storageError(resolved, error, 'cannot create its directory');
      }
    } else {
      throw new StorageError(`the database directory ${dir} does not exist`, 'create it', { otherPathHelps: true });
    }
  }
  if (existsSync(resolved) && statSync(resolved).isDirectory()) {
    throw new StorageError(`the database path ${resolved} is a directory`, undefined, { otherPathHelps: true });
  }
  const isNew = !existsSync(resolved);
  let db: Database;
  try {
    const nativeBinding = nativeAddon();
    db = new Sqlite(resolved, { fileMustExist: !options.create, timeout: BUSY_TIMEOUT_MS, readonly: options.readonly ?? false, ...(nativeBinding ? { nativeBinding } : {}) });
    // Insights are a company's private notes: owner-only, like the config file. The WAL and
    // shared-memory files SQLite creates next inherit this mode.
    if (isNew) chmodSync(resolved, 0o600);
  } catch (error) {
    throw storageError(resolved, error);
  }
  try {
    untilFree(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    if (options.cacheMiB) db.pragma(`cache_size = -${Math.round(options.cacheMiB * 1024)}`);
    untilFree(() => migrate(db, resolved));
  } catch (error) {
    db.close();
    if (error instanceof StorageError) throw error;
    throw storageError(resolved, error);
  }
  return db;
}

/** Brings an open database (one a restore just replaced, say) to this version's schema. */
export function migrateDatabase(db: Database): void {
  untilFree(() => migrate(db, db.name));
}

function migrate(db: Database, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new StorageError(
      `the database ${file} was written by a newer nex-compound (schema ${current}; this version knows ${SCHEMA_VERSION})`,
      'upgrade nex-compound',
      { otherPathHelps: true },
    );
  }
  if (current === SCHEMA_VERSION) return;
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const inside = db.pragma('user_version', { simple: true }) as number;
    for (let version = inside; version < SCHEMA_VERSION; version++) {
      const migration = MIGRATIONS[version]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function storageError(file: string, error: unknown, what?: string): StorageError {
  const code = (error as { code?: string } | undefined)?.code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  const otherPathHelps = { otherPathHelps: true };
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || /not a database|malformed/i.test(message)) {
    return new StorageError(`the database ${file} is corrupt or not a nex-compound database`, 'move it aside and start afresh', otherPathHelps);
  }
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EROFS') {
    return new StorageError(`the database ${file} is not writable`, 'fix its permissions', { ...otherPathHelps, notWritable: true });
  }
  if (code.startsWith('SQLITE_CANTOPEN') || /unable to open/i.test(message)) {
    return new StorageError(`cannot open the database ${file}${what ? `: ${what}` : ''} (${code || message})`, undefined, { ...otherPathHelps, notWritable: true });
  }
  if (code === 'SQLITE_FULL') return new StorageError(`the disk holding ${file} is full`, 'free some space and retry');
  if (code === 'SQLITE_BUSY') return new StorageError(`the database ${file} stayed locked for ${BUSY_TIMEOUT_MS / 1000}s`, 'another process holds it; retry when it finishes');
  return new StorageError(`the database ${file} cannot be used${what ? ` (${what})` : ''}: ${message}`, undefined, otherPathHelps);
}

/** SQLite's own failures (a full disk, a damaged page, a read-only file, a lock held too long) as the store's error kind. */
export function asStoreError(db: Database, error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  // A broken constraint is a bug of ours (exit 70), not a state of the store.
  return typeof code === 'string' && code.startsWith('SQLITE_') && !code.startsWith('SQLITE_CONSTRAINT') ? storageError(databaseFile(db), error) : error;
}
