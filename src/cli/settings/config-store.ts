/**
 * Named profiles of settings, kept by conf in one JSON file created with mode 0600
 * (it may hold an API key). Values are validated on `config set`, not on read,
 * so a bad hand edit still surfaces as a clear usage error where it is used.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../contract/errors.js';
import type { Deps } from '../deps.js';
import type { ConfigKey, Profile } from './config-keys.js';

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
    private readonly dir: string,
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
      return new ConfigStore(conf, conf.path, dir);
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

  async set(profile: string, key: ConfigKey, value: string): Promise<void> {
    await this.write(() => {
      const profiles = this.profiles();
      profiles[profile] = { ...(profiles[profile] ?? {}), [key]: value };
      this.conf.set('profiles', profiles);
      return undefined;
    });
  }

  async unset(profile: string, key: ConfigKey): Promise<boolean> {
    return this.write(() => {
      const profiles = this.profiles();
      const current = profiles[profile];
      if (!current || current[key] === undefined) return false;
      delete current[key];
      if (Object.keys(current).length === 0) delete profiles[profile];
      else profiles[profile] = current;
      this.conf.set('profiles', profiles);
      return true;
    });
  }

  /**
   * A change to the file: read, changed and written (conf writes a temporary file and renames it)
   * under a lock, so two `config set` at once both land — the second reads what the first wrote.
   */
  private async write<T>(change: () => T): Promise<T> {
    const { lock } = await import('proper-lockfile');
    let release: (() => Promise<void>) | undefined;
    try {
      release = await lock(this.dir, { lockfilePath: `${this.path}.lock`, retries: { retries: 40, minTimeout: 10, maxTimeout: 200 }, stale: 10_000 });
      const result = change();
      // conf applies the mode when it creates the file; keep it 0600 if it already existed.
      chmodSync(this.path, 0o600);
      return result;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      const busy = (error as { code?: string }).code === 'ELOCKED';
      throw new UsageError(
        busy ? `the config file ${this.path} stayed locked by another nex-compound` : `cannot write the config file ${this.path}: ${reason}`,
        busy ? 'retry when the other `config` command has finished' : 'point NEX_COMPOUND_CONFIG_DIR at a writable directory',
      );
    } finally {
      await release?.().catch(() => undefined);
    }
  }
}
