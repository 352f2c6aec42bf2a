/**
 * Every job's settings in one place: the config key a user sets, the parameter the engine
 * reads, the parser that checks a value, and the default. The CLI records the parsed values a
 * profile sets with each job it triggers (`recordedParams`); the engine fills in the defaults
 * (`jobParams`). A new setting is one entry here, and its use in the job.
 */
import { UsageError } from './errors.js';
import type { JobType } from './jobs.js';
import { parseDuration } from './parse.js';

interface Setting<T, D extends T | undefined = T | undefined> {
  /** The config key (`nex-compound config set <key> <value>`). */
  readonly key: string;
  readonly parse: (value: string, key: string) => T;
  /** Undefined: the job derives one from the data (pattern_detection's minimum support). */
  readonly default: D;
}

const setting = <T, D extends T | undefined = T>(key: string, parse: (value: string, key: string) => T, defaultValue: D): Setting<T, D> => ({ key, parse, default: defaultValue });

const DAY_MS = 86_400_000;

function parseFraction(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${what} must be a number from 0 to 1, got "${value}"`);
  return n;
}

function parseNonNegative(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${what} must be a number ≥ 0, got "${value}"`);
  return n;
}

function parseSignificance(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1) throw new UsageError(`${what} must be a number above 0 and at most 1, got "${value}"`);
  return n;
}

export const ITEM_MODES = ['tags', 'terms', 'both'] as const;
export type ItemMode = (typeof ITEM_MODES)[number];

function parseItemMode(value: string): ItemMode {
  const mode = value.trim().toLowerCase();
  if ((ITEM_MODES as readonly string[]).includes(mode)) return mode as ItemMode;
  throw new UsageError(`patterns.items must be tags, terms or both, got "${value}"`);
}

export const PATTERN_SELECTIONS = ['compress', 'closed'] as const;
export type PatternSelect = (typeof PATTERN_SELECTIONS)[number];

function parseSelect(value: string): PatternSelect {
  const select = value.trim().toLowerCase();
  if ((PATTERN_SELECTIONS as readonly string[]).includes(select)) return select as PatternSelect;
  throw new UsageError(`patterns.select must be compress or closed, got "${value}"`);
}

/** A minimum support: a count of insights (an integer ≥ 1) or a fraction of them (0 < x < 1). */
export type MinSupport = { count: number } | { fraction: number };

function parseSupport(value: string, what: string): MinSupport {
  const n = Number(value);
  if (value.trim() !== '' && Number.isInteger(n) && n >= 1) return { count: n };
  if (value.trim() !== '' && Number.isFinite(n) && n > 0 && n < 1) return { fraction: n };
  throw new UsageError(`${what} must be a count of insights (e.g. 5) or a fraction of them (e.g. 0.01), got "${value}"`);
}

function parseItemsetSize(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 2 || n > 8) throw new UsageError(`${what} must be a whole number from 2 to 8, got "${value}"`);
  return n;
}

const positiveDuration = (value: string, what: string) => parseDuration(value, what, { allowZero: false });
const duration = (value: string, what: string) => parseDuration(value, what);

/** decay_sweep's settings; metrics uses them too, for its stale ratio. */
const DECAY_SETTINGS = {
  halfLifeMs: setting('decay.half-life', positiveDuration, 30 * DAY_MS),
  graceMs: setting('decay.grace', duration, 7 * DAY_MS),
  floor: setting('decay.floor', parseFraction, 0.05),
  archiveBelow: setting('decay.archive-below', parseFraction, 0.1),
};

