/**
 * Fault injection for the remote client (issue 10, items 2 and 3): the built bin talks to a
 * fault proxy (test/helpers/fault-proxy.ts) in front of the fake Nex server — or in front of a
 * real `nex-compound serve` — and every fault is checked for the exit code of the README's
 * table, one `error:` line naming the problem, no stack trace, no unhandled rejection or Node
 * warning, and, for a watch, that the job's true terminal state is reached within --timeout.
 *
 * Real processes (runBin) wherever the CLI's own timeouts allow it; in-process runs (a short
 * undici timeout, or a fake clock) where a real one would wait 30 s for a header or 60 s for a
 * capped Retry-After. The faults injected and what the CLI did are printed at the end.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { startFakeNexServer, type FakeNexServer, type FakeNexServerOptions, type JobStatusBody } from '../helpers/fake-nex-server.js';
import { startFaultProxy, type FaultProxy, type ProxyFault } from '../helpers/fault-proxy.js';
import { BIN, runBin, runInProcess, tempDir, testDispatcher, type InProcessOptions } from '../helpers/cli.js';

const KEY = 'test-key-123';
const TRIGGER = '/v1/compounding/trigger';
const JOBS = '/v1/compounding/jobs/';
const PASS: ProxyFault = { kind: 'pass' };
/** A connection reset shows up as ECONNRESET, or as undici's "other side closed" when the FIN wins the race. */
const RESET = /connection reset \(ECONNRESET\)|connection closed by the server \(UND_ERR_SOCKET\)/;
const RESET_SRC = RESET.source;

// ---------------------------------------------------------------------------------------------
// Bookkeeping: every proxy (for the faults-injected figure), what the CLI did per fault, and
// anything unhandled in this process (in-process runs share it).

const proxies: FaultProxy[] = [];
const observations: Array<{ fault: string; command: string; code: number | null; line: string; ms: number }> = [];
const unhandled: unknown[] = [];
const nodeWarnings: Error[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const onWarning = (warning: Error) => nodeWarnings.push(warning);
process.on('unhandledRejection', onUnhandled);
process.on('warning', onWarning);
const fileStarted = Date.now();

after(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('warning', onWarning);
  const total = proxies.reduce((sum, p) => sum + p.faultsInjected(), 0);
  const width = Math.max(...observations.map((o) => o.fault.length));
  const lines = observations
    .sort((a, b) => a.fault.localeCompare(b.fault) || a.command.localeCompare(b.command))
    .map((o) => `  ${o.fault.padEnd(width)}  ${o.command.padEnd(8)} exit ${String(o.code).padStart(2)}  ${String(o.ms).padStart(5)} ms  ${o.line}`);
  console.log(`fault injection: what the CLI did\n${lines.join('\n')}`);
  console.log(`faults injected: ${total} (through ${proxies.length} proxies, ${observations.length} CLI runs observed, ${((Date.now() - fileStarted) / 1000).toFixed(1)} s)`);
  assert.deepEqual(unhandled, [], 'no unhandled rejection in the test process (in-process runs)');
  assert.deepEqual(nodeWarnings.map(String), [], 'no process warning in the test process');
});

// ---------------------------------------------------------------------------------------------
// Rigs and runs

interface Rig {
  fake: FakeNexServer;
  proxy: FaultProxy;
  env: Record<string, string>;
}

/** A fake Nex server with a fault proxy in front, for one test; closed afterwards. */
async function withRig<T>(fn: (rig: Rig) => Promise<T>, options: FakeNexServerOptions = {}): Promise<T> {
  const fake = await startFakeNexServer(options);
  const proxy = await startFaultProxy(fake.url);
  proxies.push(proxy);
  try {
    return await fn({ fake, proxy, env: cliEnv(proxy) });
  } finally {
    await proxy.close();
    await fake.close();
  }
}

function cliEnv(proxy: FaultProxy, key = KEY): Record<string, string> {
  const dir = tempDir('nex-compound-faults-');
  return {
    NEX_API_KEY: key,
    NEX_BASE_URL: proxy.url,
    NO_COLOR: '1',
    NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config'),
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    XDG_DATA_HOME: path.join(dir, 'data'),
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** When it ended (ms since the epoch), to compare with the proxy's request times. */
  endedAt: number;
  /** In-process runs: every sleep the CLI asked for. */
  sleeps?: number[];
}

async function bin(env: Record<string, string>, argv: string[], timeoutMs = 30_000): Promise<Run> {
  const started = Date.now();
  const r = await runBin(argv, { env, timeoutMs });
  assert.equal(r.signal, null, `${argv.join(' ')}: killed after ${timeoutMs} ms (a hang); stderr:\n${r.stderr}`);
  const endedAt = Date.now();
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, ms: endedAt - started, endedAt };
}

async function inProcess(proxy: FaultProxy, argv: string[], options: InProcessOptions = {}): Promise<Run> {
  const started = Date.now();
  const r = await runInProcess(argv, { ...options, env: { NEX_API_KEY: KEY, NEX_BASE_URL: proxy.url, XDG_DATA_HOME: tempDir('nex-compound-faults-data-'), ...options.env } });
  const endedAt = Date.now();
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, ms: endedAt - started, endedAt, sleeps: r.sleeps };
}

