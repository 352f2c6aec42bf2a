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

test('a resent Idempotency-Key that the server answers as a replay says so, and --json carries replayed', async () => {
  const { createServer } = await import('node:http');
  const dir = tempDir('nex-compound-replay-');
  const job = { job_run_id: '0b9c4f4e-4f7a-4c57-9d3e-6c1a2b3c4d5e', job_type: 'metrics', workspace_id: 1, dry_run: false, status: 'accepted' };
  const seenKeys: string[] = [];
  // A raw server: the first request with a key creates the job, a resend of it is answered with the same job, marked replayed.
  const server = createServer((request, response) => {
    const key = String(request.headers['idempotency-key']);
    const replay = seenKeys.includes(key);
    seenKeys.push(key);
    request.resume().on('end', () => {
      response.writeHead(202, { 'content-type': 'application/json', ...(replay ? { 'idempotent-replayed': 'true' } : {}) });
      response.end(JSON.stringify(job));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as import('node:net').AddressInfo;
    const env = { NEX_API_KEY: 'nex_test_key_0123456789', NEX_BASE_URL: `http://127.0.0.1:${port}`, NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir, XDG_DATA_HOME: dir };
    const argv = ['trigger', 'metrics', '--idempotency-key', 'resent-key-0001'];
    const first = await runInProcess([...argv, '--json'], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as { replayed: boolean }).replayed, false);
    assert.doesNotMatch(first.stderr, /replayed/);

    const human = await runInProcess(argv, { env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stderr, /^replayed by the server \(same Idempotency-Key\): job 0b9c4f4e-4f7a-4c57-9d3e-6c1a2b3c4d5e was created by an earlier request/m);
    const json = await runInProcess([...argv, '--json'], { env });
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { replayed: boolean }).replayed, true);
    assert.deepEqual(seenKeys, ['resent-key-0001', 'resent-key-0001', 'resent-key-0001']);
  } finally {
    server.close();
  }
});
