/** `nex-compound doctor`: is the local store whole? SQLite's integrity check and the store's invariants. */
import { StorageError } from '../../contract/errors.js';
import { defineCommand } from '../command.js';
import { openLocalEngine } from '../settings/backend.js';

export default defineCommand({
  name: 'doctor',
  description: "check the local store: SQLite's integrity check and the store's own invariants (exit 8 if anything is wrong)",
  localOnly: true,
  async run(ctx) {
    const { engine } = await openLocalEngine(ctx, { reading: true });
    try {
      const check = await engine.check();
      const ok = check.problems.length === 0;
      if (ok) ctx.ui.info(`the store at ${engine.path} is whole: ${check.insights} insights, ${check.jobs} jobs`);
      const json = { database: engine.path, ok, insights: check.insights, jobs: check.jobs, problems: check.problems };
      return {
        data: ok
          ? { kind: 'record', record: { database: engine.path, ok, insights: check.insights, jobs: check.jobs }, json }
          : { kind: 'rows', columns: ['check', 'count', 'detail'], rows: check.problems.map((p) => ({ ...p })), json },
        ...(ok
          ? {}
          : {
              error: new StorageError(
                `the store at ${engine.path} has ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'} (listed above)`,
                'keep a copy of the file before changing anything; an export (`nex-compound insights export --output FILE`) saves what can still be read',
              ),
            }),
      };
    } finally {
      engine.close();
    }
  },
});
