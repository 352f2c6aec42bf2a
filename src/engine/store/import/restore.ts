/**
 * `insights import --restore`: an export read back as the store held it. Every field of every
 * record is taken as written — id, status, merged_into, base and current confidence, counts,
 * dates, tags in their order — so exporting the restored workspace gives the same bytes.
 *
 * A restore is all or nothing: it runs in one transaction into an empty workspace and commits
 * only when every line is valid and the merge links close (each merged insight's chain ends on an
 * insight of the file that is not merged). Plain import stays "add these insights".
 *
 * Ids are the store's identity for merge links and `insights show`; they are kept. A database
 * whose other workspaces already hold insights shares one id space with them, so there every id
 * is shifted by the highest id in use (merge links follow) and the caller is told.
 */
import { RefusedError } from '../../../contract/errors.js';
import type { Database } from '../db.js';
import { MAX_TEXT_LENGTH, type InsightStatus } from '../insights.js';
import { normalizeText } from '../../text/normalize.js';
import { BadLine, LineSplitter, type LineFault } from './rows.js';
import { MAX_REPORTED, type ImportSummary } from './import.js';

export interface RestoreOptions {
  workspaceId: number;
  onProgress?: (linesRead: number) => void;
}

export interface RestoreSummary extends Pick<ImportSummary, 'lines' | 'skipped' | 'errors' | 'written'> {
  restored: number;
  /** Added to every id because other workspaces of the database use the ids (0: ids kept). */
  idOffset: number;
}

interface RestoredRow {
  id: number;
  text: string;
  normalized_text: string;
  source: string | null;
  tags: string;
  confidence: number;
  base_confidence: number;
  reinforcement_count: number;
  created_at: number;
  last_reinforced_at: number;
  status: InsightStatus;
  merged_into: number | null;
}

/** The fields `insights export` writes; anything else would be dropped, so it is refused. */
const EXPORT_FIELDS = new Set(['id', 'text', 'source', 'tags', 'confidence', 'base_confidence', 'reinforcement_count', 'status', 'merged_into', 'created_at', 'last_reinforced_at']);
const STATUSES: readonly InsightStatus[] = ['active', 'merged', 'archived'];
/** Longer merge chains than this are taken for a loop (real chains grow by one per consolidation run). */
const MAX_CHAIN = 10_000;

/** With the u flag a surrogate pair is one code point, so this finds only lone surrogates. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function wellFormed(value: string, field: string): string {
  if (LONE_SURROGATE.test(value)) throw new BadLine(`"${field}" is not valid Unicode (it holds a lone surrogate)`);
  return value;
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new BadLine(`"${field}" must be a positive integer`);
  return value;
}

function unitNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) throw new BadLine(`"${field}" must be a number from 0 to 1`);
  return value;
}

function isoDate(value: unknown, field: string): number {
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new BadLine(`"${field}" must be an ISO 8601 date, as export writes it`);
  return ms;
}

/** One exported record, checked field by field; nothing is trimmed, lower-cased or defaulted. */
export function toRestoredRow(record: Record<string, unknown>): RestoredRow {
  for (const name of Object.keys(record)) if (!EXPORT_FIELDS.has(name)) throw new BadLine(`unknown field "${name.slice(0, 40)}": a restore reads what \`insights export\` writes`);
  for (const name of EXPORT_FIELDS) if (!(name in record)) throw new BadLine(`missing "${name}": a restore needs every field \`insights export\` writes`);
  const { text, source, tags, status, merged_into: mergedInto } = record;
  if (typeof text !== 'string' || text.trim() === '') throw new BadLine('"text" must be a non-empty string');
  if (text.length > MAX_TEXT_LENGTH) throw new BadLine(`"text" is longer than ${MAX_TEXT_LENGTH} characters`);
  if (source !== null && typeof source !== 'string') throw new BadLine('"source" must be a string or null');
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw new BadLine('"tags" must be a list of strings');
  if (typeof status !== 'string' || !(STATUSES as readonly string[]).includes(status)) throw new BadLine(`"status" must be one of ${STATUSES.join(', ')}`);
  const merged = status === 'merged';
  if (merged !== (mergedInto !== null)) throw new BadLine(merged ? 'a merged insight needs "merged_into"' : `an ${status} insight cannot have a "merged_into"`);
  for (const tag of tags as string[]) wellFormed(tag, 'tags');
  const createdAt = isoDate(record.created_at, 'created_at');
  return {
    id: positiveInteger(record.id, 'id'),
    text: wellFormed(text, 'text'),
    normalized_text: normalizeText(text),
    source: source === null ? null : wellFormed(source as string, 'source'),
    tags: JSON.stringify(tags),
    confidence: unitNumber(record.confidence, 'confidence'),
    base_confidence: unitNumber(record.base_confidence, 'base_confidence'),
    reinforcement_count: positiveInteger(record.reinforcement_count, 'reinforcement_count'),
    created_at: createdAt,
    last_reinforced_at: isoDate(record.last_reinforced_at, 'last_reinforced_at'),
    status: status as InsightStatus,
    merged_into: merged ? positiveInteger(mergedInto, 'merged_into') : null,
  };
}