/**
 * The run's exit code; exactly one `error:` line (none on success) naming the problem; no stack
 * trace, no Node-internal frame, no unhandled rejection or process warning; stdout free of them too.
 */
function assertOutcome(r: Run, code: number, error?: RegExp, record?: { fault: string; command: string }): void {
  const dump = `exit ${r.code} after ${r.ms} ms\n--- stderr\n${r.stderr}--- stdout\n${r.stdout.slice(0, 1500)}`;
  assert.equal(r.code, code, dump);
  const all = r.stdout + r.stderr;
  assert.doesNotMatch(all, /^\s+at .+[(:]\d+/m, `no stack trace\n${dump}`);
  assert.doesNotMatch(all, /node:internal|\(node:\d+\)|UnhandledPromiseRejection|Uncaught|\bWarning:|internal error/, `no Node internals, warnings or unhandled rejections\n${dump}`);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  if (code === 0) assert.deepEqual(errors, [], dump);
  else {
    assert.equal(errors.length, 1, `exactly one error line\n${dump}`);
    if (error) assert.match(errors[0]!, error, dump);
  }
  if (record) observations.push({ ...record, code: r.code, ms: r.ms, line: errors[0] ?? firstWarning(r.stderr) ?? '(no message)' });
}

function firstWarning(stderr: string): string | undefined {
  return stderr.split('\n').find((l) => l.startsWith('warning:'));
}

function warnings(r: Run): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
}

function printedKey(r: Run): string {
  const fromHint = /--idempotency-key ([0-9a-f-]{36})/.exec(r.stderr)?.[1];
  const fromMessage = /Idempotency-Key ([0-9a-f-]{36})/.exec(r.stderr)?.[1];
  assert.ok(fromHint, `the resend command with --idempotency-key is printed:\n${r.stderr}`);
  assert.equal(fromMessage, fromHint, 'the message and the hint name the same key');
  return fromHint;
}

function posts(proxy: FaultProxy) {
  return proxy.requests.filter((q) => q.method === 'POST' && q.path === TRIGGER);
}

const running = (n: number): Partial<JobStatusBody> => ({ status: 'running', insights_scanned: n });
const COMPLETES: Array<Partial<JobStatusBody>> = [
  { status: 'accepted' },
  running(5),
  running(10),
  { status: 'completed', insights_scanned: 20, insights_affected: 4, candidates_created: 1, errors: 0 },
];
const FAILS: Array<Partial<JobStatusBody>> = [
  { status: 'accepted' },
  running(5),
  running(10),
  { status: 'failed', insights_scanned: 10, errors: 1, error_details: { message: 'embedding service timed out' } },
];

/** Each transient fault, as it shows up in the CLI's warning. */
interface TransientCase {
  name: string;
  fault: ProxyFault;
  /** The warning it causes; undefined for faults that only slow an answer down. */
  warning?: RegExp;
}

const httpDateIn = (ms: number) => () => new Date(Date.now() + ms).toUTCString();

const TRANSIENT: TransientCase[] = [
  { name: 'latency 300ms', fault: { kind: 'latency', ms: 300 } },
  { name: 'reset before forwarding', fault: { kind: 'reset-before' }, warning: RESET },
  { name: 'reset after upstream answered', fault: { kind: 'reset-after' }, warning: RESET },
  { name: 'reset mid-body', fault: { kind: 'reset-mid-body' }, warning: RESET },
  { name: 'truncated body', fault: { kind: 'truncated-body' }, warning: /response body cut short/ },
  { name: 'stalled body 400ms', fault: { kind: 'stall-body', ms: 400 } },
  { name: '500 flap', fault: { kind: 'status', status: 500 }, warning: /answered 500 Internal Server Error: Internal Server Error - injected/ },
  { name: '502 flap', fault: { kind: 'status', status: 502 }, warning: /answered 502 Bad Gateway/ },
  { name: '503 flap', fault: { kind: 'status', status: 503 }, warning: /answered 503 Service Unavailable/ },
  { name: '504 flap', fault: { kind: 'status', status: 504 }, warning: /answered 504 Gateway Timeout/ },
  { name: '429 Retry-After: 1', fault: { kind: 'rate-limit', retryAfter: '1' }, warning: /answered 429 Too Many Requests.*(polling again|retrying) in 1\.0s/ },
  { name: '429 Retry-After: HTTP-date', fault: { kind: 'rate-limit', retryAfter: httpDateIn(2000) }, warning: /answered 429 Too Many Requests/ },
  { name: 'HTML 502 (nginx)', fault: { kind: 'html', status: 502 }, warning: /502 Bad Gateway: an HTML error page \("502 Bad Gateway"\)/ },
  { name: 'HTML 503 (Cloudflare)', fault: { kind: 'html', status: 503, flavor: 'cloudflare' }, warning: /503 Service Unavailable: an HTML error page \("app\.nex\.ai \| 503: Service Unavailable"\)/ },
];

// ---------------------------------------------------------------------------------------------
// watch: faults that end it — a deadline that passes, and answers that are not the API's.
// Timing-sensitive ("exit 5 in about 2 s"), so it runs first, before the concurrent rest.

