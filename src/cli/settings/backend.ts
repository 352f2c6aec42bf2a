/**
 * Picks and builds the JobBackend for a run, and says on stderr which one it targets.
 * Heavy modules (undici, better-sqlite3) are loaded here, only by the commands that use them.
 */
import { AuthError, UsageError } from '../../contract/errors.js';
import type { JobBackend, JobType } from '../../contract/jobs.js';
import type { Engine, Workspace } from '../../engine/index.js';
import { DEFAULT_REQUEST_RETRIES } from '../../remote/defaults.js';
import { PROVIDERS, nexioEnvironment } from '../../remote/providers.js';
import type { Context } from '../context.js';
import { isCi } from '../ui.js';
import type { Settings } from './settings.js';

export type BackendKind = 'local' | 'remote';

/**
 * --local / --remote decide. With neither: remote when an API key is configured, else
 * local — except in CI, where a missing key is an error, so a pipeline never reports
 * success against the wrong backend.
 */
export function chooseBackend(ctx: Context, settings: Settings): BackendKind {
  const { globals } = ctx;
  if (globals.local && globals.remote) throw new UsageError('--local and --remote exclude each other');
  if (settings.provider.name !== 'nex') {
    if (globals.local) throw new UsageError(`--local runs Nex jobs only; --provider ${settings.provider.name} follows the ${settings.provider.title}`, 'drop --local, or drop --provider to follow a local job');
    return 'remote';
  }
  if (globals.local) return 'local';
  if (globals.remote) return 'remote';
  if (settings.apiKey) return 'remote';
  // A base URL given for this run names the remote API: without a key that is an auth error, never a local run.
  if (baseUrlGiven(settings)) return 'remote';
  if (isCi(ctx.deps.env)) {
    throw new AuthError(
      'no API key, and CI is set: refusing to guess the backend',
      'set NEX_API_KEY (e.g. from a secret) for the Nex API, or pass --local to use the bundled engine',
    );
  }
  return 'local';
}

/** A base URL chosen for this run (a flag or the environment), not a profile's or the default. */
const baseUrlGiven = (settings: Settings) => settings.baseUrlSource === 'flag' || settings.baseUrlSource === 'env';

export async function openBackend(ctx: Context, settings: Settings, options: { retries?: number } = {}): Promise<JobBackend> {
  const kind = chooseBackend(ctx, settings);
  return kind === 'local' ? openLocalBackend(ctx, settings) : openRemoteBackend(ctx, settings, options);
}

/** The local engine's database, opened, and the workspace this run works in. */
export interface LocalEngine {
  engine: Engine;
  workspace: Workspace;
}

function databasePath(ctx: Context, defaultDatabasePath: typeof import('../../engine/index.js').defaultDatabasePath): { path: string; isDefault: boolean } {
  const explicit = ctx.globals.db ?? ctx.deps.env.NEX_COMPOUND_DB;
  if (explicit) return { path: explicit, isDefault: false };
  return { path: defaultDatabasePath(ctx.deps.env, ctx.deps.homedir), isDefault: true };
}

function workspaceId(ctx: Context): number {
  const raw = ctx.globals.workspace ?? ctx.deps.env.NEX_COMPOUND_WORKSPACE ?? '1';
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) throw new UsageError(`workspace "${raw}" must be a positive whole number`);
  return Number(raw);
}

/** Opens the local engine's database and announces it on stderr. */
/** `reading`: the command only reads, so a database that cannot be written here is read as it is. */
export async function openLocalEngine(ctx: Context, options: { reading?: boolean } = {}): Promise<LocalEngine> {
  // The engine (and SQLite) load only for commands that use it: a remote status never does.
  const { openEngine, defaultDatabasePath } = await import('../../engine/index.js');
  const { path: file, isDefault } = databasePath(ctx, defaultDatabasePath);
  const id = workspaceId(ctx);
  const engine = await openEngine(file, { create: true, isDefaultPath: isDefault, env: ctx.deps.env, now: ctx.deps.now, readOnlyFallback: options.reading ?? false });
  // Choosing a job (--latest, the picker) opens the database before following it: one line says which.
  const announced = ctx.localEngine?.path === engine.path && ctx.localEngine.workspaceId === id;
  if (!announced) ctx.ui.info(ctx.ui.errChalk.dim(`→ local engine at ${engine.path} (workspace ${id}${engine.readOnly ? ', read-only here' : ''})`));
  ctx.localEngine = { path: engine.path, workspaceId: id };
  return { engine, workspace: engine.workspace(id) };
}

/** A value as one shell word: quoted when it holds anything a shell would read. */
export function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The flags that make a printed follow-up command (resume, retry, follow) reach the same place:
 * the backend, its database and workspace, the profile and the provider this run used — pasted
 * as is, in the same shell, it finds the same job.
 */
export function sameBackendFlags(ctx: Context, settings: Settings, kind: BackendKind): string {
  const flags: string[] = [];
  if (kind === 'local') flags.push(localFlags(ctx).trim());
  else {
    flags.push('--remote');
    if (settings.provider.name !== 'nex') flags.push('--provider', settings.provider.name);
    if (settings.baseUrl && baseUrlGiven(settings)) flags.push('--base-url', shellWord(settings.baseUrl.href));
  }
  if (ctx.globals.profile !== undefined || ctx.deps.env.NEX_COMPOUND_PROFILE) flags.push('--profile', shellWord(settings.profile));
  return ` ${flags.join(' ')}`;
}