const INSERT_SQL = `INSERT INTO insights (id, workspace_id, text, normalized_text, source, tags, confidence, base_confidence, reinforcement_count, created_at, last_reinforced_at, status, merged_into)
  VALUES (@id, @workspace_id, @text, @normalized_text, @source, @tags, @confidence, @base_confidence, @reinforcement_count, @created_at, @last_reinforced_at, @status, @merged_into)`;

/** Writes each valid line; a line SQLite refuses (a repeated id, a second active copy of a text) is a bad line. */
class RestoreWriter {
  private readonly insert;
  private readonly activeWithText;

  constructor(
    db: Database,
    private readonly workspaceId: number,
    private readonly idOffset: number,
  ) {
    this.insert = db.prepare(INSERT_SQL);
    this.activeWithText = db.prepare(`SELECT id FROM insights WHERE workspace_id = ? AND normalized_text = ? AND status = 'active'`).pluck();
  }

  write(row: RestoredRow): void {
    const id = row.id + this.idOffset;
    try {
      this.insert.run({ ...row, id, merged_into: row.merged_into === null ? null : row.merged_into + this.idOffset, workspace_id: this.workspaceId });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new BadLine(`id ${row.id} appears twice in the file`);
      if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const other = this.activeWithText.get(this.workspaceId, row.normalized_text) as number | undefined;
        throw new BadLine(`an active insight with the same text is already in the file (id ${other === undefined ? '?' : other - this.idOffset})`);
      }
      throw error;
    }
  }
}

/** Merged insights whose chain does not end, within the workspace, on an insight that is not merged. */
function brokenMergeLinks(db: Database, workspaceId: number): Array<{ id: number; merged_into: number }> {
  return db
    .prepare(
      `WITH RECURSIVE chain (start, target, depth) AS (
         SELECT id, merged_into, 1 FROM insights WHERE workspace_id = @ws AND status = 'merged'
         UNION ALL
         SELECT chain.start, i.merged_into, chain.depth + 1 FROM chain JOIN insights i ON i.id = chain.target
         WHERE i.workspace_id = @ws AND i.status = 'merged' AND chain.depth < ${MAX_CHAIN}
       )
       SELECT i.id, i.merged_into FROM insights i WHERE i.workspace_id = @ws AND i.status = 'merged' AND NOT EXISTS (
         SELECT 1 FROM chain JOIN insights t ON t.id = chain.target
         WHERE chain.start = i.id AND t.workspace_id = @ws AND t.status != 'merged'
       ) ORDER BY i.id LIMIT ${MAX_REPORTED}`,
    )
    .all({ ws: workspaceId }) as Array<{ id: number; merged_into: number }>;
}

export async function restoreInsights(db: Database, input: AsyncIterable<Buffer | string>, options: RestoreOptions): Promise<RestoreSummary> {
  const summary: RestoreSummary = { lines: 0, restored: 0, skipped: 0, errors: [], written: false, idOffset: 0 };
  const bad = (line: number, message: string) => {
    summary.skipped++;
    if (summary.errors.length < MAX_REPORTED) summary.errors.push({ line, message });
  };
  db.prepare('BEGIN IMMEDIATE').run();
  try {
    const held = db.prepare('SELECT count(*) FROM insights WHERE workspace_id = ?').pluck().get(options.workspaceId) as number;
    if (held > 0) {
      throw new RefusedError(
        `workspace ${options.workspaceId} already holds ${held} insight${held === 1 ? '' : 's'}; a restore goes into an empty workspace`,
        'choose an empty one with --workspace, or a new database with --db; plain `insights import` adds to this one',
      );
    }
    summary.idOffset = db.prepare('SELECT coalesce(max(id), 0) FROM insights').pluck().get() as number;
    // Merge links may point forward in the file; they are checked, with names, before the commit.
    db.pragma('defer_foreign_keys = ON');
    const writer = new RestoreWriter(db, options.workspaceId, summary.idOffset);
    const handle = (line: string, fault: LineFault | undefined) => {
      const lineNo = ++summary.lines;
      // Too long to be an export's line, or bytes that are not UTF-8: text would not come back exactly.
      if (fault !== undefined) return bad(lineNo, fault);
      if (line.trim() === '') return;
      try {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new BadLine('invalid JSON');
        }
        if (!value || typeof value !== 'object' || Array.isArray(value)) throw new BadLine('not a JSON object');
        writer.write(toRestoredRow(value as Record<string, unknown>));
        summary.restored++;
      } catch (error) {
        if (!(error instanceof BadLine)) throw error;
        bad(lineNo, error.message);
      }
    };
    const splitter = new LineSplitter();
    for await (const chunk of input) {
      splitter.push(chunk, handle);
      options.onProgress?.(summary.lines);
    }
    splitter.end(handle);
    if (summary.skipped === 0) {
      for (const link of brokenMergeLinks(db, options.workspaceId)) {
        // Reported by id: a line number for each would cost memory in proportion to the file.
        const id = link.id - summary.idOffset;
        bad(0, `insight ${id} is merged into ${link.merged_into - summary.idOffset}, whose merge chain does not end on an active or archived insight of the file`);
      }
    }
    if (summary.skipped > 0 || summary.restored === 0) {
      db.prepare('ROLLBACK').run();
      summary.restored = 0;
      return summary;
    }
    db.prepare('COMMIT').run();
    summary.written = true;
    return summary;
  } catch (error) {
    if (db.inTransaction) db.prepare('ROLLBACK').run();
    throw error;
  }
}
