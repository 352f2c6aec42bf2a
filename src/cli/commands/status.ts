/** `nex-compound status <job_run_id>`: one read of a job's state. */
import { JobFailedError, UsageError } from '../../contract/errors.js';
import { isFailureOutcome, PROVIDER_NAMES } from '../../contract/lifecycle.js';
import { lifecycleOf, type JobStatus } from '../../contract/jobs.js';
import { parseJobRunId, parseNonNegativeInt, parseProvider, parseProviderJobId } from '../../contract/parse.js';
import { sanitize } from '../../contract/sanitize.js';
import { defineCommand, switchOption, valueOption } from '../command.js';
import { strictFailure, summarizeDetails, warningMessage } from '../follow/outcome.js';
import { openBackend } from '../settings/backend.js';
import { jobIdsOrLatest } from '../follow/latest.js';
import { resolveSettings } from '../settings/settings.js';

export default defineCommand({
  name: 'status',
  description: 'show a job once (GET /v1/compounding/jobs/{job_run_id})',
  arguments: [{ syntax: '[job_run_id]', description: 'the UUID printed by trigger (or --latest; none at a terminal: pick from the recent jobs)' }],
  options: {
    latest: switchOption('--latest', 'the newest job: of the local workspace, or triggered from this machine for the remote API'),
    retries: valueOption('--retries <n>', 'retries of transient failures (default 4)'),
    exitStatus: switchOption('--exit-status', 'exit 1 when the job has failed or was cancelled'),
    provider: valueOption('--provider <name>', 'the job API: nex (default), julep, nexio or jobs', { values: PROVIDER_NAMES }),
    strict: switchOption('--strict', 'a success with warnings (Nexio degraded) exits 1'),
    details: switchOption('--details', 'what the run found: consolidation clusters and conflicts (local engine; dry runs too)'),
  },
  async run(ctx, [idArg], options) {
    const provider = parseProvider(options.provider ?? 'nex');
    const retries = options.retries !== undefined ? parseNonNegativeInt(options.retries, '--retries') : undefined;
    const settings = await resolveSettings(ctx.globals, { provider }, ctx.deps);
    const given = idArg === undefined ? [] : [idArg];
    const id = (await jobIdsOrLatest(ctx, settings, given, Boolean(options.latest), 'show'))?.[0] ?? (provider === 'nex' ? parseJobRunId(idArg!) : parseProviderJobId(idArg!));
    const backend = await openBackend(ctx, settings, retries !== undefined ? { retries } : {});
    const status = await backend.status(id, ctx.deps.signal ? { signal: ctx.deps.signal } : {});
    const { outcome } = lifecycleOf(status);
    const warning = options.strict ? undefined : warningMessage(status);
    if (warning) ctx.ui.warn(warning);
    let failure = options.strict ? strictFailure(status) : undefined;
    if (options.exitStatus && isFailureOutcome(outcome)) {
      const reason = status.error_details ? `: ${summarizeDetails(status.error_details, (text) => ctx.ui.redact(text))}` : '';
      failure = new JobFailedError(`job ${id} ${outcome === 'cancelled' ? 'was cancelled' : 'failed'} (${String(status.status)})${reason}`);
    }
    if (options.details) {
      if (!backend.details) throw new UsageError('--details needs the local engine: the Nex API reports counts only', 'add --local (and --db if the job ran elsewhere)');
      const details = await backend.details(id);
      return {
        data: { kind: 'text', text: describeDetails(status, details), json: { ...status, details } },
        ...(failure ? { error: failure } : {}),
      };
    }
    return {
      data: { kind: 'status', status },
      ...(failure ? { error: failure } : {}),
    };
  },
});

interface ClusterDetails {
  survivor: number;
  text_from: number;
  text: string;
  members: Array<{ id: number; similarity: number; text: string }>;
}

/** Plain lines: a run's clusters (members, similarity to the canonical insight, resulting text) and conflicts. */
export function describeDetails(status: JobStatus, details: Record<string, unknown> | null): string {
  const head = sanitize(`${status.job_type ?? 'job'} ${status.job_run_id} ${status.status}`) + (status.dry_run ? ' (dry run: nothing was written)' : '');
  if (!details) return `${head}\nno details recorded${status.status === 'completed' ? '' : ' yet'}`;
  const clusters = (details.clusters as ClusterDetails[] | undefined) ?? [];
  if (!Array.isArray(details.clusters)) return `${head}\n${JSON.stringify(details, null, 2)}`;
  const conflicts = (details.conflicts as Array<{ a: number; b: number; reason: string; similarity: number; a_text?: string; b_text?: string }> | undefined) ?? [];
  const lines = [
    head,
    `${status.insights_scanned ?? 0} insights scanned · ${String(details.merged)} merged into ${clusters.length} cluster${clusters.length === 1 ? '' : 's'} · ${String(details.conflicts_total ?? conflicts.length)} conflicts · threshold ${String(details.threshold)}`,
  ];
  clusters.forEach((cluster, i) => {
    lines.push('', `cluster ${i + 1}: insight ${cluster.survivor} survives${cluster.text_from !== cluster.survivor ? `, with the text of ${cluster.text_from}` : ''}`, `  → ${sanitize(cluster.text)}`);
    for (const m of cluster.members) lines.push(`  ${String(m.id).padStart(7)}  ${m.similarity.toFixed(3)}  ${sanitize(m.text)}`);
  });
  if (conflicts.length > 0) {
    lines.push('', 'conflicts (the same statement but for a number, date, negation or name: never merged; most similar first):');
    for (const c of conflicts) {
      lines.push(`  ${c.a} ↔ ${c.b}  ${c.reason.padEnd(8)}  ${c.similarity.toFixed(3)}`);
      // Runs recorded before conflicts carried their texts show ids only.
      if (c.a_text !== undefined && c.b_text !== undefined) lines.push(`    ${c.a}: ${sanitize(c.a_text)}`, `    ${c.b}: ${sanitize(c.b_text)}`);
    }
    const total = Number(details.conflicts_total ?? conflicts.length);
    if (total > conflicts.length) lines.push(`  … and ${total - conflicts.length} more`);
  }
  return lines.join('\n');
}
