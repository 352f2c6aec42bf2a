/**
 * `nex-compound demo`: loads the bundled sample dataset (a fictional company's insights,
 * with planted near-duplicates, recurring themes and stale items) into a fresh local
 * workspace and runs every job this engine implements, in pipeline order.
 */
import { createReadStream, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../context.js';
import { ServiceError } from '../../contract/errors.js';
import { resolveSettings } from '../settings/settings.js';
import { openDatabase } from '../../engine/store/db.js';
import { defaultDatabasePath } from '../../engine/store/db.js';
import { importInsights } from '../../engine/store/import/import.js';
import { implementedJobTypes } from '../../engine/queue/runner.js';
import { engineParams } from '../settings/backend.js';
import { JOB_TYPES } from '../../contract/jobs.js';
import type { CommandResult } from '../command.js';
import { pipelineSummary, runPipeline, type PipelineOutcome } from './run.js';

export const DEMO_DATA = fileURLToPath(new URL('../../../data/demo-insights.jsonl', import.meta.url));

export async function demoCommand(ctx: Context): Promise<CommandResult> {
  const { deps, ui } = ctx;
  if (!existsSync(DEMO_DATA)) throw new ServiceError(`the bundled dataset is missing (${DEMO_DATA}); reinstall nex-compound`);
  const explicit = ctx.globals.db ?? deps.env.NEX_COMPOUND_DB;
  // Without --db the demo gets a database of its own, recreated each time, so it is always fresh.
  const file = explicit ?? path.join(path.dirname(defaultDatabasePath(deps.env, deps.homedir)), 'demo.db');
  if (!explicit) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  const db = await openDatabase(file, { create: true, isDefaultPath: !explicit });
  const workspaceId = explicit
    ? ((db.prepare('SELECT max(workspace_id) AS w FROM insights').get() as { w: number | null }).w ?? 0) + 1
    : 1;
  ui.info(ui.errChalk.dim(`→ local engine at ${db.name} (workspace ${workspaceId}, demo)`));

  const summary = await importInsights(db, createReadStream(DEMO_DATA), { workspaceId, format: 'jsonl', strict: true, now: deps.now() });
  ui.info(`loaded ${summary.imported} sample insights (${summary.reinforced} reinforced duplicates) about Northwind Analytics`);

  const available = new Set(implementedJobTypes());
  const planned = JOB_TYPES.filter((type) => available.has(type));
  const missing = JOB_TYPES.filter((type) => !available.has(type));
  if (missing.length) ui.hint(`not in this engine yet, left out: ${missing.join(', ')}`);

  const settings = await resolveSettings(ctx.globals, {}, deps);
  const { LocalBackend } = await import('../../engine/queue/local-backend.js');
  const backend = new LocalBackend({ db, dbPath: db.name, workspaceId, env: deps.env, now: deps.now, paramsFor: (type) => engineParams(type, settings) });
  let outcome: PipelineOutcome;
  try {
    outcome = await runPipeline(ctx, backend, planned, { ...settings, timeoutMs: 10 * 60_000 }, { dryRun: false, strict: false });
  } finally {
    db.close();
  }
  ui.hint(`explore: nex-compound insights list --db ${file} --workspace ${workspaceId} · nex-compound metrics --db ${file} --workspace ${workspaceId}`);
  return {
    data: pipelineSummary(outcome, false, 'local', ui.outChalk, { database: db.name, workspace_id: workspaceId, imported: summary.imported }),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}
