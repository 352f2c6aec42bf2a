/**
 * Live progress of a watch, on stderr. On an interactive terminal: an ora spinner
 * with status, stage ("signing 12,000/60,000"), elapsed time and live counts. Elsewhere
 * (CI logs, pipes): one timestamped plain line when the status or the stage changes, and
 * while only a stage's count moves at most one every CI_COUNT_EVERY_MS, so that a long job
 * polled ten times a second does not flood the log; no spinner frames, no ANSI codes.
 * With --ndjson each change is also streamed to stdout as one JSON object.
 */
import type { Ui } from '../ui.js';
import { statusJson, type JobStatus } from '../../contract/jobs.js';
import { safeJson } from '../../contract/sanitize.js';
import { colorStatus, formatDuration } from './render.js';

export interface WatchReporter {
  change(status: JobStatus): void;
  poll(status: JobStatus): void;
  warn(message: string): void;
  stop(): void;
}

interface SpinnerLike {
  text: string;
  start(): unknown;
  stop(): unknown;
  clear(): unknown;
  render(): unknown;
}

export async function createWatchReporter(ui: Ui, jobRunIds: readonly string[], now: () => number): Promise<WatchReporter> {
  const started = now();
  const latest = new Map<string, JobStatus>();
  const ndjson = ui.options.ndjson;
  const emitNdjson = (status: JobStatus) => {
    if (ndjson) ui.out(safeJson({ timestamp: new Date(now()).toISOString(), ...statusJson(status) }));
  };

  if (ui.options.quiet || !ui.interactive) {
    const printed = new Map<string, { at: number; milestone: string }>();
    return {
      change(status) {
        latest.set(status.job_run_id, status);
        emitNdjson(status);
        const before = printed.get(status.job_run_id);
        const milestone = milestoneOf(status);
        if (before && before.milestone === milestone && now() - before.at < CI_COUNT_EVERY_MS) return;
        printed.set(status.job_run_id, { at: now(), milestone });
        ui.info(`${new Date(now()).toISOString()} ${ui.clean(`${status.job_run_id} ${describe(status)}`)}`);
      },
      poll() {},
      warn(message) {
        ui.warn(message);
      },
      stop() {},
    };
  }

  const { default: ora } = await import('ora');
  const chalk = ui.errChalk;
  const text = () =>
    jobRunIds
      .map((id) => {
        const status = latest.get(id);
        const elapsed = formatDuration(now() - started);
        if (!status) return `${id.slice(0, 8)} waiting for the first status · ${elapsed}`;
        const bar = status.progress !== undefined ? ` ${progressBar(status.progress)} ${Math.round(status.progress)}%` : '';
        const extra = [
          status.stage ? String(status.stage) : '',
          status.attempts !== undefined && status.max_attempts !== undefined ? `attempt ${status.attempts} of ${status.max_attempts}` : '',
          status.reason ? status.reason : '',
        ].filter(Boolean).map((part) => ` · ${part}`).join('');
        // The server's words are cleaned before the colors of ours go around them.
        return `${ui.clean(`${status.job_type ?? 'job'} ${id.slice(0, 8)}`)} ${colorStatus(status, chalk)}${bar} · ${elapsed}${ui.clean(`${extra}${counts(status, ' · ')}`)}`;
      })
      .join('\n');
  const spinner: SpinnerLike = ora({
    text: ui.redact(text()),
    stream: ui.stderrStream as NodeJS.WritableStream,
    isEnabled: true,
    discardStdin: false,
    color: chalk.level > 0 ? 'cyan' : false,
  } as Parameters<typeof ora>[0]);
  spinner.start();
  const ticker = setInterval(() => {
    spinner.text = ui.redact(text());
  }, 1000);
  ticker.unref();

  return {
    change(status) {
      latest.set(status.job_run_id, status);
      emitNdjson(status);
      spinner.text = ui.redact(text());
    },
    poll(status) {
      latest.set(status.job_run_id, status);
      spinner.text = ui.redact(text());
    },
    warn(message) {
      spinner.clear();
      ui.warn(message);
      spinner.render();
    },
    stop() {
      clearInterval(ticker);
      spinner.stop();
    },
  };
}

