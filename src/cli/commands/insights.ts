/**
 * `insights add|import|list|show|export`: the local engine's insight store.
 */
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ImportIncompleteError, KnownError, NotFoundError, UsageError } from '../../contract/errors.js';
import type { ExportRecord, RestoreSummary } from '../../engine/index.js';
import { writeStreamAtomically } from '../files.js';
import { looksBinary, parseNonNegativeInt } from '../../contract/parse.js';
import type { ImportInput, ImportSummary } from '../../engine/index.js';
import { createLineCounter } from '../render/progress.js';
import type { Section } from '../render/render.js';
import { defineCommand, defineGroup, valueOption, switchOption, type CommandResult, type OptionValues } from '../command.js';
import type { Context } from '../context.js';
import { openLocalEngine } from '../settings/backend.js';

const STATUSES = ['active', 'merged', 'archived'] as const;
/** The file formats import reads and export writes. */
const FILE_FORMATS = ['jsonl', 'csv'] as const;
const isFileFormat = (format: string): format is (typeof FILE_FORMATS)[number] => (FILE_FORMATS as readonly string[]).includes(format);

const ADD_OPTIONS = {
  source: valueOption('--source <source>', 'where it came from'),
  confidence: valueOption('--confidence <c>', 'confidence from 0 to 1 (default 0.5)'),
  tags: valueOption('--tags <a,b>', 'comma-separated tags'),
} as const;

async function addCommand(ctx: Context, text: string, options: OptionValues<typeof ADD_OPTIONS>): Promise<CommandResult> {
  const confidence = options.confidence !== undefined ? parseConfidence(options.confidence) : undefined;
  const tags = options.tags !== undefined ? options.tags.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
  const { engine, workspace } = await openLocalEngine(ctx);
  try {
    const { insight, reinforced } = await workspace.insights.add({
      text,
      ...(options.source !== undefined ? { source: options.source } : {}),
      ...(confidence !== undefined ? { confidence } : {}),
      ...(tags !== undefined ? { tags } : {}),
    });
    ctx.ui.info(reinforced ? `reinforced insight ${insight.id} (now ${insight.reinforcement_count}×)` : `added insight ${insight.id}`);
    return { data: { kind: 'record', record: insightRecord(insight), json: { ...insight, reinforced } } };
  } finally {
    engine.close();
  }
}

/** Below this a parsing worker's start-up costs more than the overlap saves. */
const PARALLEL_IMPORT_BYTES = 4 * 1024 * 1024;

const IMPORT_OPTIONS = {
  format: valueOption('--format <format>', 'jsonl or csv', { values: FILE_FORMATS }),
  strict: switchOption('--strict', 'write nothing if any line is bad'),
  restore: switchOption('--restore', 'read an export back exactly (ids, statuses, merges) into an empty workspace; all or nothing'),
} as const;

