/** The keys `config set` knows, and how a value is checked before it is stored. */
import { UsageError } from '../../contract/errors.js';
import { JOB_SETTING_KEYS, jobSettingFor } from '../../contract/job-params.js';
import { closest, parseBaseUrl, parseDuration } from '../../contract/parse.js';

/** The keys `config set` knows: connection settings, every job's settings, other providers'. */
export const CONFIG_KEYS = [
  'api-key',
  'base-url',
  'timeout',
  'interval',
  'request-timeout',
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

export function parseConfigKey(key: string): ConfigKey {
  const normalized = key.trim().toLowerCase().replace(/_/g, '-');
  if ((CONFIG_KEYS as readonly string[]).includes(normalized)) return normalized as ConfigKey;
  // Dotted keys may be written with a dash: consolidation-threshold, patterns-min-support.
  // The decay settings were once decay-half-life and so on; they read as decay.half-life now.
  const dotted = normalized.replace(/^(decay|consolidation|patterns|playbook|julep|nexio|jobs)-/, '$1.');
  if ((CONFIG_KEYS as readonly string[]).includes(dotted)) return dotted as ConfigKey;
  const guess = closest(dotted, CONFIG_KEYS);
  throw new UsageError(`unknown config key "${key}"`, guess ? `did you mean ${guess}? (\`nex-compound config list --effective\` shows every key)` : `valid keys: ${CONFIG_KEYS.join(', ')}`);
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
    case 'request-timeout':
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
