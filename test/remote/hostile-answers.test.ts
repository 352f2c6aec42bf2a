/**
 * Issue 20, item 5: answers the CLI misclassifies today — an HTML page (a website, not the API)
 * taken for "job not found", TLS spoken to a plain http port, an unresolvable host, an interim
 * 100 Continue, resume hints that would reach another backend, serve's 401/403 sent to the Nex web
 * UI, a failed job's reason missing from `status --exit-status`, and Ctrl-C of a local --wait.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import {
  assertRun,
  cleanEnv,
  FAST,
  JOB_A,
  randomKey,
  remote,
  replyHtml,
  replyJson,
  runTimed,
  serverPool,
  startPlainHttpServer,
} from '../helpers/hostile-server.js';
import { BIN } from '../helpers/cli.js';

const { serve, track } = serverPool();


const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const running = (id: string) => ({ job_run_id: id, job_type: 'metrics', status: 'running', dry_run: false, insights_scanned: 1 });
const accepted = (id: string) => ({ success: true, job_run_id: id, job_type: 'metrics', workspace_id: 1, dry_run: false });

describe('5a. an HTML page instead of the API: exit 6 "not the Nex API" naming the host, never 4 or "job … not found"', { concurrency: 5 }, () => {
  for (const status of [404, 501, 200, 500, 502]) {
    test(`HTML ${status} to \`status <id>\` → exit 6`, async () => {
      const key = randomKey();
      const server = await serve((_req, socket) => replyHtml(socket, status, `<!DOCTYPE html><html><head><title>${status === 404 ? 'Not Found' : 'Welcome'}</title></head><body><h1>It works</h1></body></html>`));
      const r = await runTimed(['status', JOB_A, '--retries', '0', ...remote(server)], cleanEnv({ NEX_API_KEY: key }), FAST);
      assert.notEqual(r.code, 4, `an HTML ${status} page is not "job not found": ${r.stderr}`);
      assertRun(r, { code: 6, maxMs: 5000, keys: [key] });
      assert.match(r.stderr, /not the Nex API/);
      assert.ok(r.stderr.includes(`127.0.0.1:${server.port}`), `stderr names the host: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /job \S+ not found/);
    });
  }
});

describe('5b. https:// to a plain http port: exit 6 "does not speak TLS", suggesting http://, no OpenSSL jargon', { concurrency: 2 }, () => {
  for (const argv of [
    ['status', JOB_A, '--retries', '0'],
    ['trigger', 'metrics', '--retries', '0'],
  ]) {
    test(`\`${argv.slice(0, 2).join(' ')}\` → exit 6`, async () => {
      const plain = await startPlainHttpServer();
      track(plain);
      const key = randomKey();
      const r = await runTimed([...argv, '--remote', '--base-url', `https://127.0.0.1:${plain.port}`], cleanEnv({ NEX_API_KEY: key }), FAST);
      assertRun(r, { code: 6, maxMs: 5000, keys: [key] });
      assert.ok(plain.tlsHellos() >= 1, 'a TLS ClientHello reached the plain server');
      assert.match(r.stderr, /does not speak TLS/);
      assert.match(r.stderr, /http:\/\//);
      assert.doesNotMatch(r.stderr, /ssl3_get_record|wrong version number/i);
    });
  }
});

describe('5c. a host that does not resolve: exit 6 "cannot resolve <host>" within 15 s', { concurrency: 2 }, () => {
  const cases = [
    { name: 'https://no-such-host.invalid/', argv: ['--base-url', 'https://no-such-host.invalid/'] },
    // Plain http to another host is refused (exit 2) unless allowed: allowed here, so DNS is what fails.
    { name: 'http://no-such-host.invalid/ with --allow-insecure-http', argv: ['--base-url', 'http://no-such-host.invalid/', '--allow-insecure-http'] },
  ];
  for (const c of cases) {
    test(`\`status <id>\` (default retries) at ${c.name} → exit 6`, async () => {
      const key = randomKey();
      const r = await runTimed(['status', JOB_A, '--remote', ...c.argv], cleanEnv({ NEX_API_KEY: key }), { killAfterMs: 20_000 });
      assertRun(r, { code: 6, maxMs: 15_000, keys: [key] });
      assert.match(r.stderr, /cannot resolve/);
      assert.match(r.stderr, /no-such-host\.invalid/);
    });
  }
});

describe('5d. an interim "100 Continue" before the answer is skipped', { concurrency: 2 }, () => {
  test('100 Continue, then 200 completed → `status <id>` exit 0 with the status printed', async () => {
    const key = randomKey();
    const server = await serve((_req, socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      replyJson(socket, 200, { ...running(JOB_A), status: 'completed', insights_affected: 0, candidates_created: 0, errors: 0 });
    });
    const r = await runTimed(['status', JOB_A, '--retries', '0', ...remote(server)], cleanEnv({ NEX_API_KEY: key }), FAST);
    assertRun(r, { code: 0, maxMs: 5000, keys: [key] });
    assert.match(r.stdout, /completed/);
    assert.ok(r.stdout.includes(JOB_A));
  });

  test('100 Continue, then 202 → `trigger metrics --retries 0` exit 0 with the job printed', async () => {
    const key = randomKey();
    const server = await serve((_req, socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      replyJson(socket, 202, accepted(JOB_A));
    });
    const r = await runTimed(['trigger', 'metrics', '--retries', '0', ...remote(server)], cleanEnv({ NEX_API_KEY: key }), FAST);
    assertRun(r, { code: 0, maxMs: 5000, keys: [key] });
    assert.ok(r.stdout.includes(JOB_A));
  });
});

/** The line of stderr holding the resume command. */
function resumeLine(stderr: string): string {
  const line = stderr.split('\n').find((l) => /nex-compound watch /.test(l));
  assert.ok(line, `a resume command is printed: ${stderr}`);
  return line;
}

