/**
 * The one renderer: commands return data, and this picks a table (stdout is a
 * terminal), plain aligned lines (pipes, CI logs) or JSON (--json). Human views only:
 * an empty list prints nothing (the command says "no X yet" on stderr); on a terminal a
 * moment (a `*_at` field holding an ISO time) gets how long ago it was beside it; a record
 * may be followed by titled tables (an insight's merge history, a job's error_details).
 */
import type { ChalkInstance } from 'chalk';
import type { OutputMode } from '../ui.js';
import { lifecycleOf, statusJson, type AcceptedJob, type JobStatus } from '../../contract/jobs.js';
import { safeJson, sanitize } from '../../contract/sanitize.js';
import { detailRows, momentOf, relativeTime } from './views.js';

export type Rendered =
  | { kind: 'accepted'; job: AcceptedJob }
  | { kind: 'status'; status: JobStatus }
  | { kind: 'statuses'; statuses: JobStatus[] }
  | { kind: 'record'; record: Record<string, unknown>; json?: unknown; sections?: Section[] }
  | { kind: 'rows'; columns: string[]; rows: Array<Record<string, unknown>>; json?: unknown }
  | { kind: 'text'; text: string; json?: unknown };

/** A titled table under a record: rows (`empty` is said instead when there are none), or key/value fields. */
export type Section = { title: string; columns: string[]; rows: Array<Record<string, unknown>>; empty?: string } | { title: string; fields: Record<string, unknown> };

const STATUS_FIELDS = [
  'job_run_id',
  'job_type',
  'status',
  'dry_run',
  'workspace_id',
  'insights_scanned',
  'insights_affected',
  'candidates_created',
  'errors',
  'progress',
  'stage',
  'attempts',
  'reason',
  'environment',
  'engine_version',
  'created_at',
  'started_at',
  'completed_at',
  'duration_ms',
  'warning',
  'error',
] as const;

export interface RenderOptions {
  /** The terminal's width: tables are fitted to it. Pipes have none, and their lines are never cut. */
  columns?: number | undefined;
  /** --no-headers: tables and plain lines without their header row. */
  headers?: boolean;
  /** Takes secrets out of every value before a cut or a wrap could split one past recognition. */
  redact?: (text: string) => string;
  /** The moment relative times are measured from (ms since the epoch); shown in tables only. */
  now?: number | undefined;
}

export async function render(data: Rendered, mode: OutputMode, chalk: ChalkInstance, options: RenderOptions = {}): Promise<string> {
  if (mode === 'json') return safeJson(toJson(data), 2);
  switch (data.kind) {
    case 'accepted':
      return renderRecord(acceptedRecord(data.job), mode, chalk, options);
    case 'status':
      return renderStatus(data.status, mode, chalk, options);
    case 'statuses':
      if (data.statuses.length === 1) return renderStatus(data.statuses[0]!, mode, chalk, options);
      return renderRows(
        ['job_run_id', 'job_type', 'status', 'scanned', 'affected', 'candidates', 'errors', 'duration'],
        data.statuses.map((s) => ({
          job_run_id: s.job_run_id,
          job_type: s.job_type ?? '',
          status: styled(colorStatus(s, chalk)),
          scanned: s.insights_scanned ?? '',
          affected: s.insights_affected ?? '',
          candidates: s.candidates_created ?? '',
          errors: s.errors ?? '',
          duration: s.duration_ms !== undefined ? formatDuration(s.duration_ms) : '',
        })),
        mode,
        options,
      );
    case 'record':
      return withSections(await renderRecord(data.record, mode, chalk, options), data.sections ?? [], mode, chalk, options);
    case 'rows':
      return renderRows(data.columns, data.rows, mode, options);
    case 'text':
      // A document of ours holding others' words: each line cleaned, the lines kept.
      return data.text.split('\n').map(sanitize).join('\n');
  }
}

export function toJson(data: Rendered): unknown {
  switch (data.kind) {
    case 'accepted':
      return data.job;
    case 'status':
      return statusJson(data.status);
    case 'statuses':
      return data.statuses.length === 1 ? statusJson(data.statuses[0]!) : data.statuses.map(statusJson);
    case 'record':
      return data.json ?? data.record;
    case 'rows':
      return data.json ?? data.rows;
    case 'text':
      return data.json ?? data.text;
  }
}

function acceptedRecord(job: AcceptedJob): Record<string, unknown> {
  return {
    job_run_id: job.job_run_id,
    job_type: job.job_type,
    workspace_id: job.workspace_id,
    dry_run: job.dry_run,
    status: job.status,
  };
}

function statusRecord(status: JobStatus, chalk: ChalkInstance): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const field of STATUS_FIELDS) {
    const value = status[field];
    if (value === undefined) continue;
    if (field === 'status') {
      record[field] = styled(colorStatus(status, chalk));
      // Another API's own word next to where it sits in the common lifecycle.
      if (status.normalized) record.state = status.normalized.state;
    } else if (field === 'attempts' && status.max_attempts !== undefined) record[field] = `${value} of ${status.max_attempts}`;
    else if (field === 'warning') record[field] = styled(chalk.yellow(sanitize(String(value))));
    else if (field === 'duration_ms' && typeof value === 'number') record[field] = `${value} (${formatDuration(value)})`;
    else if (field === 'progress' && typeof value === 'number') record[field] = `${value}%`;
    else record[field] = value;
  }
  return record;
}

