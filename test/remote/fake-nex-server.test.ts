/**
 * Checks the fake Nex server itself against ../shared/contracts/nex-compounding.openapi.yaml,
 * using plain fetch and node:http, so the suites built on it test the client, not the fake.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startFakeNexServer, type FakeNexServer, type JobType } from '../helpers/fake-nex-server.js';

const KEY = 'test-key-123';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const STATUS_KEYS = new Set(['job_run_id', 'job_type', 'workspace_id', 'status', 'dry_run', 'insights_scanned', 'insights_affected', 'candidates_created', 'errors', 'started_at', 'completed_at', 'duration_ms', 'error_details']);

let server: FakeNexServer;

before(async () => {
  server = await startFakeNexServer({
    apiKeys: {
      [KEY]: { workspaceId: 42, scopes: ['record.write'] },
      'read-only-key': { workspaceId: 42, scopes: [] },
      'other-workspace-key': { workspaceId: 7, scopes: ['record.write'] },
    },
  });
});
after(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const auth = (key = KEY): Record<string, string> => ({ authorization: `Bearer ${key}` });

async function trigger(body: unknown, headers: Record<string, string> = auth()) {
  const res = await fetch(`${server.url}/v1/compounding/trigger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // a canned non-JSON body from a fault; callers look at res.status
  }
  return { res, json };
}

async function status(id: string, key = KEY) {
  const res = await fetch(`${server.url}/v1/compounding/jobs/${id}`, { headers: auth(key) });
  return { res, json: (await res.json()) as Record<string, unknown> };
}

function assertApiError(res: Response, json: Record<string, unknown>, code: number) {
  assert.equal(res.status, code);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(json).sort(), ['code', 'message']);
  assert.equal(json.code, code);
  assert.equal(typeof json.message, 'string');
  assert.ok((json.message as string).length > 0);
}

/** A raw node:http request that reports how it ended: a response (possibly cut short) or a socket error. */
function rawRequest(method: string, path: string, body?: string, timeoutMs = 1000): Promise<{ status?: number; headers?: http.IncomingHttpHeaders; body: string; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    let text = '';
    let statusCode: number | undefined;
    let headers: http.IncomingHttpHeaders | undefined;
    const req = http.request(`${server.url}${path}`, { method, headers: { ...auth(), 'content-type': 'application/json' }, agent: false }, (res) => {
      statusCode = res.statusCode;
      headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: statusCode, headers, body: text }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ status: statusCode, headers, body: text, error }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: statusCode, headers, body: text, error }));
    req.end(body);
  });
}