/** `--local --db X [--workspace N]`: a follow-up command that reaches the database this run opened. */
export function localFlags(ctx: Context): string {
  const local = ctx.localEngine;
  if (!local) return ' --local';
  return ` --local --db ${shellWord(local.path)}${local.workspaceId !== 1 ? ` --workspace ${local.workspaceId}` : ''}`;
}

/** What a local watch says when a job id is not in the database and workspace it looked in. */
const LOCAL_NOT_FOUND_HINT = 'check the job_run_id, --db and --workspace; `nex-compound jobs --local` lists the jobs';

/** The workspace's jobs as a JobBackend, recording the profile's engine settings with each job. */
export async function localBackend(workspace: Workspace, settings: Settings): Promise<JobBackend> {
  return workspace.backend({ paramsFor: await engineParams(settings), notFoundHint: LOCAL_NOT_FOUND_HINT });
}

async function openLocalBackend(ctx: Context, settings: Settings): Promise<JobBackend> {
  const { workspace } = await openLocalEngine(ctx);
  return localBackend(workspace, settings);
}

/**
 * Engine settings from the profile, recorded with each job so the worker needs no config. The
 * settings' parsers load here, only for commands that record jobs locally.
 */
export async function engineParams(settings: Settings): Promise<(jobType: JobType) => Record<string, unknown>> {
  const { recordedParams } = await import('../../contract/job-params.js');
  const { storedValueName } = await import('./settings.js');
  return (jobType) =>
    recordedParams(
      jobType,
      (key) => settings.stored[key as keyof Settings['stored']],
      (key) => storedValueName(key, settings.profile, settings.configFile),
    );
}

async function openRemoteBackend(ctx: Context, settings: Settings, options: { retries?: number }): Promise<JobBackend> {
  const { deps, ui } = ctx;
  const { provider } = settings;
  if (!settings.apiKey) {
    throw new AuthError(
      `no ${provider.credential} for the ${provider.title} (profile "${settings.profile}")`,
      `set ${provider.keyEnv}, or run \`nex-compound config set ${provider.keyConfig}\` (it reads the key from stdin)${ctx.globals.remote || provider.name !== 'nex' ? '' : '; or pass --local for the bundled engine'}`,
    );
  }
  const baseUrl = settings.baseUrl;
  if (!baseUrl) {
    throw new UsageError(
      `no base URL for the ${provider.title}: it has no public default`,
      `pass --base-url, set ${provider.baseUrlEnv}, or run \`nex-compound config set ${provider.baseUrlConfig} <url>\``,
    );
  }
  // Every key this run could know, so none is printed whichever a server echoes.
  ui.addSecret(settings.apiKey);
  for (const spec of Object.values(PROVIDERS)) {
    ui.addSecret(deps.env[spec.keyEnv]);
    ui.addSecret(settings.stored[spec.keyConfig]);
  }
  if (settings.apiKeySource === 'flag') {
    ui.warn(`--api-key leaks into shell history and \`ps\`; prefer ${provider.keyEnv} or \`nex-compound config set ${provider.keyConfig}\``);
  }
  const [{ RemoteBackend }, { createTransport, httpClientFor }] = await Promise.all([import('../../remote/client.js'), import('../../remote/http.js')]);
  let dispatcher: import('../../remote/http.js').Transport | undefined = deps.dispatcher;
  if (!dispatcher) {
    if (httpClientFor(deps.env) === 'undici') {
      // undici parses HTTP with llhttp compiled to WebAssembly, and V8's optimizing tier-up of it
      // runs in the background: a process that made a request then waits ~100 ms at exit for that
      // compile. Baseline (Liftoff) code parses a CLI's few responses just as well.
      (await import('node:v8')).setFlagsFromString('--liftoff-only');
    }
    const own = createTransport(deps.env);
    // Ours to close: idle keep-alive sockets kept the process alive ~150 ms after its output.
    ctx.onDispose?.(() => own.close());
    dispatcher = own;
  }
  const backend = new RemoteBackend({
    provider,
    baseUrl,
    apiKey: settings.apiKey,
    allowInsecureHttp: Boolean(ctx.globals.allowInsecureHttp),
    userAgent: `nex-compound/${deps.version} node/${process.versions.node}`,
    dispatcher,
    retries: options.retries ?? DEFAULT_REQUEST_RETRIES,
    now: deps.now,
    sleep: deps.sleep,
    random: deps.random,
    debug: (line) => ui.debug(line),
    warn: (line) => ui.warn(line),
    redact: (text) => ui.redact(text),
    requestDeadlineMs: settings.requestTimeoutMs,
  });
  const environment = provider.name === 'nexio' ? nexioEnvironment(settings.apiKey) : undefined;
  ui.info(ui.errChalk.dim(`→ ${backend.description} (profile ${settings.profile}${environment ? `, ${environment} environment from the nx_${environment}_ key` : ''})`));
  return backend;
}
