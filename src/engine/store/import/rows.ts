/**
 * Import lines and what one becomes: the line splitting every parser shares (bounded, strict
 * about UTF-8), one JSONL line → one row for the insights table (validation, normalization),
 * and the compact form a batch of rows travels in from the parsing worker to the writing thread.
 * Shared by the in-process importer, the CSV parser and ./worker.ts.
 */
import { isUtf8 } from 'node:buffer';
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

/**
 * The longest line (JSONL) or record (CSV) an import reads, in UTF-16 code units: what bounds an
 * import's memory, whatever the input. An insight's text is at most MAX_TEXT_LENGTH (10,000)
 * characters, which JSON's \uXXXX escapes can make 60,000 (CSV's doubled quotes 20,000); four
 * times that leaves room for the source, tags, dates and keys, so no line that could import is
 * cut, while the longest line costs well under a megabyte to hold and parse.
 */
export const MAX_RECORD_CHARS = 256 * 1024;

export const TOO_LONG = `longer than ${MAX_RECORD_CHARS.toLocaleString('en-US')} characters`;
export const NOT_UTF8 = 'not valid UTF-8';
/** Why a line reached its reader without being readable: its message as a bad line. */
export type LineFault = typeof TOO_LONG | typeof NOT_UTF8;
/** A too-long line arrives as '' (its text was dropped); a line that is not UTF-8 with U+FFFD in place of the bad bytes. */
type LineSink = (line: string, fault: LineFault | undefined) => void;

const NO_BYTES = Buffer.alloc(0);

/**
 * Where the incomplete character a chunk ends inside of starts (its length if it ends on a whole
 * one). Those bytes wait for the next chunk; whether they are valid is checked once it arrives.
 */
function completeEnd(bytes: Buffer): number {
  const length = bytes.length;
  for (let i = length - 1; i >= 0 && i >= length - 3; i--) {
    const byte = bytes[i]!;
    if (byte < 0x80) return length;
    if (byte >= 0xc0) {
      const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return length - i < needs ? i : length;
    }
  }
  return length;
}

/**
 * Which lines of a chunk that is not valid UTF-8 hold the bad bytes, counted from 0 (the line the
 * chunk continues). A character never spans a newline byte, so each line can be checked alone.
 */
function invalidLines(body: Buffer): Set<number> {
  const bad = new Set<number>();
  let start = 0;
  for (let index = 0; ; index++) {
    const nl = body.indexOf(10, start);
    if (!isUtf8(body.subarray(start, nl === -1 ? body.length : nl))) bad.add(index);
    if (nl === -1) return bad;
    start = nl + 1;
  }
}

/**
 * Splits chunks into lines (BOM, CRLF and a last line without newline handled), holding at most
 * MAX_RECORD_CHARS of an unfinished line: beyond that the line's text is dropped up to its
 * newline and it is reported as too long. Bytes that are not UTF-8 are never replaced silently:
 * the line holding them is reported (isUtf8 checks a whole chunk at once; only a bad chunk is
 * searched line by line).
 */
export class LineSplitter {
  /** The unfinished last line: at most MAX_RECORD_CHARS + 1 (its CR) long. */
  private pending = '';
  private pendingInvalid = false;
  /** The current line passed the limit: everything up to its newline is dropped. */
  private skipping = false;
  /** The first bytes of a character the last chunk ended inside of. */
  private tail: Buffer = NO_BYTES;
  private first = true;

  push(chunk: Buffer | string, onLine: LineSink): void {
    if (typeof chunk === 'string') {
      this.split(chunk, undefined, onLine);
      return;
    }
    const bytes = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const end = completeEnd(bytes);
    // A copy: the caller may reuse the chunk's memory (the worker reads into one buffer).
    this.tail = end === bytes.length ? NO_BYTES : Buffer.from(bytes.subarray(end));
    const body = end === bytes.length ? bytes : bytes.subarray(0, end);
    this.split(body.toString('utf8'), isUtf8(body) ? undefined : invalidLines(body), onLine);
  }

