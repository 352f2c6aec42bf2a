/**
 * One import line → one row for the insights table: validation, normalization, and the
 * compact form a batch of rows travels in from the parsing worker to the writing thread.
 * Shared by the in-process importer and src/engine/import-worker.ts.
 */
import { StringDecoder } from 'node:string_decoder';
import { MAX_TEXT_LENGTH } from '../insights.js';
import { normalizeText } from '../../text/normalize.js';

export class BadLine extends Error {}

export interface Row {
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
export class LineSplitter {
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

/** The largest time a JavaScript Date can hold: beyond it export and list could not show the insight. */
const MAX_DATE_MS = 8.64e15;

function parseDate(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > MAX_DATE_MS) throw new BadLine(`${field} must be ISO 8601 or epoch milliseconds`);
    return Math.round(value);
  }
  if (typeof value !== 'string') throw new BadLine(`${field} must be ISO 8601 or epoch milliseconds`);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isNaN(ms) || ms > MAX_DATE_MS) throw new BadLine(`${field} "${value.slice(0, 40)}" is not a date`);
  return ms;
}

/** Trimmed, lower-cased, without empties or repeats, in first-seen order. */
function uniqueTags(list: string[]): string[] {
  // A linear scan beats a Set for the few tags an insight has; long lists still get the Set.
  if (list.length > 16) return [...new Set(list.map((t) => t.trim().toLowerCase()).filter(Boolean))];
  const tags: string[] = [];
  for (const raw of list) {
    const tag = raw.trim().toLowerCase();
    if (tag !== '' && !tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

export function toRow(record: Record<string, unknown>, now: number): Row {
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
    tags = uniqueTags(list as string[]);
  }
  const created = parseDate(record.created_at, 'created_at');
  const lastReinforced = parseDate(record.last_reinforced_at, 'last_reinforced_at');
  const createdAt = created ?? lastReinforced ?? now;
  let count = 1;
  const rawCount = record.reinforcement_count;
  if (typeof rawCount === 'number' && Number.isInteger(rawCount) && rawCount >= 1) count = rawCount;
  const trimmed = text.trim();
  return {
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


/**
 * A batch of rows in a form that crosses a thread boundary cheaply: every string field
 * concatenated into one string with a table of lengths, every number in one Float64Array.
 * Structured-cloning an array of row objects costs about as much as parsing them again.
 */
export interface PackedRows {
  count: number;
  strings: string;
  /** Four per row: text, normalized text, source (NULL_SOURCE for none), tags. */
  lengths: Uint32Array;
  /** Four per row: confidence, reinforcement count, created_at, last_reinforced_at. */
  numbers: Float64Array;
}

const NULL_SOURCE = 0xffffffff;

export function packRows(rows: Row[]): PackedRows {
  const lengths = new Uint32Array(rows.length * 4);
  const numbers = new Float64Array(rows.length * 4);
  const parts: string[] = [];
  rows.forEach((row, i) => {
    parts.push(row.text, row.normalized_text, row.source ?? '', row.tags);
    lengths[i * 4] = row.text.length;
    lengths[i * 4 + 1] = row.normalized_text.length;
    lengths[i * 4 + 2] = row.source === null ? NULL_SOURCE : row.source.length;
    lengths[i * 4 + 3] = row.tags.length;
    numbers[i * 4] = row.confidence;
    numbers[i * 4 + 1] = row.reinforcement_count;
    numbers[i * 4 + 2] = row.created_at;
    numbers[i * 4 + 3] = row.last_reinforced_at;
  });
  return { count: rows.length, strings: parts.join(''), lengths, numbers };
}

export function unpackRows(packed: PackedRows): Row[] {
  const rows: Row[] = new Array(packed.count);
  const { strings, lengths, numbers } = packed;
  let at = 0;
  const take = (length: number) => strings.slice(at, (at += length));
  for (let i = 0; i < packed.count; i++) {
    const text = take(lengths[i * 4]!);
    const normalized = take(lengths[i * 4 + 1]!);
    const sourceLength = lengths[i * 4 + 2]!;
    const source = sourceLength === NULL_SOURCE ? null : take(sourceLength);
    rows[i] = {
      text,
      normalized_text: normalized,
      source,
      tags: take(lengths[i * 4 + 3]!),
      confidence: numbers[i * 4]!,
      reinforcement_count: numbers[i * 4 + 1]!,
      created_at: numbers[i * 4 + 2]!,
      last_reinforced_at: numbers[i * 4 + 3]!,
    };
  }
  return rows;
}

/** JSONL lines → rows, with bad lines reported by number. */
export class JsonlParser {
  private readonly splitter = new LineSplitter();
  lines = 0;

  constructor(
    private readonly now: number,
    private readonly onRow: (row: Row) => void,
    private readonly onBad: (line: number, message: string) => void,
  ) {}

  private readonly handle = (line: string): void => {
    this.lines++;
    if (line.length === 0 || line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.onBad(this.lines, 'invalid JSON');
      return;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      this.onBad(this.lines, 'not a JSON object');
      return;
    }
    try {
      this.onRow(toRow(value as Record<string, unknown>, this.now));
    } catch (error) {
      if (!(error instanceof BadLine)) throw error;
      this.onBad(this.lines, error.message);
    }
  };

  push(chunk: Buffer | string): void {
    this.splitter.push(chunk, this.handle);
  }

  end(): void {
    this.splitter.end(this.handle);
  }
}
