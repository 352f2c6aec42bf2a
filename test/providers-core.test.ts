/**
 * --provider julep|nexio|jobs: status and watch against a fake server per provider
 * (test/fakes/providers.ts, written from the seeds), as real processes and in-process
 * with a fake terminal. The exit code table is Nex's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  htmlStep,
  jobsApiJob,
  julepJob,
  malformedJsonStep,
  nexioRun,
  startJobsApiServer,
  startJulepServer,
  startNexioServer,
  type FakeProviderServer,
} from './fakes/providers.js';
import { ANSI_RE, runBin, runInProcess } from './helpers/cli.js';

const ID = '0b7e8a4c-3a1f-4a8e-9a51-2f5c2d6b9e11';
const JULEP_KEY = 'jk_live_9f8e7d6c5b4a';
const JOBS_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.alice.sig';
const NEXIO_KEY = 'nx_test_4c3b2a1908f7';
const FAST = ['--interval', '20ms', '--timeout', '20s'];

async function withServer<T extends FakeProviderServer>(start: Promise<T>, body: (server: T) => Promise<void>): Promise<void> {
  const server = await start;
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at /);

test('julep: a watch through every non-terminal state ends 0, one line per change with progress and reason', () =>
  withServer(startJulepServer({ apiKey: JULEP_KEY }), async (server) => {
    server.addJob({
      id: ID,
      steps: [
        { body: julepJob(ID, { state: 'pending' }) },
        { body: julepJob(ID, { state: 'in_progress', has_progress: true, progress: 40, reason: 'embedding documents' }) },
        { body: julepJob(ID, { state: 'retrying', has_progress: true, progress: 40, reason: 'rate limited, retrying' }) },
        { body: julepJob(ID, { state: 'succeeded', has_progress: true, progress: 100 }) },
      ],
    });
    const r = await runBin(['watch', '--provider', 'julep', ...FAST, ID], { env: { JULEP_API_KEY: JULEP_KEY, JULEP_BASE_URL: server.url } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.includes(ID));
    assert.equal(lines.length, 4, r.stderr);
    assert.match(lines[0]!, /pending \(queued\)/);
    assert.match(lines[1]!, /in_progress \(running\) progress=40% reason="embedding documents"/);
    assert.match(lines[2]!, /retrying \(retrying\)/);
    assert.match(lines[3]!, /succeeded \(succeeded\) progress=100%/);
    assert.match(r.stdout, /^status\s+succeeded$/m);
    assert.match(r.stdout, /^state\s+succeeded$/m);
    assert.match(r.stderr, /remote Julep API at http:\/\/127\.0\.0\.1/);
    // The contract's APIKeyHeader: the key itself is the header value.
    assert.ok(server.requests.every((q) => q.headers.authorization === JULEP_KEY));
    assert.ok(!`${r.stdout}${r.stderr}`.includes(JULEP_KEY));
  }));

test('julep on a terminal: a progress bar with the percentage and the reason, no timestamped lines', () =>
  withServer(startJulepServer({ apiKey: JULEP_KEY }), async (server) => {
    server.addJob({
      id: ID,
      steps: [
        { body: julepJob(ID, { state: 'in_progress', has_progress: true, progress: 50, reason: 'indexing' }) },
        { body: julepJob(ID, { state: 'in_progress', has_progress: true, progress: 50, reason: 'indexing' }) },
        { body: julepJob(ID, { state: 'succeeded', has_progress: true, progress: 100 }) },
      ],
    });
    const r = await runInProcess(['watch', '--provider', 'julep', '--base-url', server.url, '--interval', '300ms', ID], {
      env: { JULEP_API_KEY: JULEP_KEY, CI: undefined },
      stderrTty: true,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[█{10} {10}\] 50%/);
    assert.match(r.stderr, /indexing/);
    assert.doesNotMatch(r.stderr, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 0b7e8a4c/);
  }));

test('julep: failed and aborted exit 1 (aborted says cancelled); unknown states poll on with a warning', () =>
  withServer(startJulepServer({ apiKey: JULEP_KEY }), async (server) => {
    const env = { JULEP_API_KEY: JULEP_KEY, JULEP_BASE_URL: server.url };
    server.addJob({ id: ID, steps: [{ body: julepJob(ID, { state: 'failed', reason: 'tool call timed out' }) }] });
    let r = await runInProcess(['watch', '--provider', 'julep', ...FAST, ID], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed: tool call timed out/);

    server.addJob({ id: ID, steps: [{ body: julepJob(ID, { state: 'aborted', reason: 'cancelled by user' }) }] });
    r = await runInProcess(['watch', '--provider', 'julep', ...FAST, ID], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /was cancelled \(aborted\)/);

    server.addJob({ id: ID, steps: [{ body: julepJob(ID, { state: 'unknown' }) }, { body: julepJob(ID, { state: 'unknown' }) }, { body: julepJob(ID, { state: 'succeeded' }) }] });
    r = await runInProcess(['watch', '--provider', 'julep', ...FAST, ID], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.match(/reports state "unknown", which nex-compound does not know/g)?.length, 1);

    // A state string outside the contract is never guessed into an outcome: it runs into the deadline.
    server.addJob({ id: ID, steps: [{ body: { ...julepJob(ID, { state: 'pending' }), state: 'paused' } }] });
    r = await runInProcess(['watch', '--provider', 'julep', '--interval', '20ms', '--timeout', '300ms', ID], { env });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /state "paused"/);
  }));

test('julep: 422 shown readably (exit 2), 401 exit 3 naming JULEP_API_KEY, 404 exit 4; --json keeps the raw object', () =>
  withServer(startJulepServer({ apiKey: JULEP_KEY }), async (server) => {
    server.addJob({ id: ID, steps: [{ body: julepJob(ID, { state: 'in_progress', has_progress: true, progress: 10 }) }] });
    let r = await runBin(['status', '--provider', 'julep', '--base-url', server.url, 'not-a-uuid'], { env: { JULEP_API_KEY: JULEP_KEY } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: Julep API rejected job id "not-a-uuid": .*422.*path\.job_id: Input should be a valid UUID/m);
    noStack(r.stderr);

    r = await runBin(['status', '--provider', 'julep', '--base-url', server.url, ID], { env: { JULEP_API_KEY: 'jk_wrong_key_123' } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /JULEP_API_KEY/);
    assert.ok(!r.stderr.includes('jk_wrong_key_123'));

    r = await runBin(['status', '--provider', 'julep', '--base-url', server.url, '6f1c2b3a-0000-4000-8000-000000000001'], { env: { JULEP_API_KEY: JULEP_KEY } });
    assert.equal(r.code, 4);
    noStack(r.stderr);

    r = await runBin(['status', '--provider', 'julep', '--base-url', server.url, '--json', ID], { env: { JULEP_API_KEY: JULEP_KEY } });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(json.state, 'in_progress');
    assert.equal(json.progress, 10);
    assert.equal(json.has_progress, true);
    assert.deepEqual(json.normalized, { provider: 'julep', state: 'running', terminal: false, outcome: null });
  }));

test('jobs API: attempt 2 of 3 is a retry, result printed on completion and passed through in --json', () =>
  withServer(startJobsApiServer({ tokens: { [JOBS_TOKEN]: 'alice', 'token-of-bob': 'bob' } }), async (server) => {
    const env = { JOBS_API_TOKEN: JOBS_TOKEN, JOBS_API_URL: server.url };
    server.addJob({
      id: ID,
      owner: 'alice',
      steps: [
        { body: jobsApiJob(ID, { status: 'PENDING' }) },
        { body: jobsApiJob(ID, { status: 'PROCESSING', attempts: 1 }) },
        { body: jobsApiJob(ID, { status: 'PROCESSING', attempts: 2 }) },
        { body: jobsApiJob(ID, { status: 'COMPLETED', attempts: 2 }) },
      ],
    });
    const r = await runBin(['watch', '--provider', 'jobs', ...FAST, ID], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /PROCESSING \(running\) attempt=1\/3/);
    assert.match(r.stderr, /PROCESSING \(retrying\) attempt=2\/3/);
    assert.match(r.stdout, /^attempts\s+2 of 3$/m);
    assert.match(r.stdout, /^result\s+\{"output":"The main market risks/m);
    assert.ok(server.requests.every((q) => q.headers.authorization === `Bearer ${JOBS_TOKEN}`));

    const json = await runInProcess(['status', '--provider', 'jobs', '--json', ID], { env });
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { result: { output: string }; status: string; normalized: { outcome: string } };
    assert.equal(parsed.status, 'COMPLETED');
    assert.match(parsed.result.output, /^The main market risks/);
    assert.equal(parsed.normalized.outcome, 'succeeded');
  }));

test('jobs API: FAILED exits 1 with its error; 400, 401, another user\'s job 404; no base URL is a usage error', () =>
  withServer(startJobsApiServer({ tokens: { [JOBS_TOKEN]: 'alice', 'token-of-bob': 'bob' } }), async (server) => {
    const env = { JOBS_API_TOKEN: JOBS_TOKEN, JOBS_API_URL: server.url };
    server.addJob({ id: ID, owner: 'alice', steps: [{ body: jobsApiJob(ID, { status: 'FAILED', attempts: 3 }) }] });
    let r = await runBin(['watch', '--provider', 'jobs', ...FAST, ID], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed: Bedrock API error: ThrottlingException - Rate exceeded/);

    r = await runBin(['status', '--provider', 'jobs', 'abc'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Invalid UUID format/);

    r = await runBin(['status', '--provider', 'jobs', ID], { env: { ...env, JOBS_API_TOKEN: 'expired-token' } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /JOBS_API_TOKEN/);
    assert.ok(!r.stderr.includes('expired-token'));

    r = await runBin(['status', '--provider', 'jobs', ID], { env: { ...env, JOBS_API_TOKEN: 'token-of-bob' } });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /only to the user whose token created them/);

    r = await runBin(['status', '--provider', 'jobs', ID], { env: { JOBS_API_TOKEN: JOBS_TOKEN } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no base URL for the jobs API/);
    assert.match(r.stderr, /JOBS_API_URL/);
  }));

test('nexio: stage, environment and engine_version shown; degraded exits 0 with a warning, 1 with --strict; failed exits 1', () =>
  withServer(startNexioServer({ apiKeys: [NEXIO_KEY, 'nx_live_0a1b2c3d4e5f'] }), async (server) => {
    const env = { NEXIO_API_KEY: NEXIO_KEY, NEXIO_BASE_URL: server.url };
    server.addJob({
      id: ID,
      environment: 'test',
      steps: [
        { body: nexioRun(ID, { status: 'queued', environment: 'test' }) },
        { body: nexioRun(ID, { status: 'processing', environment: 'test', stage: 'EVALUATE' }) },
        { body: nexioRun(ID, { status: 'completed', environment: 'test', stage: 'FILTER', duration_ms: 12_480 }) },
      ],
    });
    let r = await runBin(['watch', '--provider', 'nexio', ...FAST, ID], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /processing \(running\) stage=EVALUATE/);
    assert.match(r.stderr, /test environment from the nx_test_ key/);
    assert.match(r.stdout, /^environment\s+test$/m);
    assert.match(r.stdout, /^engine_version\s+1\.3$/m);
    assert.match(r.stdout, /^duration_ms\s+12480 \(12s\)$/m);
    assert.ok(server.requests.every((q) => q.headers.authorization === `Bearer ${NEXIO_KEY}`));

    server.addJob({ id: ID, environment: 'test', steps: [{ body: nexioRun(ID, { status: 'degraded', environment: 'test' }) }] });
    r = await runBin(['watch', '--provider', 'nexio', ...FAST, ID], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: .*degraded: .+--strict makes this a failure/m);
    r = await runBin(['watch', '--provider', 'nexio', '--strict', ...FAST, ID], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ended degraded: .+\(--strict\)/);

    server.addJob({ id: ID, environment: 'test', steps: [{ body: nexioRun(ID, { status: 'failed', environment: 'test' }) }] });
    const failed = await runInProcess(['watch', '--provider', 'nexio', ...FAST, ID], { env });
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /^error_details\s+\{/m);

    // A live key cannot see a test run.
    const live = await runInProcess(['status', '--provider', 'nexio', ID], { env: { ...env, NEXIO_API_KEY: 'nx_live_0a1b2c3d4e5f' } });
    assert.equal(live.code, 4);
    assert.match(live.stderr, /nx_test_ key sees only test runs/);
  }));

test('an HTML error page and a malformed body mid-watch are retried; the watch still reaches the outcome', () =>
  withServer(startNexioServer({ apiKeys: [NEXIO_KEY] }), async (server) => {
    server.addJob({
      id: ID,
      environment: 'test',
      steps: [
        { body: nexioRun(ID, { status: 'processing', environment: 'test' }) },
        htmlStep(502),
        malformedJsonStep(),
        { body: nexioRun(ID, { status: 'completed', environment: 'test' }) },
      ],
    });
    const r = await runInProcess(['watch', '--provider', 'nexio', ...FAST, ID], { env: { NEXIO_API_KEY: NEXIO_KEY, NEXIO_BASE_URL: server.url }, fakeClock: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /502/);
    assert.match(r.stderr, /not valid JSON/);
  }));

test('--ndjson streams each change with normalized fields; --exit-status fails a failed job', () =>
  withServer(startJulepServer({ apiKey: JULEP_KEY }), async (server) => {
    const env = { JULEP_API_KEY: JULEP_KEY, JULEP_BASE_URL: server.url };
    server.addJob({ id: ID, steps: [{ body: julepJob(ID, { state: 'pending' }) }, { body: julepJob(ID, { state: 'succeeded' }) }] });
    let r = await runInProcess(['watch', '--provider', 'julep', '--ndjson', ...FAST, ID], { env });
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { state: string; normalized: { state: string; terminal: boolean } });
    assert.deepEqual(events.map((e) => [e.state, e.normalized.state, e.normalized.terminal]), [
      ['pending', 'queued', false],
      ['succeeded', 'succeeded', true],
    ]);

    server.addJob({ id: ID, steps: [{ body: julepJob(ID, { state: 'failed', reason: 'boom' }) }] });
    r = await runInProcess(['status', '--provider', 'julep', ID], { env });
    assert.equal(r.code, 0);
    r = await runInProcess(['status', '--provider', 'julep', '--exit-status', ID], { env });
    assert.equal(r.code, 1);
  }));

test('bad provider input: unknown provider and --local with another provider are usage errors; no key is exit 3', async () => {
  let r = await runBin(['watch', '--provider', 'temporal', ID]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /"temporal" is not a provider/);
  assert.match(r.stderr, /nex, julep, nexio, jobs/);
  r = await runBin(['status', '--local', '--provider', 'julep', ID], { env: { JULEP_API_KEY: JULEP_KEY } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--local runs Nex jobs only/);
  r = await runBin(['status', '--provider', 'nexio', ID]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /NEXIO_API_KEY/);
  for (const out of [r.stdout, r.stderr]) assert.doesNotMatch(out, ANSI_RE);
});

test('credentials and base URL per provider and profile, from config; the key is never printed', () =>
  withServer(startJulepServer({ apiKey: JULEP_KEY }), async (server) => {
    server.addJob({ id: ID, steps: [{ body: julepJob(ID, { state: 'succeeded' }) }] });
    const configDir = (await import('./helpers/cli.js')).tempDir('nex-compound-config-');
    const env = { NEX_COMPOUND_CONFIG_DIR: configDir };
    let r = await runBin(['config', 'set', 'julep.api-key', '--profile', 'agents'], { env, input: `${JULEP_KEY}\n` });
    assert.equal(r.code, 0, r.stderr);
    r = await runBin(['config', 'set', 'julep.base-url', server.url, '--profile', 'agents'], { env });
    assert.equal(r.code, 0, r.stderr);
    r = await runBin(['config', 'list', '--profile', 'agents'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /julep\.api-key/);
    assert.ok(!r.stdout.includes(JULEP_KEY));

    r = await runBin(['status', '--provider', 'julep', '--profile', 'agents', ID], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^status\s+succeeded$/m);
    // The default profile has neither: no key.
    r = await runBin(['status', '--provider', 'julep', ID], { env });
    assert.equal(r.code, 3);
  }));

test('exit codes per outcome follow Nex\'s table', () =>
  withServer(startNexioServer({ apiKeys: [NEXIO_KEY] }), async (server) => {
    const env = { NEXIO_API_KEY: NEXIO_KEY, NEXIO_BASE_URL: server.url };
    const cases: Array<[string, string[], number]> = [
      ['completed', [], 0],
      ['degraded', [], 0],
      ['degraded', ['--strict'], 1],
      ['failed', [], 1],
      ['processing', ['--timeout', '200ms'], 5],
    ];
    for (const [status, flags, code] of cases) {
      server.addJob({ id: ID, environment: 'test', steps: [{ body: nexioRun(ID, { status: status as 'completed', environment: 'test' }) }] });
      const r = await runInProcess(['watch', '--provider', 'nexio', '--interval', '20ms', ...flags, ID], { env });
      assert.equal(r.code, code, `${status} ${flags.join(' ')}: ${r.stderr}`);
    }
  }));
