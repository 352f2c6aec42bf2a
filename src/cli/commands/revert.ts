/**
 * `nex-compound revert <job_run_id>`: restores every insight a local consolidation run
 * changed to its state before the run (the engine refuses when a later change touched them).
 */
import { NotFoundError, RefusedError } from '../../contract/errors.js';
import { parseJobRunId } from '../../contract/parse.js';
import { defineCommand } from '../command.js';
import { localFlags, openLocalEngine } from '../settings/backend.js';

export default defineCommand({
  name: 'revert',
  description: 'undo a local consolidation run exactly; refuses if a later change touched the same insights',
  arguments: [{ syntax: '<job_run_id>', description: 'the consolidation run to undo' }],
  localOnly: true,
  async run(ctx, [idArg]) {
    const id = parseJobRunId(idArg);
    const { engine, workspace } = await openLocalEngine(ctx);
    try {
      const result = await workspace.revert(id).catch((error: unknown) => {
        if (error instanceof NotFoundError && !error.hint) throw new NotFoundError(error.message, `list the jobs with \`nex-compound jobs${localFlags(ctx)}\``);
        // The run to undo first, as a command that reaches this database.
        if (error instanceof RefusedError && error.revertFirst) throw new RefusedError(error.message, `revert ${error.revertFirst} first (\`nex-compound revert ${error.revertFirst}${localFlags(ctx)}\`)`);
        throw error;
      });
      ctx.ui.info(`reverted ${id}: ${result.restored} insight${result.restored === 1 ? '' : 's'} restored`);
      return { data: { kind: 'record', record: { ...result } } };
    } finally {
      engine.close();
    }
  },
});
