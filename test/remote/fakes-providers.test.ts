/**
 * Checks the provider fakes of ./fakes/providers.ts against their seed pages (../shared/seeds/002–004),
 * with plain fetch, so suites built on them test the client, not the fakes.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startJulepServer,
  startJobsApiServer,
  startNexioServer,
  julepJob,
  jobsApiJob,
  nexioRun,
  htmlStep,
  malformedJsonStep,
  JOBS_API_EXAMPLE_ERROR,
  NEXIO_EXAMPLE_DEGRADATION_REASON,
  type FakeProviderServer,
  type JulepState,
} from '../fakes/providers.js';

const ID = '550e8400-e29b-41d4-a716-446655440000';
const ID2 = '990d0fae-dc17-43af-aaed-ff8b580c17ab';
const MISSING = '3c90c3cc-0d44-4b50-8888-8dd25736052a';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { res, text, json: json as Record<string, unknown> };
}

async function assertJsonError(p: Promise<{ res: Response; json: Record<string, unknown> }>, status: number, body: unknown) {
  const { res, json } = await p;
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(json, body);
  return res;
}

/** The raw-step cases, the same for every provider. */
async function checkRawSteps(server: FakeProviderServer, fetchJob: (id: string) => Promise<{ res: Response; text: string; json: Record<string, unknown> }>, okBody: Record<string, unknown>) {
  server.addJob({
    id: MISSING,
    steps: [
      htmlStep(502),
      { status: 429, body: { message: 'slow down' }, headers: { 'retry-after': '2' } },
      malformedJsonStep(),
      { status: 500, text: 'Internal Server Error' },
      { status: 503 },
      { body: okBody },
    ],
  });
  let r = await fetchJob(MISSING);
  assert.equal(r.res.status, 502);
  assert.match(r.res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(r.text, /^<!DOCTYPE html>/);
  r = await fetchJob(MISSING);
  assert.equal(r.res.status, 429);
  assert.equal(r.res.headers.get('retry-after'), '2');
  assert.deepEqual(r.json, { message: 'slow down' });
  r = await fetchJob(MISSING);
  assert.equal(r.res.status, 200);
  assert.match(r.res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.json, undefined, 'malformed JSON does not parse');
  r = await fetchJob(MISSING);
  assert.equal(r.res.status, 500);
  assert.match(r.res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(r.text, 'Internal Server Error');
  r = await fetchJob(MISSING);
  assert.equal(r.res.status, 503);
  assert.equal(r.text, '');
  for (let i = 0; i < 2; i++) {
    r = await fetchJob(MISSING);
    assert.equal(r.res.status, 200);
    assert.deepEqual(r.json, okBody);
  }
  assert.equal(server.hits(MISSING), 7);
}

describe('Julep fake', () => {
  const KEY = 'jl_secret_key';
  let server: FakeProviderServer;
  before(async () => {
    server = await startJulepServer({ apiKey: KEY });
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
  });
  /** key null: no Authorization header */
  const job = (id: string, key: string | null = KEY) => get(`${server.url}/jobs/${id}`, key === null ? {} : { authorization: key });

  test('url is origin + /api', () => {
    assert.equal(server.url, `${server.origin}/api`);
    assert.match(server.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('serves every state in sequence, then repeats the last', async () => {
    const states: JulepState[] = ['pending', 'in_progress', 'retrying', 'unknown', 'aborted', 'failed', 'succeeded'];
    const bodies = states.map((state) => julepJob(ID, { state, ...(state === 'in_progress' ? { progress: 40 } : {}) }));
    server.addJob({ id: ID, steps: bodies.map((body) => ({ body })) });
    for (const body of bodies) {
      const { res, json } = await job(ID);
      assert.equal(res.status, 200);
      assert.deepEqual(json, body);
      assert.deepEqual(Object.keys(json).sort(), ['created_at', 'has_progress', 'id', 'name', 'progress', 'reason', 'state', 'updated_at']);
      assert.match(json.created_at as string, ISO);
      assert.match(json.updated_at as string, ISO);
    }
    for (let i = 0; i < 3; i++) assert.equal((await job(ID)).json.state, 'succeeded');
    assert.equal(server.hits(ID), states.length + 3);
    assert.equal(server.requests.length, states.length + 3);
    assert.equal(server.requests[0]!.path, `/api/jobs/${ID}`);
    assert.equal(server.requests[0]!.headers.authorization, KEY);
  });

  test('builder defaults', () => {
    assert.deepEqual(julepJob(ID, { state: 'in_progress', progress: 40 }), {
      id: ID,
      created_at: '2026-03-04T12:00:00.000000Z',
      updated_at: '2026-03-04T12:00:05.000000Z',
      name: 'execute_task',
      reason: '',
      has_progress: true,
      progress: 40,
      state: 'in_progress',
    });
    const done = julepJob(ID, { state: 'succeeded' });
    assert.equal(done.progress, 100);
    assert.equal(done.has_progress, false);
    assert.notEqual(julepJob(ID, { state: 'failed' }).reason, '');
  });

  test('ids are canonicalised like pydantic: upper case, 32-hex and urn forms reach the same job', async () => {
    server.addJob({ id: ID.toUpperCase(), steps: [{ body: julepJob(ID, { state: 'pending' }) }] });
    assert.equal((await job(ID.replaceAll('-', ''))).res.status, 200);
    assert.equal((await job(`urn:uuid:${ID}`)).res.status, 200);
    assert.equal((await job(`{${ID.toUpperCase()}}`)).res.status, 200);
    assert.equal(server.hits(ID), 3);
    assert.equal(server.hits(ID.toUpperCase()), 3);
  });

  test('401 without a key, with a wrong key and with "Bearer <key>"; no step consumed', async () => {
    server.addJob({ id: ID, steps: [{ body: julepJob(ID, { state: 'pending' }) }] });
    await assertJsonError(job(ID, null), 401, { detail: 'Not authenticated' });
    await assertJsonError(job(ID, 'wrong'), 401, { detail: 'Invalid API key' });
    await assertJsonError(job(ID, `Bearer ${KEY}`), 401, { detail: 'Invalid API key' });
    assert.equal(server.hits(ID), 0);
  });

  test('422 HTTPValidationError for a non-UUID job_id, after auth', async () => {
    const { res, json } = await job('not-a-uuid');
    assert.equal(res.status, 422);
    const detail = json.detail as Array<Record<string, unknown>>;
    assert.equal(detail.length, 1);
    assert.deepEqual(detail[0]!.loc, ['path', 'job_id']);
    assert.equal(detail[0]!.type, 'uuid_parsing');
    assert.equal(
      detail[0]!.msg,
      'Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1',
    );
    assert.equal(detail[0]!.input, 'not-a-uuid');
    const short = await job('1234');
    assert.equal((short.json.detail as Array<Record<string, unknown>>)[0]!.msg, 'Input should be a valid UUID, invalid length: expected length 32 for simple format, found 4');
    const groups = await job('550e8400-e29b-41d4-a716');
    assert.equal((groups.json.detail as Array<Record<string, unknown>>)[0]!.msg, 'Input should be a valid UUID, invalid group count: expected 5, found 4');
    // auth comes first
    await assertJsonError(job('not-a-uuid', 'wrong'), 401, { detail: 'Invalid API key' });
  });

  test('404 for an unknown job, an unknown path; 405 for other methods', async () => {
    await assertJsonError(job(MISSING), 404, { detail: 'Job not found' });
    await assertJsonError(get(`${server.origin}/jobs/${ID}`, { authorization: KEY }), 404, { detail: 'Not Found' });
    await assertJsonError(get(`${server.url}/jobs/${ID}/extra`, { authorization: KEY }), 404, { detail: 'Not Found' });
    const res = await assertJsonError(get(`${server.url}/jobs/${ID}`, { authorization: KEY }, 'DELETE'), 405, { detail: 'Method Not Allowed' });
    assert.equal(res.headers.get('allow'), 'GET');
  });

  test('raw steps: HTML, 429 + retry-after, malformed JSON, text 500, empty 503', async () => {
    await checkRawSteps(server, (id) => job(id), julepJob(MISSING, { state: 'succeeded' }));
  });
});

describe('jobs API fake', () => {
  let server: FakeProviderServer;
  before(async () => {
    server = await startJobsApiServer({ tokens: { 'jwt-alice': 'alice', 'jwt-bob': 'bob' } });
  });
  after(() => server.close());
  /** token null: no Authorization header; otherwise the header value as given */
  const job = (id: string, token: string | null) => get(`${server.url}/api/jobs/${id}`, token === null ? {} : { authorization: token });
  const as = (token: string) => `Bearer ${token}`;

  test('url is the origin', () => assert.equal(server.url, server.origin));

  test('serves PENDING → PROCESSING → COMPLETED, then repeats COMPLETED', async () => {
    const bodies = (['PENDING', 'PROCESSING', 'COMPLETED'] as const).map((status) => jobsApiJob(ID, { status }));
    server.addJob({ id: ID, owner: 'alice', steps: bodies.map((body) => ({ body })) });
    for (const body of [...bodies, bodies[2]!, bodies[2]!]) {
      const { res, json } = await job(ID, as('jwt-alice'));
      assert.equal(res.status, 200);
      assert.deepEqual(json, body);
      assert.deepEqual(Object.keys(json).sort(), ['attempts', 'completedAt', 'createdAt', 'error', 'id', 'result', 'startedAt', 'status', 'type', 'updatedAt']);
    }
    assert.equal(server.hits(ID), 5);
  });

  test('builders reproduce the seed examples', () => {
    assert.deepEqual(jobsApiJob(ID, { status: 'PROCESSING' }), {
      id: ID,
      type: 'AI_PREVIEW',
      status: 'PROCESSING',
      result: null,
      error: null,
      attempts: 1,
      createdAt: '2026-03-04T12:00:00.000Z',
      startedAt: '2026-03-04T12:00:01.000Z',
      completedAt: null,
      updatedAt: '2026-03-04T12:00:02.000Z',
    });
    const failed = jobsApiJob(ID, { status: 'FAILED' });
    assert.equal(failed.error, JOBS_API_EXAMPLE_ERROR);
    assert.equal(failed.error, 'Bedrock API error: ThrottlingException - Rate exceeded');
    assert.equal(failed.attempts, 3);
    assert.equal(failed.completedAt, '2026-03-04T12:00:15.000Z');
    const done = jobsApiJob(ID, { status: 'COMPLETED' });
    assert.equal(typeof (done.result as { output: unknown }).output, 'string');
    assert.equal(done.completedAt, '2026-03-04T12:00:05.000Z');
  });

  test('401 for a missing header, a bare token, another scheme or an unknown token', async () => {
    const body = { error: 'Missing or invalid Bearer token' };
    await assertJsonError(job(ID, null), 401, body);
    await assertJsonError(job(ID, 'jwt-alice'), 401, body);
    await assertJsonError(job(ID, 'Basic jwt-alice'), 401, body);
    await assertJsonError(job(ID, as('jwt-mallory')), 401, body);
    // auth before id format
    await assertJsonError(job('nope', as('jwt-mallory')), 401, body);
  });

  test('400 for a non-UUID id', async () => {
    await assertJsonError(job('nope', as('jwt-alice')), 400, { error: 'Invalid UUID format' });
    await assertJsonError(job(ID.replaceAll('-', ''), as('jwt-alice')), 400, { error: 'Invalid UUID format' });
  });

  test("404 for an unknown job and for another user's job, without consuming a step", async () => {
    const body = { error: 'Job not found or does not belong to the requesting user' };
    server.addJob({ id: ID2, owner: 'alice', steps: [{ body: jobsApiJob(ID2, { status: 'FAILED' }) }] });
    await assertJsonError(job(MISSING, as('jwt-alice')), 404, body);
    await assertJsonError(job(ID2, as('jwt-bob')), 404, body);
    assert.equal(server.hits(ID2), 0);
    assert.equal((await job(ID2.toUpperCase(), as('jwt-alice'))).json.status, 'FAILED');
    assert.equal(server.hits(ID2), 1);
  });

  test('owner defaults to the first token’s user', async () => {
    const id = '11111111-2222-4333-8444-555555555555';
    server.addJob({ id, steps: [{ body: jobsApiJob(id, { status: 'PENDING' }) }] });
    assert.equal((await job(id, as('jwt-alice'))).res.status, 200);
    assert.equal((await job(id, as('jwt-bob'))).res.status, 404);
  });

  test('unknown path 404, other method 405', async () => {
    await assertJsonError(get(`${server.url}/jobs/${ID}`, { authorization: as('jwt-alice') }), 404, { error: 'Not found' });
    await assertJsonError(get(`${server.url}/api/jobs/${ID}`, { authorization: as('jwt-alice') }, 'POST'), 405, { error: 'Method not allowed' });
  });

  test('raw steps', async () => {
    await checkRawSteps(server, (id) => job(id, as('jwt-alice')), jobsApiJob(MISSING, { status: 'COMPLETED' }));
  });
});

describe('Nexio fake', () => {
  const TEST_KEY = 'nx_test_abc123';
  const LIVE_KEY = 'nx_live_def456';
  let server: FakeProviderServer;
  before(async () => {
    server = await startNexioServer({ apiKeys: [TEST_KEY, LIVE_KEY] });
  });
  after(() => server.close());
  /** key null: no Authorization header */
  const run = (id: string, key: string | null = TEST_KEY) => get(`${server.url}/api/v1/runs/${id}`, key === null ? {} : { authorization: `Bearer ${key}` });
  const ERR = (code: string, message: string) => ({ error: { code, message } });

  test('url is the origin', () => assert.equal(server.url, server.origin));

  test('serves queued → processing → completed, then repeats completed', async () => {
    const bodies = (['queued', 'processing', 'completed'] as const).map((status) => nexioRun(ID, { status, environment: 'test' }));
    server.addJob({ id: ID, environment: 'test', steps: bodies.map((body) => ({ body })) });
    for (const body of [...bodies, bodies[2]!]) {
      const { res, json } = await run(ID);
      assert.equal(res.status, 200);
      assert.deepEqual(json, body);
    }
    assert.equal(server.hits(ID), 4);
  });

  test('builders: fields by status, as the seed describes them', () => {
    const queued = nexioRun(ID2, { status: 'queued', environment: 'test', engine_version: null });
    assert.deepEqual(queued, { run_id: ID2, status: 'queued', environment: 'test', created_at: '2026-04-01T18:19:38.851Z' });
    const processing = nexioRun(ID2, { status: 'processing', environment: 'live' });
    assert.deepEqual(Object.keys(processing).sort(), ['created_at', 'engine_version', 'environment', 'run_id', 'stage', 'status']);
    assert.equal(processing.engine_version, '1.3');
    const completed = nexioRun(ID2, { status: 'completed', environment: 'test' });
    assert.deepEqual(Object.keys(completed).sort(), ['completed_at', 'created_at', 'duration_ms', 'engine_version', 'environment', 'output', 'run_id', 'stage', 'status']);
    assert.equal(completed.output?.degradation_reason, undefined);
    assert.match(completed.completed_at!, ISO);
    const degraded = nexioRun(ID2, { status: 'degraded', environment: 'test' });
    assert.equal(degraded.output?.degradation_reason, NEXIO_EXAMPLE_DEGRADATION_REASON);
    const failed = nexioRun(ID2, { status: 'failed', environment: 'test', error: 'boom' });
    assert.deepEqual(Object.keys(failed).sort(), ['completed_at', 'created_at', 'duration_ms', 'engine_version', 'environment', 'error', 'error_details', 'run_id', 'stage', 'status']);
    assert.equal(failed.error, 'boom');
    assert.equal(failed.output, undefined);
  });

  test('degraded and failed runs are served as given', async () => {
    const id = '22222222-3333-4444-8555-666666666666';
    const steps = [nexioRun(id, { status: 'degraded', environment: 'live' }), nexioRun(id, { status: 'failed', environment: 'live' })];
    server.addJob({ id, steps: steps.map((body) => ({ body })) }); // environment taken from the body
    assert.deepEqual((await run(id, LIVE_KEY)).json, steps[0]);
    assert.deepEqual((await run(id, LIVE_KEY)).json, steps[1]);
  });

  test('401 for a missing, bare, or unknown key', async () => {
    const body = ERR('unauthorized', 'Invalid API key');
    await assertJsonError(run(ID, null), 401, body);
    await assertJsonError(get(`${server.url}/api/v1/runs/${ID}`, { authorization: TEST_KEY }), 401, body);
    await assertJsonError(run(ID, 'nx_test_unknown'), 401, body);
    await assertJsonError(run('nope', 'nx_test_unknown'), 401, body);
  });

  test('400 for a non-UUID run_id', async () => {
    await assertJsonError(run('not-a-uuid'), 400, ERR('invalid_request', 'run_id must be a valid UUID'));
  });

  test('404 for an unknown run and for a run of the other environment', async () => {
    const body = ERR('not_found', 'Run not found');
    await assertJsonError(run(MISSING), 404, body);
    const liveId = '33333333-4444-4555-8666-777777777777';
    server.addJob({ id: liveId, environment: 'live', steps: [{ body: nexioRun(liveId, { status: 'completed', environment: 'live' }) }] });
    await assertJsonError(run(liveId, TEST_KEY), 404, body);
    assert.equal(server.hits(liveId), 0);
    assert.equal((await run(liveId, LIVE_KEY)).res.status, 200);
    await assertJsonError(run(ID, LIVE_KEY), 404, body); // ID is a test run
  });

  test('unknown path 404, other method 405', async () => {
    await assertJsonError(get(`${server.url}/api/v1/run/${ID}`, { authorization: `Bearer ${TEST_KEY}` }), 404, ERR('not_found', 'Route not found'));
    const res = await assertJsonError(get(`${server.url}/api/v1/runs/${ID}`, {}, 'PUT'), 405, ERR('method_not_allowed', 'Method not allowed'));
    assert.equal(res.headers.get('allow'), 'GET');
  });

  test('raw steps', async () => {
    await checkRawSteps(server, (id) => run(id), nexioRun(MISSING, { status: 'completed', environment: 'test' }));
  });

  test('keys without an environment prefix are refused', async () => {
    await assert.rejects(startNexioServer({ apiKeys: ['sk_abc'] }), /nx_test_ or nx_live_/);
  });
});

describe('misuse and lifecycle', () => {
  test('addJob refuses a non-UUID id, no steps, or a step with both body and text', async () => {
    const server = await startJulepServer({ apiKey: 'k' });
    try {
      assert.throws(() => server.addJob({ id: 'job-1', steps: [{ body: {} }] }), /not a UUID/);
      assert.throws(() => server.addJob({ id: ID, steps: [] }), /no steps/);
      assert.throws(() => server.addJob({ id: ID, steps: [{ status: 200, body: {}, text: 'x' }] }), /both body and text/);
      assert.equal(server.hits('job-1'), 0);
    } finally {
      await server.close();
    }
  });

  test('addJob with an existing id replaces the job and resets hits', async () => {
    const server = await startJobsApiServer({ tokens: { t: 'u' } });
    try {
      server.addJob({ id: ID, steps: [{ body: jobsApiJob(ID, { status: 'PENDING' }) }] });
      await get(`${server.url}/api/jobs/${ID}`, { authorization: 'Bearer t' });
      assert.equal(server.hits(ID), 1);
      server.addJob({ id: ID, steps: [{ body: jobsApiJob(ID, { status: 'COMPLETED' }) }] });
      assert.equal(server.hits(ID), 0);
      assert.equal((await get(`${server.url}/api/jobs/${ID}`, { authorization: 'Bearer t' })).json.status, 'COMPLETED');
    } finally {
      await server.close();
    }
  });

  test('close() returns with a keep-alive connection open, and is idempotent', async () => {
    const server = await startNexioServer({ apiKeys: ['nx_test_k'] });
    await get(`${server.url}/api/v1/runs/${ID}`, { authorization: 'Bearer nx_test_k' });
    await server.close();
    await server.close();
    await assert.rejects(fetch(`${server.url}/api/v1/runs/${ID}`));
  });
});
