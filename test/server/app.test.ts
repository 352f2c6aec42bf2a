/**
 * The server over the engine's entry point, in-process (fastify's inject): the contract it serves,
 * a round trip, kept status bodies (byte for byte a fresh serialisation, hostile text included;
 * replaced by a restore), keys revoked elsewhere, and the Host check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { openEngine, type Engine } from '../../src/engine/index.js';
import { openDatabaseWith, type Database } from '../../src/engine/store/db.js';
import { buildServer } from '../../src/server/index.js';
import { ROOT, tempDir } from '../helpers/cli.js';

interface Setup {
  server: Awaited<ReturnType<typeof buildServer>>;
  key: string;
  engine: Engine;
  file: string;
  /** Another connection to the same file: what another process (a worker, `keys revoke`, `restore`) would write through. */
  other: Database;
}

// No worker is wanted here: a lease far in the future keeps an accepted job waiting.
const ENGINE_OPTIONS = { create: true, env: { NEX_COMPOUND_LEASE_MS: '600000' }, now: Date.now };

async function withServer(run: (setup: Setup) => Promise<void>): Promise<void> {
  const file = path.join(tempDir('nex-compound-app-'), 'engine.db');
  const engine = await openEngine(file, ENGINE_OPTIONS);
  const server = await buildServer({ engine, allowedHosts: new Set(['localhost:80']), version: '0.0.0-test' });
  const other = openDatabaseWith(Sqlite, file, { create: false });
  try {
    await run({ server, key: (await engine.keys.create(1, ['record.read', 'record.write'])).key, engine, file, other });
  } finally {
    await server.close();
    other.close();
    engine.close();
  }
}

/** Lets the event loop turn once: the server reads the store's version again on the next turn. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface JobFields {
  job_type?: string;
  status: 'accepted' | 'running' | 'completed' | 'failed';
  stage?: string | null;
  progress?: number;
  insights_scanned?: number | null;
  error_details?: string | null;
  completed_at?: number | null;
}

/** A job row as a worker leaves it, written through the other connection (free-form fields as given). */
function insertJob(db: Database, fields: JobFields): string {
  const id = randomUUID();
  const finished = fields.status === 'completed' || fields.status === 'failed';
  db.prepare(
    `INSERT INTO jobs (job_run_id, workspace_id, job_type, status, attempts, progress, stage, insights_scanned, insights_affected, candidates_created, errors, error_details, created_at, started_at, completed_at, duration_ms)
     VALUES (@id, 1, @job_type, @status, 1, @progress, @stage, @insights_scanned, @insights_affected, @candidates_created, @errors, @error_details, 1764547200000, 1764547200000, @completed_at, @duration_ms)`,
  ).run({
    id,
    job_type: fields.job_type ?? 'metrics',
    status: fields.status,
    progress: fields.progress ?? (finished ? 100 : 0),
    stage: fields.stage === undefined ? (finished ? 'done' : 'starting') : fields.stage,
    insights_scanned: fields.insights_scanned === undefined ? (finished ? 3 : null) : fields.insights_scanned,
    insights_affected: finished ? 1 : null,
    candidates_created: finished ? 0 : null,
    errors: fields.status === 'failed' ? 1 : finished ? 0 : null,
    error_details: fields.error_details ?? null,
    completed_at: fields.completed_at === undefined ? (finished ? 1764547201234 : null) : fields.completed_at,
    duration_ms: finished ? 1234 : null,
  });
  return id;
}

async function getStatus(setup: Setup, id: string, headers: Record<string, string> = {}) {
  return setup.server.inject({ method: 'GET', url: `/v1/compounding/jobs/${id}`, headers: { host: 'localhost:80', authorization: `Bearer ${setup.key}`, ...headers } });
}

/** What the server answered before bodies were kept and serialisation precompiled: fastify's default, JSON.stringify of the engine's status. */
const freshBody = (engine: Engine, id: string) => JSON.stringify(engine.workspace(1).jobs.find(id));