describe('5e. a resume hint reaches the same backend: --remote/--base-url/--profile, or --local/--db', { concurrency: 4 }, () => {
  const remoteCases = [
    { name: '`watch <id> --remote --base-url U`', argv: ['watch', JOB_A], profile: undefined },
    { name: '`watch <id> --remote --base-url U --profile ci`', argv: ['watch', JOB_A], profile: 'ci' },
    { name: '`trigger metrics --wait --remote --base-url U --profile ci`', argv: ['trigger', 'metrics', '--wait'], profile: 'ci' },
  ];
  for (const c of remoteCases) {
    test(`${c.name}, deadline → exit 5, the resume command carries the flags`, async () => {
      const key = randomKey();
      const server = await serve((req, socket) => (req.method === 'POST' ? replyJson(socket, 202, accepted(JOB_A)) : replyJson(socket, 200, running(JOB_A))));
      const argv = [...c.argv, '--timeout', '1s', '--interval', '200ms', ...remote(server), ...(c.profile ? ['--profile', c.profile] : [])];
      const r = await runTimed(argv, cleanEnv({ NEX_API_KEY: key }), FAST);
      assertRun(r, { code: 5, maxMs: 6000, keys: [key] });
      const line = resumeLine(r.stderr);
      assert.ok(line.includes(JOB_A), `the resume command names the job: ${line}`);
      assert.match(line, /(^|\s)--remote(\s|$)/, `--remote in: ${line}`);
      assert.match(line, new RegExp(`--base-url[ =]['"]?${escapeRe(server.url)}/?['"]?(\\s|$|\\))`), `--base-url ${server.url} in: ${line}`);
      if (c.profile) assert.match(line, new RegExp(`--profile[ =]['"]?${c.profile}['"]?(\\s|$|\\))`), `--profile ${c.profile} in: ${line}`);
    });
  }

  test('`trigger decay_sweep --local --db X --wait --timeout 300ms` (a slowed job) → exit 5, the resume command carries --local and --db X', async () => {
    // A metrics job on an empty store can end before the first poll (then 0 is the true outcome);
    // a decay_sweep whose progress reports each block 1.5 s cannot.
    const env = cleanEnv({ NEX_API_KEY: randomKey(), NEX_COMPOUND_JOB_SLOWDOWN_MS: '1500' });
    const db = path.join(path.dirname(env.HOME!), 'resume.db');
    const r = await runTimed(['trigger', 'decay_sweep', '--local', '--db', db, '--wait', '--timeout', '300ms'], env, FAST);
    assertRun(r, { code: 5, maxMs: 8000, keys: [env.NEX_API_KEY] });
    const line = resumeLine(r.stderr);
    assert.match(line, /(^|\s)--local(\s|$)/, `--local in: ${line}`);
    assert.match(line, new RegExp(`--db[ =]['"]?${escapeRe(db)}['"]?(\\s|$|\\))`), `--db ${db} in: ${line}`);
  });
});

