/**
 * How far the store has moved, for the caches of a long-running process (`serve`): a verified
 * key, a job's serialised status. SQLite tells each connection three things for the price of one
 * statement: data_version (moves when another connection commits), total_changes() (rows this
 * connection changed) and the schema cookie (moves when a restore copies a backup in — SQLite's
 * backup writes the old cookie plus one — or a migration or index rebuild runs).
 *
 * The statement runs at most once per event-loop turn: a server answering thousands of requests
 * a second pays for it once per batch of requests Node hands over together, not per request,
 * and a change committed by another process is still seen from the next turn on.
 */
import type { Database } from './db.js';

export interface StoreVersion {
  /** Moves whenever a row may have changed: a commit by any other connection, or a change by this one. */
  readonly changes: number;
  /**
   * Moves when the store was replaced (a restore) or its schema changed: the only ways a finished
   * job's status can differ afterwards (nothing else updates a completed or failed job's status fields).
   */
  readonly replacements: number;
}

const readers = new WeakMap<Database, () => StoreVersion>();

/** The connection's version reader, shared by every cache over the connection so they pay for one read per turn between them. */
export function storeVersion(db: Database): () => StoreVersion {
  let reader = readers.get(db);
  if (!reader) readers.set(db, (reader = versionReader(db)));
  return reader;
}

function versionReader(db: Database): () => StoreVersion {
  const statement = db.prepare('SELECT (SELECT data_version FROM pragma_data_version()), total_changes(), (SELECT schema_version FROM pragma_schema_version())').raw();
  let seen: [number, number, number] | undefined;
  let version: StoreVersion = { changes: 0, replacements: 0 };
  let fresh = false;
  const expire = () => {
    fresh = false;
  };
  return () => {
    if (fresh) return version;
    const [dataVersion, ownChanges, schemaVersion] = statement.get() as [number, number, number];
    if (seen && (seen[0] !== dataVersion || seen[1] !== ownChanges || seen[2] !== schemaVersion)) {
      version = { changes: version.changes + 1, replacements: version.replacements + (seen[2] === schemaVersion ? 0 : 1) };
    }
    seen = [dataVersion, ownChanges, schemaVersion];
    fresh = true;
    // The check phase comes after the poll phase whose I/O callbacks (the requests) ran: the next turn reads again.
    setImmediate(expire).unref();
    return version;
  };
}
