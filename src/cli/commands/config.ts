/** `nex-compound config set|get|unset|list|path`: settings per profile (file created with mode 0600). */
import { InterruptedError, NotSetError, UsageError } from '../../contract/errors.js';
import { PROVIDERS } from '../../remote/providers.js';
import { defineCommand, defineGroup, switchOption, type CommandResult } from '../command.js';
import type { Context } from '../context.js';
import { profileName, refuseMisspeltProfile } from '../settings/settings.js';
import { CONFIG_KEYS, isSecretKey, parseConfigKey, redactSecret, validateConfigValue, type ConfigKey } from '../settings/config-keys.js';
import { ConfigStore, configPath } from '../settings/config-store.js';

/** The environment variable that holds the same credential, for the hint. */
function credentialEnv(key: ConfigKey): string {
  return Object.values(PROVIDERS).find((p) => p.keyConfig === key)?.keyEnv ?? 'NEX_API_KEY';
}

function shown(key: string, value: string): string {
  return isSecretKey(key as ConfigKey) ? redactSecret(value) : value;
}

async function configSetCommand(ctx: Context, keyArg: string, valueArg: string | undefined): Promise<CommandResult> {
  const key = parseConfigKey(keyArg);
  const profile = profileName(ctx.globals, ctx.deps.env);
  let raw = valueArg;
  if (raw === undefined) raw = await readValue(ctx, key);
  else if (isSecretKey(key)) ctx.ui.warn(`a key given as an argument stays in your shell history; next time pipe it: \`printenv ${credentialEnv(key)} | nex-compound config set ${key}\``);
  const value = validateConfigValue(key, raw);
  if (isSecretKey(key)) ctx.ui.addSecret(value);
  const store = await ConfigStore.open(ctx.deps);
  await store.set(profile, key, value);
  ctx.ui.info(`set ${key} for profile "${profile}" in ${store.path}`);
  return {};
}

async function configGetCommand(ctx: Context, keyArg: string): Promise<CommandResult> {
  const key = parseConfigKey(keyArg);
  const profile = profileName(ctx.globals, ctx.deps.env);
  const store = await ConfigStore.open(ctx.deps);
  refuseMisspeltProfile(store, profile);
  const value = store.profile(profile)[key];
  if (value === undefined) {
    const error = new NotSetError(`${key} is not set in profile "${profile}"`, `\`nex-compound config list --effective\` shows the value in use and where it comes from`);
    return ctx.ui.mode === 'json' ? { data: { kind: 'record', record: { key, value: null, profile } }, error } : { error };
  }
  return { data: { kind: 'text', text: shown(key, value), json: { key, value: shown(key, value), profile } } };
}

async function configUnsetCommand(ctx: Context, keyArg: string): Promise<CommandResult> {
  const key = parseConfigKey(keyArg);
  const profile = profileName(ctx.globals, ctx.deps.env);
  const store = await ConfigStore.open(ctx.deps);
  refuseMisspeltProfile(store, profile);
  const removed = await store.unset(profile, key);
  ctx.ui.info(removed ? `unset ${key} in profile "${profile}"` : `${key} was not set in profile "${profile}"`);
  return {};
}

/** How a default shows: durations in days or seconds as a user would set them, a missing default in words. */
function shownDefault(key: string, value: unknown): string {
  if (value === undefined) return key === 'patterns.min-support' ? 'max(3, 1 % of the active insights)' : '';
  if (typeof value === 'number' && /half-life|grace/.test(key)) return `${value / 86_400_000}d`;
  return String(value);
}

/** Every setting in use with its value and where it comes from: flag, environment, profile or default. */
async function effectiveSettings(ctx: Context): Promise<CommandResult> {
  const { resolveSettings } = await import('../settings/settings.js');
  const { JOB_SETTINGS } = await import('../../contract/job-params.js');
  const { defaultDatabasePath } = await import('../../engine/index.js');
  const { env } = ctx.deps;
  const settings = await resolveSettings(ctx.globals, {}, ctx.deps);
  const profileLabel = `profile "${settings.profile}"`;
  const from = (source: string | undefined, envName: string) => (source === 'env' ? `env ${envName}` : source === 'config' ? profileLabel : (source ?? 'default'));
  const { provider } = settings;
  const rows: Array<{ key: string; value: string; source: string }> = [
    { key: 'profile', value: settings.profile, source: ctx.globals.profile !== undefined ? 'flag' : env.NEX_COMPOUND_PROFILE ? 'env NEX_COMPOUND_PROFILE' : 'default' },
    { key: provider.baseUrlConfig, value: settings.baseUrl?.href ?? '', source: from(settings.sources['base-url'], provider.baseUrlEnv) },
    { key: provider.keyConfig, value: settings.apiKey ? redactSecret(settings.apiKey) : '(none)', source: from(settings.sources['api-key'], provider.keyEnv) },
    { key: 'timeout', value: settings.timeoutMs === 0 ? '0 (none)' : `${settings.timeoutMs / 1000}s`, source: from(settings.sources.timeout, '') },
    { key: 'interval', value: settings.intervalMs === undefined ? 'adaptive (1s ×1.5 to 10s)' : `${settings.intervalMs / 1000}s`, source: from(settings.sources.interval, '') },
    { key: 'request-timeout', value: `${settings.requestTimeoutMs / 1000}s`, source: from(settings.sources['request-timeout'], 'NEX_COMPOUND_REQUEST_TIMEOUT') },
    {
      key: 'db',
      value: ctx.globals.db ?? (env.NEX_COMPOUND_DB || defaultDatabasePath(env, ctx.deps.homedir)),
      source: ctx.globals.db !== undefined ? 'flag' : env.NEX_COMPOUND_DB ? 'env NEX_COMPOUND_DB' : 'default',
    },
    { key: 'workspace', value: ctx.globals.workspace ?? (env.NEX_COMPOUND_WORKSPACE || '1'), source: ctx.globals.workspace !== undefined ? 'flag' : env.NEX_COMPOUND_WORKSPACE ? 'env NEX_COMPOUND_WORKSPACE' : 'default' },
  ];
  const seen = new Set<string>();
  for (const group of Object.values(JOB_SETTINGS)) {
    for (const s of Object.values(group) as Array<{ key: string; default: unknown }>) {
      if (seen.has(s.key)) continue;
      seen.add(s.key);
      const stored = settings.stored[s.key as ConfigKey];
      rows.push({ key: s.key, value: stored ?? shownDefault(s.key, s.default), source: stored !== undefined ? profileLabel : 'default' });
    }
  }
  return { data: { kind: 'rows', columns: ['key', 'value', 'source'], rows, json: Object.fromEntries(rows.map((r) => [r.key, { value: r.value, source: r.source }])) } };
}

