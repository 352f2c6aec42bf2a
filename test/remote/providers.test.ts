/**
 * `status` and `watch` with --provider julep | jobs | nexio, end to end against the fake servers of
 * ./fakes/providers.ts (written from ../shared/seeds/002–004): state mapping onto the common
 * lifecycle, live progress, error mapping and exit codes, auth headers, --json / --ndjson, and
 * credentials from env, flags and config profiles. Mostly in-process (fake terminals, fake clock);
 * the built bin as a real process for a representative subset and the exit-code table.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ANSI_RE, runBin, runInProcess, tempDir, type CliResult, type InProcessOptions } from '../helpers/cli.js';
import {
  JOBS_API_EXAMPLE_ERROR,
  JOBS_API_EXAMPLE_RESULT,
  NEXIO_EXAMPLE_DEGRADATION_REASON,
  NEXIO_EXAMPLE_ERROR,
  htmlStep,
  jobsApiJob,
  julepJob,
  malformedJsonStep,
  nexioRun,
  startJobsApiServer,
  startJulepServer,
  startNexioServer,
  type FakeProviderServer,
  type Step,
} from '../fakes/providers.js';
import { progressBar } from '../../src/cli/render/progress.js';

const JULEP_KEY = 'jl_sk_4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c';
const JOBS_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLWEifQ.c2lnbmF0dXJlLWE';
const JOBS_TOKEN_OTHER_USER = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLWIifQ.c2lnbmF0dXJlLWI';
const NEXIO_TEST_KEY = 'nx_test_7c1d9e2f4a6b8c0d1e3f5a7b9c0d2e4f';
const NEXIO_LIVE_KEY = 'nx_live_0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d';
const MISSING = '3c90c3cc-0d44-4b50-8888-8dd25736052a';

/** A progress line of a watch outside a terminal: ISO timestamp, then the job. */
const TIMESTAMPED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
const STACK = /\n\s+at /;

let julep: FakeProviderServer;
let jobs: FakeProviderServer;
let nexio: FakeProviderServer;

before(async () => {
  [julep, jobs, nexio] = await Promise.all([
    startJulepServer({ apiKey: JULEP_KEY }),
    startJobsApiServer({ tokens: { [JOBS_TOKEN]: 'user-a', [JOBS_TOKEN_OTHER_USER]: 'user-b' } }),
    startNexioServer({ apiKeys: [NEXIO_TEST_KEY, NEXIO_LIVE_KEY] }),
  ]);
});
after(async () => {
  await Promise.all([julep.close(), jobs.close(), nexio.close()]);
});
beforeEach(() => {
  julep.requests.length = 0;
  jobs.requests.length = 0;
  nexio.requests.length = 0;
});

/** A job body (200 JSON) or a raw step (htmlStep, malformedJsonStep). */
type StepLike = Step | Record<string, unknown>;
const toStep = (s: StepLike): Step => ('body' in s || typeof s.status === 'number' ? (s as Step) : { body: s });

function addJob(server: FakeProviderServer, build: (id: string) => StepLike[], extra: { owner?: string } = {}): string {
  const id = randomUUID();
  server.addJob({ id, steps: build(id).map(toStep), ...extra });
  return id;
}

const envFor = {
  julep: () => ({ JULEP_API_KEY: JULEP_KEY, JULEP_BASE_URL: julep.url }),
  jobs: () => ({ JOBS_API_TOKEN: JOBS_TOKEN, JOBS_API_URL: jobs.url }),
  nexio: () => ({ NEXIO_API_KEY: NEXIO_TEST_KEY, NEXIO_BASE_URL: nexio.url }),
};
type ProviderName = keyof typeof envFor;

/** In-process, fake clock, credentials of the provider from the environment; CI unset. */
function cli(provider: ProviderName, argv: string[], options: InProcessOptions = {}): Promise<CliResult> {
  const [command, ...rest] = argv;
  return runInProcess([command!, '--provider', provider, ...rest], {
    fakeClock: true,
    ...options,
    env: { CI: undefined, ...envFor[provider](), ...options.env },
  });
}