function describe(status: JobStatus): string {
  const parts = [status.job_type ?? 'job', String(status.status)];
  if (status.normalized) parts.push(`(${status.normalized.state})`);
  if (status.stage) parts.push(`stage=${quoted(String(status.stage))}`);
  if (status.progress !== undefined) parts.push(`progress=${Math.round(status.progress)}%`);
  if (status.attempts !== undefined && status.attempts > 0) parts.push(`attempt=${status.attempts}${status.max_attempts !== undefined ? `/${status.max_attempts}` : ''}`);
  if (status.reason) parts.push(`reason=${JSON.stringify(status.reason)}`);
  return parts.join(' ') + counts(status, ' ', '=');
}

/** In a CI log, a line for a stage's moving count at most this often (a new status or stage is printed at once). */
export const CI_COUNT_EVERY_MS = 5_000;

/** A stage's count: "12,000/60,000" at the end of "signing 12,000/60,000". */
const STAGE_COUNT = /\s+\d[\d,]*\/\d[\d,]*$/;

/** What a CI line is printed for at once: the status, the stage without its count, the attempt and the reason. */
function milestoneOf(status: JobStatus): string {
  return JSON.stringify([status.status, String(status.stage ?? '').replace(STAGE_COUNT, ''), status.attempts, status.reason]);
}

/** A value of a `key=value` line, quoted when it holds a space ("signing 1,024/60,000"). */
const quoted = (value: string) => (/\s/.test(value) ? JSON.stringify(value) : value);

const BAR_CELLS = 20;

/** A 20-cell bar; eighth blocks give the last cell sub-cell resolution. */
export function progressBar(percent: number): string {
  const clamped = Math.max(0, Math.min(100, percent));
  const eighths = Math.round((clamped / 100) * BAR_CELLS * 8);
  const full = Math.floor(eighths / 8);
  const partial = eighths % 8;
  const partials = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
  const filled = '█'.repeat(full) + (partial ? partials[partial]! : '');
  return `[${filled}${' '.repeat(BAR_CELLS - full - (partial ? 1 : 0))}]`;
}

function counts(status: JobStatus, separator: string, joiner = ' '): string {
  const fields: Array<[string, number | undefined]> = [
    ['scanned', status.insights_scanned],
    ['affected', status.insights_affected],
    ['candidates', status.candidates_created],
    ['errors', status.errors],
  ];
  return fields
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${separator}${name}${joiner}${value}`)
    .join('');
}

export interface LineCounter {
  update(lines: number): void;
  stop(): void;
}

/** A spinner that waits this long before it shows: a small file is read before it would flash. */
const COUNTER_DELAY_MS = 250;
/** Its text changes at most this often, however often lines are counted. */
const COUNTER_EVERY_MS = 100;

/**
 * "importing big.jsonl · 412,000 lines" on an interactive terminal while a long read goes on;
 * nothing elsewhere (a CI log gets the summary at the end, not a line per chunk).
 */
export async function createLineCounter(ui: Ui, label: string, now: () => number): Promise<LineCounter> {
  if (ui.options.quiet || !ui.interactive) return { update() {}, stop() {} };
  const { default: ora } = await import('ora');
  const started = now();
  let shownAt = -Infinity;
  let spinner: SpinnerLike | undefined;
  return {
    update(lines) {
      const t = now();
      if (t - started < COUNTER_DELAY_MS || t - shownAt < COUNTER_EVERY_MS) return;
      shownAt = t;
      const text = ui.redact(`${ui.clean(label)} · ${lineCount(lines)}`);
      if (spinner) spinner.text = text;
      else {
        spinner = ora({ text, stream: ui.stderrStream as NodeJS.WritableStream, isEnabled: true, discardStdin: false, color: ui.errChalk.level > 0 ? 'cyan' : false } as Parameters<typeof ora>[0]);
        spinner.start();
      }
    },
    stop() {
      spinner?.stop();
    },
  };
}

/** "1 line", "412,000 lines". */
const lineCount = (n: number): string => `${n.toLocaleString('en-US')} line${n === 1 ? '' : 's'}`;