/** The file to read, checked up front so that a wrong path is a usage error before the store opens. */
function readableFile(file: string): { size: number } {
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const stats = statSync(file);
  if (stats.isDirectory()) throw new UsageError(`${file} is a directory, not an import file`);
  try {
    closeSync(openSync(file, 'r'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw new UsageError(`cannot read ${file} (${code})`, code === 'EACCES' ? "check the file's permissions and owner" : 'pass a regular file, or - to read standard input');
  }
  return { size: stats.size };
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

function reportBadLines(ctx: Context, file: string, summary: { errors: Array<{ line: number; message: string }>; skipped: number }): void {
  const name = file === '-' ? 'stdin' : file;
  // Line 0: a finding about the whole file (a merge link that does not close), not one line.
  for (const error of summary.errors) ctx.ui.err(ctx.ui.clean(error.line > 0 ? `${name}:${error.line}: ${error.message}` : `${name}: ${error.message}`));
  // The engine keeps only the first few (MAX_REPORTED): past them a count, so a wrong file does not flood the terminal or the CI log.
  if (summary.skipped > summary.errors.length) ctx.ui.err(`… and ${plural(summary.skipped - summary.errors.length, 'more bad line')}`);
}

/** A file whose first 8,000 bytes look binary (see looksBinary): an archive or a database, not lines to import. */
function isBinaryFile(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(8000);
    const read = readSync(fd, head, 0, head.length, 0);
    return looksBinary(head.subarray(0, read));
  } finally {
    closeSync(fd);
  }
}

async function importCommand(ctx: Context, file: string, options: OptionValues<typeof IMPORT_OPTIONS>): Promise<CommandResult> {
  const format = importFormat(file, options.format);
  if (options.restore) {
    if (format !== 'jsonl') throw new UsageError('--restore reads the JSONL that `insights export` writes', 'export with the default --format jsonl to make a restorable copy');
    if (options.strict) throw new UsageError('--restore is always all or nothing; drop --strict');
    return restoreCommand(ctx, file);
  }
  let input: ImportInput;
  // Standard input may be large and its size is unknown, so it is parsed in parallel too.
  let parallel = true;
  if (file === '-') input = ctx.deps.stdin;
  else {
    parallel = readableFile(file).size >= PARALLEL_IMPORT_BYTES;
    if (isBinaryFile(file)) throw new UsageError(`${file} looks like a binary file, not ${format === 'csv' ? 'CSV' : 'JSONL'}`, 'import a JSONL file (one JSON object per line) or a CSV file with a header row');
    input = { kind: 'file', path: file };
  }
  const { engine, workspace } = await openLocalEngine(ctx);
  const counter = await createLineCounter(ctx.ui, `importing ${file === '-' ? 'stdin' : file}`, ctx.deps.now);
  try {
    let summary: ImportSummary;
    try {
      summary = await workspace.insights.import(input, { format, strict: Boolean(options.strict), parallel, onProgress: (lines) => counter.update(lines) });
    } finally {
      counter.stop();
    }
    reportBadLines(ctx, file, summary);
    const name = file === '-' ? 'stdin' : file;
    if (summary.lines === 0) ctx.ui.warn(`${name} is empty: nothing was imported`);
    // Every line failed as JSON: most likely CSV read as JSONL (stdin, or a file without .csv).
    const csvReadAsJsonl = format === 'jsonl' && summary.imported + summary.reinforced === 0 && summary.errors[0]?.message === 'invalid JSON' && options.format === undefined;
    const record = {
      lines: summary.lines,
      imported: summary.imported,
      reinforced: summary.reinforced,
      skipped: summary.skipped,
      written: summary.written,
    };
    const result: CommandResult = { data: { kind: 'record', record } };
    if (summary.skipped > 0) {
      result.error = options.strict
        ? new ImportIncompleteError(`${plural(summary.skipped, 'bad line')}; --strict: nothing was imported`, 'fix the lines listed above, or drop --strict to import the good ones')
        : new ImportIncompleteError(
            `imported ${plural(summary.imported + summary.reinforced, 'line')}; skipped ${plural(summary.skipped, 'bad line')}`,
            csvReadAsJsonl ? `if ${name} is CSV, pass --format csv` : 'the lines listed above were not imported',
          );
    }
    return result;
  } finally {
    engine.close();
  }
}

async function restoreCommand(ctx: Context, file: string): Promise<CommandResult> {
  if (file !== '-') readableFile(file);
  const input = file === '-' ? ctx.deps.stdin : createReadStream(file, { highWaterMark: 256 * 1024 });
  const { engine, workspace } = await openLocalEngine(ctx);
  const counter = await createLineCounter(ctx.ui, `restoring ${file === '-' ? 'stdin' : file}`, ctx.deps.now);
  let summary: RestoreSummary;
  try {
    summary = await workspace.insights.restore(input, { onProgress: (lines) => counter.update(lines) });
  } finally {
    counter.stop();
    engine.close();
  }
  reportBadLines(ctx, file, summary);
  const record = { lines: summary.lines, restored: summary.restored, skipped: summary.skipped, written: summary.written, id_offset: summary.idOffset };
  const result: CommandResult = { data: { kind: 'record', record } };
  if (summary.skipped > 0) {
    result.error = new ImportIncompleteError(
      `${summary.skipped} bad line${summary.skipped === 1 ? '' : 's'}; a restore is all or nothing, so nothing was restored`,
      'fix the lines listed above (a restore reads what `insights export` writes), or use plain `insights import` to add the good ones',
    );
  } else if (!summary.written) {
    result.error = new ImportIncompleteError(`${file === '-' ? 'stdin' : file} holds no insights; nothing was restored`, 'pass a file written by `insights export`');
  } else {
    ctx.ui.info(`restored ${summary.restored} insight${summary.restored === 1 ? '' : 's'} into workspace ${workspace.id}`);
    if (summary.idOffset > 0) ctx.ui.warn(`other workspaces of this database use ids up to ${summary.idOffset}: every restored id was raised by ${summary.idOffset} (merge links follow)`);
  }
  return result;
}

const LIST_OPTIONS = {
  status: valueOption('--status <status>', 'active, merged or archived', { values: STATUSES }),
  source: valueOption('--source <source>', 'only this source'),
  search: valueOption('--search <text>', 'text contains (case-insensitive)'),
  limit: valueOption('--limit <n>', 'at most n (default 50)'),
} as const;

async function listCommand(ctx: Context, options: OptionValues<typeof LIST_OPTIONS>): Promise<CommandResult> {
  if (options.status !== undefined && !(STATUSES as readonly string[]).includes(options.status)) {
    throw new UsageError(`unknown status "${options.status}"`, `use one of: ${STATUSES.join(', ')}`);
  }
  const limit = options.limit !== undefined ? parseNonNegativeInt(options.limit, '--limit') : 50;
  const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
  try {
    const insights = await workspace.insights.list({
      ...(options.status !== undefined ? { status: options.status as (typeof STATUSES)[number] } : {}),
      ...(options.source !== undefined ? { source: options.source } : {}),
      ...(options.search !== undefined ? { search: options.search } : {}),
      limit,
    });
    if (insights.length === 0) ctx.ui.hint('no insights match; `nex-compound insights import FILE` loads some');
    return {
      data: {
        kind: 'rows',
        columns: ['id', 'status', 'confidence', 'source', 'tags', 'text'],
        rows: insights.map((i) => ({
          id: i.id,
          status: i.status,
          confidence: i.confidence.toFixed(2),
          source: i.source ?? '',
          tags: i.tags.join(','),
          text: i.text.length > 80 ? `${i.text.slice(0, 79)}…` : i.text,
        })),
        json: insights,
      },
    };
  } finally {
    engine.close();
  }
}

async function showCommand(ctx: Context, idArg: string): Promise<CommandResult> {
  const id = parseNonNegativeInt(idArg, 'insight id');
  const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
  try {
    const insight = await workspace.insights.get(id);
    if (!insight) throw new NotFoundError(`insight ${id} not found in workspace ${workspace.id}`, '`nex-compound insights list` shows the ids');
    const history = await workspace.insights.history(id);
    return { data: { kind: 'record', record: insightRecord(insight), sections: [mergeHistory(history)], json: { ...insight, history } } };
  } finally {
    engine.close();
  }
}

const EXPORT_OPTIONS = {
  format: valueOption('--format <format>', 'jsonl (default; what --restore reads) or csv (for spreadsheets and plain import)', { values: FILE_FORMATS }),
  output: valueOption('--output <file>', 'write to a file instead of stdout', { path: true }),
} as const;

async function exportCommand(ctx: Context, options: OptionValues<typeof EXPORT_OPTIONS>): Promise<CommandResult> {
  const format = options.format ?? 'jsonl';
  if (!isFileFormat(format)) throw new UsageError(`unknown export format "${format}"`, 'use --format jsonl or --format csv');
  const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
  try {
    const records = await workspace.insights.export();
    const lines = Readable.from(inChunks(format === 'csv' ? csvLines(records) : jsonLines(records)));
    if (options.output) {
      const target = path.resolve(options.output);
      try {
        // Beside the old file until it is whole: a killed or failed export leaves the old one as it was.
        await writeStreamAtomically(target, lines);
      } catch (error) {
        // The store failing mid-read is the store's error, not the output path's.
        if (error instanceof KnownError) throw error;
        throw new UsageError(`cannot write ${target}: ${(error as Error).message}`, 'choose a writable path with --output');
      }
      ctx.ui.info(`exported to ${target}`);
    } else {
      const out = ctx.deps.stdout as typeof ctx.deps.stdout & { once?: (event: 'drain', fn: () => void) => unknown };
      for await (const line of lines) {
        // Respect backpressure: a million lines into a slow pipe must not pile up in memory.
        if (!out.write(line as string) && out.once) await new Promise<void>((resolve) => out.once!('drain', resolve));
      }
    }
    return {};
  } finally {
    engine.close();
  }
}

/**
 * Lines joined into chunks of about 64 KiB: a stream step per line costs more than writing it
 * (a million-line export spent most of its time passing lines one by one).
 */
function* inChunks(lines: Iterable<string>): Generator<string> {
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

function* jsonLines(records: Iterable<ExportRecord>): Generator<string> {
  for (const record of records) yield `${JSON.stringify(record)}\n`;
}

const CSV_COLUMNS = ['id', 'text', 'source', 'tags', 'confidence', 'base_confidence', 'reinforcement_count', 'status', 'merged_into', 'created_at', 'last_reinforced_at'] as const;

/** RFC 4180: a field with a quote, comma, line break or edge space is quoted, inner quotes doubled. */
function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The same fields as JSONL, one row each; tags are joined with commas, as plain import splits them. */
function* csvLines(records: Iterable<ExportRecord>): Generator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  for (const record of records) {
    yield `${CSV_COLUMNS.map((column) => csvField(column === 'tags' ? record.tags.join(',') : record[column])).join(',')}\r\n`;
  }
}

function parseConfidence(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--confidence must be a number from 0 to 1, got "${value}"`);
  return n;
}

function importFormat(file: string, format: string | undefined): 'jsonl' | 'csv' {
  if (format !== undefined) {
    if (isFileFormat(format)) return format;
    throw new UsageError(`unknown import format "${format}"`, 'use --format jsonl or --format csv');
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json' || file === '-') return 'jsonl';
  throw new UsageError(`cannot tell the format of ${file} from its extension`, 'pass --format jsonl or --format csv');
}

function insightRecord(i: { id: number; text: string; source: string | null; tags: string[]; confidence: number; base_confidence: number; reinforcement_count: number; status: string; merged_into: number | null; created_at: string; last_reinforced_at: string }): Record<string, unknown> {
  return {
    id: i.id,
    text: i.text,
    source: i.source ?? '',
    tags: i.tags.join(', '),
    confidence: i.confidence.toFixed(2),
    base_confidence: i.base_confidence.toFixed(2),
    reinforcement_count: i.reinforcement_count,
    status: i.status,
    merged_into: i.merged_into ?? '',
    created_at: i.created_at,
    last_reinforced_at: i.last_reinforced_at,
  };
}

type HistoryInsight = { id: number; text: string; source: string | null; confidence: number };

/** An insight's merges as a table: what was merged into it (←) and what it was merged into (→). */
function mergeHistory(history: { merged_from: HistoryInsight[]; merged_into: HistoryInsight | null }): Section {
  const row = (merge: string, i: HistoryInsight) => ({ merge, id: i.id, confidence: i.confidence.toFixed(2), source: i.source ?? '', text: i.text });
  return {
    title: 'merge history',
    columns: ['merge', 'id', 'confidence', 'source', 'text'],
    rows: [...history.merged_from.map((i) => row('← merged in', i)), ...(history.merged_into ? [row('→ merged into', history.merged_into)] : [])],
    empty: 'none (no other insight was merged into this one)',
  };
}

export default defineGroup({
  name: 'insights',
  description: "the local engine's insight store: add, import, list, show, export",
  subcommands: [
    defineCommand({
      name: 'add',
      localOnly: true,
      description: 'add an insight; one with the same normalized text is reinforced instead',
      arguments: [{ syntax: '<text>' }],
      options: ADD_OPTIONS,
      run: (ctx, [text], options) => addCommand(ctx, text, options),
    }),
    defineCommand({
      name: 'import',
      localOnly: true,
      description: 'import JSONL or CSV (by extension or --format); "-" reads stdin',
      arguments: [{ syntax: '<file>', path: true }],
      options: IMPORT_OPTIONS,
      run: (ctx, [file], options) => importCommand(ctx, file, options),
    }),
    defineCommand({
      name: 'list',
      localOnly: true,
      description: 'list insights',
      options: LIST_OPTIONS,
      run: (ctx, _args, options) => listCommand(ctx, options),
    }),
    defineCommand({
      name: 'show',
      localOnly: true,
      description: 'one insight with its merge history',
      arguments: [{ syntax: '<id>' }],
      run: (ctx, [id]) => showCommand(ctx, id),
    }),
    defineCommand({
      name: 'export',
      localOnly: true,
      description: 'every insight, in id order, as JSONL (`import --restore` reads it back exactly) or CSV',
      options: EXPORT_OPTIONS,
      run: (ctx, _args, options) => exportCommand(ctx, options),
    }),
  ],
});
