/**
 * The insight store: add (or reinforce), list, show, export. Dates are stored as
 * milliseconds and shown as ISO 8601; tags are a JSON array.
 */
import { UsageError } from '../../contract/errors.js';
import type { Database } from './db.js';
import { normalizeText } from '../text/normalize.js';

export type InsightStatus = 'active' | 'merged' | 'archived';

export interface Insight {
  id: number;
  workspace_id: number;
  text: string;
  normalized_text: string;
  source: string | null;
  tags: string[];
  confidence: number;
  base_confidence: number;
  reinforcement_count: number;
  created_at: string;
  last_reinforced_at: string;
  status: InsightStatus;
  merged_into: number | null;
}

export interface InsightRow extends Omit<Insight, 'tags' | 'created_at' | 'last_reinforced_at'> {
  tags: string;
  created_at: number;
  last_reinforced_at: number;
}

export interface ExportRecord {
  id: number;
  text: string;
  source: string | null;
  tags: string[];
  confidence: number;
  base_confidence: number;
  reinforcement_count: number;
  status: InsightStatus;
  merged_into: number | null;
  created_at: string;
  last_reinforced_at: string;
}

export const MAX_TEXT_LENGTH = 10_000;
const DEFAULT_CONFIDENCE = 0.5;

function toInsight(row: InsightRow): Insight {
  return {
    ...row,
    tags: JSON.parse(row.tags) as string[],
    created_at: new Date(row.created_at).toISOString(),
    last_reinforced_at: new Date(row.last_reinforced_at).toISOString(),
  };
}

/**
 * One statement adds or reinforces: a new insight whose normalized text matches an active
 * one raises its count, its last_reinforced_at and (to the higher of the two) its base
 * confidence. The current confidence follows the base, since reinforcement refreshes it.
 */
export const INSIGHT_INSERT_COLUMNS =
  'workspace_id, text, normalized_text, source, tags, confidence, base_confidence, reinforcement_count, created_at, last_reinforced_at';

/** An insert that meets an active insight with the same normalized text reinforces it instead. */
export const REINFORCE_ON_CONFLICT = `
  ON CONFLICT (workspace_id, normalized_text) WHERE status = 'active' DO UPDATE SET
    reinforcement_count = reinforcement_count + excluded.reinforcement_count,
    last_reinforced_at = max(last_reinforced_at, excluded.last_reinforced_at),
    base_confidence = max(base_confidence, excluded.base_confidence),
    confidence = max(base_confidence, excluded.base_confidence)`;

const UPSERT_SQL = `
  INSERT INTO insights (${INSIGHT_INSERT_COLUMNS})
  VALUES (@workspace_id, @text, @normalized_text, @source, @tags, @confidence, @confidence, @reinforcement_count, @created_at, @last_reinforced_at)
  ${REINFORCE_ON_CONFLICT}
  RETURNING id, reinforcement_count`;

export interface NewInsight {
  workspaceId: number;
  text: string;
  source?: string;
  confidence?: number;
  tags?: string[];
  now: number;
}

function validateText(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw new UsageError('an insight needs a non-empty text');
  if (text.length > MAX_TEXT_LENGTH) throw new UsageError(`an insight's text is limited to ${MAX_TEXT_LENGTH.toLocaleString('en-US')} characters`);
  return text.trim();
}

function validateConfidence(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(`confidence must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function validateTags(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(/[;,]/) : value;
  if (!Array.isArray(list) || list.some((t) => typeof t !== 'string')) throw new UsageError('tags must be a list of strings');
  return [...new Set((list as string[]).map((t) => t.trim().toLowerCase()).filter(Boolean))];
}

export function addInsight(db: Database, input: NewInsight): { insight: Insight; reinforced: boolean } {
  const text = validateText(input.text);
  const confidence = validateConfidence(input.confidence ?? DEFAULT_CONFIDENCE);
  const tags = validateTags(input.tags ?? []);
  const upsert = db.prepare(UPSERT_SQL);
  const row = db
    .transaction(
      () =>
        upsert.get({
          workspace_id: input.workspaceId,
          text,
          normalized_text: normalizeText(text),
          source: input.source?.trim() || null,
          tags: JSON.stringify(tags),
          confidence,
          reinforcement_count: 1,
          created_at: input.now,
          last_reinforced_at: input.now,
        }) as { id: number; reinforcement_count: number },
    )
    .immediate();
  return { insight: getInsight(db, input.workspaceId, row.id)!, reinforced: row.reinforcement_count > 1 };
}

export function getInsight(db: Database, workspaceId: number, id: number): Insight | undefined {
  const row = db.prepare('SELECT * FROM insights WHERE workspace_id = ? AND id = ?').get(workspaceId, id) as InsightRow | undefined;
  return row ? toInsight(row) : undefined;
}

export function listInsights(
  db: Database,
  filter: { workspaceId: number; status?: InsightStatus; source?: string; search?: string; limit?: number },
): Insight[] {
  const where = ['workspace_id = @workspaceId'];
  if (filter.status) where.push('status = @status');
  if (filter.source) where.push('source = @source');
  if (filter.search) where.push(`instr(lower(text), lower(@search)) > 0`);
  const rows = db
    .prepare(`SELECT * FROM insights WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`)
    .all({ workspaceId: filter.workspaceId, status: filter.status, source: filter.source, search: filter.search, limit: filter.limit ?? 50 }) as InsightRow[];
  return rows.map(toInsight);
}

/** The insights merged into this one, and the one it was merged into. */
export function mergeHistory(db: Database, workspaceId: number, id: number): { merged_from: Insight[]; merged_into: Insight | null } {
  const from = (db.prepare('SELECT * FROM insights WHERE workspace_id = ? AND merged_into = ? ORDER BY id').all(workspaceId, id) as InsightRow[]).map(toInsight);
  const self = getInsight(db, workspaceId, id);
  const into = self?.merged_into ? getInsight(db, workspaceId, self.merged_into) ?? null : null;
  return { merged_from: from, merged_into: into };
}

export function* exportInsights(db: Database, workspaceId: number): IterableIterator<ExportRecord> {
  const rows = db
    .prepare(
      `SELECT id, text, source, tags, confidence, base_confidence, reinforcement_count, status, merged_into, created_at, last_reinforced_at
       FROM insights WHERE workspace_id = ? ORDER BY id`,
    )
    .iterate(workspaceId) as IterableIterator<InsightRow>;
  for (const row of rows) {
    yield {
      id: row.id,
      text: row.text,
      source: row.source,
      tags: JSON.parse(row.tags) as string[],
      confidence: row.confidence,
      base_confidence: row.base_confidence,
      reinforcement_count: row.reinforcement_count,
      status: row.status,
      merged_into: row.merged_into,
      created_at: new Date(row.created_at).toISOString(),
      last_reinforced_at: new Date(row.last_reinforced_at).toISOString(),
    };
  }
}

/** A workspace no insight belongs to yet: the highest in use plus one (the demo loads into it). */
export function unusedWorkspaceId(db: Database): number {
  return ((db.prepare('SELECT max(workspace_id) AS w FROM insights').get() as { w: number | null }).w ?? 0) + 1;
}