describe('watch: deadlines hold, and non-API answers end it at once', { concurrency: 4 }, () => {
  const deadlineCases: Array<{ name: string; faults: ProxyFault[]; times?: number }> = [
    { name: 'latency 30s', faults: [{ kind: 'latency', ms: 30_000 }] },
    { name: 'stalled body 30s', faults: [{ kind: 'stall-body', ms: 30_000 }] },
    { name: '429 Retry-After: 999999', faults: [{ kind: 'rate-limit', retryAfter: '999999' }] },
    { name: 'reset on every request', faults: [{ kind: 'reset-before' }], times: Infinity },
  ];
  for (const c of deadlineCases) {
    test(`${c.name} with --timeout 2s: exit 5 in about 2 s, not a hang`, () =>
      withRig(async ({ fake, proxy, env }) => {
        const id = fake.addJob([running(1), { status: 'completed' }]);
        for (const fault of c.faults) proxy.inject(fault, { method: 'GET', pathPrefix: `${JOBS}${id}`, times: c.times ?? 1 });
        const r = await bin(env, ['watch', id, '--interval', '50ms', '--timeout', '2s'], 15_000);
        assertOutcome(r, 5, /the 2s deadline passed while job [0-9a-f-]{36} was not yet seen; it may still be running/, { fault: c.name, command: 'watch' });
        assert.match(r.stderr, new RegExp(`hint: resume with: nex-compound watch ${id}`));
        // The deadline starts just before the first request: from there to the exit is about 2 s
        // (measured from the proxy's log, so a slow process start on a loaded machine does not count).
        const sinceFirstRequest = r.endedAt - proxy.requests[0]!.at;
        assert.ok(r.ms >= 1900, `not before the deadline: ${r.ms} ms`);
        assert.ok(sinceFirstRequest < 3500, `exit 5 about 2 s after the first request, took ${sinceFirstRequest} ms`);
      }),
    );
  }

  test('reset on every request, no deadline: exit 6 after the budget of 30 consecutive failed polls (fake clock)', () =>
    withRig(async ({ fake, proxy }) => {
      const id = fake.addJob([running(1)]);
      proxy.inject({ kind: 'reset-before' }, { times: Infinity });
      const r = await inProcess(proxy, ['watch', id, '--timeout', '0'], { fakeClock: true });
      assertOutcome(r, 6, new RegExp(`(${RESET_SRC}).* — gave up after 30 consecutive failed polls`), { fault: 'reset on every request', command: 'watch' });
      assert.match(r.stderr, new RegExp(`hint: the job may still be running; resume with: nex-compound watch ${id}`));
      assert.equal(proxy.requests.length, 30);
      assert.equal(warnings(r).length, 29);
      assert.equal(fake.requests.length, 0);
    }),
  );

  const endCases: Array<{ name: string; fault: ProxyFault; error: RegExp; check?: (proxy: FaultProxy) => void }> = [
    { name: 'oversized body (50 MB Content-Length)', fault: { kind: 'oversized', mode: 'content-length' }, error: /the answer from http:\/\/127\.0\.0\.1:\d+ \(200\) is larger than 1 MiB; this is not a Nex API response/ },
    { name: 'oversized body (endless stream)', fault: { kind: 'oversized', mode: 'endless' }, error: /is larger than 1 MiB/ },
    {
      name: 'redirect to another origin',
      fault: { kind: 'redirect', status: 307 },
      error: /redirected to another origin \(http:\/\/127\.0\.0\.1:\d+\); not following, so the API key is never sent there/,
      check: (proxy) => assert.deepEqual(proxy.otherOrigin.requests, [], 'the other origin never saw a request (nor the key)'),
    },
  ];
  for (const c of endCases) {
    test(`${c.name}: exit 6 at once with a clear message`, () =>
      withRig(async ({ fake, proxy, env }) => {
        const id = fake.addJob(COMPLETES);
        proxy.inject(c.fault, { pathPrefix: `${JOBS}${id}` });
        const r = await bin(env, ['watch', id, '--interval', '50ms', '--timeout', '20s']);
        assertOutcome(r, 6, c.error, { fault: c.name, command: 'watch' });
        assert.ok(r.endedAt - proxy.requests[0]!.at < 3000, `at once, not after retries (${r.endedAt - proxy.requests[0]!.at} ms after the request)`);
        assert.equal(proxy.requests.length, 1, 'no further poll');
        c.check?.(proxy);
      }),
    );
  }
});

// ---------------------------------------------------------------------------------------------
// A real `serve` for item 3 (trigger safety)

interface Serve {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

function engineEnv() {
  const dir = tempDir('nex-compound-faults-serve-');
  const db = path.join(dir, 'engine.db');
  return {
    db,
    env: { NEX_COMPOUND_DB: db, NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'xdg-config'), NO_COLOR: '1' },
  };
}