describe('trigger', () => {
  test('202 with the TriggerResponse shape; the job is pollable', async () => {
    const { res, json } = await trigger({ job_type: 'pattern_detection', dry_run: true });
    assert.equal(res.status, 202);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(Object.keys(json).sort(), ['dry_run', 'job_run_id', 'job_type', 'status', 'success', 'workspace_id']);
    assert.match(json.job_run_id as string, UUID_V4);
    assert.equal(json.job_type, 'pattern_detection');
    assert.equal(json.workspace_id, 42);
    assert.equal(json.dry_run, true);
    assert.equal(json.status, 'accepted');
    assert.equal(json.success, true);
    const first = await status(json.job_run_id as string);
    assert.equal(first.res.status, 200);
    assert.equal(first.json.job_run_id, json.job_run_id);
    assert.equal(first.json.dry_run, true);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[0]!.method, 'POST');
    assert.equal(server.requests[0]!.path, '/v1/compounding/trigger');
    assert.equal(server.requests[0]!.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(JSON.parse(server.requests[0]!.body), { job_type: 'pattern_detection', dry_run: true });
  });

  test('dry_run defaults to false; every job type is accepted', async () => {
    for (const jobType of ['consolidation', 'pattern_detection', 'playbook_synthesis', 'decay_sweep', 'metrics'] satisfies JobType[]) {
      const { res, json } = await trigger({ job_type: jobType });
      assert.equal(res.status, 202);
      assert.equal(json.job_type, jobType);
      assert.equal(json.dry_run, false);
    }
  });

  test('401 without a key, with an unknown key, or without the Bearer scheme', async () => {
    const before = server.jobCount();
    for (const headers of [{}, auth('nope'), { authorization: KEY }]) {
      const { res, json } = await trigger({ job_type: 'metrics' }, headers);
      assertApiError(res, json, 401);
    }
    assert.equal(server.jobCount(), before);
  });

  test('403 for a key without record.write', async () => {
    const before = server.jobCount();
    const { res, json } = await trigger({ job_type: 'metrics' }, auth('read-only-key'));
    assertApiError(res, json, 403);
    assert.equal(server.jobCount(), before);
  });

  test('400 for a malformed body, a missing or unknown job_type, a non-boolean dry_run', async () => {
    const before = server.jobCount();
    for (const body of ['{"job_type": "metr', '', '[]', 'null', {}, { job_type: 'compaction' }, { job_type: 42 }, { job_type: 'metrics', dry_run: 'yes' }]) {
      const { res, json } = await trigger(body);
      assertApiError(res, json, 400);
    }
    assert.equal(server.jobCount(), before);
  });

  test('a repeated Idempotency-Key replays the same job: one job, same body', async () => {
    const before = server.jobCount();
    const headers = { ...auth(), 'idempotency-key': '6f1c1b9e-8a53-4a59-9d6f-0f8f6a7d1c01' };
    const a = await trigger({ job_type: 'consolidation' }, headers);
    const b = await trigger({ job_type: 'consolidation' }, headers);
    assert.equal(a.res.status, 202);
    assert.equal(b.res.status, 202);
    assert.deepEqual(b.json, a.json);
    assert.equal(server.jobCount(), before + 1);
    const c = await trigger({ job_type: 'consolidation' }, { ...auth(), 'idempotency-key': 'another-key' });
    assert.notEqual(c.json.job_run_id, a.json.job_run_id);
    assert.equal(server.jobCount(), before + 2);
  });

  test('honourIdempotencyKey: false makes a new job each time', async () => {
    const plain = await startFakeNexServer({ honourIdempotencyKey: false });
    try {
      const init = { method: 'POST', headers: { ...auth(), 'idempotency-key': 'k' }, body: '{"job_type":"metrics"}' };
      const a = (await (await fetch(`${plain.url}/v1/compounding/trigger`, init)).json()) as Record<string, unknown>;
      const b = (await (await fetch(`${plain.url}/v1/compounding/trigger`, init)).json()) as Record<string, unknown>;
      assert.notEqual(a.job_run_id, b.job_run_id);
      assert.equal(plain.jobCount(), 2);
    } finally {
      await plain.close();
    }
  });
});

