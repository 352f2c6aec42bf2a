/**
 * Issue 20, item 3: answers that could make the CLI report a false outcome — another job's
 * status, an HTML 202, a key no HTTP header can carry, a proxy refusing CONNECT, Ctrl-C during a
 * request, and a base URL given without any key (which must never fall back to the local engine).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  assertRun,
  cleanEnv,
  FAST,
  JOB_A,
  JOB_B,
  randomKey,
  remote,
  replyHtml,
  replyJson,
  runTimed,
  serverPool,
  stall,
  startRefusingProxy,
  type HostileServer,
  type Responder,
} from '../helpers/hostile-server.js';

const { serve, track } = serverPool();


const errorLines = (stderr: string) => stderr.split('\n').filter((l) => /^error:/.test(l));

describe('3a. the server answers another job\'s status: never exit 0', { concurrency: 3 }, () => {
  /** Every status read answers job B, completed — whatever job was asked for. */
  const jobB: Responder = (req, socket) => {
    if (req.method === 'POST') return replyJson(socket, 202, { success: true, job_run_id: JOB_A, job_type: 'metrics', workspace_id: 1, dry_run: false });
    replyJson(socket, 200, { job_run_id: JOB_B, job_type: 'metrics', status: 'completed', dry_run: false, insights_scanned: 10, insights_affected: 0, candidates_created: 0, errors: 0 });
  };

  test('`status A --retries 0` answered with B completed → exit 6', async () => {
    const key = randomKey();
    const server = await serve(jobB);
    const r = await runTimed(['status', JOB_A, '--retries', '0', ...remote(server)], cleanEnv({ NEX_API_KEY: key }), FAST);
    assertRun(r, { code: 6, maxMs: 5000, keys: [key] });
  });

  test('`watch A --timeout 3s` answered with B completed → exit 6 or 5, never 0', async () => {
    const key = randomKey();
    const server = await serve(jobB);
    const r = await runTimed(['watch', JOB_A, '--timeout', '3s', '--interval', '100ms', ...remote(server)], cleanEnv({ NEX_API_KEY: key }), FAST);
    assert.notEqual(r.code, 0, `watch of A reported success from B's status: ${r.stderr}`);
    assertRun(r, { code: [6, 5], maxMs: 8000, keys: [key] });
  });

  test('`trigger metrics --wait --timeout 3s` accepted as A, polled answers B completed → exit 6 or 5, never 0', async () => {
    const key = randomKey();
    const server = await serve(jobB);
    const r = await runTimed(['trigger', 'metrics', '--wait', '--timeout', '3s', '--interval', '100ms', ...remote(server)], cleanEnv({ NEX_API_KEY: key }), FAST);
    assert.notEqual(r.code, 0, `trigger --wait reported success from B's status: ${r.stderr}`);
    assertRun(r, { code: [6, 5], maxMs: 8000, keys: [key] });
  });
});

describe('3b. a 202 whose body is HTML: exit 7, and stderr prints the Idempotency-Key that was sent', () => {
  test('`trigger metrics --retries 0` → exit 7 with the sent key', async () => {
    const key = randomKey();
    const server = await serve((_req, socket) => replyHtml(socket, 202, '<!doctype html><html><head><title>Accepted</title></head><body>queued</body></html>'));
    const r = await runTimed(['trigger', 'metrics', '--retries', '0', ...remote(server)], cleanEnv({ NEX_API_KEY: key }), FAST);
    assertRun(r, { code: 7, maxMs: 5000, keys: [key] });
    const sent = server.requests[0]?.headers['idempotency-key'];
    assert.ok(sent, 'the trigger carried an Idempotency-Key');
    assert.ok(r.stderr.includes(sent), `stderr prints the Idempotency-Key ${sent}: ${r.stderr}`);
  });
});

describe('3c. a key no HTTP header can carry (newline, non-Latin-1): exit 2, one clear line, no request sent', { concurrency: 4 }, () => {
  const halves = () => [randomKey(), randomKey().replace('nexsk_live_', '')] as const;
  const cases: Array<{ name: string; argv: (server: HostileServer) => string[]; key: () => { env: Record<string, string>; flag?: string; pieces: string[] } }> = [
    {
      name: '--api-key "abc\\ndef…" on status',
      argv: (server) => ['status', JOB_A, '--retries', '0', ...remote(server)],
      key: () => {
        const [a, b] = halves();
        return { env: {}, flag: `${a}\n${b}`, pieces: [a, b] };
      },
    },
    {
      name: '--api-key "abc\\ndef…" on trigger',
      argv: (server) => ['trigger', 'metrics', '--retries', '0', ...remote(server)],
      key: () => {
        const [a, b] = halves();
        return { env: {}, flag: `${a}\n${b}`, pieces: [a, b] };
      },
    },
    {
      name: 'NEX_API_KEY="ключ-…" on status',
      argv: (server) => ['status', JOB_A, '--retries', '0', ...remote(server)],
      key: () => {
        const k = `ключ-${randomKey()}`;
        return { env: { NEX_API_KEY: k }, pieces: [k] };
      },
    },
    {
      name: 'NEX_API_KEY="ключ-…" on trigger',
      argv: (server) => ['trigger', 'metrics', '--retries', '0', ...remote(server)],
      key: () => {
        const k = `ключ-${randomKey()}`;
        return { env: { NEX_API_KEY: k }, pieces: [k] };
      },
    },
  ];
  for (const c of cases) {
    test(`${c.name} → exit 2, no request`, async () => {
      const server = await serve((_req, socket) => replyJson(socket, 500, { code: 500, message: 'should never be asked' }));
      const key = c.key();
      const argv = [...(key.flag !== undefined ? ['--api-key', key.flag] : []), ...c.argv(server)];
      const r = await runTimed(argv, cleanEnv(key.env), FAST);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assertRun(r, { code: 2, maxMs: 5000, keys: key.pieces });
      assert.equal(server.requests.length, 0, 'the server received no request');
      assert.equal(errorLines(r.stderr).length, 1, `one error line: ${r.stderr}`);
      assert.match(errorLines(r.stderr)[0]!, /key/i, 'the line says the key is the problem');
    });
  }
});

