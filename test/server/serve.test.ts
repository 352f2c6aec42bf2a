/**
 * `nex-compound serve` through the real bin, on loopback only: every response body checked
 * against the contract (../shared/contracts/nex-compounding.openapi.yaml), the same results as
 * the local backend, the error statuses, Idempotency-Key, a SIGTERM mid-job followed by a
 * restart, keys never shown again, and the refused command lines.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { BIN, ROOT, runBin, tempDir, type SpawnResult } from '../helpers/cli.js';
import { openDatabaseWith, type Database } from '../../src/engine/store/db.js';

// ---------------------------------------------------------------------------------------------
// The contract

/** The project's own copy of the contract (src/contract/openapi). */
const CONTRACT_FILE = path.join(ROOT, 'src', 'contract', 'openapi', 'nex-compounding.openapi.yaml');
const DEMO_DATA = path.join(ROOT, 'data', 'demo-insights.jsonl');
const CONTRACT_ID = 'https://nex-compound.test/contracts/nex-compounding.openapi.json';

type Op = 'trigger' | 'status';
const OPERATIONS: Record<Op, { path: string; method: 'post' | 'get' }> = {
  trigger: { path: '/v1/compounding/trigger', method: 'post' },
  status: { path: '/v1/compounding/jobs/{job_run_id}', method: 'get' },
};
const API_ERROR_REF = '#/components/schemas/httpx.APIError';

interface OpenApiResponse {
  content?: Record<string, { schema?: { $ref?: string } }>;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
  components: { schemas: Record<string, unknown> };
}

function loadContract() {
  const doc = parseYaml(readFileSync(CONTRACT_FILE, 'utf8')) as OpenApiDoc;
  const ajv = new Ajv({ allErrors: true, strict: true });
  // The two formats the contract uses, checked for real (Ajv alone would refuse unknown formats).
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s)),
  });
  // One schema document holding the components, so `#/components/schemas/...` $refs resolve.
  ajv.addKeyword('components');
  ajv.addSchema({ $id: CONTRACT_ID, components: doc.components });
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (ref: string): ValidateFunction => {
    let validate = validators.get(ref);
    if (!validate) {
      assert.match(ref, /^#\/components\/schemas\//, `a local component $ref: ${ref}`);
      validate = ajv.getSchema(`${CONTRACT_ID}${ref}`);
      assert.ok(validate, `the contract defines ${ref}`);
      validators.set(ref, validate);
    }
    return validate;
  };
  /** The response schema $ref the contract gives for an operation and status, or undefined when undocumented. */
  const documentedRef = (op: Op, status: number): string | undefined => {
    const { path: p, method } = OPERATIONS[op];
    const operation = doc.paths[p]?.[method];
    assert.ok(operation, `the contract has ${method.toUpperCase()} ${p}`);
    const response = operation.responses[String(status)];
    if (!response) return undefined;
    const ref = response.content?.['application/json']?.schema?.$ref;
    assert.ok(ref, `the contract gives a JSON schema for ${method.toUpperCase()} ${p} ${status}`);
    return ref;
  };
  const documentedStatuses = (op: Op) => Object.keys(doc.paths[OPERATIONS[op].path]![OPERATIONS[op].method]!.responses).map(Number);
  return { ajv, validatorFor, documentedRef, documentedStatuses };
}

const contract = loadContract();

function findNulls(value: unknown, at = '$'): string[] {
  if (value === null) return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => findNulls(v, `${at}[${i}]`));
  if (typeof value === 'object' && value) return Object.entries(value).flatMap(([k, v]) => findNulls(v, `${at}.${k}`));
  return [];
}

/** Statuses outside the contract that serve may answer, each with the httpx.APIError shape. */
type Extra = 'too-large' | 'idempotency-conflict' | 'bad-host';
const EXTRA_STATUS: Record<Extra, number> = { 'too-large': 413, 'idempotency-conflict': 422, 'bad-host': 400 };

/** Every (operation, status) a test saw, each validated. */
const observed = new Map<string, number>();

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: unknown;
}

function checkAgainstContract(op: Op, reply: Reply, extra?: Extra): void {
  const where = `${OPERATIONS[op].method.toUpperCase()} ${OPERATIONS[op].path} → ${reply.status} ${reply.text.slice(0, 300)}`;
  let ref = contract.documentedRef(op, reply.status);
  if (!ref || (extra === 'bad-host' && reply.status === 400)) {
    assert.ok(extra && EXTRA_STATUS[extra] === reply.status, `${where}: a status the contract does not document for this operation`);
    ref = API_ERROR_REF;
  }
  assert.match(String(reply.headers['content-type']), /^application\/json\b/, `${where}: a JSON body`);
  assert.notEqual(reply.body, undefined, `${where}: the body parses as JSON`);
  const validate = contract.validatorFor(ref);
  assert.ok(validate(reply.body), `${where}: does not match ${ref}: ${contract.ajv.errorsText(validate.errors)}`);
  assert.deepEqual(findNulls(reply.body), [], `${where}: optional fields are omitted, never null`);
  if (reply.status >= 400) {
    // The contract's error object, filled in: the HTTP status as code and a message, nothing else.
    const body = reply.body as { code: unknown; message: unknown };
    assert.deepEqual(Object.keys(body).sort(), ['code', 'message'], where);
    assert.equal(body.code, reply.status, where);
    assert.equal(typeof body.message, 'string', where);
    assert.ok((body.message as string).length > 0 && !(body.message as string).includes('\n    at '), `${where}: a message, no stack trace`);
  }
  const tag = `${op} ${reply.status}${extra ? ` (${extra})` : ''}`;
  observed.set(tag, (observed.get(tag) ?? 0) + 1);
}

