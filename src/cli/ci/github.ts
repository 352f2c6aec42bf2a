/**
 * GitHub Actions integration, active when GITHUB_ACTIONS=true: step outputs in $GITHUB_OUTPUT,
 * a markdown table in $GITHUB_STEP_SUMMARY, ::error:: / ::warning:: annotations and ::group::
 * folding of long watch logs. Workflow commands go to stderr, which the runner reads for them
 * just as it reads stdout, so stdout keeps carrying data only.
 * A missing or unwritable file is a warning: a CI helper must never fail the step itself.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { Ui } from '../ui.js';
import { formatDuration } from '../render/render.js';
import { isFailureOutcome } from '../../contract/lifecycle.js';
import { lifecycleOf, type JobStatus } from '../../contract/jobs.js';
import { sanitize } from '../../contract/sanitize.js';
import { escapeData, escapeProperty, noteAnnotated } from './annotate.js';

export class GithubActions {
  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly ui: Ui,
  ) {}

  group(title: string): void {
    this.ui.workflowCommand(`::group::${escapeData(this.ui.clean(title))}`);
  }

  endGroup(): void {
    this.ui.workflowCommand('::endgroup::');
  }

  annotate(level: 'error' | 'warning' | 'notice', message: string, title?: string): void {
    if (level === 'error') noteAnnotated(this.env, message);
    this.ui.workflowCommand(`::${level}${title ? ` title=${escapeProperty(this.ui.clean(title))}` : ''}::${escapeData(this.ui.clean(message))}`);
  }

  /** name<<delimiter blocks, as the toolkit writes them: safe for any value, multi-line included. */
  setOutputs(outputs: Record<string, string | number | undefined>): void {
    const entries = Object.entries(outputs).filter((e): e is [string, string | number] => e[1] !== undefined);
    if (entries.length === 0) return;
    const text = entries
      .map(([name, value]) => {
        const delimiter = `ghadelimiter_${randomUUID()}`;
        return `${name}<<${delimiter}\n${this.ui.clean(String(value))}\n${delimiter}\n`;
      })
      .join('');
    this.append('GITHUB_OUTPUT', text, 'step outputs');
  }

  appendSummary(markdown: string): void {
    this.append('GITHUB_STEP_SUMMARY', `${this.ui.redact(markdown)}\n`, 'the job summary');
  }

  private append(variable: 'GITHUB_OUTPUT' | 'GITHUB_STEP_SUMMARY', text: string, what: string): void {
    const file = this.env[variable];
    if (!file) {
      this.ui.warn(`${variable} is not set: ${what} not written (GITHUB_ACTIONS=true outside a runner?)`);
      return;
    }
    try {
      appendFileSync(file, text, { encoding: 'utf8' });
    } catch (error) {
      const reason = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
      this.ui.warn(`could not write ${what} to ${variable} (${file}): ${reason}`);
    }
  }
}

/** Outputs of one job: the fields the next step wants. */
export function jobOutputs(status: JobStatus, prefix = ''): Record<string, string | number | undefined> {
  return {
    [`${prefix}job_run_id`]: status.job_run_id,
    [`${prefix}status`]: String(status.status),
    [`${prefix}insights_scanned`]: status.insights_scanned,
    [`${prefix}insights_affected`]: status.insights_affected,
    [`${prefix}candidates_created`]: status.candidates_created,
    [`${prefix}errors`]: status.errors,
  };
}

/** A server's field in a markdown table cell: one line, escapes shown, no table break, no HTML, no code span. */
const cell = (value: unknown) => (value === undefined || value === null ? '' : sanitize(String(value)).replace(/[|`<>]/g, (c) => `\\${c}`));

const OUTCOME_MARKS: Record<string, string> = { succeeded: '✅', succeeded_with_warnings: '⚠️', failed: '❌', cancelled: '❌' };

export function summaryTable(title: string, statuses: readonly JobStatus[], skipped: readonly string[] = []): string {
  const lines = [
    `### ${title}`,
    '',
    '| job | job_run_id | status | scanned | affected | candidates | errors | duration |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...statuses.map((s) => {
      const mark = OUTCOME_MARKS[lifecycleOf(s).outcome ?? 'running'] ?? '⏳';
      return `| ${cell(s.job_type ?? 'job')} | \`${cell(s.job_run_id)}\` | ${mark} ${cell(s.status)} | ${cell(s.insights_scanned)} | ${cell(s.insights_affected)} | ${cell(s.candidates_created)} | ${cell(s.errors)} | ${s.duration_ms !== undefined ? formatDuration(s.duration_ms) : ''} |`;
    }),
    ...skipped.map((jobType) => `| ${cell(jobType)} | | ⏭️ skipped | | | | | |`),
  ];
  return lines.join('\n');
}

export interface ReportOptions {
  /** Always `<job_type>_…` output names, with job_run_ids and an overall status: a pipeline's outputs keep one shape. */
  perJob?: boolean;
  title?: string;
  /** Jobs a pipeline never started because an earlier one failed. */
  skipped?: readonly string[];
}

/** After a watch: outputs (plain names for one job, `<job_type>_…` for several), a summary and annotations. */
export function reportJobs(gha: GithubActions, statuses: readonly JobStatus[], failureMessages: readonly string[], options: ReportOptions = {}): void {
  const failed = failureMessages.length > 0 || statuses.some((s) => isFailureOutcome(lifecycleOf(s).outcome));
  if (statuses.length === 1 && !options.perJob) gha.setOutputs(jobOutputs(statuses[0]!));
  else if (statuses.length > 0 || options.perJob) {
    const outputs: Record<string, string | number | undefined> = {};
    const seen = new Set<string>();
    for (const status of statuses) {
      const key = String(status.job_type ?? 'job');
      const prefix = seen.has(key) ? `${key}_${status.job_run_id.slice(0, 8)}_` : `${key}_`;
      seen.add(key);
      Object.assign(outputs, jobOutputs(status, prefix));
    }
    for (const jobType of options.skipped ?? []) outputs[`${jobType}_status`] = 'skipped';
    outputs.job_run_ids = statuses.map((s) => s.job_run_id).join(',');
    outputs.status = failed ? 'failed' : 'completed';
    gha.setOutputs(outputs);
  }
  if (statuses.length > 0 || options.skipped?.length) gha.appendSummary(summaryTable(options.title ?? 'nex-compound', statuses, options.skipped));
  for (const status of statuses) {
    if (lifecycleOf(status).outcome === 'succeeded_with_warnings') {
      gha.annotate('warning', `${status.job_type ?? 'job'} ${status.job_run_id} ${String(status.status)}: ${status.warning ?? 'succeeded with warnings'}`, 'nex-compound');
    }
  }
  for (const message of failureMessages) gha.annotate('error', message, 'nex-compound');
}
