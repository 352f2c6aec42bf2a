/**
 * `nex-compound run`: the compounding pipeline in dependency order, one summary at the end,
 * and the first failure's exit code (the loop itself is src/cli/follow/pipeline.ts).
 */
import { UsageError } from '../../contract/errors.js';
import { JOB_TYPES, type JobType } from '../../contract/jobs.js';
import { parseJobType, parseNonNegativeInt } from '../../contract/parse.js';
import { isGithubActions } from '../ci/detect.js';
import { defineCommand, switchOption, valueOption, type OptionValues } from '../command.js';
import { FOLLOW_OPTIONS } from '../follow/options.js';
import { PIPELINE_ORDER, pipelineSummary, runPipeline } from '../follow/pipeline.js';
import { openBackend } from '../settings/backend.js';
import { resolveSettings } from '../settings/settings.js';

const OPTIONS = {
  dryRun: switchOption('--dry-run', 'every job previews its impact and persists nothing'),
  jobs: valueOption('--jobs <a,b>', 'only these job types, still in pipeline order', { values: JOB_TYPES }),
  strict: switchOption('--strict', 'a success with warnings stops the pipeline too'),
  retries: valueOption('--retries <n>', 'retries when a trigger provably never reached the server, or on 429/503 (default 4)'),
  ...FOLLOW_OPTIONS,
} as const;

export interface RunInput {
  jobTypes: JobType[];
  dryRun: boolean;
  strict: boolean;
  retries: number | undefined;
}

/** --jobs a,b picks a subset; the pipeline order is kept whatever order they are named in. */
export function parseRunInput(options: OptionValues<typeof OPTIONS>): RunInput {
  let jobTypes: JobType[] = [...PIPELINE_ORDER];
  if (options.jobs !== undefined) {
    const named = options.jobs.split(',').map((part) => part.trim()).filter(Boolean);
    if (named.length === 0) throw new UsageError('--jobs needs at least one job type', `e.g. --jobs ${PIPELINE_ORDER.slice(0, 2).join(',')}`);
    const chosen = new Set(named.map(parseJobType));
    jobTypes = PIPELINE_ORDER.filter((type) => chosen.has(type));
  }
  const retries = options.retries !== undefined ? parseNonNegativeInt(options.retries, '--retries') : undefined;
  return { jobTypes, dryRun: Boolean(options.dryRun), strict: Boolean(options.strict), retries };
}

export default defineCommand({
  name: 'run',
  description: 'run the compounding pipeline: consolidation → pattern_detection → playbook_synthesis → decay_sweep → metrics',
  options: OPTIONS,
  helpAfter:
    "\nEach job is triggered when the one before it has completed; the first failure stops the\npipeline with that failure's exit code, and a summary table ends the run. --timeout covers\nthe whole pipeline. In a dry run each job previews the data as it is now: later jobs do not\nsee earlier jobs' previewed changes.\n\nExamples:\n  $ nex-compound run --local --dry-run\n  $ nex-compound run --jobs consolidation,metrics --timeout 20m",
  async run(ctx, _args, options) {
    const input = parseRunInput(options);
    const settings = await resolveSettings(ctx.globals, options, ctx.deps);
    const backend = await openBackend(ctx, settings, input.retries !== undefined ? { retries: input.retries } : {});
    const { deps, ui } = ctx;
    ui.info(`pipeline: ${input.jobTypes.join(' → ')}${input.dryRun ? ' (dry run: each job previews the data as it is now)' : ''}`);
    const outcome = await runPipeline(ctx, backend, input.jobTypes, settings, input);
    if (isGithubActions(deps.env)) {
      const github = await import('../ci/github.js');
      github.reportJobs(new github.GithubActions(deps.env, ui), outcome.statuses, outcome.error ? [outcome.error.message] : [], {
        perJob: true,
        title: `nex-compound run${input.dryRun ? ' (dry run)' : ''}`,
        skipped: outcome.skipped,
      });
    }
    const data = ui.options.ndjson ? undefined : pipelineSummary(outcome, input.dryRun, backend.kind, ui.outChalk);
    return { ...(data ? { data } : {}), ...(outcome.error ? { error: outcome.error } : {}) };
  },
});