export const JOB_SETTINGS = {
  consolidation: {
    threshold: setting('consolidation.threshold', parseFraction, 0.7),
  },
  pattern_detection: {
    items: setting<ItemMode>('patterns.items', (value) => parseItemMode(value), 'both' as ItemMode),
    /**
     * compress: concept items (collocations, words folded into their tags) and the closed sets
     * KRIMP keeps; closed: stems and every closed frequent item set, exactly as before.
     */
    select: setting<PatternSelect>('patterns.select', (value) => parseSelect(value), 'compress' as PatternSelect),
    /** Default: max(3, 1 % of the active insights). */
    minSupport: setting<MinSupport, undefined>('patterns.min-support', parseSupport, undefined),
    minSize: setting('patterns.min-size', parseItemsetSize, 2),
    maxSize: setting('patterns.max-size', parseItemsetSize, 4),
    /** Items in more than this share of the insights say nothing and are left out. */
    maxItemShare: setting('patterns.max-item-share', parseFraction, 0.5),
  },
  playbook_synthesis: {
    minConfidence: setting('playbook.min-confidence', parseFraction, 0.8),
    minLift: setting('playbook.min-lift', parseNonNegative, 1),
    /** Fisher's exact test at this level, Bonferroni-corrected for the splits tested. */
    significance: setting('playbook.significance', parseSignificance, 0.05),
  },
  decay_sweep: DECAY_SETTINGS,
  metrics: DECAY_SETTINGS,
} as const satisfies Record<JobType, Record<string, Setting<unknown>>>;

type Settings<J extends JobType> = (typeof JOB_SETTINGS)[J];
type ValueOf<S> = S extends Setting<infer T, infer D> ? T | D : never;

/** A job's parameters with every default filled in (a setting without a default may be undefined). */
export type JobParams<J extends JobType> = { [K in keyof Settings<J>]: ValueOf<Settings<J>[K]> };

export type PatternParams = JobParams<'pattern_detection'>;
export type DecayParams = JobParams<'decay_sweep'>;

/** Every config key a job setting is stored under, in a stable order (no repeats). */
export const JOB_SETTING_KEYS: readonly string[] = [
  ...new Set(Object.values(JOB_SETTINGS).flatMap((settings) => Object.values(settings).map((s: Setting<unknown>) => s.key))),
];

/** The setting stored under a config key, if a job reads it. */
export function jobSettingFor(key: string): Setting<unknown> | undefined {
  for (const settings of Object.values(JOB_SETTINGS)) {
    for (const s of Object.values(settings) as Array<Setting<unknown>>) if (s.key === key) return s;
  }
  return undefined;
}

/**
 * The parameters a profile sets for a job type, parsed: what is recorded with each job, so the
 * worker needs no config. A setting the profile leaves out is left out (the engine defaults it).
 */
/** `describe` names where a stored value lives (a profile of a config file), so a bad hand edit is found. */
export function recordedParams(jobType: JobType, stored: (key: string) => string | undefined, describe: (key: string) => string = (key) => key): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(JOB_SETTINGS[jobType]) as Array<[string, Setting<unknown>]>) {
    const text = stored(s.key);
    if (text) params[name] = s.parse(text, describe(s.key));
  }
  if (jobType === 'pattern_detection') {
    const minSize = (params.minSize as number | undefined) ?? JOB_SETTINGS.pattern_detection.minSize.default;
    const maxSize = (params.maxSize as number | undefined) ?? JOB_SETTINGS.pattern_detection.maxSize.default;
    if (minSize > maxSize) throw new UsageError(`patterns.min-size (${minSize}) is larger than patterns.max-size (${maxSize})`, 'change one with `nex-compound config set`');
  }
  return params;
}

/** A job's parameters as it runs: what was recorded with it, defaults for the rest. */
export function jobParams<J extends JobType>(jobType: J, recorded: Record<string, unknown>): JobParams<J> {
  const params: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(JOB_SETTINGS[jobType]) as Array<[string, Setting<unknown>]>) {
    const value = recorded[name];
    const usable = value !== undefined && value !== null && (s.default === undefined || typeof value === typeof s.default);
    params[name] = usable ? value : s.default;
  }
  return params as JobParams<J>;
}
