/** Reading the patterns pattern_detection stored, largest support first. */
import type { Database } from '../../store/db.js';
import { decodeIds } from './idlist.js';

export interface PatternRecord {
  id: number;
  items: string[];
  labels: string[];
  size: number;
  support: number;
  status: string;
  first_seen: string | null;
  last_seen: string | null;
  /** With `members`: the ids of the insights that hold the pattern. */
  member_ids?: number[];
  /** Two of its members, quoted: active ones first, the most confident first. */
  examples: Example[];
}

export interface Example {
  id: number;
  text: string;
}

/**
 * Up to `count` of the insights: active ones first (a member decay archived since is still one
 * the pattern held in), most confident first, then oldest id.
 */
export function examplesOf(db: Database, ids: readonly number[], count = 2): Example[] {
  if (ids.length === 0) return [];
  return db
    .prepare(`SELECT id, text FROM insights WHERE id IN (SELECT value FROM json_each(?)) ORDER BY status = 'active' DESC, confidence DESC, id LIMIT ?`)
    .all(JSON.stringify(ids), count) as Example[];
}

/** The member ids stored with a pattern (none if there is no such pattern). */
export function patternMembers(db: Database, patternId: number): number[] {
  const blob = db.prepare(`SELECT members FROM patterns WHERE id = ?`).pluck().get(patternId) as Buffer | undefined;
  return blob ? decodeIds(blob) : [];
}

interface PatternRow {
  id: number;
  items: string;
  labels: string;
  size: number;
  support: number;
  status: string;
  first_seen: number;
  last_seen: number;
  members: Buffer;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The workspace's patterns (active ones, or with `all` the stale ones too) and how many there are. */
export function listPatterns(
  db: Database,
  workspaceId: number,
  options: { all: boolean; limit: number; members: boolean },
): { total: number; patterns: PatternRecord[] } {
  const onlyActive = options.all ? '' : `AND status = 'active'`;
  const rows = db
    .prepare(
      `SELECT id, items, labels, size, support, status, first_seen, last_seen, members
       FROM patterns WHERE workspace_id = ? ${onlyActive}
       ORDER BY support DESC, items LIMIT ?`,
    )
    .all(workspaceId, options.limit) as PatternRow[];
  const total = db.prepare(`SELECT count(*) FROM patterns WHERE workspace_id = ? ${onlyActive}`).pluck().get(workspaceId) as number;
  const patterns = rows.map((r) => {
    const members = decodeIds(r.members);
    return {
    id: r.id,
    items: JSON.parse(r.items) as string[],
    labels: JSON.parse(r.labels) as string[],
    size: r.size,
    support: r.support,
    status: r.status,
    first_seen: iso(r.first_seen),
    last_seen: iso(r.last_seen),
    ...(options.members ? { member_ids: members } : {}),
    examples: examplesOf(db, members),
    };
  });
  return { total, patterns };
}
