/**
 * `nex-compound demo`: loads the bundled sample dataset (a fictional company's insights,
 * with planted near-duplicates, recurring themes and stale items) into a fresh local
 * workspace and runs every job this engine implements, in pipeline order.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceError, UsageError } from '../../contract/errors.js';
import { JOB_TYPES } from '../../contract/jobs.js';
import { defaultDatabasePath, implementedJobTypes, openEngine } from '../../engine/index.js';
import { defineCommand } from '../command.js';
import { runPipeline, pipelineSummary, type PipelineOutcome } from '../follow/pipeline.js';
import { localBackend } from '../settings/backend.js';
import { resolveSettings } from '../settings/settings.js';

const DEMO_DATA = fileURLToPath(new URL('../../../data/demo-insights.jsonl', import.meta.url));
/** The day the sample's dates count back from (REFERENCE in scripts/make-demo-data.mjs). */
const DEMO_REFERENCE = Date.parse('2026-11-01T00:00:00Z');

/**
 * The sample with its dates moved so that its reference day is today: insights are as old on any
 * day the demo runs, so decay, the stale ratio and every figure come out the same.
 */
export function sampleAsOfToday(now: number): string[] {
  const shift = now - DEMO_REFERENCE;
  const moved = (iso: unknown) => (typeof iso === 'string' ? new Date(Date.parse(iso) + shift).toISOString() : iso);
  return readFileSync(DEMO_DATA, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      return `${JSON.stringify({ ...record, created_at: moved(record.created_at), last_reinforced_at: moved(record.last_reinforced_at) })}\n`;
    });
}

/** One demo at a time per database: a second one would delete the file under the first. */
async function lockDemo(file: string): Promise<() => Promise<void>> {
  const { lock } = await import('proper-lockfile');
  try {
    return await lock(path.dirname(file), { lockfilePath: `${file}.lock`, stale: 30_000, retries: 0 });
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') {
      throw new UsageError(`another \`nex-compound demo\` is running on ${file}`, 'wait for it to finish, or give this one its own database with --db');
    }
    throw error;
  }
}

export default defineCommand({
  name: 'demo',
  localOnly: true,
  description: 'load the bundled sample dataset into a fresh local workspace and run every available job',
  async run(ctx) {
    const { deps, ui } = ctx;
    if (!existsSync(DEMO_DATA)) throw new ServiceError(`the bundled dataset is missing (${DEMO_DATA}); reinstall nex-compound`);
    const explicit = ctx.globals.db ?? deps.env.NEX_COMPOUND_DB;
    // Without --db the demo gets a database of its own, recreated each time, so it is always fresh.
    const file = path.resolve(explicit ?? path.join(path.dirname(defaultDatabasePath(deps.env, deps.homedir)), 'demo.db'));
    if (!explicit) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const release = await lockDemo(file);
    ctx.onDispose?.(release);
    if (!explicit) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    const engine = await openEngine(file, { create: true, isDefaultPath: !explicit, env: deps.env, now: deps.now });
    const workspace = engine.workspace(explicit ? await engine.unusedWorkspaceId() : 1);
    ui.info(ui.errChalk.dim(`→ local engine at ${engine.path} (workspace ${workspace.id}, demo)`));

    const sample = sampleAsOfToday(deps.now());
    const summary = await workspace.insights.import((async function* () {
      yield* sample;
    })(), { format: 'jsonl', strict: true });
    ui.info(`loaded ${summary.imported} sample insights (${summary.reinforced} reinforced duplicates) about Northwind Analytics`);

    const available = new Set(await implementedJobTypes());
    const planned = JOB_TYPES.filter((type) => available.has(type));
    const missing = JOB_TYPES.filter((type) => !available.has(type));
    if (missing.length) ui.hint(`not in this engine yet, left out: ${missing.join(', ')}`);

    const settings = await resolveSettings(ctx.globals, {}, deps);
    let outcome: PipelineOutcome;
    try {
      outcome = await runPipeline(ctx, await localBackend(workspace, settings), planned, { ...settings, timeoutMs: 10 * 60_000 }, { dryRun: false, strict: false });
    } finally {
      engine.close();
    }
    ui.hint(`explore: nex-compound insights list --db ${file} --workspace ${workspace.id} · nex-compound metrics --db ${file} --workspace ${workspace.id}`);
    return {
      data: pipelineSummary(outcome, false, 'local', ui.outChalk, { database: engine.path, workspace_id: workspace.id, imported: summary.imported }),
      ...(outcome.error ? { error: outcome.error } : {}),
    };
  },
});