test('GET /openapi.json answers the project\'s own copy of the contract, the same document as its YAML', async () => {
  await withServer(async ({ server }) => {
    const r = await server.inject({ method: 'GET', url: '/openapi.json', headers: { host: 'localhost:80' } });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const yaml = parseYaml(readFileSync(path.join(ROOT, 'src', 'contract', 'openapi', 'nex-compounding.openapi.yaml'), 'utf8')) as unknown;
    assert.deepEqual(r.json(), yaml);
  });
});

test('a trigger through the server is a job of the key\'s workspace that status then reads; another Host is refused', async () => {
  await withServer(async ({ server, key }) => {
    const headers = { host: 'localhost:80', authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const accepted = await server.inject({ method: 'POST', url: '/v1/compounding/trigger', headers, payload: { job_type: 'metrics', dry_run: true } });
    assert.equal(accepted.statusCode, 202, accepted.body);
    const job = accepted.json() as { job_run_id: string; workspace_id: number; status: string };
    assert.deepEqual([job.workspace_id, job.status], [1, 'accepted']);
    const status = await server.inject({ method: 'GET', url: `/v1/compounding/jobs/${job.job_run_id.toUpperCase()}`, headers });
    assert.equal(status.statusCode, 200, status.body);
    assert.equal((status.json() as { job_run_id: string }).job_run_id, job.job_run_id);
    const rebound = await server.inject({ method: 'GET', url: `/v1/compounding/jobs/${job.job_run_id}`, headers: { ...headers, host: 'evil.example' } });
    assert.equal(rebound.statusCode, 400);
  });
});

/** Text a job's free-form fields may hold: control and escape sequences, quotes, lone surrogates, separators, markup. */
const HOSTILE = ['\u0000', '\u001b[31mred\u001b[0m', '"', '\\', '\ud800', '\udc00x', '\u2028\u2029', '</script><script>alert(1)</script>', '\u202e', '\u0085', '\u{1f600}', '\r\n', '__proto__'];
const hostileText = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'binary', maxLength: 40 }), fc.array(fc.constantFrom(...HOSTILE), { maxLength: 4 }).map((parts) => parts.join('x')));