describe('job status', () => {
  test('a triggered job walks the default script; the last state sticks', async () => {
    const { json } = await trigger({ job_type: 'decay_sweep' });
    const id = json.job_run_id as string;
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await status(id)).json);
    for (const s of seen) {
      for (const k of Object.keys(s)) assert.ok(STATUS_KEYS.has(k), `unexpected field ${k}`);
      for (const v of Object.values(s)) assert.notEqual(v, null);
      assert.equal(s.job_run_id, id);
      assert.equal(s.job_type, 'decay_sweep');
      assert.equal(s.workspace_id, 42);
      assert.equal(s.dry_run, false);
      assert.match(s.started_at as string, ISO);
      assert.equal('error_details' in s, false);
    }
    assert.deepEqual(seen.map((s) => s.status), ['accepted', 'running', 'completed', 'completed']);
    assert.equal('completed_at' in seen[0]!, false);
    assert.equal('duration_ms' in seen[1]!, false);
    assert.equal(seen[1]!.insights_scanned, 10);
    const done = seen[2]!;
    assert.equal(done.insights_scanned, 20);
    assert.equal(done.insights_affected, 5);
    assert.equal(done.candidates_created, 2);
    assert.equal(done.errors, 0);
    assert.match(done.completed_at as string, ISO);
    assert.equal(Number.isInteger(done.duration_ms), true);
    assert.equal(Date.parse(done.completed_at as string) - Date.parse(done.started_at as string), done.duration_ms);
    assert.deepEqual(seen[3], done);
  });

  test('defaultScript shapes triggered jobs', async () => {
    const custom = await startFakeNexServer({ defaultScript: (jobType, dryRun) => [{ status: 'failed', errors: 1, error_details: { jobType, dryRun } }] });
    try {
      const t = (await (await fetch(`${custom.url}/v1/compounding/trigger`, { method: 'POST', headers: auth(), body: '{"job_type":"metrics","dry_run":true}' })).json()) as Record<string, unknown>;
      const s = (await (await fetch(`${custom.url}/v1/compounding/jobs/${t.job_run_id}`, { headers: auth() })).json()) as Record<string, unknown>;
      assert.equal(s.status, 'failed');
      assert.deepEqual(s.error_details, { jobType: 'metrics', dryRun: true });
      assert.match(s.completed_at as string, ISO);
    } finally {
      await custom.close();
    }
  });

  test('addJob: own script and base; error_details only when failed; null-valued fields omitted', async () => {
    const id = server.addJob(
      [
        { status: 'running', error_details: { ignored: true }, completed_at: '2026-01-01T00:00:00.000Z', insights_affected: null as unknown as number },
        { status: 'failed', errors: 1, error_details: { message: 'boom' } },
      ],
      { job_type: 'metrics', dry_run: true, started_at: '2026-01-01T00:00:00.000Z' },
    );
    assert.match(id, UUID_V4);
    const running = (await status(id)).json;
    assert.deepEqual(running, { job_run_id: id, job_type: 'metrics', workspace_id: 42, status: 'running', dry_run: true, started_at: '2026-01-01T00:00:00.000Z' });
    const failed = (await status(id)).json;
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.error_details, { message: 'boom' });
    assert.equal(failed.duration_ms, 1500);
    assert.equal(failed.completed_at, '2026-01-01T00:00:01.500Z');
  });

  test('read-only keys may poll (no 403 on GET)', async () => {
    const id = server.addJob([{ status: 'running' }]);
    const { res } = await status(id, 'read-only-key');
    assert.equal(res.status, 200);
  });

  test('401 without a valid key', async () => {
    const id = server.addJob([{ status: 'running' }]);
    const res = await fetch(`${server.url}/v1/compounding/jobs/${id}`);
    assertApiError(res, (await res.json()) as Record<string, unknown>, 401);
    const bad = await status(id, 'nope');
    assertApiError(bad.res, bad.json, 401);
  });

  test("404 for an unknown id and for another workspace's job; a 404 does not advance the script", async () => {
    const unknown = await status('00000000-0000-4000-8000-000000000000');
    assertApiError(unknown.res, unknown.json, 404);
    const id = server.addJob([{ status: 'running' }, { status: 'completed' }]);
    const other = await status(id, 'other-workspace-key');
    assertApiError(other.res, other.json, 404);
    assert.equal((await status(id)).json.status, 'running');
  });

  test('404 JSON for any other path or method', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/v1/compounding/trigger'], ['POST', '/v1/compounding/jobs/x'], ['GET', '/v1/compounding/jobs/x/y'], ['GET', '/v1/other']] as const) {
      const res = await fetch(`${server.url}${path}`, { method, headers: auth() });
      assertApiError(res, (await res.json()) as Record<string, unknown>, 404);
    }
  });
});