  end(onLine: LineSink): void {
    let rest = this.pending;
    let invalid = this.pendingInvalid;
    if (this.tail.length > 0) {
      // The input ended inside a character.
      rest += this.tail.toString('utf8');
      invalid = true;
    }
    if (this.skipping) onLine('', TOO_LONG);
    else {
      if (rest.endsWith('\r')) rest = rest.slice(0, -1);
      if (rest.length > MAX_RECORD_CHARS) onLine('', TOO_LONG);
      else if (rest.length > 0) onLine(rest, invalid ? NOT_UTF8 : undefined);
    }
    this.pending = '';
    this.pendingInvalid = false;
    this.skipping = false;
    this.tail = NO_BYTES;
  }

  /** `invalid`: the lines of this text (0: the one it continues) that held bytes that are not UTF-8. */
  private split(text: string, invalid: Set<number> | undefined, onLine: LineSink): void {
    if (this.first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.first = false;
    }
    let start = 0;
    let index = 0;
    if (this.skipping) {
      const nl = text.indexOf('\n');
      if (nl === -1) return;
      this.skipping = false;
      onLine('', TOO_LONG);
      start = nl + 1;
      index = 1;
    } else if (this.pending !== '') {
      text = this.pending + text;
      if (this.pendingInvalid) (invalid ??= new Set()).add(0);
    }
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end - start > MAX_RECORD_CHARS) onLine('', TOO_LONG);
      else onLine(text.slice(start, end), invalid !== undefined && invalid.has(index) ? NOT_UTF8 : undefined);
      start = nl + 1;
      index++;
    }
    this.pendingInvalid = invalid !== undefined && invalid.has(index);
    this.pending = start === 0 ? text : text.slice(start);
    if (this.pending.length > MAX_RECORD_CHARS + 1) {
      this.pending = '';
      this.pendingInvalid = false;
      this.skipping = true;
    }
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

/**
 * A lone surrogate (JSON's "\ud800") cannot be stored: SQLite would hold U+FFFD instead, and two
 * different texts could become one. (ES2024's isWellFormed: Node 20 has it, the project's lib is ES2023.)
 */
function refuseLoneSurrogates(value: string, field: string): void {
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) throw new BadLine(`"${field}" is not valid Unicode (a lone surrogate)`);
}

export function toRow(record: Record<string, unknown>, now: number): Row {
  const { text } = record;
  if (text === undefined || text === null) throw new BadLine('missing "text"');
  if (typeof text !== 'string') throw new BadLine('"text" must be a string');
  if (text.trim() === '') throw new BadLine('empty "text"');
  refuseLoneSurrogates(text, 'text');
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
  if (typeof source === 'string') refuseLoneSurrogates(source, 'source');
  let tags: string[] = [];
  const rawTags = record.tags;
  if (rawTags !== undefined && rawTags !== null && rawTags !== '') {
    const list = typeof rawTags === 'string' ? rawTags.split(/[;,]/) : rawTags;
    if (!Array.isArray(list) || list.some((t) => typeof t !== 'string')) throw new BadLine('"tags" must be a list of strings or a comma-separated string');
    for (const tag of list as string[]) refuseLoneSurrogates(tag, 'tags');
    tags = uniqueTags(list as string[]);
  }
  const created = parseDate(record.created_at, 'created_at');
  const lastReinforced = parseDate(record.last_reinforced_at, 'last_reinforced_at');
  const createdAt = created ?? lastReinforced ?? now;
  let count = 1;
  const rawCount = record.reinforcement_count;
  if (rawCount !== undefined && rawCount !== null && rawCount !== '') {
    // CSV carries every field as text: "3" is the count 3.
    const n = typeof rawCount === 'string' && /^\d+$/.test(rawCount.trim()) ? Number(rawCount) : rawCount;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new BadLine(`reinforcement_count ${JSON.stringify(rawCount).slice(0, 40)} is not a whole number from 1`);
    count = n;
  }
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

  private readonly handle = (line: string, fault: LineFault | undefined): void => {
    this.lines++;
    if (fault !== undefined) {
      this.onBad(this.lines, fault);
      return;
    }
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
