/**
 * Issue 20, item 2: a server that trickles its answer one byte a second, or accepts and never
 * answers. NEX_COMPOUND_REQUEST_TIMEOUT (here 3s) is the one overall deadline of a request —
 * connect, headers and the whole body — so a trickle cannot keep a request alive forever, and a
 * watch ends within its --timeout plus at most one request deadline.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  assertRun,
  cleanEnv,
  JOB_A,
  randomKey,
  remote,
  replyJson,
  runTimed,
  serverPool,
  stall,
  trickle,
  type Responder,
} from '../helpers/hostile-server.js';

const { serve } = serverPool();


const REQUEST_TIMEOUT = '3s';
const env = (key: string) => cleanEnv({ NEX_API_KEY: key, NEX_COMPOUND_REQUEST_TIMEOUT: REQUEST_TIMEOUT });

/** A status body of a running job, padded so that trickling it takes minutes. */
function runningBody(id: string): string {
  return JSON.stringify({ job_run_id: id, job_type: 'metrics', status: 'running', dry_run: false, insights_scanned: 1, note: 'p'.repeat(400) });
}

const trickled: Responder = (req, socket) => trickle(socket, 200, runningBody(req.path.split('/').pop() ?? JOB_A), 1000);
const trickledHead: Responder = (req, socket) => trickle(socket, 200, runningBody(req.path.split('/').pop() ?? JOB_A), 1000, { headToo: true });
const silent: Responder = () => stall();

/** Triggers answer at once; statuses go to `statuses`. */
function triggerThen(statuses: Responder, jobId: string): Responder {
  return (req, socket) => {
    if (req.method === 'POST') return replyJson(socket, 202, { success: true, job_run_id: jobId, job_type: 'metrics', workspace_id: 1, dry_run: false });
    return statuses(req, socket);
  };
}

const HANGS: Array<{ name: string; respond: Responder }> = [
  { name: 'a status body trickled at 1 byte/s', respond: trickled },
  { name: 'status headers and body trickled at 1 byte/s', respond: trickledHead },
  { name: 'a server that accepts and never answers', respond: silent },
];

describe('2. hangs: a request ends within NEX_COMPOUND_REQUEST_TIMEOUT=3s, a watch within --timeout + one request deadline', { concurrency: 4 }, () => {
  for (const hang of HANGS) {
    test(`${hang.name}: \`status <id> --retries 0\` → exit 6 within 10 s`, async () => {
      const key = randomKey();
      const server = await serve(hang.respond);
      const r = await runTimed(['status', JOB_A, '--retries', '0', ...remote(server)], env(key), { killAfterMs: 11_000 });
      assertRun(r, { code: 6, maxMs: 10_000, keys: [key] });
      assert.equal(server.requests.length, 1, 'one request, no retry');
    });

    test(`${hang.name}: \`trigger metrics --wait --timeout 4s\` (trigger answered) → exit 5 within 15 s`, async () => {
      const key = randomKey();
      const id = randomUUID();
      const server = await serve(triggerThen(hang.respond, id));
      const r = await runTimed(['trigger', 'metrics', '--wait', '--timeout', '4s', '--interval', '100ms', ...remote(server)], env(key), { killAfterMs: 16_000 });
      assertRun(r, { code: 5, maxMs: 15_000, keys: [key] });
      assert.ok(server.requests.some((q) => q.method === 'GET'), 'it polled');
      assert.match(r.stderr, new RegExp(id), 'the deadline message names the job');
    });
  }

  test('a status body trickled at 1 byte/s: `watch <id> --timeout 4s` → exit 5 within 15 s', async () => {
    const key = randomKey();
    const server = await serve(trickled);
    const r = await runTimed(['watch', JOB_A, '--timeout', '4s', '--interval', '100ms', ...remote(server)], env(key), { killAfterMs: 16_000 });
    assertRun(r, { code: 5, maxMs: 15_000, keys: [key] });
  });

  test('a trigger that is never answered: `trigger metrics --retries 0` → exit 7 (outcome unknown, key printed) within 10 s', async () => {
    const key = randomKey();
    const server = await serve(silent);
    const r = await runTimed(['trigger', 'metrics', '--retries', '0', ...remote(server)], env(key), { killAfterMs: 11_000 });
    assertRun(r, { code: 7, maxMs: 10_000, keys: [key] });
    const sent = server.requests[0]?.headers['idempotency-key'];
    assert.ok(sent, 'the trigger carried an Idempotency-Key');
    assert.ok(r.stderr.includes(sent), `stderr prints the Idempotency-Key ${sent}`);
  });
});
