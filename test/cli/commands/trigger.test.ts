/** `trigger`'s flags say what they do: following flags without --wait, and counts that cannot be negative. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runInProcess, tempDir } from '../../helpers/cli.js';

test('--timeout, --interval and --ndjson without --wait are usage errors (they were silently ignored); a negative --retries says what is allowed', async () => {
  const dir = tempDir('nex-compound-trigger-');
  const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir };
  for (const flags of [['--timeout', '5m'], ['--interval', '2s'], ['--ndjson']]) {
    const r = await runInProcess(['trigger', 'metrics', '--local', ...flags], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: ${flags[0]} applies only with --wait$`, 'm'));
    assert.match(r.stderr, /^hint: add --wait to follow the job/m);
  }
  const retries = await runInProcess(['trigger', 'metrics', '--local', '--retries', '-3'], { env });
  assert.equal(retries.code, 2);
  assert.match(retries.stderr, /^error: --retries must be 0 or a positive whole number, got "-3"$/m);
  const jobs = await runInProcess(['jobs', '--local', '--limit', '0'], { env });
  assert.equal(jobs.code, 0, jobs.stderr);
  assert.doesNotMatch(jobs.stderr, /no jobs yet/);
});