/** The built bin as a real process. */
function bin(provider: ProviderName, argv: string[], env: Record<string, string | undefined> = {}) {
  const [command, ...rest] = argv;
  return runBin([command!, '--provider', provider, ...rest], { env: { CI: undefined, NEX_COMPOUND_CONFIG_DIR: tempDir('nex-compound-providers-cfg-'), ...envFor[provider](), ...env } });
}

const progressLines = (stderr: string) => stderr.split('\n').filter((l) => TIMESTAMPED.test(l));
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));
const hintLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('hint:'));
const requestsFor = (server: FakeProviderServer, id: string) => server.requests.filter((r) => r.path.includes(id));
const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

describe('julep', () => {
  const REASON = 'Running step 2 of 5: summarize';
  const lifecycle = (id: string) => [
    julepJob(id, { state: 'pending' }),
    julepJob(id, { state: 'in_progress', progress: 40, reason: REASON }),
    julepJob(id, { state: 'retrying' }),
    julepJob(id, { state: 'succeeded' }),
  ];

  test('watch pending → in_progress → retrying → succeeded: exit 0, one timestamped line per change, then the final record', async () => {
    const id = addJob(julep, lifecycle);
    const r = await cli('julep', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 0, r.stderr);
    const lines = progressLines(r.stderr);
    assert.equal(lines.length, 4, r.stderr);
    for (const line of lines) assert.ok(line.includes(id), line);
    assert.match(lines[0]!, / pending \(queued\)/);
    assert.match(lines[1]!, / in_progress \(running\)/);
    assert.match(lines[1]!, /progress=40%/);
    assert.ok(lines[1]!.includes(REASON), lines[1]);
    assert.match(lines[2]!, / retrying \(retrying\)/);
    assert.match(lines[3]!, / succeeded \(succeeded\)/);
    assert.match(r.stdout, /^status\s+succeeded$/m);
    assert.match(r.stdout, /^state\s+succeeded$/m);
    assert.match(r.stdout, new RegExp(`^job_run_id\\s+${id}$`, 'm'));
    assert.doesNotMatch(r.stdout + r.stderr, ANSI_RE);
    assert.equal(julep.hits(id), 4);
  });

  test('on an interactive terminal: a progress bar with the percentage, no timestamped plain lines', async () => {
    // Real clock: ora redraws on its own timer, so in_progress must last a few of its frames.
    const id = addJob(julep, (jid) => [
      julepJob(jid, { state: 'pending' }),
      ...Array.from({ length: 8 }, () => julepJob(jid, { state: 'in_progress', progress: 40, reason: REASON })),
      julepJob(jid, { state: 'succeeded' }),
    ]);
    const r = await cli('julep', ['watch', id, '--interval', '50ms'], { stderrTty: true, fakeClock: false });
    assert.equal(r.code, 0, r.stderr);
    const bar = progressBar(40);
    assert.match(bar, /^\[█+ +\]$/);
    assert.ok(r.stderr.includes(`${bar} 40%`), `no progress bar in: ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr, ANSI_RE, 'spinner frames');
    assert.equal(progressLines(stripAnsi(r.stderr)).length, 0, r.stderr);
    assert.doesNotMatch(stripAnsi(r.stderr), /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
    assert.match(r.stdout, /^status\s+succeeded$/m);
  });

  test('failed: exit 1, the reason in the error', async () => {
    const id = addJob(julep, (jid) => [julepJob(jid, { state: 'in_progress', progress: 10 }), julepJob(jid, { state: 'failed', reason: 'Workflow execution failed: activity StartTimeout exceeded' })]);
    const r = await cli('julep', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 1, r.stderr);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /failed/);
    assert.ok(errors[0]!.includes('Workflow execution failed: activity StartTimeout exceeded'), errors[0]);
    assert.match(r.stdout, /^status\s+failed$/m);
  });

  test('aborted: exit 1, the message says cancelled', async () => {
    const id = addJob(julep, (jid) => [julepJob(jid, { state: 'aborted', reason: 'Cancelled by the developer' })]);
    const r = await cli('julep', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 1, r.stderr);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /cancelled/);
    assert.match(r.stdout, /^state\s+cancelled$/m);
  });

  test('unknown, then succeeded: a warning that the state is not known, polling goes on, exit 0', async () => {
    const id = addJob(julep, (jid) => [julepJob(jid, { state: 'unknown' }), julepJob(jid, { state: 'unknown' }), julepJob(jid, { state: 'succeeded' })]);
    const r = await cli('julep', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: .*"unknown".*(does not know|not known|unknown state)/);
    assert.equal(julep.hits(id), 3, 'kept polling through unknown');
    assert.match(r.stdout, /^status\s+succeeded$/m);
  });

  test('a state outside the contract ("paused"): a warning, polling goes on until --timeout passes: exit 5', async () => {
    const id = addJob(julep, (jid) => [julepJob(jid, { state: 'in_progress' }), { ...julepJob(jid, { state: 'in_progress' }), state: 'paused' }]);
    const r = await cli('julep', ['watch', id, '--interval', '50ms', '--timeout', '1s']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /warning: .*"paused"/);
    assert.equal((r.stderr.match(/"paused"/g) ?? []).length, 1, 'warned once, not on every poll');
    assert.ok(julep.hits(id) > 3, `kept polling (${julep.hits(id)} polls)`);
    assert.match(r.stderr, /deadline passed/);
    assert.ok(r.stderr.includes(`nex-compound watch ${id} --remote --provider julep --base-url `), `says how to resume, naming the backend: ${r.stderr}`);
  });

  test('422 for a malformed id (real process): exit 2, the validation detail readable, one error line plus hint, no stack', async () => {
    const r = await bin('julep', ['status', 'not-a-uuid']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes('path.job_id: Input should be a valid UUID'), r.stderr);
    assert.doesNotMatch(r.stderr, /"loc"|\[\{|\{"detail"/, 'not the raw JSON body');
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.equal(hintLines(r.stderr).length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, STACK);
    assert.equal(r.stdout, '');
  });

  test('401 for a wrong key (real process): exit 3, a hint naming JULEP_API_KEY, the key never printed', async () => {
    const wrong = 'jl_sk_wrong_0000111122223333444455556666';
    const id = addJob(julep, (jid) => [julepJob(jid, { state: 'succeeded' })]);
    const r = await bin('julep', ['status', id], { JULEP_API_KEY: wrong });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /401/);
    assert.match(hintLines(r.stderr).join('\n'), /JULEP_API_KEY/);
    assert.doesNotMatch(r.stderr, STACK);
    for (const key of [wrong, JULEP_KEY]) assert.ok(!(r.stdout + r.stderr).includes(key), 'key leaked');
    assert.equal(requestsFor(julep, id).at(-1)?.headers.authorization, wrong, 'the request did carry the key');
    // Nor with --debug, which logs the request headers.
    const debug = await cli('julep', ['status', id, '--debug'], { env: { JULEP_API_KEY: wrong } });
    assert.equal(debug.code, 3);
    assert.ok(!(debug.stdout + debug.stderr).includes(wrong), 'key leaked with --debug');
  });

  test('404: exit 4', async () => {
    const r = await cli('julep', ['status', MISSING]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /not found/);
  });

  test('Authorization is the raw API key (the contract\'s apiKey header scheme), never printed', async () => {
    const id = addJob(julep, (jid) => [julepJob(jid, { state: 'succeeded' })]);
    const r = await cli('julep', ['status', id]);
    assert.equal(r.code, 0, r.stderr);
    const requests = requestsFor(julep, id);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.headers.authorization, JULEP_KEY);
    assert.equal(requests[0]!.path, `/api/jobs/${id}`);
    assert.ok(!(r.stdout + r.stderr).includes(JULEP_KEY));
  });

  test('status --json: the raw Julep object unchanged plus normalized', async () => {
    let raw: Record<string, unknown> = {};
    const id = addJob(julep, (jid) => [(raw = julepJob(jid, { state: 'in_progress', progress: 40, reason: REASON }))]);
    const r = await cli('julep', ['status', id, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ...raw, normalized: { provider: 'julep', state: 'running', terminal: false, outcome: null } });
  });
});

describe('jobs API', () => {
  const retried = (id: string) => [
    jobsApiJob(id, { status: 'PENDING' }),
    jobsApiJob(id, { status: 'PROCESSING', attempts: 1 }),
    jobsApiJob(id, { status: 'PROCESSING', attempts: 2 }),
    jobsApiJob(id, { status: 'COMPLETED', attempts: 2 }),
  ];

  test('watch (real process) PENDING → PROCESSING → PROCESSING (attempt 2) → COMPLETED: attempt=2/3, retrying, attempts 2 of 3 and the result', async () => {
    const id = addJob(jobs, retried);
    const r = await bin('jobs', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 0, r.stderr);
    const lines = progressLines(r.stderr);
    assert.equal(lines.length, 4, r.stderr);
    assert.match(lines[0]!, / PENDING \(queued\)/);
    assert.match(lines[1]!, / PROCESSING \(running\) .*attempt=1\/3/);
    assert.match(lines[2]!, / PROCESSING \(retrying\) .*attempt=2\/3/);
    assert.match(lines[3]!, / COMPLETED \(succeeded\)/);
    assert.match(r.stdout, /^status\s+COMPLETED$/m);
    assert.match(r.stdout, /^state\s+succeeded$/m);
    assert.match(r.stdout, /^attempts\s+2 of 3$/m);
    assert.match(r.stdout, /^result\s+/m);
    assert.ok(r.stdout.includes(JOBS_API_EXAMPLE_RESULT.output), r.stdout);
    assert.doesNotMatch(r.stdout + r.stderr, ANSI_RE);
  });

  test('status as a table on a terminal shows attempts and the result text', async () => {
    const id = addJob(jobs, (jid) => [jobsApiJob(jid, { status: 'COMPLETED', attempts: 2 })]);
    const r = await cli('jobs', ['status', id], { stdoutTty: true });
    assert.equal(r.code, 0, r.stderr);
    const table = stripAnsi(r.stdout);
    assert.match(table, /┌|│/);
    assert.match(table, /│ attempts\s+│ 2 of 3\s+│/);
    // The cell may wrap: compare with the table's borders and spaces squeezed out.
    const squeezed = table.replace(/[│\s]+/g, ' ');
    assert.ok(squeezed.includes(JOBS_API_EXAMPLE_RESULT.output.replace(/\s+/g, ' ')), table);
  });

  test('--json passes result through unchanged', async () => {
    let raw: Record<string, unknown> = {};
    const id = addJob(jobs, (jid) => [(raw = jobsApiJob(jid, { status: 'COMPLETED', attempts: 2 }))]);
    const r = await cli('jobs', ['status', id, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.deepEqual(json.result, JOBS_API_EXAMPLE_RESULT);
    assert.deepEqual(json, { ...raw, normalized: { provider: 'jobs', state: 'succeeded', terminal: true, outcome: 'succeeded' } });
  });

  test('FAILED: exit 1 with the error text in the message', async () => {
    const id = addJob(jobs, (jid) => [jobsApiJob(jid, { status: 'PROCESSING', attempts: 1 }), jobsApiJob(jid, { status: 'FAILED' })]);
    const r = await cli('jobs', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 1, r.stderr);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, r.stderr);
    assert.ok(errors[0]!.includes(JOBS_API_EXAMPLE_ERROR), errors[0]);
  });

  test('400 for a malformed id: exit 2 with "Invalid UUID format"', async () => {
    const r = await cli('jobs', ['status', 'job-42']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Invalid UUID format/);
    assert.equal(errorLines(r.stderr).length, 1);
    assert.doesNotMatch(r.stderr, STACK);
  });

  test('401: exit 3, the hint names JOBS_API_TOKEN, the token never printed', async () => {
    const wrong = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.Zm9yZ2Vk';
    const id = addJob(jobs, (jid) => [jobsApiJob(jid, { status: 'COMPLETED' })]);
    const r = await cli('jobs', ['status', id], { env: { JOBS_API_TOKEN: wrong } });
    assert.equal(r.code, 3, r.stderr);
    assert.match(hintLines(r.stderr).join('\n'), /JOBS_API_TOKEN/);
    assert.ok(!(r.stdout + r.stderr).includes(wrong));
  });

  test('404 for another user\'s job: exit 4', async () => {
    const id = addJob(jobs, (jid) => [jobsApiJob(jid, { status: 'COMPLETED' })], { owner: 'user-b' });
    const r = await cli('jobs', ['status', id]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /not found/);
    const owner = await cli('jobs', ['status', id], { env: { JOBS_API_TOKEN: JOBS_TOKEN_OTHER_USER } });
    assert.equal(owner.code, 0, owner.stderr);
  });

  test('Authorization is Bearer <token>', async () => {
    const id = addJob(jobs, (jid) => [jobsApiJob(jid, { status: 'COMPLETED' })]);
    const r = await cli('jobs', ['status', id]);
    assert.equal(r.code, 0, r.stderr);
    const requests = requestsFor(jobs, id);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.headers.authorization, `Bearer ${JOBS_TOKEN}`);
    assert.equal(requests[0]!.path, `/api/jobs/${id}`);
  });

  test('no base URL configured: exit 2 with a hint naming JOBS_API_URL, nothing sent', async () => {
    const id = addJob(jobs, (jid) => [jobsApiJob(jid, { status: 'COMPLETED' })]);
    const r = await cli('jobs', ['status', id], { env: { JOBS_API_URL: undefined } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(hintLines(r.stderr).join('\n'), /JOBS_API_URL/);
    assert.equal(jobs.requests.length, 0);
    const w = await cli('jobs', ['watch', id, '--interval', '50ms'], { env: { JOBS_API_URL: undefined } });
    assert.equal(w.code, 2, w.stderr);
  });
});

describe('nexio', () => {
  test('watch queued → processing (EVALUATE) → completed: exit 0; stage, environment, engine_version and duration in the final record', async () => {
    const id = addJob(nexio, (jid) => [
      nexioRun(jid, { status: 'queued', environment: 'test' }),
      nexioRun(jid, { status: 'processing', environment: 'test', stage: 'EVALUATE' }),
      nexioRun(jid, { status: 'completed', environment: 'test', stage: 'FILTER', engine_version: '1.3', duration_ms: 12_480 }),
    ]);
    const r = await cli('nexio', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 0, r.stderr);
    const lines = progressLines(r.stderr);
    assert.equal(lines.length, 3, r.stderr);
    assert.match(lines[0]!, / queued \(queued\)/);
    assert.match(lines[1]!, / processing \(running\) .*stage=EVALUATE/);
    assert.match(lines[2]!, / completed \(succeeded\)/);
    assert.match(r.stdout, /^status\s+completed$/m);
    assert.match(r.stdout, /^stage\s+FILTER$/m);
    assert.match(r.stdout, /^environment\s+test$/m);
    assert.match(r.stdout, /^engine_version\s+1\.3$/m);
    assert.match(r.stdout, /^duration_ms\s+12480 \(12s\)$/m);
  });

  test('the backend line names the test environment inferred from the nx_test_ key; Authorization is Bearer nx_test_…', async () => {
    const id = addJob(nexio, (jid) => [nexioRun(jid, { status: 'completed', environment: 'test' })]);
    const r = await cli('nexio', ['status', id]);
    assert.equal(r.code, 0, r.stderr);
    const backendLine = r.stderr.split('\n').find((l) => l.includes('Nexio API'));
    assert.ok(backendLine, r.stderr);
    assert.match(backendLine, /test environment/);
    const requests = requestsFor(nexio, id);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.headers.authorization, `Bearer ${NEXIO_TEST_KEY}`);
    assert.equal(requests[0]!.path, `/api/v1/runs/${id}`);
    assert.ok(!(r.stdout + r.stderr).includes(NEXIO_TEST_KEY));
  });

  test('degraded: exit 0 with a warning carrying output.degradation_reason', async () => {
    const id = addJob(nexio, (jid) => [nexioRun(jid, { status: 'processing', environment: 'test' }), nexioRun(jid, { status: 'degraded', environment: 'test' })]);
    const r = await cli('nexio', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    assert.ok(warnings.some((w) => w.includes(NEXIO_EXAMPLE_DEGRADATION_REASON)), r.stderr);
    assert.equal(errorLines(r.stderr).length, 0);
    assert.match(r.stdout, /^status\s+degraded$/m);
  });

  test('degraded with --strict (real process): exit 1', async () => {
    const id = addJob(nexio, (jid) => [nexioRun(jid, { status: 'processing', environment: 'test' }), nexioRun(jid, { status: 'degraded', environment: 'test' })]);
    const r = await bin('nexio', ['watch', id, '--interval', '50ms', '--strict']);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(errorLines(r.stderr).some((e) => e.includes(NEXIO_EXAMPLE_DEGRADATION_REASON)), r.stderr);
    assert.match(r.stderr, /test environment/);
  });

  test('failed: exit 1, error and error_details rendered', async () => {
    const id = addJob(nexio, (jid) => [nexioRun(jid, { status: 'processing', environment: 'test' }), nexioRun(jid, { status: 'failed', environment: 'test' })]);
    const r = await cli('nexio', ['watch', id, '--interval', '50ms']);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(errorLines(r.stderr).some((e) => e.includes(NEXIO_EXAMPLE_ERROR)), r.stderr);
    const all = r.stdout + r.stderr;
    assert.match(all, /stage_timeout/, 'error_details.code');
    assert.match(all, /retryable/, 'error_details.retryable');
  });

  test('an nx_live_ key cannot see a test run: exit 4', async () => {
    const id = addJob(nexio, (jid) => [nexioRun(jid, { status: 'completed', environment: 'test' })]);
    const r = await cli('nexio', ['status', id], { env: { NEXIO_API_KEY: NEXIO_LIVE_KEY } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /live environment/);
    assert.match(r.stderr, /not found/);
    assert.equal(requestsFor(nexio, id)[0]?.headers.authorization, `Bearer ${NEXIO_LIVE_KEY}`);
  });
});

describe('common to the providers', () => {
  const running = {
    julep: (id: string) => julepJob(id, { state: 'in_progress', progress: 50 }),
    jobs: (id: string) => jobsApiJob(id, { status: 'PROCESSING', attempts: 1 }),
    nexio: (id: string) => nexioRun(id, { status: 'processing', environment: 'test' }),
  };
  const done = {
    julep: (id: string) => julepJob(id, { state: 'succeeded' }),
    jobs: (id: string) => jobsApiJob(id, { status: 'COMPLETED' }),
    nexio: (id: string) => nexioRun(id, { status: 'completed', environment: 'test' }),
  };
  const servers = () => ({ julep, jobs, nexio });
  const PROVIDERS = ['julep', 'jobs', 'nexio'] as const;

  test('an HTML error page (502) during a watch is retried with a warning; the watch still reaches its terminal state', async () => {
    for (const provider of PROVIDERS) {
      const server = servers()[provider];
      const id = addJob(server, (jid) => [running[provider](jid), htmlStep(502), done[provider](jid)]);
      const r = await cli(provider, ['watch', id, '--interval', '50ms', '--json']);
      assert.equal(r.code, 0, `${provider}: ${r.stderr}`);
      assert.match(r.stderr, /warning: .*502/, provider);
      assert.equal(server.hits(id), 3, provider);
      assert.equal(JSON.parse(r.stdout).normalized.state, 'succeeded', provider);
    }
  });

  test('malformed JSON during a watch is retried with a warning; the watch still reaches its terminal state', async () => {
    for (const provider of PROVIDERS) {
      const server = servers()[provider];
      const id = addJob(server, (jid) => [running[provider](jid), malformedJsonStep(), done[provider](jid)]);
      const r = await cli(provider, ['watch', id, '--interval', '50ms', '--json']);
      assert.equal(r.code, 0, `${provider}: ${r.stderr}`);
      assert.match(r.stderr, /warning: .*not valid JSON/, provider);
      assert.equal(server.hits(id), 3, provider);
      assert.equal(JSON.parse(r.stdout).normalized.state, 'succeeded', provider);
    }
  });

  test('an unknown --provider exits 2 listing the providers', async () => {
    for (const command of ['status', 'watch']) {
      const r = await runInProcess([command, '--provider', 'foo', MISSING], { env: { CI: undefined } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /foo/);
      for (const name of ['nex', 'julep', 'nexio', 'jobs']) assert.match(r.stderr, new RegExp(`\\b${name}\\b`), `${command}: ${r.stderr}`);
    }
  });

  test('--local with --provider julep exits 2', async () => {
    for (const command of ['status', 'watch']) {
      const r = await cli('julep', [command, MISSING, '--local']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--local/);
    }
    assert.equal(julep.requests.length, 0);
  });

  test('status --exit-status on a failed Julep job exits 1 (0 without the flag)', async () => {
    const id = addJob(julep, (jid) => [julepJob(jid, { state: 'failed' })]);
    const plain = await cli('julep', ['status', id]);
    assert.equal(plain.code, 0, plain.stderr);
    const gated = await cli('julep', ['status', id, '--exit-status']);
    assert.equal(gated.code, 1, gated.stderr);
    assert.match(gated.stderr, /failed/);
  });

  test('--ndjson: one JSON object per change on stdout, each with normalized', async () => {
    const id = addJob(julep, (jid) => [
      julepJob(jid, { state: 'pending' }),
      julepJob(jid, { state: 'pending' }),
      julepJob(jid, { state: 'in_progress', progress: 40 }),
      julepJob(jid, { state: 'succeeded' }),
    ]);
    const r = await cli('julep', ['watch', id, '--interval', '50ms', '--ndjson']);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown> & { normalized: Record<string, unknown> });
    assert.equal(events.length, 3, r.stdout);
    assert.deepEqual(events.map((e) => e.state), ['pending', 'in_progress', 'succeeded']);
    assert.deepEqual(events.map((e) => e.normalized.state), ['queued', 'running', 'succeeded']);
    for (const e of events) {
      assert.equal(e.normalized.provider, 'julep');
      assert.equal(e.id, id);
    }
    assert.deepEqual(events.map((e) => e.normalized.terminal), [false, false, true]);
  });

  test('config per provider and profile (real process): julep.api-key from stdin, redacted in list; --profile other uses its own base-url', async () => {
    const OTHER_KEY = 'jl_sk_other_9a8b7c6d5e4f3a2b1c0d9e8f7a6b';
    const other = await startJulepServer({ apiKey: OTHER_KEY });
    try {
      const dir = tempDir('nex-compound-providers-cfg-');
      const env = { NEX_COMPOUND_CONFIG_DIR: dir, JULEP_API_KEY: undefined, JULEP_BASE_URL: undefined };
      const id = randomUUID();
      julep.addJob({ id, steps: [{ body: julepJob(id, { state: 'succeeded' }) }] });
      other.addJob({ id, steps: [{ body: julepJob(id, { state: 'failed' }) }] });

      const set = await runBin(['config', 'set', 'julep.api-key'], { env, input: `${JULEP_KEY}\n` });
      assert.equal(set.code, 0, set.stderr);
      assert.equal((await runBin(['config', 'set', 'julep.base-url', julep.url], { env })).code, 0);
      const setOther = await runBin(['config', 'set', 'julep.api-key', '--profile', 'other'], { env, input: `${OTHER_KEY}\n` });
      assert.equal(setOther.code, 0, setOther.stderr);
      assert.equal((await runBin(['config', 'set', 'julep.base-url', other.url, '--profile', 'other'], { env })).code, 0);

      const list = await runBin(['config', 'list', '--all-profiles'], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /julep\.api-key\s+.*redacted/);
      for (const key of [JULEP_KEY, OTHER_KEY]) assert.ok(!(list.stdout + list.stderr).includes(key), 'config list printed a secret');
      for (const r of [set, setOther]) assert.ok(!(r.stdout + r.stderr).includes(JULEP_KEY) && !(r.stdout + r.stderr).includes(OTHER_KEY));

      const fromConfig = await runBin(['status', '--provider', 'julep', id, '--json'], { env });
      assert.equal(fromConfig.code, 0, fromConfig.stderr);
      assert.equal(JSON.parse(fromConfig.stdout).state, 'succeeded');
      assert.equal(requestsFor(julep, id).at(-1)?.headers.authorization, JULEP_KEY);
      assert.ok(!(fromConfig.stdout + fromConfig.stderr).includes(JULEP_KEY));

      const fromOther = await runBin(['status', '--provider', 'julep', id, '--json', '--profile', 'other'], { env });
      assert.equal(fromOther.code, 0, fromOther.stderr);
      assert.equal(JSON.parse(fromOther.stdout).state, 'failed', 'answered by the other profile\'s base URL');
      assert.match(fromOther.stderr, /profile other/);
      assert.equal(requestsFor(other, id).length, 1);
      assert.equal(requestsFor(other, id)[0]!.headers.authorization, OTHER_KEY);
      assert.equal(requestsFor(julep, id).length, 1, 'the default profile\'s server saw only the first status');
    } finally {
      await other.close();
    }
  });
});

describe('exit codes per outcome (real process)', () => {
  const cases: Array<{ name: string; provider: ProviderName; server: () => FakeProviderServer; steps: (id: string) => StepLike[]; args?: string[]; code: number; stderr?: RegExp }> = [
    { name: 'julep succeeded', provider: 'julep', server: () => julep, steps: (id) => [julepJob(id, { state: 'in_progress' }), julepJob(id, { state: 'succeeded' })], code: 0 },
    { name: 'jobs COMPLETED', provider: 'jobs', server: () => jobs, steps: (id) => [jobsApiJob(id, { status: 'PROCESSING' }), jobsApiJob(id, { status: 'COMPLETED' })], code: 0 },
    { name: 'nexio degraded (succeeded with warnings)', provider: 'nexio', server: () => nexio, steps: (id) => [nexioRun(id, { status: 'degraded', environment: 'test' })], code: 0, stderr: /warning:/ },
    { name: 'nexio degraded --strict', provider: 'nexio', server: () => nexio, steps: (id) => [nexioRun(id, { status: 'degraded', environment: 'test' })], args: ['--strict'], code: 1 },
    { name: 'julep failed', provider: 'julep', server: () => julep, steps: (id) => [julepJob(id, { state: 'failed' })], code: 1, stderr: /failed/ },
    { name: 'jobs FAILED', provider: 'jobs', server: () => jobs, steps: (id) => [jobsApiJob(id, { status: 'FAILED' })], code: 1, stderr: /ThrottlingException/ },
    { name: 'nexio failed', provider: 'nexio', server: () => nexio, steps: (id) => [nexioRun(id, { status: 'failed', environment: 'test' })], code: 1 },
    { name: 'julep aborted (cancelled)', provider: 'julep', server: () => julep, steps: (id) => [julepJob(id, { state: 'aborted' })], code: 1, stderr: /cancelled/ },
    { name: 'deadline (julep still in_progress)', provider: 'julep', server: () => julep, steps: (id) => [julepJob(id, { state: 'in_progress' })], args: ['--timeout', '400ms'], code: 5, stderr: /deadline passed/ },
  ];

  test('succeeded 0, succeeded with warnings 0 (1 with --strict), failed 1, cancelled 1, deadline 5', async () => {
    const results = await Promise.all(
      cases.map(async (c) => {
        const id = addJob(c.server(), c.steps);
        return { c, r: await bin(c.provider, ['watch', id, '--interval', '50ms', ...(c.args ?? [])]) };
      }),
    );
    for (const { c, r } of results) {
      assert.equal(r.code, c.code, `${c.name}: exit ${r.code}\n${r.stderr}`);
      if (c.stderr) assert.match(r.stderr, c.stderr, c.name);
      assert.doesNotMatch(r.stderr, STACK, c.name);
    }
  });
});