// ---------------------------------------------------------------------------------------------
// Processes, engines and HTTP

interface Engine {
  dir: string;
  file: string;
  env: Record<string, string>;
}

function engineEnv(): Engine {
  const dir = tempDir('nex-compound-serve-');
  const file = path.join(dir, 'engine.db');
  const config = path.join(dir, 'config');
  return { dir, file, env: { NEX_COMPOUND_DB: file, NEX_COMPOUND_CONFIG_DIR: config, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'xdg-config'), NO_COLOR: '1' } };
}

/** Every key any test created or sent: none may ever show up in serve's output. */
const secrets = new Set<string>();

/** A local consolidation of the engine's insights, followed to its end: its counts. */
async function localConsolidationCounts(engine: Engine): Promise<Record<string, number | undefined>> {
  const r = await runBin(['trigger', 'consolidation', '--local', '--wait', '--json'], { env: engine.env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return counts(JSON.parse(r.stdout) as JobBody);
}

async function importDemo(engine: Engine): Promise<number> {
  const r = await runBin(['insights', 'import', DEMO_DATA, '--json'], { env: engine.env });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { imported: number }).imported;
}

interface CreatedKey {
  key: string;
  key_id: string;
  workspace_id: number;
  scopes: string[];
}

async function createKey(engine: Engine, options: { write?: boolean; workspace?: number } = {}): Promise<CreatedKey> {
  const argv = [...(options.workspace ? ['--workspace', String(options.workspace)] : []), 'keys', 'create', ...(options.write ? ['--scope', 'record.write'] : []), '--json'];
  const r = await runBin(argv, { env: engine.env });
  assert.equal(r.code, 0, r.stderr);
  const created = JSON.parse(r.stdout) as CreatedKey;
  assert.match(created.key, /^nxk_[A-Za-z0-9_-]{40,}$/);
  secrets.add(created.key);
  return created;
}

interface Serve {
  url: string;
  port: number;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const serves: Serve[] = [];

function spawnEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: tempDir('nex-compound-home-'), ...env };
}

async function startServe(env: Record<string, string>, args: string[] = []): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { env: spawnEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL within 10 s; stderr: ${stderr}`)), 10_000);
    const onData = () => {
      if (!stdout.includes('\n') || !/^ready:/m.test(stderr)) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      resolve(stdout.split('\n')[0]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code} before it was ready; stderr: ${stderr}`));
    });
  });
  const match = /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(url);
  assert.ok(match, `serve prints its URL as the one stdout line, got ${JSON.stringify(stdout)}`);
  const port = Number(match[1]);
  assert.ok(port > 0 && port !== 8787, '--port 0 picks a free port');
  const serve: Serve = {
    url,
    port,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  serves.push(serve);
  return serve;
}

interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sent with Transfer-Encoding: chunked, in this many equal pieces. */
  chunks?: number;
  agent?: http.Agent | false;
}

