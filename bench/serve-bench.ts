/**
 * serve against bare anchors (run by bench/run.ts; also runnable alone):
 *
 *   npm run build && node --import tsx bench/serve-bench.ts [--insights 100000] [--seconds 10] [--rounds 3] [--connections 50]
 *     [--before-bin <other checkout>/bin/nex-compound.js]
 *
 * Imports N insights and starts `nex-compound serve --port 0`. Two anchors answer the same JSON
 * body serve answers for the polled job, each in its own process as serve is: a bare fastify app
 * (one route with a parameter, returning the object) and a bare node:http server (the bytes). All
 * three are driven by autocannon from this process with the same connections and duration,
 * interleaved round by round so they share whatever else loads the machine.
 *
 * - idle: GET status of a finished job (the worker has exited), `--rounds` rounds.
 * - consolidation: the worker busy on the same database for the whole phase — consolidations
 *   of the store queued back to back (a workspace's jobs run one at a time) — while GET status
 *   polls the last of them, an unfinished job; one round, each anchor answering its body.
 *
 * --before-bin also measures another build's serve (an older commit, built) on the same database
 * in the same rounds: before and after side by side.
 *
 * Then 200 triggers at once, counting the jobs the engine recorded (must be exactly 200).
 * Prints one JSON line: every measurement, and medians.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Sqlite from 'better-sqlite3';
import { generateLabelledCorpus } from './lib/labelled-insights.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'nex-compound.js');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const insights = arg('--insights', 100_000);
const seconds = arg('--seconds', 10);
const rounds = arg('--rounds', 3);
const connections = arg('--connections', 50);
/** Consolidations queued back to back for the busy phase. */
const CONSOLIDATIONS = 8;
const beforeBin = process.argv.includes('--before-bin') ? path.resolve(process.argv[process.argv.indexOf('--before-bin') + 1]!) : undefined;

