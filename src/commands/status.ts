import { openBackend } from '../cli/backend.js';
import type { Context } from '../cli/context.js';
import { JobFailedError } from '../cli/errors.js';
import { resolveSettings } from '../cli/settings.js';
import { parseJobRunId, parseNonNegativeInt } from '../cli/validate.js';
import type { CommandResult } from './result.js';

export interface StatusCommandOptions {
  retries?: string;
  exitStatus?: boolean;
}

export async function statusCommand(ctx: Context, idArg: string, options: StatusCommandOptions): Promise<CommandResult> {
  const id = parseJobRunId(idArg);
  const retries = options.retries !== undefined ? parseNonNegativeInt(options.retries, '--retries') : undefined;
  const settings = await resolveSettings(ctx.globals, {}, ctx.deps);
  const backend = await openBackend(ctx, settings, retries !== undefined ? { retries } : {});
  const status = await backend.status(id, ctx.deps.signal ? { signal: ctx.deps.signal } : {});
  const failed = options.exitStatus && status.status === 'failed';
  return {
    data: { kind: 'status', status },
    ...(failed ? { error: new JobFailedError(`job ${id} failed`) } : {}),
  };
}
