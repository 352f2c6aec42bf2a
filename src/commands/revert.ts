/**
 * `nex-compound revert <job_run_id>`: restores every insight a local consolidation run
 * changed to its state before the run (see src/engine/revert.ts for when it refuses).
 */
import { openLocalEngine } from '../cli/backend.js';
import type { Context } from '../cli/context.js';
import { UsageError } from '../cli/errors.js';
import { parseJobRunId } from '../cli/validate.js';
import { revertConsolidation } from '../engine/revert.js';
import type { CommandResult } from './result.js';

export async function revertCommand(ctx: Context, idArg: string): Promise<CommandResult> {
  const id = parseJobRunId(idArg);
  if (ctx.globals.remote) throw new UsageError('revert works on the local engine: the Nex API has no revert endpoint', 'drop --remote');
  const engine = await openLocalEngine(ctx);
  try {
    const result = revertConsolidation(engine.db, engine.workspaceId, id, ctx.deps.now());
    ctx.ui.info(`reverted ${id}: ${result.restored} insight${result.restored === 1 ? '' : 's'} restored`);
    return { data: { kind: 'record', record: { ...result } } };
  } finally {
    engine.db.close();
  }
}
