/** `nex-compound trigger <job_type>`: start a job, and with --wait follow it to its end. */
import { randomUUID } from 'node:crypto';
import { UsageError } from '../../contract/errors.js';
import { JOB_TYPES } from '../../contract/jobs.js';
import { parseJobType, parseNonNegativeInt } from '../../contract/parse.js';
import { isGithubActions } from '../ci/detect.js';
import { defineCommand, switchOption, valueOption, type OptionValues } from '../command.js';
import { FOLLOW_OPTIONS } from '../follow/options.js';
import { sendTrigger } from '../follow/trigger.js';
import { openBackend, sameBackendFlags } from '../settings/backend.js';
import { resolveSettings } from '../settings/settings.js';

const OPTIONS = {
  dryRun: switchOption('--dry-run', 'preview the impact without persisting changes'),
  wait: switchOption('--wait', 'follow the job to the end, as `watch` does'),
  idempotencyKey: valueOption('--idempotency-key <key>', 'reuse the key printed by an earlier attempt whose outcome was unknown'),
  retries: valueOption('--retries <n>', 'retries when the request provably never reached the server, or on 429/503 (default 4)'),
  ...FOLLOW_OPTIONS,
} as const;

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{8,255}$/;

export function parseTriggerInput(jobTypeArg: string, options: OptionValues<typeof OPTIONS>) {
  const jobType = parseJobType(jobTypeArg);
  if (options.idempotencyKey !== undefined && !IDEMPOTENCY_KEY_RE.test(options.idempotencyKey)) {
    throw new UsageError('--idempotency-key must be 8–255 printable characters without spaces (a UUID is best)');
  }
  const retries = options.retries !== undefined ? parseNonNegativeInt(options.retries, '--retries') : undefined;
  // These shape the following of the job; without --wait nothing follows it, so they would be silently ignored.
  for (const [flag, value] of [['--timeout', options.timeout], ['--interval', options.interval], ['--ndjson', options.ndjson]] as const) {
    if (value !== undefined && value !== false && !options.wait) throw new UsageError(`${flag} applies only with --wait`, `add --wait to follow the job, or drop ${flag}`);
  }
  return { jobType, dryRun: Boolean(options.dryRun), idempotencyKey: options.idempotencyKey ?? randomUUID(), retries };
}

export default defineCommand({
  name: 'trigger',
  description: 'start a compounding job (POST /v1/compounding/trigger)',
  arguments: [{ syntax: '<job_type>', description: JOB_TYPES.join(' | '), values: JOB_TYPES }],
  options: OPTIONS,
  async run(ctx, [jobTypeArg], options) {
    const input = parseTriggerInput(jobTypeArg, options);
    const settings = await resolveSettings(ctx.globals, options, ctx.deps);
    const backend = await openBackend(ctx, settings, input.retries !== undefined ? { retries: input.retries } : {});
    const { ui, deps } = ctx;
    const job = await sendTrigger(ctx, backend, settings, { job_type: input.jobType, dry_run: input.dryRun }, input.idempotencyKey);
    if (!options.wait) {
      if (isGithubActions(deps.env)) {
        const { GithubActions } = await import('../ci/github.js');
        new GithubActions(deps.env, ui).setOutputs({ job_run_id: job.job_run_id, status: job.status });
      }
      ui.hint(`follow it with: nex-compound watch ${job.job_run_id}${sameBackendFlags(ctx, settings, backend.kind)}`);
      return { data: { kind: 'accepted', job } };
    }
    ui.info(`accepted ${job.job_type} job ${job.job_run_id}${job.dry_run ? ' (dry run)' : ''}`);
    // Following a job loads the watch loop and its renderers; a plain trigger, the common CI step, does not.
    const { followJobs } = await import('../follow/follow.js');
    return followJobs(ctx, backend, [job.job_run_id], settings, 1000);
  },
});
