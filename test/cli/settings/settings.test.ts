/** Settings from a real config file: job settings by their one declaration, old key names still read. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../../src/contract/errors.js';
import { engineParams } from '../../../src/cli/settings/backend.js';
import { CONFIG_KEYS, parseConfigKey, validateConfigValue } from '../../../src/cli/settings/config-keys.js';
import { resolveSettings } from '../../../src/cli/settings/settings.js';
import { runBin, tempDir } from '../../helpers/cli.js';

test('config keys: every job setting is one, dashed spellings and the old decay-* names read as today\'s', () => {
  for (const key of ['decay.half-life', 'consolidation.threshold', 'patterns.max-size', 'playbook.min-lift']) assert.ok((CONFIG_KEYS as readonly string[]).includes(key), key);
  assert.equal(parseConfigKey('decay-half-life'), 'decay.half-life');
  assert.equal(parseConfigKey('DECAY_ARCHIVE_BELOW'), 'decay.archive-below');
  assert.equal(parseConfigKey('patterns-min-support'), 'patterns.min-support');
  assert.throws(() => parseConfigKey('decay.half'), UsageError);
});

test('job setting values are checked by the job\'s own parser and stored as given (or normalized by it)', () => {
  assert.equal(validateConfigValue('decay.half-life', ' 45d '), '45d');
  assert.equal(validateConfigValue('patterns.items', 'TAGS'), 'tags');
  assert.throws(() => validateConfigValue('decay.floor', '2'), /decay\.floor must be a number from 0 to 1/);
  assert.throws(() => validateConfigValue('patterns.min-size', '9'), UsageError);
});

test('a profile written with the old decay key names still drives the engine parameters', async () => {
  const dir = tempDir('nex-compound-settings-');
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ profiles: { default: { 'decay-half-life': '10d', 'consolidation.threshold': '0.9' } } }));
  const settings = await resolveSettings({}, {}, { env: { NEX_COMPOUND_CONFIG_DIR: dir }, homedir: dir });
  const paramsFor = await engineParams(settings);
  assert.deepEqual(paramsFor('decay_sweep'), { halfLifeMs: 10 * 86_400_000 });
  assert.deepEqual(paramsFor('consolidation'), { threshold: 0.9 });
  assert.deepEqual(paramsFor('metrics'), { halfLifeMs: 10 * 86_400_000 });
  assert.deepEqual(paramsFor('playbook_synthesis'), {});
});

test('8 `config set` at once, on 8 profiles: every one lands (the file is changed under a lock)', async () => {
  const dir = tempDir('nex-compound-settings-');
  const env = { NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir };
  const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => runBin(['config', 'set', 'timeout', `${i + 1}m`, '--profile', `p${i}`], { env })));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const list = await runBin(['config', 'list', '--all-profiles', '--json'], { env });
  assert.equal(list.code, 0, list.stderr);
  const profiles = JSON.parse(list.stdout) as Record<string, { timeout?: string }>;
  assert.deepEqual(Object.keys(profiles).sort(), Array.from({ length: 8 }, (_, i) => `p${i}`));
  for (let i = 0; i < 8; i++) assert.equal(profiles[`p${i}`]?.timeout, `${i + 1}m`);
  assert.equal(existsSync(path.join(dir, 'config.json.lock')), false, 'the lock is released');
});
