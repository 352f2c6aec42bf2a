/**
 * Where each setting comes from: flag > environment > config profile > default.
 */
import { existsSync } from 'node:fs';
import { PROVIDERS, type ProviderSpec } from '../../remote/providers.js';
import type { Profile } from './config-keys.js';
import { ConfigStore, DEFAULT_PROFILE, configPath, parseProfileName } from './config-store.js';
import type { Deps } from '../deps.js';
import type { GlobalOptions } from '../program.js';
import { UsageError } from '../../contract/errors.js';
import { closest, parseBaseUrl, parseDuration, parseProvider } from '../../contract/parse.js';

export type Source = 'flag' | 'env' | 'config' | 'default';

export interface Settings {
  profile: string;
  /** Which job API status and watch follow (--provider); trigger and the local engine are Nex only. */
  provider: ProviderSpec;
  /** Undefined only for a provider without a public default (the jobs API) and none configured. */
  baseUrl: URL | undefined;
  baseUrlSource: Source;
  apiKey: string | undefined;
  apiKeySource: Source | undefined;
  /** 0 = no deadline. */
  timeoutMs: number;
  /** Undefined = adaptive polling. */
  intervalMs: number | undefined;
  /** One remote request's whole deadline: connect, headers and the complete body. */
  requestTimeoutMs: number;
  /** The profile as stored, for engine parameters (decay settings). */
  stored: Profile;
  /** The config file the profile is read from (it may not exist). */
  configFile: string;
  /** Where a setting was read from, for every setting that has a value. */
  sources: Partial<Record<'base-url' | 'api-key' | 'timeout' | 'interval' | 'request-timeout', Source>>;
}

/** A stored value named with its profile and file, so an error in a hand edit says where to look. */
export function storedValueName(key: string, profile: string, file: string): string {
  return `${key} (profile "${profile}" in ${file})`;
}

const DEFAULT_TIMEOUT = '30m';
const DEFAULT_REQUEST_TIMEOUT = '30s';

export function profileName(globals: GlobalOptions, env: Deps['env']): string {
  // An empty variable counts as unset, as for every other setting.
  return parseProfileName(globals.profile ?? (env.NEX_COMPOUND_PROFILE || DEFAULT_PROFILE));
}

/**
 * Reads the profile without creating anything: a missing config file is an empty profile. A name
 * one typo from a profile the file holds is refused with that name: it would otherwise read as an
 * empty profile, and a run would quietly use other settings.
 */
async function readProfile(deps: Pick<Deps, 'env' | 'homedir'>, name: string): Promise<Profile> {
  if (!existsSync(configPath(deps))) return {};
  const store = await ConfigStore.open(deps);
  refuseMisspeltProfile(store, name);
  return store.profile(name);
}

/** Refuses a profile name the store does not hold when it is one typo from one it does (see readProfile). */
export function refuseMisspeltProfile(store: ConfigStore, name: string): void {
  const names = Object.keys(store.profiles());
  if (name === DEFAULT_PROFILE || names.includes(name)) return;
  const guess = closest(name, names);
  if (guess !== undefined) throw new UsageError(`there is no profile "${name}" in ${store.path}`, `did you mean "${guess}"? (profiles: ${names.join(', ')})`);
}

export async function resolveSettings(
  globals: GlobalOptions,
  commandOptions: { timeout?: string; interval?: string; provider?: string },
  deps: Pick<Deps, 'env' | 'homedir'>,
): Promise<Settings> {
  const { env } = deps;
  const provider = PROVIDERS[parseProvider(commandOptions.provider ?? 'nex')];
  const profile = profileName(globals, env);
  const stored = await readProfile(deps, profile);

  const pick = (flag: string | undefined, envValue: string | undefined, configValue: string | undefined): [string | undefined, Source | undefined] => {
    if (flag !== undefined) return [flag, 'flag'];
    if (envValue !== undefined && envValue !== '') return [envValue, 'env'];
    if (configValue !== undefined) return [configValue, 'config'];
    return [undefined, undefined];
  };

  const [baseUrlText, baseUrlSource] = pick(globals.baseUrl, env[provider.baseUrlEnv], stored[provider.baseUrlConfig]);
  if (globals.apiKey !== undefined && globals.apiKey.trim() === '') {
    // Usually an unset shell variable (--api-key "$KEY"): never silently fall back to another key or backend.
    throw new UsageError('--api-key is empty', `pass a key, or drop --api-key to use ${provider.keyEnv} or the config`);
  }
  const [apiKey, apiKeySource] = pick(globals.apiKey, env[provider.keyEnv], stored[provider.keyConfig]);
  const baseUrl = baseUrlText ?? provider.defaultBaseUrl;
  const [timeoutText, timeoutSource] = pick(commandOptions.timeout, undefined, stored.timeout);
  const [intervalText, intervalSource] = pick(commandOptions.interval, undefined, stored.interval);
  const [requestTimeoutText, requestTimeoutSource] = pick(undefined, env.NEX_COMPOUND_REQUEST_TIMEOUT, stored['request-timeout']);
  const configFile = configPath(deps);
  const named = (key: string, source: Source | undefined, flagOrEnv: string) =>
    source === 'config' ? storedValueName(key, profile, configFile) : source === 'flag' ? `--${key}` : source === 'env' ? flagOrEnv : key;

  return {
    profile,
    provider,
    baseUrl: baseUrl === undefined ? undefined : parseBaseUrl(baseUrl, describeSource(provider, baseUrlSource)),
    baseUrlSource: baseUrlSource ?? 'default',
    apiKey: apiKey?.trim() || undefined,
    apiKeySource,
    timeoutMs: parseDuration(timeoutText ?? DEFAULT_TIMEOUT, named('timeout', timeoutSource, '--timeout')),
    intervalMs: intervalText !== undefined ? parseDuration(intervalText, named('interval', intervalSource, '--interval'), { allowZero: false }) : undefined,
    requestTimeoutMs: parseDuration(requestTimeoutText ?? DEFAULT_REQUEST_TIMEOUT, named('request-timeout', requestTimeoutSource, 'NEX_COMPOUND_REQUEST_TIMEOUT'), { allowZero: false }),
    stored,
    configFile,
    sources: {
      'base-url': baseUrlSource ?? 'default',
      ...(apiKeySource ? { 'api-key': apiKeySource } : {}),
      timeout: timeoutSource ?? 'default',
      ...(intervalSource ? { interval: intervalSource } : {}),
      'request-timeout': requestTimeoutSource ?? 'default',
    },
  };
}

function describeSource(provider: ProviderSpec, source: Source | undefined): string {
  switch (source) {
    case 'flag':
      return '--base-url';
    case 'env':
      return provider.baseUrlEnv;
    case 'config':
      return `config ${provider.baseUrlConfig}`;
    default:
      return 'base URL';
  }
}
