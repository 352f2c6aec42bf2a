/**
 * `nex-compound revert <job_run_id>`: restores every insight a local consolidation run
 * changed to its state before the run (see src/engine/revert.ts for when it refuses).
 */
import { openLocalEngine } from '../settings/backend.js';
import type { Context } from '../context.js';
import { UsageError } from '../../contract/errors.js';
import { parseJobRunId } from '../../contract/parse.js';
import { revertConsolidation } from '../../engine/jobs/consolidation/revert.js';
import type { CommandResult } from '../command.js';

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
