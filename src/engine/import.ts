/**
 * Streaming import of JSONL or CSV into the insight store, in bounded memory and batched
 * IMMEDIATE transactions. Bad lines are reported with their line numbers; with `strict`
 * everything runs in one transaction that is rolled back if any line is bad.
 */
import { StringDecoder } from 'node:string_decoder';
import { UsageError } from '../cli/errors.js';
import type { Database } from './db.js';
import { MAX_TEXT_LENGTH, UPSERT_POSITIONAL_SQL } from './insights.js';
import { normalizeText } from './normalize.js';

export interface ImportOptions {
  workspaceId: number;
  format: 'jsonl' | 'csv';
  strict: boolean;
  now: number;
  batchSize?: number;
  onProgress?: (linesRead: number) => void;
}

export interface ImportSummary {
  lines: number;
  imported: number;
  reinforced: number;
  skipped: number;
  /** The first MAX_REPORTED bad lines. */
  errors: Array<{ line: number; message: string }>;
  written: boolean;
}

export const MAX_REPORTED = 100;
const DEFAULT_BATCH = 20_000;

class BadLine extends Error {}

interface Row {
  workspace_id: number;
  text: string;
  normalized_text: string;
  source: string | null;
  tags: string;
  confidence: number;
  reinforcement_count: number;
  created_at: number;
  last_reinforced_at: number;
}

/** Splits decoded chunks into lines (BOM, CRLF and a last line without newline handled). */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private first = true;

  push(chunk: Buffer | string, onLine: (line: string) => void): void {
    let text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    if (this.first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.first = false;
    }
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      onLine(text.slice(start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl));
      start = nl + 1;
    }
    this.pending = text.slice(start);
  }

  end(onLine: (line: string) => void): void {
    let rest = this.pending + this.decoder.end();
    if (rest.endsWith('\r')) rest = rest.slice(0, -1);
    if (rest.length > 0) onLine(rest);
  }
}

/** Lines as an async sequence, for the CSV parser whose quoted fields may span lines. */
async function* physicalLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const splitter = new LineSplitter();
  const lines: string[] = [];
  const collect = (line: string) => lines.push(line);
  for await (const chunk of input) {
    splitter.push(chunk, collect);
    yield* lines.splice(0);
  }
  splitter.end(collect);
  yield* lines;
}

/** CSV records (RFC 4180) with the physical line each starts on; quoted fields may span lines. */
async function* csvRecords(lines: AsyncGenerator<string>): AsyncGenerator<{ line: number; fields: string[] } | { line: number; error: string }> {
  let lineNo = 0;
  for await (const first of lines) {
    lineNo++;
    const startLine = lineNo;
    if (first.trim() === '') continue;
    const fields: string[] = [];
    let field = '';
    let inQuotes = false;
    let current = first;
    let i = 0;
    for (;;) {
      if (i >= current.length) {
        if (inQuotes) {
          const next = await lines.next();
          if (next.done) {
            yield { line: startLine, error: 'unterminated quoted field' };
            return;
          }
          lineNo++;
          field += '\n';
          current = next.value;
          i = 0;
          continue;
        }
        fields.push(field);
        break;
      }
      const c = current[i]!;
      if (inQuotes) {
        if (c === '"') {
          if (current[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          inQuotes = false;
        } else field += c;
        i++;
      } else if (c === '"' && field === '') {
        inQuotes = true;
        i++;
      } else if (c === ',') {
        fields.push(field);
        field = '';
        i++;
      } else {
        field += c;
        i++;
      }
    }
    yield { line: startLine, fields };
  }
}

function parseDate(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new BadLine(`${field} must be ISO 8601 or epoch milliseconds`);
    return Math.round(value);
  }
  if (typeof value !== 'string') throw new BadLine(`${field} must be ISO 8601 or epoch milliseconds`);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new BadLine(`${field} "${value.slice(0, 40)}" is not a date`);
  return ms;
}

function toRow(record: Record<string, unknown>, workspaceId: number, now: number): Row {
  const { text } = record;
  if (typeof text !== 'string' || text.trim() === '') throw new BadLine('missing "text"');
  if (text.length > MAX_TEXT_LENGTH) throw new BadLine(`"text" is longer than ${MAX_TEXT_LENGTH} characters`);
  let confidence = 0.5;
  const rawConfidence = record.base_confidence ?? record.confidence;
  if (rawConfidence !== undefined && rawConfidence !== null && rawConfidence !== '') {
    const n = typeof rawConfidence === 'string' ? Number(rawConfidence) : rawConfidence;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 1) throw new BadLine(`confidence ${JSON.stringify(rawConfidence)} is not a number from 0 to 1`);
    confidence = n;
  }
  const { source } = record;
  if (source !== undefined && source !== null && typeof source !== 'string') throw new BadLine('"source" must be a string');
  let tags: string[] = [];
  const rawTags = record.tags;
  if (rawTags !== undefined && rawTags !== null && rawTags !== '') {
    const list = typeof rawTags === 'string' ? rawTags.split(/[;,]/) : rawTags;
    if (!Array.isArray(list) || list.some((t) => typeof t !== 'string')) throw new BadLine('"tags" must be a list of strings or a comma-separated string');
    tags = [...new Set((list as string[]).map((t) => t.trim().toLowerCase()).filter(Boolean))];
  }
  const created = parseDate(record.created_at, 'created_at');
  const lastReinforced = parseDate(record.last_reinforced_at, 'last_reinforced_at');
  const createdAt = created ?? lastReinforced ?? now;
  let count = 1;
  const rawCount = record.reinforcement_count;
  if (typeof rawCount === 'number' && Number.isInteger(rawCount) && rawCount >= 1) count = rawCount;
  const trimmed = text.trim();
  return {
    workspace_id: workspaceId,
    text: trimmed,
    normalized_text: normalizeText(trimmed),
    source: typeof source === 'string' && source.trim() ? source.trim() : null,
    tags: JSON.stringify(tags),
    confidence,
    reinforcement_count: count,
    created_at: createdAt,
    last_reinforced_at: Math.max(lastReinforced ?? createdAt, createdAt),
  };
}

