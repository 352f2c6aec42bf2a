/**
 * `nex-compound backup FILE`: a consistent copy of the whole local database (every workspace,
 * job history, patterns, playbook, keys), taken while jobs may be running. `restore` reads it back.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { KnownError, UsageError } from '../../contract/errors.js';
import { defineCommand } from '../command.js';
import { writeAtomicallyWith } from '../files.js';
import { openLocalEngine } from '../settings/backend.js';

export default defineCommand({
  name: 'backup',
  description: 'copy the whole local database to FILE, consistently, even while jobs run (`restore FILE` reads it back)',
  arguments: [{ syntax: '<file>', description: 'where to write the copy (replaced whole, or not at all)', path: true }],
  localOnly: true,
  async run(ctx, [file]) {
    const target = path.resolve(file);
    if (existsSync(target) && statSync(target).isDirectory()) throw new UsageError(`${target} is a directory`, 'name the backup file, e.g. nex-compound-backup.db');
    if (!existsSync(path.dirname(target))) throw new UsageError(`the directory ${path.dirname(target)} does not exist`, 'create it, or choose another path');
    const { engine } = await openLocalEngine(ctx, { reading: true });
    try {
      if (target === engine.path) throw new UsageError('the backup would replace the database itself', 'choose another path');
      let summary: Awaited<ReturnType<typeof engine.backup>> | undefined;
      try {
        await writeAtomicallyWith(target, async (temporary) => {
          summary = await engine.backup(temporary);
        });
      } catch (error) {
        if (error instanceof KnownError) throw error;
        throw new UsageError(`cannot write ${target}: ${(error as Error).message}`, 'choose a writable path');
      }
      const { bytes, insights, jobs } = summary!;
      ctx.ui.info(`backed up ${engine.path} to ${target}: ${insights} insights, ${jobs} jobs, ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
      return { data: { kind: 'record', record: { database: engine.path, backup: target, bytes, insights, jobs } } };
    } finally {
      engine.close();
    }
  },
});
