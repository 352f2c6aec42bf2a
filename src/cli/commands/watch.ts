/** `nex-compound watch <job_run_id...>`: follow jobs until each ends; the exit code is the outcome. */
import { PROVIDER_NAMES, type ProviderName } from '../../contract/lifecycle.js';
import { parseJobRunId, parseProvider, parseProviderJobId } from '../../contract/parse.js';
import { defineCommand, switchOption, valueOption } from '../command.js';
import { followJobs } from '../follow/follow.js';
import { FOLLOW_OPTIONS } from '../follow/options.js';
import { jobIdsOrLatest } from '../follow/latest.js';
import { openBackend } from '../settings/backend.js';
import { resolveSettings } from '../settings/settings.js';

/** Nex ids are UUIDs, checked here; other providers judge their own ids (see parseProviderJobId). */
export function parseWatchIds(ids: readonly string[], provider: ProviderName = 'nex'): string[] {
  const parse = provider === 'nex' ? parseJobRunId : parseProviderJobId;
  return [...new Set(ids.map(parse))];
}

export default defineCommand({
  name: 'watch',
  description: 'follow jobs until each is completed or failed; the exit code is the outcome',
  arguments: [{ syntax: '[job_run_id...]', description: 'one or more job UUIDs (or --latest; none at a terminal: pick from the recent jobs)' }],
  options: {
    latest: switchOption('--latest', 'the newest job: of the local workspace, or triggered from this machine for the remote API'),
    provider: valueOption('--provider <name>', 'the job API: nex (default), julep, nexio or jobs', { values: PROVIDER_NAMES }),
    strict: switchOption('--strict', 'a success with warnings (Nexio degraded) exits 1'),
    ...FOLLOW_OPTIONS,
  },
  async run(ctx, [rawIds], options) {
    const provider = parseProvider(options.provider ?? 'nex');
    const settings = await resolveSettings(ctx.globals, { ...options, provider }, ctx.deps);
    const ids = (await jobIdsOrLatest(ctx, settings, rawIds, Boolean(options.latest))) ?? parseWatchIds(rawIds, provider);
    const backend = await openBackend(ctx, settings);
    return followJobs(ctx, backend, ids, settings, 0, { strict: Boolean(options.strict) });
  },
});