/** `nex-compound serve --port 0` as a real process, as test/serve.test.ts starts it. */
async function startServe(env: Record<string, string>): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: { PATH: process.env.PATH ?? '', HOME: tempDir('nex-compound-home-'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve was not ready within 10 s; stderr: ${stderr}`)), 10_000);
    const check = () => {
      if (!stdout.includes('\n') || !/^ready:/m.test(stderr)) return;
      clearTimeout(timer);
      resolve(stdout.split('\n')[0]!);
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited before it was ready; stderr: ${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Everything else at once: each case has its own proxy and fake server, so they cannot meet.

describe('through the fault proxy', { concurrency: true }, () => {
  // ---------------------------------------------------------------------------------------------
  // watch: transient faults are ridden out to the job's true terminal state, within --timeout

  describe('watch rides out each transient fault to the true terminal state', { concurrency: 4 }, () => {
    const WATCH_TIMEOUT_S = 20;
    for (const c of TRANSIENT) {
      test(`${c.name}: completed → exit 0, failed → exit 1, within --timeout`, () =>
        withRig(async ({ fake, proxy, env }) => {
          const ids = { completed: fake.addJob(COMPLETES), failed: fake.addJob(FAILS) };
          // The fault twice per job, a good poll between (so each costs one short backoff).
          for (const id of Object.values(ids)) proxy.script([c.fault, PASS, c.fault], { method: 'GET', pathPrefix: `${JOBS}${id}` });
          const watch = (id: string) => bin(env, ['watch', id, '--interval', '50ms', '--timeout', `${WATCH_TIMEOUT_S}s`, '--json']);
          const [ok, failed] = await Promise.all([watch(ids.completed), watch(ids.failed)]);

          assertOutcome(ok, 0, undefined, { fault: c.name, command: 'watch' });
          assertOutcome(failed, 1, /job [0-9a-f-]{36} \(consolidation\) failed: embedding service timed out/);
          assert.equal(JSON.parse(ok.stdout).status, 'completed');
          assert.equal(JSON.parse(ok.stdout).insights_affected, 4, 'the final counts, not a stale read');
          assert.equal(JSON.parse(failed.stdout).status, 'failed');
          for (const r of [ok, failed]) {
            assert.ok(r.ms < WATCH_TIMEOUT_S * 1000, `finished within its --timeout (${r.ms} ms)`);
            if (c.warning) {
              assert.equal(warnings(r).length, 2, `one warning per fault:\n${r.stderr}`);
              for (const w of warnings(r)) assert.match(w, c.warning);
              assert.match(warnings(r)[0]!, /polling again in \d+\.\ds \(1 failed in a row, giving up at 30\)/);
            } else assert.deepEqual(warnings(r), [], 'a slow answer is no failure');
          }
          assert.equal(proxy.faultsInjected(), 4);
        }),
      );
    }

    test('trigger --wait: faults on the status polls are ridden out; one trigger, completed → exit 0', () =>
      withRig(async ({ fake, proxy, env }) => {
        // Polls see: reset, accepted, 503, running (cut short), running, HTML 502, completed.
        proxy.script([{ kind: 'reset-before' }, PASS, { kind: 'status', status: 503 }, { kind: 'truncated-body' }, PASS, { kind: 'html', status: 502 }, PASS], { method: 'GET', pathPrefix: JOBS });
        const r = await bin(env, ['trigger', 'consolidation', '--wait', '--interval', '50ms', '--timeout', '20s', '--json']);
        assertOutcome(r, 0, undefined, { fault: 'mixed faults on polls', command: 'trig+wait' });
        assert.equal(JSON.parse(r.stdout).status, 'completed');
        assert.equal(posts(proxy).length, 1);
        assert.equal(fake.jobCount(), 1);
        assert.equal(warnings(r).length, 4, r.stderr);
        assert.equal(proxy.faultsInjected(), 4, 'every queued fault was met');
      }, { defaultScript: () => COMPLETES }),
    );
  });

  // ---------------------------------------------------------------------------------------------
  // status: one read, retried through transient faults within --retries

  describe('status through each fault', { concurrency: 4 }, () => {
    for (const c of TRANSIENT) {
      test(`${c.name}: retried (or just slower), exit 0 with the status`, () =>
        withRig(async ({ fake, proxy, env }) => {
          const id = fake.addJob([running(7)]);
          proxy.inject(c.fault, { pathPrefix: `${JOBS}${id}` });
          const r = await bin(env, ['status', id, '--json']);
          assertOutcome(r, 0, undefined, { fault: c.name, command: 'status' });
          assert.equal(JSON.parse(r.stdout).insights_scanned, 7);
          if (c.warning) {
            assert.equal(warnings(r).length, 1, r.stderr);
            assert.match(warnings(r)[0]!, c.warning);
            assert.match(warnings(r)[0]!, /retrying in \d+\.\ds \(attempt 2 of 5\)/);
            assert.equal(proxy.requests.length, 2);
          } else {
            assert.deepEqual(warnings(r), []);
            assert.equal(proxy.requests.length, 1);
          }
          if (c.fault.kind === 'rate-limit') {
            const [first, second] = proxy.requests;
            assert.ok(second!.at - first!.at >= 900, `Retry-After honoured (${second!.at - first!.at} ms)`);
          }
        }),
      );
    }

    test('500, 502, 503, 504 in a row: ridden out within the default 4 retries', () =>
      withRig(async ({ fake, proxy, env }) => {
        const id = fake.addJob([running(3)]);
        proxy.script([500, 502, 503, 504].map((status) => ({ kind: 'status', status }) as const), { pathPrefix: `${JOBS}${id}` });
        const r = await bin(env, ['status', id, '--json']);
        assertOutcome(r, 0, undefined, { fault: '500/502/503/504 in a row', command: 'status' });
        assert.equal(warnings(r).length, 4);
        assert.match(warnings(r)[3]!, /attempt 5 of 5/);
        assert.equal(JSON.parse(r.stdout).status, 'running');
      }),
    );

    const budgetCases: Array<{ name: string; fault: ProxyFault; error: RegExp }> = [
      { name: 'reset on every request', fault: { kind: 'reset-before' }, error: new RegExp(`could not read the job status from http://127\\.0\\.0\\.1:\\d+: (${RESET_SRC}) \\(3 attempts\\)`) },
      { name: '503 on every request', fault: { kind: 'status', status: 503, message: 'maintenance' }, error: /answered 503 Service Unavailable: maintenance \(3 attempts\)/ },
      // A gateway's page is polled through; if it stays, the answer is that this is not the API.
      { name: 'HTML 502 on every request', fault: { kind: 'html', status: 502 }, error: /this is not the Nex API \(got an HTML page \("502 Bad Gateway"\) from 127\.0\.0\.1:\d+, status 502\)/ },
    ];
    for (const c of budgetCases) {
      test(`${c.name}: exit 6 after the retry budget (--retries 2), within a bound`, () =>
        withRig(async ({ fake, proxy, env }) => {
          const id = fake.addJob([running(1)]);
          proxy.inject(c.fault, { times: Infinity });
          const r = await bin(env, ['status', id, '--retries', '2']);
          assertOutcome(r, 6, c.error, { fault: c.name, command: 'status' });
          assert.equal(proxy.requests.length, 3);
          // Full-jitter backoff: at most 0.5 s + 1 s of waiting between the three requests.
          const window = proxy.requests[2]!.at - proxy.requests[0]!.at;
          assert.ok(window <= 1500 + 500, `retries within the backoff bound: ${window} ms`);
          assert.ok(r.endedAt - proxy.requests[2]!.at < 2000, 'exit right after the last attempt');
        }),
      );
    }

    const endCases: Array<{ name: string; fault: ProxyFault; error: RegExp; hint?: RegExp }> = [
      { name: 'oversized body (50 MB Content-Length)', fault: { kind: 'oversized', mode: 'content-length' }, error: /is larger than 1 MiB; this is not a Nex API response/, hint: /hint: check --base-url/ },
      { name: 'oversized body (endless stream)', fault: { kind: 'oversized', mode: 'endless' }, error: /is larger than 1 MiB; this is not a Nex API response/, hint: /hint: check --base-url/ },
      { name: 'redirect to another origin', fault: { kind: 'redirect', status: 307 }, error: /redirected to another origin/, hint: /hint: if http:\/\/127\.0\.0\.1:\d+ is the right server, pass it with --base-url/ },
      { name: 'redirect (301) to another origin', fault: { kind: 'redirect', status: 301 }, error: /redirected to another origin/ },
      { name: 'HTML 200 (a login page)', fault: { kind: 'html', status: 200 }, error: /this is not the Nex API \(got an HTML page \("200 OK"\) from 127\.0\.0\.1:\d+, status 200\)/, hint: /hint: check --base-url/ },
    ];
    for (const c of endCases) {
      test(`${c.name}: exit 6 at once, no retry`, () =>
        withRig(async ({ fake, proxy, env }) => {
          const id = fake.addJob([running(1)]);
          proxy.inject(c.fault, { pathPrefix: `${JOBS}${id}` });
          const r = await bin(env, ['status', id]);
          assertOutcome(r, 6, c.error, { fault: c.name, command: 'status' });
          if (c.hint) assert.match(r.stderr, c.hint);
          assert.equal(proxy.requests.length, 1);
          assert.deepEqual(proxy.otherOrigin.requests, []);
          const sent = proxy.requests[0]!.bytesSent;
          if (c.fault.kind === 'oversized') {
            // Refused after about 1 MiB: what the proxy managed to write is socket buffers, not a 50 MB read.
            assert.ok(sent !== undefined && sent < 16 * 1024 * 1024, `the client stopped reading (${sent} bytes written)`);
          }
        }),
      );
    }

    test('stalls beyond the per-request timeouts are retried (short undici timeouts, in-process)', () =>
      withRig(async ({ fake, proxy }) => {
        const id = fake.addJob([running(9)]);
        proxy.script([{ kind: 'latency', ms: 3000 }, { kind: 'stall-body', ms: 3000 }], { pathPrefix: `${JOBS}${id}` });
        const r = await inProcess(proxy, ['status', id, '--json'], { dispatcher: testDispatcher({ headers: 300, body: 300 }) });
        assertOutcome(r, 0, undefined, { fault: 'latency/stall beyond timeouts', command: 'status' });
        assert.equal(warnings(r).length, 2, r.stderr);
        assert.match(warnings(r)[0]!, /no response within \d+s \(UND_ERR_HEADERS_TIMEOUT\)/);
        assert.match(warnings(r)[1]!, /response body stalled for \d+s \(UND_ERR_BODY_TIMEOUT\)/);
        assert.equal(JSON.parse(r.stdout).insights_scanned, 9);
        assert.equal(proxy.requests[0]!.forwarded, false, 'the timed-out request was never forwarded');
      }),
    );

    test('429 Retry-After: 999999 is capped at 60 s per retry, then exit 6 (fake clock)', () =>
      withRig(async ({ fake, proxy }) => {
        const id = fake.addJob([running(1)]);
        proxy.inject({ kind: 'rate-limit', retryAfter: '999999' }, { times: Infinity });
        const r = await inProcess(proxy, ['status', id, '--retries', '2'], { fakeClock: true });
        assertOutcome(r, 6, /answered 429 Too Many Requests: Too Many Requests - rate limit exceeded \(3 attempts\)/, { fault: '429 Retry-After: 999999', command: 'status' });
        assert.deepEqual(r.sleeps, [60_000, 60_000]);
        assert.match(warnings(r)[0]!, /retrying in 60\.0s/);
      }),
    );
  });

  // ---------------------------------------------------------------------------------------------
  // trigger: resent only when provably unsent or on 429/503; otherwise exit 7 with the key

  describe('trigger through each fault', { concurrency: 4 }, () => {
    const unknownCases: Array<{ name: string; fault: ProxyFault; error: RegExp; upstreamJobs: number }> = [
      { name: 'reset before forwarding', fault: { kind: 'reset-before' }, error: new RegExp(`sent but no answer arrived \\((${RESET_SRC})\\)`), upstreamJobs: 0 },
      { name: 'reset after upstream answered', fault: { kind: 'reset-after' }, error: new RegExp(`sent but no answer arrived \\((${RESET_SRC})\\)`), upstreamJobs: 1 },
      { name: 'reset mid-body', fault: { kind: 'reset-mid-body' }, error: RESET, upstreamJobs: 1 },
      { name: 'truncated body', fault: { kind: 'truncated-body' }, error: /response body cut short \(UND_ERR_RES_CONTENT_LENGTH_MISMATCH\)/, upstreamJobs: 1 },
      { name: '502 flap', fault: { kind: 'status', status: 502 }, error: /answered 502 Bad Gateway from a gateway/, upstreamJobs: 0 },
      { name: '504 flap', fault: { kind: 'status', status: 504 }, error: /answered 504 Gateway Timeout from a gateway/, upstreamJobs: 0 },
      { name: 'HTML 502 (nginx)', fault: { kind: 'html', status: 502 }, error: /answered 502 Bad Gateway from a gateway/, upstreamJobs: 0 },
    ];
    for (const c of unknownCases) {
      test(`${c.name}: exit 7, the Idempotency-Key printed, no blind retry; the key then settles it`, () =>
        withRig(async ({ fake, proxy, env }) => {
          proxy.inject(c.fault, { method: 'POST', pathPrefix: TRIGGER });
          const r = await bin(env, ['trigger', 'consolidation', '--dry-run']);
          assertOutcome(r, 7, c.error, { fault: c.name, command: 'trigger' });
          assert.match(r.stderr, /the job may or may not have been created \(Idempotency-Key [0-9a-f-]{36}\)/);
          const key = printedKey(r);
          assert.match(r.stderr, new RegExp(`hint: .*nex-compound trigger consolidation --dry-run --idempotency-key ${key}`));
          assert.equal(posts(proxy).length, 1, 'one POST: no blind retry');
          assert.equal(posts(proxy)[0]!.headers['idempotency-key'], key, 'the printed key is the one sent');
          assert.equal(fake.jobCount(), c.upstreamJobs);

          const again = await bin(env, ['trigger', 'consolidation', '--dry-run', '--idempotency-key', key, '--json']);
          assertOutcome(again, 0);
          assert.equal(fake.jobCount(), 1, 'exactly one job whether or not the first attempt had made it');
          assert.equal(posts(proxy)[1]!.headers['idempotency-key'], key);
          const lost = posts(proxy)[0]!.upstream;
          if (lost) assert.equal(JSON.parse(again.stdout).job_run_id, JSON.parse(lost.body).job_run_id, 'the same job the lost answer named');
        }),
      );
    }

    const retriedCases: Array<{ name: string; fault: ProxyFault; minGapMs: number }> = [
      { name: '503 flap', fault: { kind: 'status', status: 503 }, minGapMs: 0 },
      { name: '503 with Retry-After: 1', fault: { kind: 'status', status: 503, retryAfter: '1' }, minGapMs: 900 },
      { name: '429 Retry-After: 1', fault: { kind: 'rate-limit', retryAfter: '1' }, minGapMs: 900 },
      { name: '429 Retry-After: HTTP-date', fault: { kind: 'rate-limit', retryAfter: httpDateIn(2000) }, minGapMs: 900 },
      { name: 'HTML 503 (Cloudflare)', fault: { kind: 'html', status: 503, flavor: 'cloudflare' }, minGapMs: 0 },
    ];
    for (const c of retriedCases) {
      test(`${c.name}: resent with the same Idempotency-Key, one job, exit 0`, () =>
        withRig(async ({ fake, proxy, env }) => {
          proxy.inject(c.fault, { method: 'POST', pathPrefix: TRIGGER });
          const r = await bin(env, ['trigger', 'metrics', '--json']);
          assertOutcome(r, 0, undefined, { fault: c.name, command: 'trigger' });
          assert.match(warnings(r)[0] ?? '', /^warning: (429 Too Many Requests|503 Service Unavailable); retrying in \d+\.\ds \(attempt 2 of 5\)$/);
          const [first, second] = posts(proxy);
          assert.equal(posts(proxy).length, 2);
          assert.equal(first!.headers['idempotency-key'], second!.headers['idempotency-key']);
          assert.ok(second!.at - first!.at >= c.minGapMs, `Retry-After honoured: ${second!.at - first!.at} ms`);
          assert.equal(fake.jobCount(), 1);
          assert.equal(JSON.parse(r.stdout).job_run_id, JSON.parse(second!.upstream!.body).job_run_id);
        }),
      );
    }

    // A server that failed while handling the trigger, or a 2xx too large to read, may have made the job.
    const failedWhileHandling: Array<{ name: string; fault: ProxyFault; error: RegExp }> = [
      { name: '500 flap', fault: { kind: 'status', status: 500, message: 'database is locked' }, error: /answered 500 Internal Server Error: database is locked: the job may or may not have been created \(Idempotency-Key / },
      { name: 'oversized body (50 MB Content-Length)', fault: { kind: 'oversized', mode: 'content-length' }, error: /\(200\) is larger than 1 MiB; this is not a Nex API response: the job may or may not have been created/ },
    ];
    for (const c of failedWhileHandling) {
      test(`${c.name}: exit 7 with the key printed, one POST, no blind retry`, () =>
        withRig(async ({ proxy, env }) => {
          proxy.inject(c.fault, { method: 'POST', pathPrefix: TRIGGER });
          const r = await bin(env, ['trigger', 'metrics']);
          assertOutcome(r, 7, c.error, { fault: c.name, command: 'trigger' });
          printedKey(r);
          assert.equal(posts(proxy).length, 1);
        }),
      );
    }

    const refusedCases: Array<{ name: string; fault: ProxyFault; error: RegExp; argv?: string[] }> = [
      { name: '429 Retry-After: 999999 (--retries 0)', fault: { kind: 'rate-limit', retryAfter: '999999' }, error: /answered 429 Too Many Requests: Too Many Requests - rate limit exceeded/, argv: ['--retries', '0'] },
      { name: 'redirect to another origin', fault: { kind: 'redirect', status: 307 }, error: /redirected to another origin \(http:\/\/127\.0\.0\.1:\d+\); not following, so the API key is never sent there/ },
    ];
    for (const c of refusedCases) {
      test(`${c.name}: exit 6, one POST, no job made`, () =>
        withRig(async ({ fake, proxy, env }) => {
          proxy.inject(c.fault, { method: 'POST', pathPrefix: TRIGGER });
          const r = await bin(env, ['trigger', 'metrics', ...(c.argv ?? [])]);
          assertOutcome(r, 6, c.error, { fault: c.name, command: 'trigger' });
          assert.equal(posts(proxy).length, 1);
          assert.equal(fake.jobCount(), 0);
          assert.deepEqual(proxy.otherOrigin.requests, [], 'the other origin never saw the POST (nor the key)');
        }),
      );
    }

    test('latency 300ms: just slower, exit 0, one job', () =>
      withRig(async ({ fake, proxy, env }) => {
        proxy.inject({ kind: 'latency', ms: 300 }, { method: 'POST' });
        const r = await bin(env, ['trigger', 'metrics', '--json']);
        assertOutcome(r, 0, undefined, { fault: 'latency 300ms', command: 'trigger' });
        assert.ok(r.ms >= 300);
        assert.equal(fake.jobCount(), 1);
      }),
    );

    test('a header or body stall past the per-request timeout: exit 7 with the key (short undici timeouts, in-process)', () =>
      withRig(async ({ fake, proxy }) => {
        const dispatcher = testDispatcher({ headers: 300, body: 300 });
        proxy.inject({ kind: 'latency', ms: 3000 }, { method: 'POST' });
        const slow = await inProcess(proxy, ['trigger', 'metrics'], { dispatcher });
        assertOutcome(slow, 7, /no answer arrived \(no response within \d+s \(UND_ERR_HEADERS_TIMEOUT\)\)/, { fault: 'latency past headers timeout', command: 'trigger' });
        printedKey(slow);
        proxy.inject({ kind: 'stall-body', ms: 3000 }, { method: 'POST' });
        const stalled = await inProcess(proxy, ['trigger', 'metrics'], { dispatcher });
        assertOutcome(stalled, 7, /no answer arrived \(response body stalled for \d+s \(UND_ERR_BODY_TIMEOUT\)\)/, { fault: 'stalled body past body timeout', command: 'trigger' });
        printedKey(stalled);
        assert.equal(posts(proxy).length, 2, 'one POST per run');
        assert.equal(fake.jobCount(), 1, 'the stalled answer had made its job; the too-slow one never reached the server');
      }),
    );

    test('429 Retry-After: 999999 is capped at 60 s, then resent with the same key (fake clock)', () =>
      withRig(async ({ fake, proxy }) => {
        proxy.inject({ kind: 'rate-limit', retryAfter: '999999' }, { method: 'POST' });
        const r = await inProcess(proxy, ['trigger', 'metrics', '--json'], { fakeClock: true });
        assertOutcome(r, 0, undefined, { fault: '429 Retry-After: 999999', command: 'trigger' });
        assert.deepEqual(r.sleeps, [60_000]);
        assert.equal(new Set(posts(proxy).map((p) => p.headers['idempotency-key'])).size, 1);
        assert.equal(fake.jobCount(), 1);
      }),
    );
  });

  // Item 3: trigger safety when the server made the job and the answer was lost
  describe('trigger safety: the job is made and the answer is lost (issue 10 item 3)', { concurrency: 2 }, () => {
    test('against `serve`: exit 7 with the key, no automatic resend; the key returns the same job; exactly one job in the engine', async () => {
      const engine = engineEnv();
      const created = await bin(engine.env, ['keys', 'create', '--scope', 'record.write', '--json']);
      assert.equal(created.code, 0, created.stderr);
      const { key: apiKey } = JSON.parse(created.stdout) as { key: string };
      const serve = await startServe(engine.env);
      const proxy = await startFaultProxy(serve.url);
      proxies.push(proxy);
      try {
        const env = { ...cliEnv(proxy, apiKey) };
        proxy.inject({ kind: 'reset-after' }, { method: 'POST', pathPrefix: TRIGGER });
        const lost = await bin(env, ['trigger', 'metrics']);
        assertOutcome(lost, 7, new RegExp(`the trigger request was sent but no answer arrived \\((${RESET_SRC})\\): the job may or may not have been created`), { fault: 'reset after serve made the job', command: 'trigger' });
        const key = printedKey(lost);
        // What the CLI does by itself: nothing more. One POST, and it was the one serve answered.
        assert.equal(posts(proxy).length, 1, 'the client does not resend on its own after the request was sent');
        const swallowed = posts(proxy)[0]!;
        assert.equal(swallowed.headers['idempotency-key'], key);
        assert.equal(swallowed.upstream?.status, 202, 'serve accepted it: the job exists');
        const madeId = (JSON.parse(swallowed.upstream!.body) as { job_run_id: string }).job_run_id;

        const resent = await bin(env, ['trigger', 'metrics', '--idempotency-key', key, '--json']);
        assertOutcome(resent, 0);
        assert.equal(JSON.parse(resent.stdout).job_run_id, madeId, 'the same job_run_id as the lost answer');
        assert.equal(posts(proxy)[1]!.headers['idempotency-key'], key, 'the resend carries the same Idempotency-Key');
        assert.equal(posts(proxy)[1]!.upstream?.headers['idempotent-replayed'], 'true', 'serve replayed it');

        // And it can be followed to its end through the proxy.
        const waited = await bin(env, ['trigger', 'metrics', '--idempotency-key', key, '--wait', '--interval', '50ms', '--timeout', '20s', '--json']);
        assertOutcome(waited, 0);
        assert.equal(JSON.parse(waited.stdout).job_run_id, madeId);
        assert.equal(JSON.parse(waited.stdout).status, 'completed');

        const jobs = await bin(engine.env, ['--local', 'jobs', '--json']);
        assert.equal(jobs.code, 0, jobs.stderr);
        assert.deepEqual((JSON.parse(jobs.stdout) as Array<{ job_run_id: string }>).map((j) => j.job_run_id), [madeId], 'exactly one job in the engine');
        const db = new Sqlite(engine.db, { readonly: true, fileMustExist: true });
        try {
          assert.equal((db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n, 1, 'one row in the jobs table');
        } finally {
          db.close();
        }
        assert.doesNotMatch(serve.stderr(), /^\s+at /m, 'serve logged no stack trace');
      } finally {
        await proxy.close();
        await serve.stop();
      }
    });

    test('against a server without idempotency: exit 7 with the key, and exactly one POST (no blind retry)', () =>
      withRig(
        async ({ fake, proxy, env }) => {
          proxy.inject({ kind: 'reset-after' }, { method: 'POST', pathPrefix: TRIGGER });
          const r = await bin(env, ['trigger', 'pattern_detection', '--wait', '--interval', '50ms', '--timeout', '10s']);
          assertOutcome(r, 7, /the job may or may not have been created \(Idempotency-Key [0-9a-f-]{36}\)/, { fault: 'reset after (no idempotency)', command: 'trigger' });
          const key = printedKey(r);
          assert.equal(proxy.requests.length, 1, 'one request in all: one POST, no retry, no poll');
          assert.equal(posts(proxy)[0]!.headers['idempotency-key'], key);
          assert.equal(fake.jobCount(), 1, 'the job the lost answer would have named');
          assert.deepEqual(
            fake.requests.map((q) => `${q.method} ${q.path}`),
            [`POST ${TRIGGER}`],
            'the server saw exactly one POST',
          );
        },
        { honourIdempotencyKey: false },
      ),
    );
  });
});
