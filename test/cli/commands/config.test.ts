/** `config` diagnoses itself: a typo gets the likely key or profile, an unset key exits 1, a bad stored value names its file, --effective says where each value comes from. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runInProcess, tempDir } from '../../helpers/cli.js';

function home() {
  const dir = tempDir('nex-compound-config-');
  return { dir, env: { NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir, NEX_COMPOUND_DB: path.join(dir, 'engine.db') } };
}

test('a misspelt key or profile gets a did-you-mean; a value starting with - goes after --', async () => {
  const { env } = home();
  const key = await runInProcess(['config', 'set', 'decay.half-lif', '45d'], { env });
  assert.equal(key.code, 2);
  assert.match(key.stderr, /^error: unknown config key "decay.half-lif"$/m);
  assert.match(key.stderr, /^hint: did you mean decay\.half-life\?/m);

  assert.equal((await runInProcess(['--profile', 'staging', 'config', 'set', 'timeout', '5m'], { env })).code, 0);
  const profile = await runInProcess(['--profile', 'stagin', 'trigger', 'metrics', '--local'], { env });
  assert.equal(profile.code, 2, profile.stderr);
  assert.match(profile.stderr, /^error: there is no profile "stagin" in .*config\.json$/m);
  assert.match(profile.stderr, /^hint: did you mean "staging"\?/m);
  // Reading or removing settings of the misspelt profile is refused the same way; creating one is not.
  for (const argv of [['config', 'list'], ['config', 'get', 'timeout'], ['config', 'unset', 'timeout']]) {
    const misspelt = await runInProcess(['--profile', 'stagin', ...argv], { env });
    assert.equal(misspelt.code, 2, `${argv.join(' ')}: ${misspelt.stderr}`);
    assert.match(misspelt.stderr, /^error: there is no profile "stagin" in .*config\.json$/m);
    assert.match(misspelt.stderr, /^hint: did you mean "staging"\?/m);
  }
  assert.equal((await runInProcess(['--profile', 'production', 'config', 'list'], { env })).code, 0, 'a name far from every profile is a new, empty profile');

  const dash = await runInProcess(['config', 'set', 'decay.grace', '-3d'], { env });
  assert.equal(dash.code, 2);
  assert.match(dash.stderr, /^hint: a value that starts with "-" goes after --: nex-compound config set decay\.grace -- VALUE$/m);
  const afterDashes = await runInProcess(['config', 'set', 'decay.grace', '--', '-3d'], { env });
  assert.equal(afterDashes.code, 2, 'the value reaches the validator, which refuses a negative duration');
  assert.doesNotMatch(afterDashes.stderr, /unknown option/);
});

test('config get of an unset key exits 1, as git config does; a set one prints its value', async () => {
  const { env } = home();
  const unset = await runInProcess(['config', 'get', 'timeout'], { env });
  assert.equal(unset.code, 1);
  assert.equal(unset.stdout, '');
  assert.match(unset.stderr, /^error: timeout is not set in profile "default"$/m);
  assert.equal((await runInProcess(['config', 'set', 'timeout', '5m'], { env })).code, 0);
  const set = await runInProcess(['config', 'get', 'timeout'], { env });
  assert.equal(set.code, 0);
  assert.equal(set.stdout.trim(), '5m');
});

test('a bad hand-edited value names the file, the profile and the key', async () => {
  const { dir, env } = home();
  assert.equal((await runInProcess(['config', 'set', 'timeout', '5m'], { env })).code, 0);
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as { profiles: Record<string, Record<string, string>> };
  config.profiles.default!.timeout = '5x';
  config.profiles.default!['decay.floor'] = 'lots';
  writeFileSync(file, JSON.stringify(config));
  const timeout = await runInProcess(['trigger', 'metrics', '--local'], { env });
  assert.equal(timeout.code, 2);
  assert.match(timeout.stderr, new RegExp(`^error: timeout \\(profile "default" in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) `, 'm'));
  config.profiles.default!.timeout = '5m';
  writeFileSync(file, JSON.stringify(config));
  const floor = await runInProcess(['trigger', 'decay_sweep', '--local'], { env });
  assert.equal(floor.code, 2);
  assert.match(floor.stderr, /^error: decay\.floor \(profile "default" in .*config\.json\) /m);
});

test('config list --effective: every setting with its value and source', async () => {
  const { env } = home();
  assert.equal((await runInProcess(['config', 'set', 'decay.half-life', '45d'], { env })).code, 0);
  const r = await runInProcess(['--workspace', '3', 'config', 'list', '--effective', '--json'], { env: { ...env, NEX_COMPOUND_REQUEST_TIMEOUT: '10s' } });
  assert.equal(r.code, 0, r.stderr);
  const settings = JSON.parse(r.stdout) as Record<string, { value: string; source: string }>;
  assert.deepEqual(settings['decay.half-life'], { value: '45d', source: 'profile "default"' });
  assert.deepEqual(settings['decay.grace'], { value: '7d', source: 'default' });
  assert.deepEqual(settings['request-timeout'], { value: '10s', source: 'env NEX_COMPOUND_REQUEST_TIMEOUT' });
  assert.deepEqual(settings.workspace, { value: '3', source: 'flag' });
  assert.deepEqual(settings.db, { value: env.NEX_COMPOUND_DB, source: 'env NEX_COMPOUND_DB' });
  assert.equal(settings['consolidation.threshold']!.value, '0.7');
});
