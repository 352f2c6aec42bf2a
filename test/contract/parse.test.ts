import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBaseUrl, parseDuration, parseJobRunId, parseJobType } from '../../src/contract/parse.js';
import { formatDuration } from '../../src/cli/render/render.js';
import { UsageError } from '../../src/contract/errors.js';
import { parseRetryAfter } from '../../src/remote/http.js';
import { fullJitterBackoff, pollDelay } from '../../src/contract/backoff.js';
import { colorLevel, createUi } from '../../src/cli/ui.js';
import type { Deps } from '../../src/cli/deps.js';
import { changed } from '../../src/cli/follow/watch-loop.js';

test('job types: exact, dashed and upper-case forms are accepted', () => {
  assert.equal(parseJobType('pattern_detection'), 'pattern_detection');
  assert.equal(parseJobType('Decay-Sweep'), 'decay_sweep');
});

test('job types: a typo gets a did-you-mean and the list of valid types', () => {
  assert.throws(() => parseJobType('patern_detection'), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /did you mean "pattern_detection"/);
    assert.match(e.hint ?? '', /consolidation, pattern_detection, playbook_synthesis, decay_sweep, metrics/);
    return true;
  });
  assert.throws(() => parseJobType('consol'), /did you mean "consolidation"/);
  assert.throws(() => parseJobType('zzzzzzzzzzzzzz'), (e: unknown) => e instanceof UsageError && !/did you mean/.test(e.message));
});

test('job_run_id must be a UUID; it is normalized to lower case', () => {
  assert.equal(parseJobRunId('550E8400-E29B-41D4-A716-446655440000'), '550e8400-e29b-41d4-a716-446655440000');
  for (const bad of ['', 'nope', '550e8400e29b41d4a716446655440000', '550e8400-e29b-41d4-a716-44665544000g', '../etc/passwd']) {
    assert.throws(() => parseJobRunId(bad), UsageError, bad);
  }
});

test('durations: units, bare seconds, zero, and garbage', () => {
  assert.equal(parseDuration('90s', 't'), 90_000);
  assert.equal(parseDuration('5m', 't'), 300_000);
  assert.equal(parseDuration('1h', 't'), 3_600_000);
  assert.equal(parseDuration('250ms', 't'), 250);
  assert.equal(parseDuration('12', 't'), 12_000);
  assert.equal(parseDuration('0', 't'), 0);
  assert.throws(() => parseDuration('0', 'interval', { allowZero: false }), UsageError);
  assert.throws(() => parseDuration('soon', 't'), UsageError);
  assert.throws(() => parseDuration('-5s', 't'), UsageError);
  assert.equal(formatDuration(65_000), '1m05s');
  assert.equal(formatDuration(3_700_000), '1h01m');
});

test('base URLs: https and http accepted, a trailing slash added, credentials and other schemes refused', () => {
  assert.equal(parseBaseUrl('https://app.nex.ai/api/developers').href, 'https://app.nex.ai/api/developers/');
  assert.equal(parseBaseUrl('http://127.0.0.1:8787').href, 'http://127.0.0.1:8787/');
  assert.throws(() => parseBaseUrl('ftp://x'), UsageError);
  assert.throws(() => parseBaseUrl('not a url'), UsageError);
  assert.throws(() => parseBaseUrl('https://user:pw@app.nex.ai'), UsageError);
});

test('Retry-After: seconds, HTTP-date, capped at 60 s, never negative, junk ignored', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(new Date(now + 7000).toUTCString(), now), 7000);
  assert.equal(parseRetryAfter('999999', now), 60_000);
  assert.equal(parseRetryAfter(new Date(now - 7000).toUTCString(), now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('backoff: full jitter stays within [0, min(cap, base·2^n)]; poll delays grow ×1.5 to 10 s', () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const ceiling = Math.min(10_000, 500 * 2 ** attempt);
    assert.equal(fullJitterBackoff(attempt, () => 0), 0);
    assert.equal(fullJitterBackoff(attempt, () => 0.999999), Math.round(0.999999 * ceiling));
  }
  const nominal = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => pollDelay(n, () => 0.5));
  assert.deepEqual(nominal, [1000, 1500, 2250, 3375, 5063, 7594, 10_000, 10_000]);
  assert.ok(pollDelay(0, () => 0) >= 850 && pollDelay(0, () => 0.9999) <= 1150);
});

test('colors: NO_COLOR and --no-color win, FORCE_COLOR forces, pipes get none', () => {
  const tty = { write: () => true, isTTY: true };
  const pipe = { write: () => true, isTTY: false };
  assert.equal(colorLevel(tty, {}, true), 1);
  assert.equal(colorLevel(tty, { NO_COLOR: '1' }, true), 0);
  assert.equal(colorLevel(tty, {}, false), 0);
  assert.equal(colorLevel(pipe, {}, true), 0);
  assert.equal(colorLevel(pipe, { FORCE_COLOR: '1' }, true), 1);
  assert.equal(colorLevel(tty, { FORCE_COLOR: '0' }, true), 0);
  assert.equal(colorLevel(tty, { TERM: 'dumb' }, true), 0);
});

test('the Ui colors only a colored stream; without color, styles are no-ops and chalk is not needed', async () => {
  const options = { json: false, ndjson: false, quiet: false, color: true, debug: false };
  const deps = (env: Record<string, string>) => ({ stdout: { write: () => true, isTTY: false }, stderr: { write: () => true, isTTY: false }, env }) as unknown as Deps;
  const plain = await createUi(deps({}), options);
  assert.equal(plain.errChalk.level, 0);
  assert.equal(plain.errChalk.bold.red('failed'), 'failed');
  assert.equal(plain.outChalk.dim('a', 'b'), 'a b');
  const colored = await createUi(deps({ FORCE_COLOR: '1' }), options);
  assert.equal(colored.errChalk.level, 1);
  assert.equal(colored.errChalk.red('failed'), '\u001b[31mfailed\u001b[39m');
});

test('a watch reports a change when the status or a count moves, not otherwise', () => {
  const base = { job_run_id: 'x', status: 'running', insights_scanned: 1 };
  assert.equal(changed(base, { ...base }), false);
  assert.equal(changed(base, { ...base, insights_scanned: 2 }), true);
  assert.equal(changed(base, { ...base, status: 'completed' }), true);
});

test('an empty --api-key is a usage error (an unset shell variable), never a silent fallback; an empty NEX_COMPOUND_PROFILE is unset', async () => {
  const { resolveSettings, profileName } = await import('../../src/cli/settings/settings.js');
  const deps = { env: { NEX_API_KEY: 'from-env-key' }, homedir: '/nonexistent-home' };
  await assert.rejects(resolveSettings({ apiKey: '' }, {}, deps), (e: unknown) => e instanceof UsageError && e.message === '--api-key is empty');
  await assert.rejects(resolveSettings({ apiKey: '  ' }, {}, deps), UsageError);
  assert.equal((await resolveSettings({}, {}, deps)).apiKey, 'from-env-key');
  assert.equal(profileName({}, { NEX_COMPOUND_PROFILE: '' }), 'default');
  assert.equal(profileName({}, { NEX_COMPOUND_PROFILE: 'ci' }), 'ci');
});