test('a kept status body is byte for byte a fresh serialisation, for finished and unfinished jobs, hostile text in every free-form field', async () => {
  await withServer(async (setup) => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('accepted', 'running', 'completed', 'failed'),
        hostileText,
        fc.option(hostileText, { nil: null }),
        fc.dictionary(hostileText, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
        async (status, jobType, stage, details) => {
          const id = insertJob(setup.other, { status, job_type: jobType, stage, error_details: status === 'failed' ? JSON.stringify(details) : null });
          await nextTurn();
          const first = await getStatus(setup, id);
          await nextTurn();
          const second = await getStatus(setup, id);
          const fresh = freshBody(setup.engine, id);
          for (const reply of [first, second]) {
            assert.equal(reply.statusCode, 200, reply.body);
            assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
            // JSON.stringify's bytes: lone surrogates written as \udXXX escapes, not as invalid UTF-8.
            assert.equal(reply.body, fresh, 'the bytes JSON.stringify writes for the engine\'s status');
            assert.doesNotMatch(reply.body, /[\u0000-\u001f]/, 'every control character escaped');
            assert.deepEqual(JSON.parse(reply.body), setup.engine.workspace(1).jobs.find(id));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

test('a finished job\'s kept body lasts until a restore replaces the store; an unfinished one\'s follows every change', async () => {
  await withServer(async (setup) => {
    const bodyOf = async (id: string) => {
      await nextTurn();
      const reply = await getStatus(setup, id);
      assert.equal(reply.statusCode, 200, reply.body);
      return JSON.parse(reply.body) as { status: string; progress: number; insights_scanned?: number };
    };
    const finished = insertJob(setup.other, { status: 'completed', insights_scanned: 1 });
    const backup = path.join(path.dirname(setup.file), 'backup.db');
    await setup.engine.backup(backup);
    // Nothing in the engine edits a finished job's status; a hand edit stands in for the store
    // changing under the kept body, which a restore then puts back.
    setup.other.prepare('UPDATE jobs SET insights_scanned = 2 WHERE job_run_id = ?').run(finished);
    assert.equal((await bodyOf(finished)).insights_scanned, 2);
    setup.other.prepare('UPDATE jobs SET insights_scanned = 3 WHERE job_run_id = ?').run(finished);
    assert.equal((await bodyOf(finished)).insights_scanned, 2, 'kept: a finished job is not read again');

    const restorer = await openEngine(setup.file, ENGINE_OPTIONS);
    try {
      await restorer.restore(backup);
    } finally {
      restorer.close();
    }
    const restored = await bodyOf(finished);
    assert.equal(restored.insights_scanned, 1, 'the restored store\'s job, not the kept body');
    assert.equal(JSON.stringify(restored), JSON.stringify(JSON.parse(freshBody(setup.engine, finished))));

    const running = insertJob(setup.other, { status: 'running', progress: 10 });
    assert.equal((await bodyOf(running)).progress, 10);
    setup.other.prepare('UPDATE jobs SET progress = 40, stage = ? WHERE job_run_id = ?').run('verifying', running);
    assert.equal((await bodyOf(running)).progress, 40, 'a heartbeat from the worker shows on the next poll');
    setup.other.prepare(`UPDATE jobs SET status = 'completed', progress = 100, stage = 'done', completed_at = 1764547201234 WHERE job_run_id = ?`).run(running);
    assert.equal((await bodyOf(running)).status, 'completed');
  });
});

test('a kept body is answered to its own workspace only: another workspace\'s key gets the 404 a missing job gets', async () => {
  await withServer(async (setup) => {
    const id = insertJob(setup.other, { status: 'completed' });
    const otherKey = (await setup.engine.keys.create(2, ['record.read'])).key;
    await nextTurn();
    assert.equal((await getStatus(setup, id)).statusCode, 200);
    const theirs = await getStatus(setup, id, { authorization: `Bearer ${otherKey}` });
    assert.equal(theirs.statusCode, 404);
    assert.deepEqual(JSON.parse(theirs.body), { code: 404, message: `job ${id} not found` });
  });
});

test('a key revoked through another connection is refused from the next event-loop turn on; others still work', async () => {
  await withServer(async (setup) => {
    const id = insertJob(setup.other, { status: 'completed' });
    const doomed = await setup.engine.keys.create(1, ['record.read']);
    await nextTurn();
    for (let i = 0; i < 3; i++) assert.equal((await getStatus(setup, id, { authorization: `Bearer ${doomed.key}` })).statusCode, 200);
    setup.other.prepare('UPDATE api_keys SET revoked_at = ? WHERE key_id = ?').run(Date.now(), doomed.row.key_id);
    await nextTurn();
    const refused = await getStatus(setup, id, { authorization: `Bearer ${doomed.key}` });
    assert.equal(refused.statusCode, 401);
    assert.deepEqual(JSON.parse(refused.body), { code: 401, message: 'invalid or revoked API key' });
    assert.equal(refused.headers.server, 'nex-compound/0.0.0-test');
    assert.equal((await getStatus(setup, id)).statusCode, 200, 'the other key still works');
  });
});

test('a Host the server does not answer for is refused (400, before the key is even looked at), on every route', async () => {
  await withServer(async (setup) => {
    const id = insertJob(setup.other, { status: 'completed' });
    await nextTurn();
    assert.equal((await getStatus(setup, id)).statusCode, 200);
    for (const host of ['evil.example', 'localhost:81', 'LOCALHOST:8080', `${'a'.repeat(300)}.example`]) {
      for (const headers of [{ host }, { host, authorization: 'Bearer nxk_wrong' }]) {
        for (const [method, url] of [['GET', `/v1/compounding/jobs/${id}`], ['POST', '/v1/compounding/trigger'], ['GET', '/healthz']] as const) {
          const reply = await setup.server.inject({ method, url, headers: { authorization: `Bearer ${setup.key}`, ...headers } });
          assert.equal(reply.statusCode, 400, `${method} ${url} for ${host}`);
          const body = JSON.parse(reply.body) as { code: number; message: string };
          assert.deepEqual(Object.keys(body), ['code', 'message']);
          assert.equal(body.code, 400);
          assert.equal(body.message, `this server does not answer for host "${host.toLowerCase().slice(0, 100)}"`);
        }
      }
    }
    assert.equal((await setup.server.inject({ method: 'GET', url: '/healthz', headers: { host: 'LocalHost:80' } })).statusCode, 200, 'Host is case-insensitive');
  });
});
