/** Every job's settings declared once: config keys, parsing, recorded params and defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/contract/errors.js';
import { JOB_SETTING_KEYS, JOB_SETTINGS, jobParams, jobSettingFor, recordedParams } from '../../src/contract/job-params.js';
import { JOB_TYPES } from '../../src/contract/jobs.js';

const profile = (values: Record<string, string>) => (key: string) => values[key];

test('every job type has its settings; every key is unique, dotted and names its job family', () => {
  assert.deepEqual(Object.keys(JOB_SETTINGS).sort(), [...JOB_TYPES].sort());
  assert.equal(new Set(JOB_SETTING_KEYS).size, JOB_SETTING_KEYS.length);
  for (const key of JOB_SETTING_KEYS) assert.match(key, /^(decay|consolidation|patterns|playbook)\.[a-z-]+$/, key);
  assert.deepEqual(JOB_SETTING_KEYS.filter((k) => k.startsWith('decay.')), ['decay.half-life', 'decay.grace', 'decay.floor', 'decay.archive-below']);
});

test('recordedParams: only what the profile sets, parsed; an unset profile records nothing', () => {
  assert.deepEqual(recordedParams('consolidation', profile({})), {});
  assert.deepEqual(recordedParams('consolidation', profile({ 'consolidation.threshold': '0.85' })), { threshold: 0.85 });
  assert.deepEqual(recordedParams('decay_sweep', profile({ 'decay.half-life': '45d', 'decay.floor': '0.1' })), { halfLifeMs: 45 * 86_400_000, floor: 0.1 });
  // metrics reads the decay settings too (its stale ratio uses them).
  assert.deepEqual(recordedParams('metrics', profile({ 'decay.grace': '2d' })), { graceMs: 2 * 86_400_000 });
  assert.deepEqual(recordedParams('pattern_detection', profile({ 'patterns.items': 'TAGS', 'patterns.min-support': '0.02' })), { items: 'tags', minSupport: { fraction: 0.02 } });
});

test('recordedParams refuses a bad value or an impossible combination with a usage error naming the key', () => {
  assert.throws(() => recordedParams('consolidation', profile({ 'consolidation.threshold': '1.5' })), (e: unknown) => e instanceof UsageError && /consolidation\.threshold/.test(e.message));
  assert.throws(() => recordedParams('decay_sweep', profile({ 'decay.half-life': '0' })), (e: unknown) => e instanceof UsageError && /decay\.half-life/.test(e.message));
  assert.throws(() => recordedParams('pattern_detection', profile({ 'patterns.min-size': '5' })), (e: unknown) => e instanceof UsageError && /larger than patterns\.max-size \(4\)/.test(e.message));
});

test('jobParams: defaults fill what was not recorded; a recorded value of the wrong type is not trusted', () => {
  assert.deepEqual(jobParams('decay_sweep', {}), { halfLifeMs: 30 * 86_400_000, graceMs: 7 * 86_400_000, floor: 0.05, archiveBelow: 0.1 });
  assert.deepEqual(jobParams('playbook_synthesis', { minLift: 2 }), { minConfidence: 0.8, minLift: 2, significance: 0.05 });
  assert.equal(jobParams('consolidation', { threshold: '0.9' }).threshold, 0.7);
  const patterns = jobParams('pattern_detection', { minSupport: { count: 5 } });
  assert.deepEqual(patterns, { items: 'both', select: 'compress', minSupport: { count: 5 }, minSize: 2, maxSize: 4, maxItemShare: 0.5 });
  assert.equal(jobParams('pattern_detection', {}).minSupport, undefined, 'no default: derived from the data');
});

test('jobSettingFor finds a setting by its config key, and nothing else', () => {
  assert.equal(jobSettingFor('patterns.max-size')?.default, 4);
  assert.equal(jobSettingFor('api-key'), undefined);
  assert.equal(jobSettingFor('decay-half-life'), undefined, 'old spellings are mapped by the CLI, not here');
});
