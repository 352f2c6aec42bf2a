/**
 * Named profiles of settings, kept by conf in one JSON file created with mode 0600
 * (it may hold an API key). Values are validated on `config set`, not on read,
 * so a bad hand edit still surfaces as a clear usage error where it is used.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../contract/errors.js';
import { JOB_SETTING_KEYS, jobSettingFor } from '../../contract/job-params.js';
import { parseBaseUrl, parseDuration } from '../../contract/parse.js';
import type { Deps } from '../deps.js';

/** The keys `config set` knows: connection settings, every job's settings, other providers'. */
export const CONFIG_KEYS = [
  'api-key',
  'base-url',
  'timeout',
  'interval',
  ...(JOB_SETTING_KEYS as ReadonlyArray<`${'decay' | 'consolidation' | 'patterns' | 'playbook'}.${string}`>),
  'julep.api-key',
  'julep.base-url',
  'nexio.api-key',
  'nexio.base-url',
  'jobs.api-key',
  'jobs.base-url',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type Profile = Partial<Record<ConfigKey, string>>;

const PROFILE_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_PROFILE = 'default';

function configDir(deps: Pick<Deps, 'env' | 'homedir'>): string {
  const { env } = deps;
  if (env.NEX_COMPOUND_CONFIG_DIR) return path.resolve(env.NEX_COMPOUND_CONFIG_DIR);
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(deps.homedir, '.config');
  return path.join(base, 'nex-compound');
}

export function configPath(deps: Pick<Deps, 'env' | 'homedir'>): string {
  return path.join(configDir(deps), 'config.json');
}

export function parseProfileName(name: string): string {
  if (!PROFILE_NAME_RE.test(name)) {
    throw new UsageError(`profile name "${name}" is not valid`, 'use letters, digits, "-" and "_" (at most 64)');
  }
  return name;
}

export function parseConfigKey(key: string): ConfigKey {
  const normalized = key.trim().toLowerCase().replace(/_/g, '-');
  if ((CONFIG_KEYS as readonly string[]).includes(normalized)) return normalized as ConfigKey;
  // Dotted keys may be written with a dash: consolidation-threshold, patterns-min-support.
  // The decay settings were once decay-half-life and so on; they read as decay.half-life now.
  const dotted = normalized.replace(/^(decay|consolidation|patterns|playbook|julep|nexio|jobs)-/, '$1.');
  if ((CONFIG_KEYS as readonly string[]).includes(dotted)) return dotted as ConfigKey;
  throw new UsageError(`unknown config key "${key}"`, `valid keys: ${CONFIG_KEYS.join(', ')}`);
}

/** Normalizes and checks a value before it is stored. */
export function validateConfigValue(key: ConfigKey, value: string): string {
  const trimmed = value.trim();
  switch (key) {
    case 'api-key':
    case 'julep.api-key':
    case 'nexio.api-key':
    case 'jobs.api-key':
      if (!trimmed || /\s/.test(trimmed.replace(/^Bearer\s+/i, ''))) throw new UsageError('the API key must be one word without spaces');
      return trimmed.replace(/^Bearer\s+/i, '');
    case 'base-url':
    case 'julep.base-url':
    case 'nexio.base-url':
    case 'jobs.base-url':
      return parseBaseUrl(trimmed, key).href.replace(/\/$/, '');
    case 'timeout':
      parseDuration(trimmed, 'timeout');
      return trimmed;
    case 'interval':
      parseDuration(trimmed, key, { allowZero: false });
      return trimmed;
    default: {
      const setting = jobSettingFor(key);
      if (!setting) throw new UsageError(`unknown config key "${key}"`);
      // Stored as given (a duration keeps its unit), normalized only where the parser does.
      const parsed = setting.parse(trimmed, key);
      return typeof parsed === 'string' ? parsed : trimmed;
    }
  }
}

/** Keys whose values are credentials: never printed, read from stdin without echo. */
export function isSecretKey(key: ConfigKey): boolean {
  return key === 'api-key' || key.endsWith('.api-key');
}

export function redactSecret(value: string): string {
  if (value.length <= 8) return '****';
  return `${value.slice(0, 4)}…${value.slice(-2)} (redacted)`;
}

/** A profile written before the decay settings were renamed (decay-half-life → decay.half-life) reads as today's. */
function withCurrentKeys(profile: Record<string, string | undefined>): Profile {
  const current: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(profile)) current[key.replace(/^decay-/, 'decay.')] = value;
  return current as Profile;
}

interface ConfigShape {
  profiles?: Record<string, Profile>;
}

/** A small facade over conf so the rest of the code never sees its dot-paths. */
export class ConfigStore {
  private constructor(
    private readonly conf: import('conf').default<ConfigShape>,
    readonly path: string,
  ) {}

  static async open(deps: Pick<Deps, 'env' | 'homedir'>): Promise<ConfigStore> {
    const dir = configDir(deps);
    const { default: Conf } = await import('conf');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const conf = new Conf<ConfigShape>({
        projectName: 'nex-compound',
        projectSuffix: '',
        cwd: dir,
        configName: 'config',
        configFileMode: 0o600,
        clearInvalidConfig: false,
      });
      return new ConfigStore(conf, conf.path);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new UsageError(`cannot use the config file in ${dir}: ${reason}`, 'fix or remove the file, or point NEX_COMPOUND_CONFIG_DIR somewhere writable');
    }
  }

  profile(name: string): Profile {
    return withCurrentKeys(this.conf.get('profiles')?.[name] ?? {});
  }

  profiles(): Record<string, Profile> {
    return Object.fromEntries(Object.entries(this.conf.get('profiles') ?? {}).map(([name, profile]) => [name, withCurrentKeys(profile)]));
  }

  set(profile: string, key: ConfigKey, value: string): void {
    this.write(() => {
      const profiles = this.profiles();
      profiles[profile] = { ...(profiles[profile] ?? {}), [key]: value };
      this.conf.set('profiles', profiles);
    });
  }

  unset(profile: string, key: ConfigKey): boolean {
    const profiles = this.profiles();
    const current = profiles[profile];
    if (!current || current[key] === undefined) return false;
    this.write(() => {
      delete current[key];
      if (Object.keys(current).length === 0) delete profiles[profile];
      else profiles[profile] = current;
      this.conf.set('profiles', profiles);
    });
    return true;
  }

  private write(change: () => void): void {
    try {
      change();
      // conf applies the mode when it creates the file; keep it 0600 if it already existed.
      chmodSync(this.path, 0o600);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new UsageError(`cannot write the config file ${this.path}: ${reason}`, 'point NEX_COMPOUND_CONFIG_DIR at a writable directory');
    }
  }
}