const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-serve-bench-'));
const db = path.join(dir, 'engine.db');
const env = { ...process.env, NEX_COMPOUND_DB: db, NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config') };

type Target = 'serve' | 'before' | 'fastify' | 'http';
interface Load {
  target: Target;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** The server process's CPU time (user + system) per answered request, in µs: less moved by other sessions' load than req/s. */
  cpuUs?: number;
}

/** A process's CPU time so far in seconds, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function load(target: Target, url: string, headers: Record<string, string>, pid: number | undefined, duration = seconds): Promise<Load> {
  const cpuBefore = cpuSeconds(pid);
  const result = await autocannon({ url, connections, duration, headers });
  const cpuAfter = cpuSeconds(pid);
  const answered = result.requests.total;
  return {
    target,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    ...(cpuBefore !== undefined && cpuAfter !== undefined && answered > 0 ? { cpuUs: ((cpuAfter - cpuBefore) / answered) * 1e6 } : {}),
  };
}

/** The anchors' code: run with `node --input-type=module -e` from the repository, so `fastify` resolves as serve's does. */
const ANCHOR_SOURCE: Record<'fastify' | 'http', string> = {
  fastify: `
    import Fastify from 'fastify';
    const body = JSON.parse(process.env.ANCHOR_BODY);
    const app = Fastify({ logger: false });
    app.get('/v1/compounding/jobs/:job_run_id', async () => body);
    await app.listen({ host: '127.0.0.1', port: 0 });
    process.stdout.write('http://127.0.0.1:' + app.server.address().port + '\\n');`,
  http: `
    import http from 'node:http';
    const body = process.env.ANCHOR_BODY;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write('http://127.0.0.1:' + server.address().port + '\\n'));`,
};

const children: ChildProcess[] = [];

/** A child process that prints its base URL as its first line. */
function startPrinting(args: string[], childEnv: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve({ child, base: chunk.toString().trim().split('\n')[0]! }));
    child.once('exit', (code) => reject(new Error(`${args.join(' ').slice(0, 80)} exited ${code}: ${stderr}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Anchors answering `body` (serve's exact bytes for the polled job), measured beside serve in `roundCount` interleaved rounds. */
async function compare(statusUrl: string, servePid: number | undefined, auth: Record<string, string>, body: string, roundCount: number, duration = seconds): Promise<Load[]> {
  const anchors = await Promise.all(
    (['fastify', 'http'] as const).map(async (target) => {
      const started = await startPrinting(['--input-type=module', '-e', ANCHOR_SOURCE[target]], { ...process.env, ANCHOR_BODY: body });
      return { target, ...started, headers: {}, pid: started.child.pid };
    }),
  );
  const servers: Array<{ target: Target; base: string; headers: Record<string, string>; pid: number | undefined }> = [
    { target: 'serve', base: new URL(statusUrl).origin, headers: auth, pid: servePid },
    ...anchors,
  ];
  const started = anchors.map((a) => a.child);
  if (beforeBin) {
    const before = await startPrinting([beforeBin, 'serve', '--port', '0'], env);
    started.push(before.child);
    servers.push({ target: 'before', base: before.base, headers: auth, pid: before.child.pid });
  }
  const jobPath = new URL(statusUrl).pathname;
  try {
    // Each anchor's answer is checked to be serve's, byte for byte, before it is measured (a
    // running job's own answer moves on with its progress; the same job's is enough).
    for (const { target, base, headers } of servers) {
      const text = await (await fetch(`${base}${jobPath}`, { headers })).text();
      const same = target === 'fastify' || target === 'http' ? text === body : text.startsWith(body.slice(0, body.indexOf(',')));
      if (!same) throw new Error(`${target} answers ${text.slice(0, 80)}, not serve's body`);
    }
    // Warmed up first, unrecorded: the JIT has compiled every server's hot path before it is measured.
    for (const { target, base, headers, pid } of servers) await load(target, `${base}${jobPath}`, headers, pid, Math.max(1, Math.round(duration / 5)));
    const loads: Load[] = [];
    for (let round = 0; round < roundCount; round++) {
      // Rotating the order spreads any drift (another session starting up) over all of them.
      for (let i = 0; i < servers.length; i++) {
        const { target, base, headers, pid } = servers[(i + round) % servers.length]!;
        loads.push(await load(target, `${base}${jobPath}`, headers, pid, duration));
      }
    }
    return loads;
  } finally {
    for (const child of started) await stop(child);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Per round, serve's req/s over bare fastify's and its p99 over fastify's; medians across rounds. */
function summarise(loads: Load[]) {
  const of = (target: Target) => loads.filter((l) => l.target === target);
  const [served, before, fastify, http] = [of('serve'), of('before'), of('fastify'), of('http')];
  const perRound = served.map((s, i) => ({ vsFastify: s.rps / fastify[i]!.rps, vsHttp: s.rps / http[i]!.rps, p99VsFastify: s.p99 / Math.max(fastify[i]!.p99, 1e-9) }));
  const beforeVsFastify = before.map((b, i) => b.rps / fastify[i]!.rps);
  const spread = (values: number[]) => [Math.min(...values), Math.max(...values)];
  return {
    rps: { serve: median(served.map((l) => l.rps)), fastify: median(fastify.map((l) => l.rps)), http: median(http.map((l) => l.rps)) },
    p99: { serve: median(served.map((l) => l.p99)), fastify: median(fastify.map((l) => l.p99)), http: median(http.map((l) => l.p99)) },
    vsFastify: median(perRound.map((r) => r.vsFastify)),
    vsFastifySpread: spread(perRound.map((r) => r.vsFastify)),
    vsHttp: median(perRound.map((r) => r.vsHttp)),
    vsHttpSpread: spread(perRound.map((r) => r.vsHttp)),
    p99VsFastify: median(perRound.map((r) => r.p99VsFastify)),
    p99VsFastifySpread: spread(perRound.map((r) => r.p99VsFastify)),
    cpuUs: Object.fromEntries((['serve', 'before', 'fastify', 'http'] as const).filter((t) => of(t).some((l) => l.cpuUs !== undefined)).map((t) => [t, median(of(t).map((l) => l.cpuUs ?? Number.NaN))])),
    ...(before.length ? { beforeVsFastify: median(beforeVsFastify), beforeVsFastifySpread: spread(beforeVsFastify), beforeP99: median(before.map((l) => l.p99)) } : {}),
    failures: loads.reduce((n, l) => n + l.errors + l.non2xx, 0),
    loads,
  };
}

async function waitForStatus(url: string, auth: Record<string, string>, done: (status: string) => boolean): Promise<string> {
  for (;;) {
    const { status } = (await (await fetch(url, { headers: auth })).json()) as { status: string };
    if (done(status)) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

try {
  const corpus = generateLabelledCorpus({ facts: Math.ceil(insights / 1.3), seed: 31, companies: Math.max(300, Math.round(insights / 5)), variety: 10 });
  const file = path.join(dir, 'corpus.jsonl');
  const out = createWriteStream(file);
  for (const i of corpus.insights.slice(0, insights)) if (!out.write(`${JSON.stringify({ text: i.text, created_at: i.created_at })}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((r) => out.end(() => r()));
  const imported = spawnSync(process.execPath, [BIN, 'insights', 'import', file, '-q'], { env, encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(imported.stderr);
  const key = spawnSync(process.execPath, [BIN, 'keys', 'create', '--scope', 'record.write'], { env, encoding: 'utf8' }).stdout.trim();

  const { base, child: serve } = await startPrinting([BIN, 'serve', '--port', '0'], env);
  const auth = { authorization: `Bearer ${key}` };
  const post = (body: unknown) => fetch(`${base}/v1/compounding/trigger`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const trigger = async (body: unknown) => `${base}/v1/compounding/jobs/${((await (await post(body)).json()) as { job_run_id: string }).job_run_id}`;

  // Idle: a finished job, and no worker left running.
  const finishedUrl = await trigger({ job_type: 'metrics' });
  await waitForStatus(finishedUrl, auth, (s) => s === 'completed' || s === 'failed');
  await waitForWorkerGone();
  const finishedBody = await (await fetch(finishedUrl, { headers: auth })).text();
  const idle = summarise(await compare(finishedUrl, serve.pid, auth, finishedBody, rounds));

  // Consolidation: one run over 100k insights takes a few seconds, the phase half a minute, so
  // enough are queued to keep the worker busy throughout; the last one waits its turn meanwhile.
  const queued: string[] = [];
  for (let i = 0; i < CONSOLIDATIONS; i++) queued.push(await trigger({ job_type: 'consolidation' }));
  await waitForStatus(queued[0]!, auth, (s) => s !== 'accepted');
  const pollUrl = queued.at(-1)!;
  const pollBody = await (await fetch(pollUrl, { headers: auth })).text();
  const busySeconds = Math.max(2, Math.round(seconds / 2));
  const busy = summarise(await compare(pollUrl, serve.pid, auth, pollBody, 1, busySeconds));
  const statuses = await Promise.all(queued.map(async (url) => ((await (await fetch(url, { headers: auth })).json()) as { status: string }).status));
  const consolidationAtEnd = `${statuses.filter((s) => s === 'completed').length} of ${CONSOLIDATIONS} done at the end`;

  const before = countJobs();
  const responses = await Promise.all(Array.from({ length: 200 }, () => post({ job_type: 'metrics', dry_run: true })));
  const accepted = responses.filter((r) => r.status === 202).length;
  const created = countJobs() - before;
  process.stdout.write(
    `${JSON.stringify({ insights, seconds, rounds, connections, load_average: os.loadavg(), idle: { ...idle, seconds }, consolidation: { ...busy, seconds: busySeconds, status_at_end: consolidationAtEnd }, triggers: 200, accepted, jobs_created: created })}\n`,
  );
} finally {
  for (const child of children) await stop(child);
  // The worker may still be consolidating: stop it (by the pid it recorded) before its files go.
  for (const pid of workerPids()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}

function withDb<T>(read: (handle: Sqlite.Database) => T): T {
  const handle = new Sqlite(db, { readonly: true, fileMustExist: true });
  try {
    return read(handle);
  } finally {
    handle.close();
  }
}

function countJobs(): number {
  return withDb((handle) => handle.prepare('SELECT count(*) FROM jobs').pluck().get() as number);
}

function workerPids(): number[] {
  try {
    return withDb((handle) => handle.prepare('SELECT pid FROM workers').pluck().all() as number[]);
  } catch {
    return [];
  }
}

async function waitForWorkerGone(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (workerPids().some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