describe('faults', () => {
  test('respond: a raw canned response, recorded like any request', async () => {
    server.inject('trigger', { kind: 'respond', status: 500, headers: { 'content-type': 'application/json', 'x-extra': '1' }, body: '{"code":500,"message":"db down"}' });
    const before = server.jobCount();
    const { res, json } = await trigger({ job_type: 'metrics' });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('x-extra'), '1');
    assert.deepEqual(json, { code: 500, message: 'db down' });
    assert.equal(server.jobCount(), before);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.body, '{"job_type":"metrics"}');
  });

  test('html: a proxy error page', async () => {
    server.inject('status', { kind: 'html', status: 502 });
    const res = await fetch(`${server.url}/v1/compounding/jobs/anything`, { headers: auth() });
    assert.equal(res.status, 502);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await res.text(), /<html/i);
  });

  test('malformed-json: application/json that does not parse (200 unless told)', async () => {
    const id = server.addJob([{ status: 'running' }]);
    server.inject('status', { kind: 'malformed-json' });
    server.inject('status', { kind: 'malformed-json', status: 500 });
    for (const expected of [200, 500]) {
      const res = await fetch(`${server.url}/v1/compounding/jobs/${id}`, { headers: auth() });
      assert.equal(res.status, expected);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const text = await res.text();
      assert.throws(() => JSON.parse(text), SyntaxError);
    }
    assert.equal((await status(id)).json.status, 'running', 'faults are consumed, then normal handling resumes');
  });

  test('reset: the socket is destroyed without a response, after the request was read', async () => {
    server.inject('trigger', { kind: 'reset' });
    const before = server.jobCount();
    const r = await rawRequest('POST', '/v1/compounding/trigger', '{"job_type":"metrics"}');
    assert.equal(r.status, undefined);
    assert.equal(r.error?.code, 'ECONNRESET');
    assert.equal(server.jobCount(), before);
    assert.equal(server.requests[0]!.body, '{"job_type":"metrics"}');
    assert.equal((await fetch(`${server.url}/v1/compounding/trigger`, { method: 'POST', body: '{}' })).status, 401, 'normal handling resumes');
  });

  test('reset-mid-body: 200 headers with the full content-length, half the body, then a reset', async () => {
    const id = server.addJob([{ status: 'running', insights_scanned: 4 }, { status: 'completed' }]);
    server.inject('status', { kind: 'reset-mid-body' }, 2);
    const r = await rawRequest('GET', `/v1/compounding/jobs/${id}`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers?.['content-type']), /^application\/json/);
    assert.ok(r.error, 'the body ended in an error');
    const length = Number(r.headers?.['content-length']);
    assert.ok(length > 0);
    assert.equal(Buffer.byteLength(r.body), Math.floor(length / 2));
    assert.ok(r.body.startsWith(`{"job_run_id":"${id}"`), r.body);
    await assert.rejects(fetch(`${server.url}/v1/compounding/jobs/${id}`, { headers: auth() }).then((res) => res.json()));
    // Neither cut answer took a step: the job still reads as it did.
    const whole = await status(id);
    assert.equal(whole.json.status, 'running');
    assert.equal(whole.json.insights_scanned, 4);
  });

  test('stall: the answer comes after the wait; a client that gives up sees a timeout', async () => {
    const id = server.addJob([{ status: 'running' }, { status: 'completed' }]);
    server.inject('status', { kind: 'stall', ms: 150 });
    const started = Date.now();
    const { res, json } = await status(id);
    assert.ok(Date.now() - started >= 140);
    assert.equal(res.status, 200);
    assert.equal(json.status, 'running');
    server.inject('status', { kind: 'stall', ms: 400 });
    const r = await rawRequest('GET', `/v1/compounding/jobs/${id}`, undefined, 50);
    assert.equal(r.error?.code, 'CLIENT_TIMEOUT');
  });

  test('redirect: status and Location, not followed with redirect: manual', async () => {
    server.inject('any', { kind: 'redirect', status: 307, location: 'http://elsewhere.invalid/v1/compounding/jobs/x' });
    const res = await fetch(`${server.url}/v1/compounding/jobs/x`, { headers: auth(), redirect: 'manual' });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get('location'), 'http://elsewhere.invalid/v1/compounding/jobs/x');
  });

  test('retry-after: JSON {code,message} with Retry-After; 429 and 503', async () => {
    server.inject('trigger', { kind: 'retry-after', status: 429, retryAfter: '3' });
    server.inject('trigger', { kind: 'retry-after', status: 503, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' });
    const before = server.jobCount();
    const a = await trigger({ job_type: 'metrics' });
    assertApiError(a.res, a.json, 429);
    assert.equal(a.res.headers.get('retry-after'), '3');
    const b = await trigger({ job_type: 'metrics' });
    assertApiError(b.res, b.json, 503);
    assert.equal(b.res.headers.get('retry-after'), 'Wed, 21 Oct 2015 07:28:00 GMT');
    assert.equal(server.jobCount(), before);
    const c = await trigger({ job_type: 'metrics' });
    assert.equal(c.res.status, 202);
  });

  test('process-then-reset: the job is created, the client sees a reset; the Idempotency-Key replays it', async () => {
    const before = server.jobCount();
    server.inject('trigger', { kind: 'process-then-reset' });
    const headers = { ...auth(), 'content-type': 'application/json', 'idempotency-key': 'pt-reset-1' };
    await assert.rejects(fetch(`${server.url}/v1/compounding/trigger`, { method: 'POST', headers, body: '{"job_type":"metrics"}' }));
    assert.equal(server.jobCount(), before + 1);
    const again = await trigger({ job_type: 'metrics' }, headers);
    assert.equal(again.res.status, 202);
    assert.equal(server.jobCount(), before + 1);
  });

  test('process-then-reset on a status GET takes the step', async () => {
    const id = server.addJob([{ status: 'running' }, { status: 'completed' }]);
    server.inject('status', { kind: 'process-then-reset' });
    await assert.rejects(fetch(`${server.url}/v1/compounding/jobs/${id}`, { headers: auth() }));
    assert.equal((await status(id)).json.status, 'completed');
  });

  test('faults match by kind, FIFO, `times` deep; an unmatched kind is left queued', async () => {
    const id = server.addJob([{ status: 'running' }]);
    server.inject('trigger', { kind: 'respond', status: 418 });
    server.inject('status', { kind: 'respond', status: 500, body: 'first' }, 2);
    server.inject('status', { kind: 'respond', status: 502, body: 'second' });
    const bodies = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${server.url}/v1/compounding/jobs/${id}`, { headers: auth() });
      bodies.push(`${res.status} ${await res.text()}`);
    }
    assert.deepEqual(bodies.slice(0, 3), ['500 first', '500 first', '502 second']);
    assert.match(bodies[3]!, /^200 /);
    assert.equal((await trigger({ job_type: 'metrics' })).res.status, 418);
    assert.equal(server.requests.length, 5);
  });

  test("'any' matches every route, including unknown paths", async () => {
    server.inject('any', { kind: 'respond', status: 599, body: 'x' }, 2);
    assert.equal((await fetch(`${server.url}/nowhere`)).status, 599);
    assert.equal((await trigger({ job_type: 'metrics' })).res.status, 599);
  });
});

test('close() ends promptly with a stalled request and a keep-alive socket open', async () => {
  const s = await startFakeNexServer();
  s.inject('status', { kind: 'stall', ms: 10_000 });
  await fetch(`${s.url}/nope`).then((r) => r.text());
  const pending = fetch(`${s.url}/v1/compounding/jobs/x`, { headers: auth() }).catch((e: unknown) => e);
  while (s.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
  const started = Date.now();
  await s.close();
  assert.ok(Date.now() - started < 500);
  assert.ok((await pending) instanceof Error);
});
