/**
 * `nex-compound restore FILE`: the whole local database replaced by a backup, in one transaction.
 * The database as it was is kept beside it first, so a restore of the wrong file loses nothing.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { KnownError, UsageError } from '../../contract/errors.js';
import { defineCommand } from '../command.js';
import { writeAtomicallyWith } from '../files.js';
import { openLocalEngine } from '../settings/backend.js';

/** 2026-12-03T14:05:09.123Z → 20261203T140509Z: sortable, and a valid file name everywhere. */
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** The name, or the name with -2, -3…: two restores within a second must not overwrite the first one's copy (it may be the very backup being restored). */
function freeName(name: string): string {
  let candidate = name;
  for (let n = 2; existsSync(candidate); n++) candidate = `${name}-${n}`;
  return candidate;
}

export default defineCommand({
  name: 'restore',
  description: 'replace the whole local database with a backup written by `nex-compound backup` (the current one is kept beside it)',
  arguments: [{ syntax: '<file>', description: 'the backup to restore', path: true }],
  localOnly: true,
  async run(ctx, [file]) {
    const source = path.resolve(file);
    if (!existsSync(source)) throw new UsageError(`no such file: ${source}`);
    if (statSync(source).isDirectory()) throw new UsageError(`${source} is a directory, not a backup`);
    const { engine } = await openLocalEngine(ctx);
    try {
      if (source === engine.path) throw new UsageError('that is the database itself', 'pass a file written by `nex-compound backup`');
      const before = await engine.counts();
      let keptAt: string | undefined;
      if (before.insights + before.jobs > 0) {
        keptAt = freeName(`${engine.path}.before-restore-${stamp(ctx.deps.now())}`);
        try {
          await writeAtomicallyWith(keptAt, async (temporary) => {
            await engine.backup(temporary);
          });
        } catch (error) {
          if (error instanceof KnownError) throw error;
          throw new UsageError(`cannot keep a copy of the database at ${keptAt}: ${(error as Error).message}`, 'free some space or fix the directory, then retry');
        }
      }
      let restored: Awaited<ReturnType<typeof engine.restore>>;
      try {
        restored = await engine.restore(source);
      } catch (error) {
        // Nothing was replaced, so the copy kept for safety is only clutter.
        if (keptAt) rmSync(keptAt, { force: true });
        throw error;
      }
      if (keptAt) ctx.ui.info(`the database as it was is kept at ${keptAt}`);
      ctx.ui.info(`restored ${engine.path} from ${source}: ${restored.insights} insights, ${restored.jobs} jobs`);
      if (restored.unfinished > 0) ctx.ui.hint(`the backup caught ${restored.unfinished} job${restored.unfinished === 1 ? '' : 's'} unfinished; ${restored.unfinished === 1 ? 'it runs' : 'they run'} again now`);
      return { data: { kind: 'record', record: { database: engine.path, restored_from: source, kept_at: keptAt ?? null, insights: restored.insights, jobs: restored.jobs, unfinished: restored.unfinished } } };
    } finally {
      engine.close();
    }
  },
});
