/**
 * `insights add|import|list|show|export`: the local engine's insight store.
 */
import { closeSync, createWriteStream, existsSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { openLocalEngine } from '../settings/backend.js';
import type { Context } from '../context.js';
import { ImportIncompleteError, NotFoundError, UsageError } from '../../contract/errors.js';
import { parseNonNegativeInt } from '../../contract/parse.js';
import { addInsight, exportInsights, getInsight, listInsights, mergeHistory } from '../../engine/store/insights.js';
import { importInsights, type ImportInput } from '../../engine/store/import/import.js';
import type { CommandResult } from '../command.js';

const STATUSES = ['active', 'merged', 'archived'] as const;

export async function insightsAddCommand(ctx: Context, text: string, options: { source?: string; confidence?: string; tags?: string }): Promise<CommandResult> {
  const confidence = options.confidence !== undefined ? parseConfidence(options.confidence) : undefined;
  const tags = options.tags !== undefined ? options.tags.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
  const engine = await openLocalEngine(ctx);
  try {
    const { insight, reinforced } = addInsight(engine.db, {
      workspaceId: engine.workspaceId,
      text,
      ...(options.source !== undefined ? { source: options.source } : {}),
      ...(confidence !== undefined ? { confidence } : {}),
      ...(tags !== undefined ? { tags } : {}),
      now: ctx.deps.now(),
    });
    ctx.ui.info(reinforced ? `reinforced insight ${insight.id} (now ${insight.reinforcement_count}×)` : `added insight ${insight.id}`);
    return { data: { kind: 'record', record: insightRecord(insight), json: { ...insight, reinforced } } };
  } finally {
    engine.db.close();
  }
}

/** Below this a parsing worker's start-up costs more than the overlap saves. */
const PARALLEL_IMPORT_BYTES = 4 * 1024 * 1024;

export async function insightsImportCommand(ctx: Context, file: string, options: { format?: string; strict?: boolean }): Promise<CommandResult> {
  const format = importFormat(file, options.format);
  let input: ImportInput;
  // Standard input may be large and its size is unknown, so it is parsed in parallel too.
  let parallel = true;
  if (file === '-') input = ctx.deps.stdin;
  else {
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const stats = statSync(file);
    if (stats.isDirectory()) throw new UsageError(`${file} is a directory, not an import file`);
    try {
      closeSync(openSync(file, 'r'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'an error';
      throw new UsageError(`cannot read ${file} (${code})`, code === 'EACCES' ? "check the file's permissions and owner" : 'pass a regular file, or - to read standard input');
    }
    parallel = stats.size >= PARALLEL_IMPORT_BYTES;
    input = { kind: 'file', path: file };
  }
  const engine = await openLocalEngine(ctx);
  try {
    const summary = await importInsights(engine.db, input, {
      workspaceId: engine.workspaceId,
      format,
      strict: Boolean(options.strict),
      now: ctx.deps.now(),
      parallel,
    });
    for (const error of summary.errors) ctx.ui.err(`${file === '-' ? 'stdin' : file}:${error.line}: ${error.message}`);
    if (summary.skipped > summary.errors.length) ctx.ui.err(`… and ${summary.skipped - summary.errors.length} more bad lines`);
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
        ? new ImportIncompleteError(`${summary.skipped} bad line${summary.skipped === 1 ? '' : 's'}; --strict: nothing was imported`, 'fix the lines listed above, or drop --strict to import the good ones')
        : new ImportIncompleteError(`imported ${summary.imported + summary.reinforced} lines; skipped ${summary.skipped} bad line${summary.skipped === 1 ? '' : 's'}`, 'the lines listed above were not imported');
    }
    return result;
  } finally {
    engine.db.close();
  }
}

export async function insightsListCommand(ctx: Context, options: { status?: string; source?: string; search?: string; limit?: string }): Promise<CommandResult> {
  if (options.status !== undefined && !(STATUSES as readonly string[]).includes(options.status)) {
    throw new UsageError(`unknown status "${options.status}"`, `use one of: ${STATUSES.join(', ')}`);
  }
  const limit = options.limit !== undefined ? parseNonNegativeInt(options.limit, '--limit') : 50;
  const engine = await openLocalEngine(ctx);
  try {
    const insights = listInsights(engine.db, {
      workspaceId: engine.workspaceId,
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
          confidence: i.confidence.toFixed(3),
          source: i.source ?? '',
          tags: i.tags.join(','),
          text: i.text.length > 80 ? `${i.text.slice(0, 79)}…` : i.text,
        })),
        json: insights,
      },
    };
  } finally {
    engine.db.close();
  }
}

export async function insightsShowCommand(ctx: Context, idArg: string): Promise<CommandResult> {
  const id = parseNonNegativeInt(idArg, 'insight id');
  const engine = await openLocalEngine(ctx);
  try {
    const insight = getInsight(engine.db, engine.workspaceId, id);
    if (!insight) throw new NotFoundError(`insight ${id} not found in workspace ${engine.workspaceId}`, '`nex-compound insights list` shows the ids');
    const history = mergeHistory(engine.db, engine.workspaceId, id);
    const record: Record<string, unknown> = insightRecord(insight);
    record.history = JSON.stringify(history);
    return { data: { kind: 'record', record, json: { ...insight, history } } };
  } finally {
    engine.db.close();
  }
}

export async function insightsExportCommand(ctx: Context, options: { format?: string; output?: string }): Promise<CommandResult> {
  if (options.format !== undefined && options.format !== 'jsonl') throw new UsageError(`unknown export format "${options.format}"`, 'only jsonl is supported');
  const engine = await openLocalEngine(ctx);
  try {
    const lines = Readable.from(
      (function* () {
        for (const record of exportInsights(engine.db, engine.workspaceId)) yield `${JSON.stringify(record)}\n`;
      })(),
    );
    if (options.output) {
      const target = path.resolve(options.output);
      try {
        await pipeline(lines, createWriteStream(target, { mode: 0o600 }));
      } catch (error) {
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
    engine.db.close();
  }
}

function parseConfidence(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--confidence must be a number from 0 to 1, got "${value}"`);
  return n;
}

function importFormat(file: string, format: string | undefined): 'jsonl' | 'csv' {
  if (format !== undefined) {
    if (format === 'jsonl' || format === 'csv') return format;
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
    confidence: i.confidence,
    base_confidence: i.base_confidence,
    reinforcement_count: i.reinforcement_count,
    status: i.status,
    merged_into: i.merged_into ?? '',
    created_at: i.created_at,
    last_reinforced_at: i.last_reinforced_at,
  };
}
