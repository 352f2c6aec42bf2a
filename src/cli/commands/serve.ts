/**
 * `nex-compound serve`: the Nex compounding API on this machine, backed by the local engine
 * (see src/server/app.ts). Binds loopback unless told otherwise; stops cleanly on SIGINT or
 * SIGTERM — in-flight jobs belong to the detached worker and carry on, or are re-claimed.
 */
import { UsageError } from '../../contract/errors.js';
import { isLoopbackHost } from '../../contract/parse.js';
import { defineCommand, switchOption, valueOption, type CommandResult, type OptionValues } from '../command.js';
import type { Context } from '../context.js';
import { engineParams, openLocalEngine } from '../settings/backend.js';
import { resolveSettings } from '../settings/settings.js';

const OPTIONS = {
  host: valueOption('--host <address>', 'address to listen on (default 127.0.0.1)'),
  port: valueOption('--port <port>', 'port (default 8787; 0 picks a free one)'),
  allowRemote: switchOption('--allow-remote', 'allow a non-loopback --host: other machines can then reach the engine'),
} as const;

export default defineCommand({
  name: 'serve',
  localOnly: true,
  description: 'answer the Nex compounding API on this machine from the local engine (keys: `nex-compound keys create`)',
  options: OPTIONS,
  run: (ctx, _args, options) => serveCommand(ctx, options),
});

export function parseServeOptions(options: OptionValues<typeof OPTIONS>): { host: string; port: number; allowRemote: boolean } {
  const host = (options.host ?? '127.0.0.1').trim().replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new UsageError('--host must not be empty');
  // Digits only: Number() would read "" as 0, "0x10" as 16 and "1e3" as 1000.
  const port = options.port === undefined ? 8787 : /^\d{1,5}$/.test(options.port.trim()) ? Number(options.port.trim()) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, got "${options.port}"`);
  if (!isLoopbackHost(host) && !options.allowRemote) {
    throw new UsageError(`refusing to listen on ${host}: other machines could reach the engine`, 'serve binds 127.0.0.1 by default; add --allow-remote to bind another address on purpose');
  }
  return { host, port, allowRemote: Boolean(options.allowRemote) };
}

async function serveCommand(ctx: Context, options: OptionValues<typeof OPTIONS>): Promise<CommandResult> {
  const { host, port } = parseServeOptions(options);
  const settings = await resolveSettings(ctx.globals, {}, ctx.deps);
  const { engine } = await openLocalEngine(ctx);
  const { buildServer } = await import('../../server/index.js');
  const allowedHosts = new Set<string>();
  const app = await buildServer({
    engine,
    paramsFor: await engineParams(settings),
    allowedHosts,
    version: ctx.deps.version,
    logError: (error) => ctx.ui.warn(`request failed: ${ctx.globals.debug && error instanceof Error ? (error.stack ?? error.message) : error instanceof Error ? error.message : String(error)}`),
  });
  try {
    await app.listen({ host, port });
  } catch (error) {
    engine.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${host} is in use`, 'pick another with --port (0 picks a free one)');
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`cannot listen on ${host}: not an address of this machine`);
    throw error;
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const names = isLoopbackHost(host) ? ['127.0.0.1', 'localhost', '[::1]'] : [host.includes(':') ? `[${host}]` : host];
  for (const name of names) allowedHosts.add(`${name}:${actualPort}`.toLowerCase());
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  if (!isLoopbackHost(host)) ctx.ui.warn(`listening on ${host}: anyone who can reach this address and holds a key can trigger jobs`);
  ctx.deps.stdout.write(`${url}\n`);
  ctx.ui.info(`ready: serving the Nex compounding API from ${engine.path} — create a key with \`nex-compound keys create --workspace 1 --scope record.write\`; Ctrl-C stops`);

  await new Promise<void>((resolve) => {
    const signal = ctx.deps.signal;
    if (!signal || signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  ctx.ui.info('shutting down: in-flight requests finish; running jobs stay with the worker');
  await app.close();
  engine.close();
  return { data: { kind: 'text', text: '' } };
}