/** A status as a record, with what the server said of its result and its error as field/value tables. */
async function renderStatus(status: JobStatus, mode: OutputMode, chalk: ChalkInstance, options: RenderOptions): Promise<string> {
  const sections: Section[] = [];
  const fields = (details: unknown) => Object.fromEntries(detailRows(details).map((row) => [sanitize(row.field), row.value]));
  if (status.result !== undefined) sections.push({ title: 'result', fields: fields(status.result) });
  if (status.error_details !== undefined) sections.push({ title: 'error_details', fields: fields(status.error_details) });
  return withSections(await renderRecord(statusRecord(status, chalk), mode, chalk, options), sections, mode, chalk, options);
}

/** The head, then each section under its title. */
async function withSections(head: string, sections: readonly Section[], mode: OutputMode, chalk: ChalkInstance, options: RenderOptions): Promise<string> {
  const parts = [head];
  for (const section of sections) {
    const title = mode === 'table' ? chalk.bold(section.title) : section.title;
    if ('fields' in section) {
      parts.push('', title, await renderRecord(section.fields, mode, chalk, options));
      continue;
    }
    if (section.rows.length === 0) {
      if (section.empty !== undefined) parts.push('', `${title}: ${section.empty}`);
      continue;
    }
    parts.push('', title, await renderRows(section.columns, section.rows, mode, options));
  }
  return parts.join('\n');
}

/** A status word colored by where it sits in the lifecycle, whichever API said it. */
export function colorStatus(status: JobStatus, chalk: ChalkInstance): string {
  const word = sanitize(String(status.status));
  switch (lifecycleOf(status).state) {
    case 'succeeded':
      return chalk.green(word);
    case 'failed':
    case 'cancelled':
      return chalk.red(word);
    case 'running':
      return chalk.cyan(word);
    default:
      return chalk.yellow(word);
  }
}

async function renderRecord(record: Record<string, unknown>, mode: OutputMode, chalk: ChalkInstance, options: RenderOptions): Promise<string> {
  const entries = Object.entries(record)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => [key, cell(withAge(key, value, mode, options), options.redact)] as const);
  if (mode === 'plain') {
    const width = Math.max(...entries.map(([key]) => key.length));
    const indent = ' '.repeat(width + 2);
    return entries.map(([key, value]) => `${key.padEnd(width)}  ${value.split('\n').join(`\n${indent}`)}`).join('\n');
  }
  const { recordTable } = await import('./table.js');
  return recordTable(entries, chalk, options.columns);
}

async function renderRows(columns: string[], rows: Array<Record<string, unknown>>, mode: OutputMode, options: RenderOptions): Promise<string> {
  // An empty list is said on stderr by the command ("no jobs yet"): no header row under it.
  if (rows.length === 0) return '';
  const headers = options.headers ?? true;
  const cells = rows.map((r) => columns.map((c) => cell(withAge(c, r[c], mode, options), options.redact)));
  if (mode === 'plain') {
    const widths = columns.map((c, i) => Math.max(headers ? c.length : 0, ...cells.map((r) => visibleLength(r[i]!))));
    const line = (values: string[]) =>
      values.map((v, i) => (i === values.length - 1 ? v : v + ' '.repeat(Math.max(0, widths[i]! - visibleLength(v))))).join('  ').trimEnd();
    return [...(headers ? [line(columns.map((c) => c.toUpperCase()))] : []), ...cells.map(line)].join('\n');
  }
  const { rowsTable } = await import('./table.js');
  return rowsTable(columns, cells, { columns: options.columns, headers });
}

/** A value the caller formatted and styled itself (colors, lines of its own): shown as it is. */
export class Styled {
  constructor(readonly text: string) {}
}

export const styled = (text: string): Styled => new Styled(text);

/**
 * Every other value may hold others' words: shown on one line with its escapes visible. Secrets
 * are taken out first (ui.out redacts again, but a secret cut in two by a table is no longer seen).
 */
function cell(value: unknown, redact: (text: string) => string = (text) => text): string {
  if (value instanceof Styled) return redact(value.text);
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return sanitize(redact(JSON.stringify(value)));
  return sanitize(redact(String(value)));
}

/** A moment in a table, with how long ago it was beside it: "2026-12-03T17:30:00.000Z (2 min ago)". */
function withAge(field: string, value: unknown, mode: OutputMode, options: RenderOptions): unknown {
  if (mode !== 'table' || options.now === undefined) return value;
  const at = momentOf(field, value);
  return at === undefined ? value : `${String(value)} (${relativeTime(at, options.now)})`;
}

function visibleLength(text: string): number {
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** Durations as a person reads them: 850ms, 42s, 3m07s, 1h05m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