export async function importInsights(db: Database, input: AsyncIterable<Buffer | string>, options: ImportOptions): Promise<ImportSummary> {
  const summary: ImportSummary = { lines: 0, imported: 0, reinforced: 0, skipped: 0, errors: [], written: false };
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const upsert = db.prepare(UPSERT_POSITIONAL_SQL);
  const bad = (line: number, message: string) => {
    summary.skipped++;
    if (summary.errors.length < MAX_REPORTED) summary.errors.push({ line, message });
  };
  let batch: Row[] = [];
  const writeRows = (rows: Row[]) => {
    for (const row of rows) {
      const result = upsert.get(row.workspace_id, row.text, row.normalized_text, row.source, row.tags, row.confidence, row.confidence, row.reinforcement_count, row.created_at, row.last_reinforced_at) as { reinforcement_count: number };
      if (result.reinforcement_count > row.reinforcement_count) summary.reinforced++;
      else summary.imported++;
    }
  };
  const writeBatch = db.transaction(writeRows);
  /** Non-strict: each batch in its own IMMEDIATE transaction. Strict: inside the one open transaction. */
  const flushOrApply = (strict: boolean) => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    if (strict) writeRows(rows);
    else writeBatch.immediate(rows);
  };

  // Strict mode: one transaction around everything, rolled back on the first sign of trouble at the end.
  if (options.strict) db.prepare('BEGIN IMMEDIATE').run();
  try {
    if (options.format === 'jsonl') {
      // Lines are handled synchronously per chunk: an async step per line would cost more
      // than parsing and writing it.
      const handle = (line: string) => {
        summary.lines++;
        if (line.length === 0 || line.trim() === '') return;
        try {
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch {
            throw new BadLine('invalid JSON');
          }
          if (!value || typeof value !== 'object' || Array.isArray(value)) throw new BadLine('not a JSON object');
          batch.push(toRow(value as Record<string, unknown>, options.workspaceId, options.now));
        } catch (error) {
          if (!(error instanceof BadLine)) throw error;
          bad(summary.lines, error.message);
        }
        if (batch.length >= batchSize) flushOrApply(options.strict);
      };
      const splitter = new LineSplitter();
      for await (const chunk of input) {
        splitter.push(chunk, handle);
        options.onProgress?.(summary.lines);
      }
      splitter.end(handle);
    } else {
      let header: string[] | undefined;
      let lastLine = 0;
      const counted = (async function* () {
        for await (const line of physicalLines(input)) {
          lastLine++;
          yield line;
        }
      })();
      for await (const record of csvRecords(counted)) {
        if ('error' in record) {
          bad(record.line, record.error);
          continue;
        }
        if (!header) {
          header = record.fields.map((h) => h.trim().toLowerCase());
          if (!header.includes('text')) throw new UsageError('the CSV header has no "text" column', `found: ${header.join(', ')}`);
          continue;
        }
        if (record.fields.length === 1 && record.fields[0]!.trim() === '') continue;
        try {
          if (record.fields.length !== header.length) throw new BadLine(`expected ${header.length} fields, found ${record.fields.length}`);
          const object: Record<string, unknown> = {};
          header.forEach((name, i) => (object[name] = record.fields[i]));
          batch.push(toRow(object, options.workspaceId, options.now));
        } catch (error) {
          if (!(error instanceof BadLine)) throw error;
          bad(record.line, error.message);
        }
        if (batch.length >= batchSize) flushOrApply(options.strict);
      }
      summary.lines = lastLine;
    }
    flushOrApply(options.strict);
    if (options.strict) {
      if (summary.skipped > 0) {
        db.prepare('ROLLBACK').run();
        summary.imported = 0;
        summary.reinforced = 0;
      } else {
        db.prepare('COMMIT').run();
        summary.written = true;
      }
    } else summary.written = summary.imported + summary.reinforced > 0;
    return summary;
  } catch (error) {
    if (db.inTransaction) db.prepare('ROLLBACK').run();
    throw error;
  }
}