describe('5f. 401 and 403 from a local `nex-compound serve`: exit 3, the hint names `nex-compound keys create`, not the Nex web UI', () => {
  let child: ChildProcess | undefined;
  let url = '';
  let readOnlyKey = '';
  let serveEnv: Record<string, string> = {};
  let db = '';
  let problem: string | undefined;

  before(async () => {
    serveEnv = cleanEnv();
    db = path.join(path.dirname(serveEnv.HOME!), 'serve.db');
    const created = await runTimed(['keys', 'create', '--db', db, '--json'], serveEnv, { killAfterMs: 15_000 });
    if (created.code !== 0) {
      problem = `keys create failed (exit ${created.code}): ${created.stderr}`;
      return;
    }
    readOnlyKey = (JSON.parse(created.stdout) as { key: string }).key;
    const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--db', db], { env: serveEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    url = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve(''), 10_000);
      const check = () => {
        if (!stdout.includes('\n') || !/^ready:/m.test(stderr)) return;
        clearTimeout(timer);
        resolve(stdout.split('\n')[0]!.trim());
      };
      proc.stdout!.on('data', check);
      proc.stderr!.on('data', check);
      proc.once('close', () => resolve(''));
    });
    if (!url) problem = `serve printed no URL within 10 s; stderr: ${stderr}`;
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((r) => child!.once('close', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(timer);
    }
  });

  test('a wrong key: `status <id>` → 401 → exit 3', async () => {
    assert.equal(problem, undefined, "serve and a key are set up");
    const key = `nxk_${randomKey()}`;
    const r = await runTimed(['status', JOB_A, '--retries', '0', '--remote', '--base-url', url], cleanEnv({ NEX_API_KEY: key }), FAST);
    assertRun(r, { code: 3, maxMs: 5000, keys: [key] });
    assert.match(r.stderr, /401/);
    assert.match(r.stderr, /nex-compound keys create/);
    assert.doesNotMatch(r.stderr, /web UI/);
  });

  test('a key without record.write: `trigger metrics` → 403 → exit 3', async () => {
    assert.equal(problem, undefined, "serve and a key are set up");
    const r = await runTimed(['trigger', 'metrics', '--retries', '0', '--remote', '--base-url', url], cleanEnv({ NEX_API_KEY: readOnlyKey }), FAST);
    assertRun(r, { code: 3, maxMs: 5000, keys: [readOnlyKey] });
    assert.match(r.stderr, /403/);
    assert.match(r.stderr, /nex-compound keys create/);
    assert.doesNotMatch(r.stderr, /web UI/);
  });
});

describe('5g. `status <id> --exit-status` on a failed job: exit 1 with the job\'s reason', () => {
  test('error_details.message "disk quota exceeded" → exit 1, stderr says it', async () => {
    const key = randomKey();
    const server = await serve((_req, socket) => replyJson(socket, 200, { ...running(JOB_A), status: 'failed', error_details: { message: 'disk quota exceeded' } }));
    const r = await runTimed(['status', JOB_A, '--exit-status', '--retries', '0', ...remote(server)], cleanEnv({ NEX_API_KEY: key }), FAST);
    assertRun(r, { code: 1, maxMs: 5000, keys: [key] });
    assert.match(r.stderr, /disk quota exceeded/);
  });
});

describe('5h. Ctrl-C of a local `trigger --wait`: exit 130, the last state and a --local resume command, no "on the server"', () => {
  // A local metrics job reports no progress, so NEX_COMPOUND_JOB_SLOWDOWN_MS cannot slow it (it ends in
  // ~100 ms); decay_sweep reports progress twice, so each report blocks 1.5 s and the job runs ≥ 3 s.
  test('SIGINT while a slowed local decay_sweep job runs → exit 130', async () => {
    const key = randomKey();
    const env = cleanEnv({ NEX_API_KEY: key, NEX_COMPOUND_JOB_SLOWDOWN_MS: '1500' });
    const db = path.join(path.dirname(env.HOME!), 'local.db');
    let signalled = false;
    let sentAt = 0;
    const r = await runTimed(['trigger', 'decay_sweep', '--local', '--db', db, '--wait', '--timeout', '60s', '--interval', '100ms'], env, {
      killAfterMs: 15_000,
      onSpawn: (child) => {
        let stderr = '';
        child.stderr!.on('data', (d: Buffer | string) => {
          stderr += d.toString();
          if (!signalled && /accepted decay_sweep job/.test(stderr)) {
            signalled = true;
            setTimeout(() => {
              sentAt = Date.now();
              child.kill('SIGINT');
            }, 600);
          }
        });
      },
    });
    assert.ok(signalled, `the job was accepted before SIGINT: ${r.stderr}`);
    assertRun(r, { code: 130, maxMs: 14_000, keys: [key] });
    assert.ok(sentAt > 0 && Date.now() - sentAt < 3000, `exited within 3 s of SIGINT (took ${Date.now() - sentAt} ms)`);
    const lines = r.stderr.split('\n');
    const from = lines.findIndex((l) => /interrupted/i.test(l));
    assert.ok(from !== -1, `stderr says interrupted: ${r.stderr}`);
    const tail = lines.slice(from).join('\n');
    // "keeps running on the server" is not a state; the job's own last state must be named.
    assert.ok(/\b(accepted|running)\b/.test(tail.replace(/keeps running/g, '')), `the interruption message on stderr shows the last state: ${tail}`);
    const line = resumeLine(tail);
    assert.match(line, /(^|\s)--local(\s|$)/, `--local in: ${line}`);
    assert.match(line, new RegExp(`--db[ =]['"]?${escapeRe(db)}['"]?(\\s|$|\\))`), `--db in: ${line}`);
    assert.doesNotMatch(r.stderr, /on the server/);
  });
});