describe('3d. HTTPS_PROXY refusing CONNECT with 404: exit 6 naming the proxy, never 70 or 7', { concurrency: 3 }, () => {
  const cases: Array<{ name: string; argv: string[]; code: number; message?: RegExp }> = [
    { name: 'trigger metrics --retries 0', argv: ['trigger', 'metrics', '--retries', '0'], code: 6, message: /proxy refused CONNECT \(404\)/ },
    { name: 'status <id> --retries 0', argv: ['status', JOB_A, '--retries', '0'], code: 6, message: /proxy refused CONNECT \(404\)/ },
    { name: 'watch <id> --timeout 5s', argv: ['watch', JOB_A, '--timeout', '5s', '--interval', '100ms'], code: 6 },
  ];
  for (const c of cases) {
    test(`${c.name} → exit ${c.code}`, async () => {
      const proxy = await startRefusingProxy(404);
      track(proxy);
      const key = randomKey();
      const env = cleanEnv({ NEX_API_KEY: key, HTTPS_PROXY: proxy.url });
      const r = await runTimed([...c.argv, '--remote', '--base-url', 'https://example.invalid/'], env, FAST);
      assertRun(r, { code: c.code, maxMs: 8000, keys: [key] });
      assert.ok(proxy.targets.includes('example.invalid:443'), `the proxy got the CONNECT: ${JSON.stringify(proxy.targets)}`);
      if (c.message) assert.match(r.stderr, c.message);
    });
  }
});

describe('3e. Ctrl-C during a request: exit 130, "interrupted", never 70', () => {
  test('SIGINT during `status <id>` against a stalling server → exit 130', async () => {
    const key = randomKey();
    const server = await serve(() => stall());
    let sentAt = 0;
    const r = await runTimed(['status', JOB_A, ...remote(server)], cleanEnv({ NEX_API_KEY: key }), {
      killAfterMs: 12_000,
      onSpawn: (child) => {
        void server.waitForRequests(1, 8000).then(
          () => {
            sentAt = Date.now();
            child.kill('SIGINT');
          },
          () => undefined,
        );
      },
    });
    assert.ok(sentAt > 0, `the server saw the request and SIGINT was sent: ${r.stderr}`);
    assertRun(r, { code: 130, maxMs: 11_000, keys: [key] });
    assert.ok(Date.now() - sentAt < 3000, `exited within 3 s of SIGINT (took ${Date.now() - sentAt} ms)`);
    assert.match(r.stderr, /interrupted/i);
    assert.doesNotMatch(r.stderr, /internal error/);
  });
});

describe('3f. --base-url (or NEX_BASE_URL) with no key anywhere and no --remote: exit 3, the local engine never runs', { concurrency: 3 }, () => {
  /** Every *.db file below dir. */
  const databases = (dir: string): string[] =>
    existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.db(-wal|-shm)?$/.test(f)).map((f) => path.join(dir, f)) : [];

  const cases: Array<{ name: string; argv: string[]; env: Record<string, string> }> = [
    { name: '`status <id> --base-url https://127.0.0.1:1/`', argv: ['status', randomUUID(), '--base-url', 'https://127.0.0.1:1/'], env: {} },
    { name: '`trigger metrics --base-url https://127.0.0.1:1/`', argv: ['trigger', 'metrics', '--base-url', 'https://127.0.0.1:1/'], env: {} },
    { name: '`status <id>` with NEX_BASE_URL=https://127.0.0.1:1/ and NEX_COMPOUND_DB set', argv: ['status', randomUUID()], env: { NEX_BASE_URL: 'https://127.0.0.1:1/' } },
  ];
  for (const c of cases) {
    test(`${c.name} → exit 3, no database created`, async () => {
      const env = cleanEnv(c.env);
      const dbFile = path.join(env.XDG_DATA_HOME!, '..', 'explicit.db');
      if (c.env.NEX_BASE_URL) env.NEX_COMPOUND_DB = dbFile;
      const r = await runTimed(c.argv, env, FAST);
      assertRun(r, { code: 3, maxMs: 5000 });
      assert.deepEqual([...databases(env.XDG_DATA_HOME!), ...databases(env.HOME!)], [], 'no database under XDG_DATA_HOME or HOME');
      assert.equal(existsSync(dbFile), false, 'no database at NEX_COMPOUND_DB');
      assert.doesNotMatch(r.stderr, /local engine/, 'the local engine was never announced');
    });
  }
});
