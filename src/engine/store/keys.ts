/**
 * API keys for `serve`. A key is `nxk_` + 32 random bytes in base64url: with that much entropy a
 * plain SHA-256 is a sound way to store it (a slow password hash guards guessable secrets, and
 * would cost every request milliseconds). Only the hash is kept; the key is shown once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Scope } from '../../contract/scopes.js';
import type { StoreVersion } from './changes.js';
import type { Database } from './db.js';

export interface ApiKeyRow {
  key_id: string;
  workspace_id: number;
  scopes: Scope[];
  created_at: number;
  revoked_at: number | null;
}

const KEY_PREFIX = 'nxk_';
const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function createApiKey(db: Database, workspaceId: number, scopes: Scope[], now: number): { key: string; row: ApiKeyRow } {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const keyId = `key_${randomBytes(6).toString('hex')}`;
  db.prepare('INSERT INTO api_keys (key_id, workspace_id, key_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)').run(keyId, workspaceId, hashKey(key), JSON.stringify(scopes), now);
  return { key, row: { key_id: keyId, workspace_id: workspaceId, scopes, created_at: now, revoked_at: null } };
}

const toRow = (r: Omit<ApiKeyRow, 'scopes'> & { scopes: string }): ApiKeyRow => ({ ...r, scopes: JSON.parse(r.scopes) as Scope[] });

const COLUMNS = 'key_id, workspace_id, scopes, created_at, revoked_at';

export function listApiKeys(db: Database): ApiKeyRow[] {
  const rows = db.prepare(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, key_id`).all() as Array<Omit<ApiKeyRow, 'scopes'> & { scopes: string }>;
  return rows.map(toRow);
}

/** The revoked key, or undefined when there is no such key. Revoking twice keeps the first time. */
export function revokeApiKey(db: Database, keyId: string, now: number): ApiKeyRow | undefined {
  const changed = db.prepare('UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE key_id = ?').run(now, keyId).changes;
  if (changed === 0) return undefined;
  return toRow(db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE key_id = ?`).get(keyId) as Omit<ApiKeyRow, 'scopes'> & { scopes: string });
}

/** The active key a presented secret belongs to, or undefined (looked up by its hash: the secret itself is never compared). */
function verifyApiKey(db: Database, presented: string): ApiKeyRow | undefined {
  if (!presented.startsWith(KEY_PREFIX) || presented.length > 200) return undefined;
  const row = db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ?`).get(hashKey(presented)) as (Omit<ApiKeyRow, 'scopes'> & { scopes: string }) | undefined;
  return row && row.revoked_at === null ? toRow(row) : undefined;
}

/**
 * verifyApiKey for a server that sees the same key many times a second: verified keys are
 * remembered until the store moves (another connection commits, or this one changes a row), so
 * a revocation from another process is seen from the next event-loop turn on — the store's
 * version is read at most once per turn (./changes.ts). Unknown keys are never remembered.
 */
export function keyVerifier(db: Database, version: () => StoreVersion): (presented: string) => ApiKeyRow | undefined {
  const verified = new Map<string, ApiKeyRow>();
  let seenChanges: number | undefined;
  return (presented) => {
    const { changes } = version();
    if (changes !== seenChanges || verified.size > 1_000) {
      verified.clear();
      seenChanges = changes;
    }
    const hit = verified.get(presented);
    if (hit) return hit;
    const key = verifyApiKey(db, presented);
    if (key) verified.set(presented, key);
    return key;
  };
}