function request(port: number, urlPath: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: options.agent ?? false }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('error', reject);
      res.on('end', () => {
        let body: unknown;
        try {
          body = text ? (JSON.parse(text) as unknown) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, body });
      });
    });
    // A server refusing a large body answers before reading it; the rest of the upload may then fail.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${urlPath} within 10 s`)));
    const { body, chunks } = options;
    if (body === undefined) return void req.end();
    const buffer = Buffer.from(body);
    // Like a client sending Expect: 100-continue, an upload over the limit stops once the server
    // has answered: a server closing a connection with unread data resets it (RST), and the
    // client could then lose the answer it was sent — a race in the kernel, not in serve.
    const large = buffer.length > 1024 * 1024;
    if (!chunks && !large) return void req.end(body);
    const pieces = chunks ?? 16;
    const size = Math.ceil(buffer.length / pieces);
    if (!chunks) req.setHeader('content-length', String(buffer.length));
    req.flushHeaders();
    void (async () => {
      for (let i = 0; i < buffer.length && !answered && !req.destroyed; i += size) {
        await new Promise((r) => setTimeout(r, large ? 20 : 0));
        if (answered || req.destroyed) break;
        if (!req.write(buffer.subarray(i, i + size))) await new Promise((r) => req.once('drain', r));
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/** POST /v1/compounding/trigger, checked against the contract. */
async function trigger(serve: Serve, body: unknown, headers: Record<string, string> = {}, extra?: Extra): Promise<Reply> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const reply = await request(serve.port, '/v1/compounding/trigger', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text });
  checkAgainstContract('trigger', reply, extra);
  return reply;
}

/** GET /v1/compounding/jobs/{id}, checked against the contract. */
async function getJobStatus(serve: Serve, id: string, headers: Record<string, string> = {}, extra?: Extra): Promise<Reply> {
  const reply = await request(serve.port, `/v1/compounding/jobs/${id}`, { headers });
  checkAgainstContract('status', reply, extra);
  return reply;
}

interface JobBody {
  job_run_id: string;
  job_type: string;
  workspace_id: number;
  status: string;
  dry_run: boolean;
  insights_scanned?: number;
  insights_affected?: number;
  candidates_created?: number;
  errors?: number;
  attempts?: number;
  stage?: string;
}

const COUNTS = ['insights_scanned', 'insights_affected', 'candidates_created', 'errors'] as const;
const counts = (job: Partial<Record<(typeof COUNTS)[number], number>>) => Object.fromEntries(COUNTS.map((k) => [k, job[k]]));

async function pollUntilDone(serve: Serve, id: string, key: string, timeoutMs = 20_000): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await getJobStatus(serve, id, auth(key));
    assert.equal(reply.status, 200, reply.text);
    const job = reply.body as JobBody;
    if (job.status === 'completed' || job.status === 'failed') return job;
    assert.ok(Date.now() < deadline, `job ${id} still ${job.status} (${job.stage ?? ''}) after ${timeoutMs} ms`);
    await sleep(100);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withDb<T>(file: string, use: (db: Database) => T): T {
  const db = openDatabaseWith(Sqlite, file, { create: false });
  try {
    return use(db);
  } finally {
    db.close();
  }
}

const jobCount = (file: string) => withDb(file, (db) => (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n);

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Workers (detached children of serve) of the databases these tests made, killed if a test left one behind. */
const engines: Engine[] = [];

after(async () => {
  for (const serve of serves) await serve.stop('SIGKILL');
  for (const engine of engines) {
    if (!existsSync(engine.file)) continue;
    try {
      const pids = withDb(engine.file, (db) => (db.prepare('SELECT pid FROM workers').all() as Array<{ pid: number }>).map((w) => w.pid));
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // best effort
    }
  }
});

function newEngine(): Engine {
  const engine = engineEnv();
  engines.push(engine);
  return engine;
}


// ---------------------------------------------------------------------------------------------

describe('the contract checker itself', () => {
  test('it refuses bodies that break the schema, nulls, and undocumented statuses', () => {
    const reply = (status: number, body: unknown): Reply => ({ status, headers: { 'content-type': 'application/json; charset=utf-8' }, text: JSON.stringify(body), body });
    const good = { job_run_id: randomUUID(), job_type: 'metrics', workspace_id: 1, status: 'completed', dry_run: false, started_at: new Date().toISOString() };
    checkAgainstContract('status', reply(200, good));
    for (const bad of [
      { ...good, job_run_id: 'not-a-uuid' },
      { ...good, job_type: 'compaction' },
      { ...good, status: 'done' },
      { ...good, workspace_id: '1' },
      { ...good, started_at: 'yesterday' },
      { ...good, completed_at: null },
      { ...good, error_details: 'boom' },
    ]) {
      assert.throws(() => checkAgainstContract('status', reply(200, bad)), assert.AssertionError, JSON.stringify(bad));
    }
    assert.throws(() => checkAgainstContract('trigger', reply(202, { job_run_id: randomUUID(), status: 'running' })));
    assert.throws(() => checkAgainstContract('trigger', reply(401, { code: '401', message: 'no' })));
    assert.throws(() => checkAgainstContract('trigger', reply(401, { code: 401, message: 'no', details: null })));
    assert.throws(() => checkAgainstContract('status', reply(403, { code: 403, message: 'undocumented for GET' })));
    assert.throws(() => checkAgainstContract('trigger', reply(413, { code: 413, message: 'too large' })), /does not document/);
    assert.throws(() => checkAgainstContract('trigger', reply(404, { code: 404, message: 'not documented for the trigger' })));
    assert.throws(() => checkAgainstContract('trigger', { ...reply(400, { code: 400, message: 'x' }), headers: { 'content-type': 'text/plain' } }));
    assert.deepEqual(contract.documentedStatuses('trigger').sort(), [202, 400, 401, 403, 500]);
    assert.deepEqual(contract.documentedStatuses('status').sort(), [200, 401, 404, 500]);
    observed.clear();
  });
});

describe('serve against the local backend', () => {
  test('the same dataset: consolidation and metrics report identical counts locally and through serve', async () => {
    const a = newEngine();
    const b = newEngine();
    const [importedA, importedB] = await Promise.all([importDemo(a), importDemo(b)]);
    assert.equal(importedA, importedB);
    const key = await createKey(b, { write: true });
    const serve = await startServe(b.env);
    const client = engineEnv();
    // The client has no engine: remote mode needs nothing but the URL and the key.
    const clientEnv = { NEX_COMPOUND_CONFIG_DIR: client.env.NEX_COMPOUND_CONFIG_DIR, XDG_DATA_HOME: client.env.XDG_DATA_HOME, NO_COLOR: '1', NEX_API_KEY: key.key };
    const remoteArgs = ['--remote', '--base-url', serve.url, '--wait', '--json', '--interval', '200ms', '--timeout', '60s'];

    const local = localConsolidationCounts(a);
    const [localCounts, remoteRun] = await Promise.all([local, runBin(['trigger', 'consolidation', ...remoteArgs], { env: clientEnv, timeoutMs: 60_000 })]);
    assert.equal(remoteRun.code, 0, remoteRun.stderr);
    const remote = JSON.parse(remoteRun.stdout) as JobBody;
    assert.equal(remote.status, 'completed');
    assert.equal(remote.job_type, 'consolidation');
    assert.equal(remote.workspace_id, key.workspace_id);
    assert.deepEqual(counts(remote), localCounts, 'the same counts from serve as from the local backend');
    assert.equal(localCounts.insights_scanned, importedA, 'every imported insight was scanned');
    assert.ok((localCounts.candidates_created ?? 0) >= 30, `the planted near-duplicates merge: ${JSON.stringify(localCounts)}`);
    assert.equal(localCounts.errors, 0);

    // The job as the API shows it, and as `status --remote` reads it.
    const direct = await getJobStatus(serve, remote.job_run_id, auth(key.key));
    assert.equal(direct.status, 200);
    assert.deepEqual(counts(direct.body as JobBody), localCounts);
    const status = await runBin(['status', remote.job_run_id, '--remote', '--base-url', serve.url, '--json'], { env: clientEnv });
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(counts(JSON.parse(status.stdout) as JobBody), localCounts);

    // Both runs did exactly the same to the insights.
    const rows = (file: string) => withDb(file, (db) => db.prepare('SELECT id, text, status, merged_into, reinforcement_count, confidence, created_at FROM insights ORDER BY id').all());
    assert.deepEqual(rows(b.file), rows(a.file), 'the insights after the run through serve equal those after the local run');

    const [localMetrics, remoteMetrics] = await Promise.all([
      runBin(['trigger', 'metrics', '--local', '--wait', '--json'], { env: a.env, timeoutMs: 60_000 }),
      runBin(['trigger', 'metrics', ...remoteArgs], { env: clientEnv, timeoutMs: 60_000 }),
    ]);
    assert.equal(localMetrics.code, 0, localMetrics.stderr);
    assert.equal(remoteMetrics.code, 0, remoteMetrics.stderr);
    const lm = JSON.parse(localMetrics.stdout) as JobBody;
    const rm = JSON.parse(remoteMetrics.stdout) as JobBody;
    assert.equal(rm.status, 'completed');
    assert.deepEqual(counts(rm), counts(lm), 'metrics: the same counts');
    const metricsDirect = await getJobStatus(serve, rm.job_run_id, auth(key.key));
    assert.deepEqual(counts(metricsDirect.body as JobBody), counts(lm));

    // And the metrics snapshots they took agree.
    const snapshots = await Promise.all([a, b].map((e) => runBin(['metrics', '--json'], { env: e.env })));
    const [snapA, snapB] = snapshots.map((r) => {
      assert.equal(r.code, 0, r.stderr);
      const { insights, confidence_histogram, average_confidence, stale_ratio } = (JSON.parse(r.stdout) as { latest: Record<string, unknown> }).latest;
      return { insights, confidence_histogram, average_confidence, stale_ratio };
    });
    assert.deepEqual(snapB, snapA);
    assert.equal((snapA!.insights as { merged: number }).merged, localCounts.insights_affected! - localCounts.candidates_created!);

    // The remote client never wrote its key anywhere, nor printed it.
    for (const r of [remoteRun, status, remoteMetrics]) assert.ok(!r.stdout.includes(key.key) && !r.stderr.includes(key.key));
    for (const file of filesUnder(client.dir)) assert.ok(!readFileSync(file).includes(key.key), `${file} holds the key`);

    const stopped = await serve.stop('SIGTERM');
    assert.deepEqual(stopped, { code: 0, signal: null }, serve.stderr());
    assert.match(serve.stderr(), /shutting down/);
  });
});

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe('serve: authentication, validation and idempotency', () => {
  const engine = newEngine();
  let serve: Serve;
  let write: CreatedKey;
  let readOnly: CreatedKey;
  let other: CreatedKey;
  let ready: Promise<void> | undefined;
  const setUp = () =>
    (ready ??= (async () => {
      [write, readOnly] = await Promise.all([createKey(engine, { write: true }), createKey(engine)]);
      other = await createKey(engine, { write: true, workspace: 2 });
      serve = await startServe(engine.env, ['--debug']);
    })());

  test('401: no header, a malformed header, a wrong key, a revoked key — on both operations, and no job is created', async () => {
    await setUp();
    const before = jobCount(engine.file);
    const wrong = `nxk_${randomBytes(32).toString('base64url')}`;
    secrets.add(wrong);
    for (const headers of [{}, { authorization: write.key }, { authorization: 'Basic dXNlcjpwYXNz' }, auth(wrong), auth('not-even-a-key'), auth(`${write.key}x`)]) {
      const t = await trigger(serve, { job_type: 'metrics' }, headers);
      assert.equal(t.status, 401, JSON.stringify(headers));
      const s = await getJobStatus(serve, randomUUID(), headers);
      assert.equal(s.status, 401, JSON.stringify(headers));
    }
    assert.equal(jobCount(engine.file), before, 'a refused request creates no job');

    // Keys that work (and that serve has seen many times), revoked by another process while serve
    // runs: refused from the very next request on.
    const [doomed, doomedReader] = await Promise.all([createKey(engine, { write: true }), createKey(engine)]);
    const ok = await trigger(serve, { job_type: 'metrics', dry_run: true }, auth(doomed.key));
    assert.equal(ok.status, 202, ok.text);
    const id = (ok.body as JobBody).job_run_id;
    await pollUntilDone(serve, id, doomed.key);
    for (let i = 0; i < 5; i++) {
      assert.equal((await getJobStatus(serve, id, auth(doomed.key))).status, 200);
      assert.equal((await getJobStatus(serve, id, auth(doomedReader.key))).status, 200);
    }
    const revoke = await runBin(['keys', 'revoke', doomed.key_id], { env: engine.env });
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal((await getJobStatus(serve, id, auth(doomed.key))).status, 401, 'a revoked key is refused at once');
    assert.equal((await trigger(serve, { job_type: 'metrics' }, auth(doomed.key))).status, 401);
    assert.equal((await getJobStatus(serve, id, auth(doomedReader.key))).status, 200, 'other keys still work');
    assert.equal((await runBin(['keys', 'revoke', doomedReader.key_id], { env: engine.env })).code, 0);
    assert.equal((await getJobStatus(serve, id, auth(doomedReader.key))).status, 401);
    assert.equal((await getJobStatus(serve, id, auth(write.key))).status, 200, 'the job itself is still there for a valid key');
  });

  test('403: a read-only key cannot trigger (and creates nothing) but can read its workspace\'s jobs', async () => {
    await setUp();
    const before = jobCount(engine.file);
    const refused = await trigger(serve, { job_type: 'consolidation' }, auth(readOnly.key));
    assert.equal(refused.status, 403);
    assert.match((refused.body as { message: string }).message, /record\.write/);
    assert.equal(jobCount(engine.file), before);
    const job = await trigger(serve, { job_type: 'metrics' }, auth(write.key));
    assert.equal(job.status, 202);
    const read = await getJobStatus(serve, (job.body as JobBody).job_run_id, auth(readOnly.key));
    assert.equal(read.status, 200);
    assert.equal((read.body as JobBody).workspace_id, 1);
  });

  test('404: another workspace\'s job answers exactly like a missing one; so do a random uuid and malformed ids', async () => {
    await setUp();
    const mine = await trigger(serve, { job_type: 'metrics' }, auth(write.key));
    const theirs = await trigger(serve, { job_type: 'metrics' }, auth(other.key));
    assert.equal(mine.status, 202);
    assert.equal(theirs.status, 202);
    const mineId = (mine.body as JobBody).job_run_id;
    const theirsId = (theirs.body as JobBody).job_run_id;
    assert.equal((mine.body as JobBody).workspace_id, 1);
    assert.equal((theirs.body as JobBody).workspace_id, 2, 'a key triggers in its own workspace');
    // Each workspace reads its own job (so the 404s below are about the workspace, nothing else).
    assert.equal((await getJobStatus(serve, theirsId, auth(other.key))).status, 200);
    assert.equal((await getJobStatus(serve, mineId, auth(write.key))).status, 200);

    const missing = randomUUID();
    const answers: Array<[string, Reply]> = [];
    for (const [id, key] of [
      [theirsId, write.key],
      [theirsId.toUpperCase(), readOnly.key],
      [mineId, other.key],
      [missing, write.key],
    ] as const) {
      answers.push([id, await getJobStatus(serve, id, auth(key))]);
    }
    for (const [id, reply] of answers) {
      assert.equal(reply.status, 404, `${id}: ${reply.text}`);
      // Nothing tells a foreign job from a missing one: same status, same message but for the id.
      assert.deepEqual(reply.body, { code: 404, message: `job ${id} not found` });
      assert.equal(reply.text.length - id.length, answers[3]![1].text.length - missing.length);
    }
    for (const id of ['not-a-uuid', `${mineId}x`, mineId.slice(0, 35), '12345', encodeURIComponent("' OR 1=1 --"), 'x'.repeat(100)]) {
      const reply = await getJobStatus(serve, id, auth(write.key));
      assert.equal(reply.status, 404, `${id}: ${reply.text}`);
    }
  });

  test('400: malformed JSON, non-object bodies, bad job_type and dry_run; a wrong Host on both operations', async () => {
    await setUp();
    const before = jobCount(engine.file);
    const key = auth(write.key);
    for (const body of [
      '{"job_type": "metrics"',
      '{job_type: metrics}',
      '',
      '[]',
      '["metrics"]',
      '"consolidation"',
      '42',
      'null',
      'true',
      '{}',
      '{"job_type": "compaction"}',
      '{"job_type": "CONSOLIDATION"}',
      '{"job_type": 1}',
      '{"job_type": null}',
      '{"job_type": ["metrics"]}',
      '{"job_type": "metrics", "dry_run": "true"}',
      '{"job_type": "metrics", "dry_run": 1}',
      '{"job_type": "metrics", "dry_run": null}',
    ]) {
      const reply = await trigger(serve, body, key);
      assert.equal(reply.status, 400, `${body} → ${reply.status} ${reply.text}`);
    }
    assert.equal(jobCount(engine.file), before, 'no bad request created a job');

    // DNS rebinding: only the names of this server are answered, whatever the key.
    const good = await trigger(serve, { job_type: 'metrics', dry_run: true }, key);
    const id = (good.body as JobBody).job_run_id;
    for (const host of [`localhost:${serve.port}`, `LOCALHOST:${serve.port}`, `[::1]:${serve.port}`, `127.0.0.1:${serve.port}`]) {
      const reply = await getJobStatus(serve, id, { ...key, host });
      assert.equal(reply.status, 200, `${host}: ${reply.text}`);
    }
    const jobsBefore = jobCount(engine.file);
    for (const host of ['evil.example', `evil.example:${serve.port}`, '127.0.0.1', `127.0.0.1:${serve.port + 1}`, `localhost.evil.example:${serve.port}`, `0.0.0.0:${serve.port}`]) {
      const t = await trigger(serve, { job_type: 'metrics' }, { ...key, host }, 'bad-host');
      assert.equal(t.status, 400, `${host}: ${t.text}`);
      assert.match((t.body as { message: string }).message, /host/);
      const s = await getJobStatus(serve, id, { ...key, host }, 'bad-host');
      assert.equal(s.status, 400, `${host}: ${s.text}`);
    }
    assert.equal(jobCount(engine.file), jobsBefore, 'a refused Host creates no job');
  });

  test('413: a body over 1 MiB is refused, with or without Content-Length; exactly 1 MiB is accepted', async () => {
    await setUp();
    const key = auth(write.key);
    const MiB = 1024 * 1024;
    const padded = (size: number) => {
      const json = '{"job_type": "metrics", "dry_run": true}';
      return json.slice(0, -1) + ' '.repeat(size - json.length) + '}';
    };
    const before = jobCount(engine.file);
    const over = await request(serve.port, '/v1/compounding/trigger', { method: 'POST', headers: { ...key, 'content-type': 'application/json' }, body: padded(MiB + 1) });
    checkAgainstContract('trigger', over, 'too-large');
    assert.equal(over.status, 413, over.text);
    const chunked = await request(serve.port, '/v1/compounding/trigger', { method: 'POST', headers: { ...key, 'content-type': 'application/json' }, body: padded(2 * MiB), chunks: 16 });
    checkAgainstContract('trigger', chunked, 'too-large');
    assert.equal(chunked.status, 413, chunked.text);
    assert.equal(jobCount(engine.file), before);
    const exact = await trigger(serve, padded(MiB), key);
    assert.equal(exact.status, 202, exact.text);
    assert.equal(jobCount(engine.file), before + 1);
  });

  test('a job id over 100 characters, or with a bad %-escape, still gets the contract: 401 without a key, else 404, as {code, message}', async () => {
    await setUp();
    for (const id of ['x'.repeat(101), randomUUID() + 'x'.repeat(80), 'y'.repeat(3000), '%zz', '%']) {
      assert.equal((await getJobStatus(serve, id)).status, 401, id);
      assert.equal((await getJobStatus(serve, id, auth(write.key))).status, 404, id);
    }
  });

  test('a trigger body sent as another media type is a contract 400 (malformed body), not an undocumented 415', async () => {
    await setUp();
    const reply = await request(serve.port, '/v1/compounding/trigger', {
      method: 'POST',
      headers: { ...auth(write.key), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'job_type=metrics',
    });
    checkAgainstContract('trigger', reply);
    assert.equal(reply.status, 400);
  });

  test('Idempotency-Key: the same key and body replay the same job (one row); another body is 422; keys are per workspace', async () => {
    await setUp();
    const key = auth(write.key);
    const jobsBefore = jobCount(engine.file);
    const idem = `test-${randomUUID()}`;
    const first = await trigger(serve, { job_type: 'decay_sweep', dry_run: true }, { ...key, 'idempotency-key': idem });
    assert.equal(first.status, 202, first.text);
    assert.equal(first.headers['idempotent-replayed'], undefined, 'the first answer is no replay');
    const id = (first.body as JobBody).job_run_id;
    // Replays, one after another and at once, with the same body in another spelling.
    const replays = [await trigger(serve, '{"dry_run":true,"job_type":"decay_sweep"}', { ...key, 'idempotency-key': idem })];
    replays.push(...(await Promise.all(Array.from({ length: 8 }, () => trigger(serve, { job_type: 'decay_sweep', dry_run: true }, { ...key, 'idempotency-key': idem })))));
    for (const replay of replays) {
      assert.equal(replay.status, 202, replay.text);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.deepEqual(replay.body, first.body);
    }
    const rows = withDb(engine.file, (db) => db.prepare('SELECT job_run_id FROM jobs WHERE job_type = ?').all('decay_sweep') as Array<{ job_run_id: string }>);
    assert.deepEqual(rows.map((r) => r.job_run_id), [id], 'exactly one job in the engine for the key');

    for (const body of [{ job_type: 'decay_sweep' }, { job_type: 'decay_sweep', dry_run: false }, { job_type: 'metrics', dry_run: true }]) {
      const conflict = await trigger(serve, body, { ...key, 'idempotency-key': idem }, 'idempotency-conflict');
      assert.equal(conflict.status, 422, `${JSON.stringify(body)}: ${conflict.text}`);
    }
    assert.equal(jobCount(engine.file), jobsBefore + 1, 'a conflict creates no job');
    const still = await trigger(serve, { job_type: 'decay_sweep', dry_run: true }, { ...key, 'idempotency-key': idem });
    assert.equal((still.body as JobBody).job_run_id, id, 'after a conflict the key still replays its job');

    // An omitted dry_run is dry_run: false, the same request.
    const idem2 = `test-${randomUUID()}`;
    const a = await trigger(serve, { job_type: 'metrics' }, { ...key, 'idempotency-key': idem2 });
    const b = await trigger(serve, { job_type: 'metrics', dry_run: false }, { ...key, 'idempotency-key': idem2 });
    assert.equal((b.body as JobBody).job_run_id, (a.body as JobBody).job_run_id);

    // The same Idempotency-Key from another workspace is another request.
    const theirs = await trigger(serve, { job_type: 'decay_sweep', dry_run: true }, { ...auth(other.key), 'idempotency-key': idem });
    assert.equal(theirs.status, 202);
    assert.equal(theirs.headers['idempotent-replayed'], undefined);
    assert.notEqual((theirs.body as JobBody).job_run_id, id);
    assert.equal((theirs.body as JobBody).workspace_id, 2);
    // Without the header, every trigger is a new job.
    const plain = await Promise.all([trigger(serve, { job_type: 'metrics', dry_run: true }, key), trigger(serve, { job_type: 'metrics', dry_run: true }, key)]);
    assert.notEqual((plain[0].body as JobBody).job_run_id, (plain[1].body as JobBody).job_run_id);

    // A refused request never consumes or replays a key.
    const idem3 = `test-${randomUUID()}`;
    assert.equal((await trigger(serve, { job_type: 'metrics' }, { ...auth(readOnly.key), 'idempotency-key': idem3 })).status, 403);
    const fresh = await trigger(serve, { job_type: 'metrics' }, { ...key, 'idempotency-key': idem3 });
    assert.equal(fresh.status, 202);
    assert.equal(fresh.headers['idempotent-replayed'], undefined);

    const stopped = await serve.stop('SIGINT');
    assert.deepEqual(stopped, { code: 0, signal: null }, 'SIGINT stops serve cleanly too');
    assert.match(serve.stderr(), /shutting down/);
  });
});

describe('serve: shutdown and restart', () => {
  test('SIGTERM mid-consolidation, the worker killed -9 too: a restarted serve re-claims the job, which completes', async () => {
    const engine = newEngine();
    // What an uninterrupted run reports on the same data, computed alongside.
    const baselineEngine = newEngine();
    const baseline = importDemo(baselineEngine).then(() => localConsolidationCounts(baselineEngine));
    await importDemo(engine);
    const key = await createKey(engine, { write: true });
    const lease = { NEX_COMPOUND_LEASE_MS: '1000' };
    const first = await startServe({ ...engine.env, ...lease, NEX_COMPOUND_JOB_SLOWDOWN_MS: '150' });
    const accepted = await trigger(first, { job_type: 'consolidation' }, auth(key.key));
    assert.equal(accepted.status, 202, accepted.text);
    const id = (accepted.body as JobBody).job_run_id;
    const insightsBefore = withDb(engine.file, (db) => db.prepare('SELECT * FROM insights ORDER BY id').all());

    let workerPid: number | undefined;
    const deadline = Date.now() + 15_000;
    const watcher = openDatabaseWith(Sqlite, engine.file, { create: false });
    try {
      const jobRow = watcher.prepare('SELECT status, stage FROM jobs WHERE job_run_id = ?');
      const workerRow = watcher.prepare('SELECT pid FROM workers');
      while (!workerPid) {
        const seen = { job: jobRow.get(id) as { status: string; stage: string | null }, worker: workerRow.get() as { pid: number } | undefined };
        if (seen.job.status === 'running' && /^(finding candidates|comparing candidates|clustering)\b/.test(seen.job.stage ?? '') && seen.worker) workerPid = seen.worker.pid;
        else {
          assert.notEqual(seen.job.status, 'completed', 'the slowed job finished before it could be interrupted');
          assert.ok(Date.now() < deadline, `the job never reached the middle: ${JSON.stringify(seen)}`);
          await sleep(25);
        }
      }
    } finally {
      watcher.close();
    }
    const running = await getJobStatus(first, id, auth(key.key));
    assert.equal((running.body as JobBody).status, 'running');

    // An idle keep-alive connection must not hold the shutdown up.
    const keepAlive = new http.Agent({ keepAlive: true });
    const health = await request(first.port, '/healthz', { agent: keepAlive });
    assert.equal(health.status, 200);
    const t0 = Date.now();
    const stopped = await first.stop('SIGTERM');
    keepAlive.destroy();
    assert.deepEqual(stopped, { code: 0, signal: null }, first.stderr());
    assert.ok(Date.now() - t0 < 5_000, `serve took ${Date.now() - t0} ms to stop`);
    assert.match(first.stderr(), /shutting down/);
    assert.ok(isAlive(workerPid), 'the job stays with the worker when serve stops');
    await assert.rejects(request(first.port, '/healthz'), 'the port is closed');

    process.kill(workerPid, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(workerPid); i++) await sleep(20);
    const mid = withDb(engine.file, (db) => ({
      job: db.prepare('SELECT status, attempts FROM jobs WHERE job_run_id = ?').get(id),
      insights: db.prepare('SELECT * FROM insights ORDER BY id').all(),
    }));
    assert.deepEqual(mid.job, { status: 'running', attempts: 1 });
    assert.deepEqual(mid.insights, insightsBefore, 'the killed run merged nothing');

    const second = await startServe({ ...engine.env, ...lease });
    const final = await pollUntilDone(second, id, key.key);
    assert.equal(final.status, 'completed', JSON.stringify(final));
    assert.equal(final.attempts, 2, 're-claimed once its lease expired');
    assert.deepEqual(counts(final), await baseline, 'the re-claimed run reports what an uninterrupted one does');
    const merged = withDb(engine.file, (db) => ({
      merged: (db.prepare(`SELECT count(*) AS n FROM insights WHERE status = 'merged'`).get() as { n: number }).n,
      logged: (db.prepare(`SELECT count(*) AS n FROM insight_changes WHERE job_run_id = ? AND role = 'merged'`).get(id) as { n: number }).n,
      jobs: (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n,
    }));
    assert.equal(merged.merged, merged.logged, 'each merge applied once');
    assert.equal(merged.jobs, 1);
    assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null });
  });
});

describe('keys', () => {
  test('keys are shown once: never by keys list (text or JSON), never stored in clear, never in the config', async () => {
    const engine = newEngine();
    const made = await Promise.all([createKey(engine, { write: true }), createKey(engine, { workspace: 3 })]);
    const text = await runBin(['keys', 'create', '--scope', 'record.write'], { env: engine.env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^nxk_[A-Za-z0-9_-]{40,}\n$/, 'the key alone on stdout');
    const textKey = text.stdout.trim();
    secrets.add(textKey);
    assert.ok(!text.stderr.includes(textKey), 'the advice on stderr does not repeat the key');
    const keys = [...made.map((k) => k.key), textKey];
    assert.equal(new Set(keys).size, 3);
    const revoke = await runBin(['keys', 'revoke', made[1]!.key_id], { env: engine.env });
    assert.equal(revoke.code, 0, revoke.stderr);

    const [list, listJson] = await Promise.all([runBin(['keys', 'list'], { env: engine.env }), runBin(['keys', 'list', '--json'], { env: engine.env })]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(listJson.code, 0, listJson.stderr);
    const listed = JSON.parse(listJson.stdout) as Array<Record<string, unknown>>;
    assert.equal(listed.length, 3);
    for (const { key_id } of made) assert.ok(listed.some((k) => k.key_id === key_id), key_id);
    for (const entry of listed) assert.equal('key' in entry, false);
    assert.ok(listed.find((k) => k.key_id === made[1]!.key_id)!.revoked_at, 'the revoked key is shown revoked');
    for (const output of [list.stdout, list.stderr, listJson.stdout, listJson.stderr, revoke.stdout, revoke.stderr]) {
      assert.doesNotMatch(output, /nxk_/);
      for (const key of keys) {
        assert.ok(!output.includes(key));
        assert.ok(!output.includes(createHash('sha256').update(key).digest('hex')), 'nor its hash');
      }
    }
    for (const id of made.map((k) => k.key_id)) assert.match(list.stdout, new RegExp(id));

    // The key lives only in the engine database, hashed; the config is not involved.
    assert.deepEqual(filesUnder(engine.env.NEX_COMPOUND_CONFIG_DIR!), [], 'keys write nothing to the config directory');
    const stored = filesUnder(engine.dir);
    assert.ok(stored.some((f) => f === engine.file));
    for (const file of stored) {
      const bytes = readFileSync(file);
      for (const key of keys) assert.ok(!bytes.includes(key), `${path.basename(file)} holds a key in clear`);
      assert.ok(!bytes.includes('nxk_'), `${path.basename(file)} holds a key prefix`);
    }
    assert.equal(statSync(engine.file).mode & 0o777, 0o600);

    const bad = await runBin(['keys', 'revoke', 'nxk_not-an-id'], { env: engine.env });
    assert.equal(bad.code, 2);
    assert.equal((await runBin(['keys', 'revoke', 'key_000000000000'], { env: engine.env })).code, 4);
  });
});

describe('serve binds loopback only', () => {
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  test('by default another interface of this machine is refused; 127.0.0.1 answers', { skip: external ? false : 'this machine has no non-loopback IPv4 address' }, async () => {
    const engine = newEngine();
    const serve = await startServe(engine.env);
    try {
      const connect = (host: string) =>
        new Promise<string>((resolve) => {
          const socket = net.connect({ host, port: serve.port }, () => (socket.destroy(), resolve('connected')));
          socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        });
      assert.equal(await connect('127.0.0.1'), 'connected');
      assert.equal(await connect(external!), 'ECONNREFUSED');
    } finally {
      await serve.stop();
    }
  });
});

describe('serve refuses bad command lines', () => {
  const refused = (r: SpawnResult, what: RegExp) => {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    const errors = lines.filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, what);
    // One error line, at most followed by its hint: never a stack trace.
    assert.ok(lines.length <= 2 && lines.slice(1).every((l) => l.startsWith('hint:')), r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at |Error:|node:internal/);
  };

  test('--host 0.0.0.0 (or ::) without --allow-remote, and --port 99999, exit 2 before touching the database', async () => {
    const engine = newEngine();
    const runs = await Promise.all([
      runBin(['serve', '--host', '0.0.0.0'], { env: engine.env }),
      runBin(['serve', '--host', '::', '--port', '0'], { env: engine.env }),
      runBin(['serve', '--port', '99999'], { env: engine.env }),
      runBin(['serve', '--port', '-1'], { env: engine.env }),
      runBin(['serve', '--port', 'http'], { env: engine.env }),
    ]);
    refused(runs[0]!, /0\.0\.0\.0/);
    refused(runs[1]!, /::/);
    for (const r of runs.slice(2)) refused(r, /--port/);
    assert.equal(existsSync(engine.file), false, 'no database was created for a refused serve');
  });

  test('a port that is not a plain number is refused, not read as another port', async () => {
    const engine = newEngine();
    const runs = await Promise.all(['', '0x10', '1e3', ' '].map((port) => runBin(['serve', '--port', port], { env: engine.env, timeoutMs: 2_500 })));
    for (const r of runs) refused(r, /--port/);
  });
});

// Checked once every test of this file has run, whatever order they ran in: every documented
// response was seen and validated, and no key ever appeared in serve's output or a worker log.
after(() => {
  for (const tag of ['trigger 202', 'trigger 400', 'trigger 401', 'trigger 403', 'status 200', 'status 401', 'status 404', 'trigger 413 (too-large)', 'trigger 422 (idempotency-conflict)', 'trigger 400 (bad-host)', 'status 400 (bad-host)']) {
    assert.ok((observed.get(tag) ?? 0) > 0, `no ${tag} response was checked: ${JSON.stringify([...observed])}`);
  }
  assert.ok(serves.length >= 4);
  assert.ok(secrets.size >= 6);
  for (const serve of serves) {
    const output = serve.stdout() + serve.stderr();
    assert.doesNotMatch(output, /nxk_/, 'serve never prints a key, valid or not');
    for (const secret of secrets) assert.ok(!output.includes(secret));
  }
  for (const engine of engines) {
    const log = `${engine.file}.worker.log`;
    if (existsSync(log)) assert.doesNotMatch(readFileSync(log, 'utf8'), /nxk_/);
  }
});