async function configListCommand(ctx: Context, options: { allProfiles?: boolean; effective?: boolean }): Promise<CommandResult> {
  if (options.effective) {
    if (options.allProfiles) throw new UsageError('--effective shows the settings of one run; drop --all-profiles');
    return effectiveSettings(ctx);
  }
  const store = await ConfigStore.open(ctx.deps);
  const current = profileName(ctx.globals, ctx.deps.env);
  if (!options.allProfiles) refuseMisspeltProfile(store, current);
  const profiles = options.allProfiles ? store.profiles() : { [current]: store.profile(current) };
  const rows = Object.entries(profiles).flatMap(([profile, values]) =>
    CONFIG_KEYS.filter((key) => values[key] !== undefined).map((key) => ({ profile, key, value: shown(key, values[key]!) })),
  );
  if (rows.length === 0) ctx.ui.hint(`nothing set in profile "${current}" (${store.path})`);
  const json = Object.fromEntries(
    Object.entries(profiles).map(([profile, values]) => [profile, Object.fromEntries(Object.entries(values).map(([k, v]) => [k, shown(k, v!)]))]),
  );
  return { data: { kind: 'rows', columns: ['profile', 'key', 'value'], rows, json } };
}

async function configPathCommand(ctx: Context): Promise<CommandResult> {
  const file = configPath(ctx.deps);
  return { data: { kind: 'text', text: file, json: { path: file } } };
}

/** The value from stdin: piped (`printenv NEX_API_KEY | …`) or typed at a hidden prompt. */
async function readValue(ctx: Context, key: ConfigKey): Promise<string> {
  const { stdin, stderr } = ctx.deps;
  if (stdin.isTTY) {
    stderr.write(`${key}: `);
    const value = await readHiddenLine(stdin as NodeJS.ReadStream, !isSecretKey(key));
    stderr.write('\n');
    return value;
  }
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.length > 64 * 1024) throw new UsageError('the value on stdin is larger than 64 KiB');
  }
  const value = text.split(/\r?\n/).find((line) => line.trim() !== '');
  if (value === undefined) throw new UsageError(`no value for ${key} on stdin`, `pass it as an argument, or pipe it: printenv NEX_API_KEY | nex-compound config set ${key}`);
  return value;
}

function readHiddenLine(stdin: NodeJS.ReadStream, echo: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = stdin.isRaw;
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error) => {
      stdin.setRawMode?.(wasRaw ?? false);
      stdin.pause();
      stdin.removeListener('data', onData);
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(new InterruptedError('cancelled; nothing was saved'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else {
          value += char;
          if (echo) process.stderr.write(char);
        }
      }
    };
    stdin.on('data', onData);
  });
}

export default defineGroup({
  name: 'config',
  description: 'manage settings per profile (file created with mode 0600)',
  subcommands: [
    defineCommand({
      name: 'set',
      description: `set a value (${['api-key', 'base-url', 'timeout', 'interval'].join(', ')}); without a value it is read from stdin`,
      arguments: [{ syntax: '<key>', values: CONFIG_KEYS }, { syntax: '[value]' }],
      run: (ctx, [key, value]) => configSetCommand(ctx, key, value),
    }),
    defineCommand({
      name: 'get',
      description: 'print a value (the API key redacted)',
      arguments: [{ syntax: '<key>', values: CONFIG_KEYS }],
      run: (ctx, [key]) => configGetCommand(ctx, key),
    }),
    defineCommand({
      name: 'unset',
      description: 'remove a value',
      arguments: [{ syntax: '<key>', values: CONFIG_KEYS }],
      run: (ctx, [key]) => configUnsetCommand(ctx, key),
    }),
    defineCommand({
      name: 'list',
      description: "list the profile's values (the API key redacted)",
      options: {
        allProfiles: switchOption('--all-profiles', 'every profile, not only the current one'),
        effective: switchOption('--effective', 'every setting in use, with its source: flag, environment, profile or default'),
      },
      run: (ctx, _args, options) => configListCommand(ctx, options),
    }),
    defineCommand({
      name: 'path',
      description: 'print the config file path',
      run: (ctx) => configPathCommand(ctx),
    }),
  ],
});
