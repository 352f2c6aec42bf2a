/**
 * Picks and builds the JobBackend for a run, and says on stderr which one it targets.
 * Heavy modules (undici) are loaded here, only by the commands that talk to a backend.
 */
import type { JobBackend } from '../core/types.js';
import { DEFAULT_REQUEST_RETRIES } from '../backends/defaults.js';
import { AuthError } from './errors.js';
import type { Context } from './context.js';
import type { Settings } from './settings.js';

export async function openBackend(ctx: Context, settings: Settings, options: { retries?: number } = {}): Promise<JobBackend> {
  const { deps, ui } = ctx;
  if (!settings.apiKey) {
    throw new AuthError(
      `no API key for the remote Nex API (profile "${settings.profile}")`,
      'set NEX_API_KEY, or run `nex-compound config set api-key` (it reads the key from stdin)',
    );
  }
  ui.addSecret(settings.apiKey);
  if (settings.apiKeySource === 'flag') {
    ui.warn('--api-key leaks into shell history and `ps`; prefer NEX_API_KEY or `nex-compound config set api-key`');
  }
  const [{ RemoteBackend }, { createDispatcher }] = await Promise.all([
    import('../backends/remote.js'),
    import('../backends/http.js'),
  ]);
  const backend = new RemoteBackend({
    baseUrl: settings.baseUrl,
    apiKey: settings.apiKey,
    allowInsecureHttp: Boolean(ctx.globals.allowInsecureHttp),
    userAgent: `nex-compound/${deps.version} node/${process.versions.node}`,
    dispatcher: deps.dispatcher ?? createDispatcher(deps.env),
    retries: options.retries ?? DEFAULT_REQUEST_RETRIES,
    now: deps.now,
    sleep: deps.sleep,
    random: deps.random,
    debug: (line) => ui.debug(line),
    warn: (line) => ui.warn(line),
  });
  ui.info(ui.errChalk.dim(`→ ${backend.description} (profile ${settings.profile})`));
  return backend;
}
