/**
 * serve throughput (run by bench/run.ts; also runnable alone):
 *
 *   node --import tsx bench/serve-bench.ts [--insights 100000] [--seconds 10]
 *
 * Imports N insights, starts `nex-compound serve --port 0`, triggers a consolidation so the
 * worker is busy on the same database, and drives GET status at 50 connections with autocannon;
 * the baseline is a bare node:http server answering a fixed JSON body under the same load.
 * Then 200 triggers at once, counting the jobs the engine recorded (must be exactly 200).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
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

const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-serve-bench-'));
const db = path.join(dir, 'engine.db');
const env = { ...process.env, NEX_COMPOUND_DB: db, NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config') };

async function load(url: string, headers: Record<string, string>): Promise<{ rps: number; p99: number; errors: number; non2xx: number }> {
  const result = await autocannon({ url, connections: 50, duration: seconds, headers });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

let server: ChildProcess | undefined;
try {
  const corpus = generateLabelledCorpus({ facts: Math.ceil(insights / 1.3), seed: 31, companies: Math.max(300, Math.round(insights / 5)), variety: 10 });
  const file = path.join(dir, 'corpus.jsonl');
  const out = createWriteStream(file);
  for (const i of corpus.insights.slice(0, insights)) if (!out.write(`${JSON.stringify({ text: i.text, created_at: i.created_at })}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((r) => out.end(() => r()));
  const imported = spawnSync(process.execPath, [BIN, 'insights', 'import', file, '-q'], { env, encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(imported.stderr);
  const key = spawnSync(process.execPath, [BIN, 'keys', 'create', '--scope', 'record.write'], { env, encoding: 'utf8' }).stdout.trim();

  server = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const base = await new Promise<string>((resolve, reject) => {
    server!.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    server!.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  const auth = { authorization: `Bearer ${key}` };
  const post = (body: unknown) => fetch(`${base}/v1/compounding/trigger`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const job = (await (await post({ job_type: 'consolidation' })).json()) as { job_run_id: string };
  const statusUrl = `${base}/v1/compounding/jobs/${job.job_run_id}`;
  const served = await load(statusUrl, auth);
  const during = (await (await fetch(statusUrl, { headers: auth })).json()) as { status: string };

  const bare = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ job_run_id: job.job_run_id, status: 'running' }));
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()));
  const bareAddress = bare.address() as { port: number };
  const baseline = await load(`http://127.0.0.1:${bareAddress.port}/`, {});
  bare.close();

  const before = countJobs();
  const responses = await Promise.all(Array.from({ length: 200 }, () => post({ job_type: 'metrics', dry_run: true })));
  const accepted = responses.filter((r) => r.status === 202).length;
  const created = countJobs() - before;
  process.stdout.write(
    `${JSON.stringify({ insights, seconds, served, baseline, consolidation_status_at_end: during.status, triggers: 200, accepted, jobs_created: created })}\n`,
  );
} finally {
  server?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  // The worker may still be consolidating: let it go before the files do.
  spawnSync('pkill', ['-f', `--db ${db}`]);
  rmSync(dir, { recursive: true, force: true });
}

function countJobs(): number {
  const handle = new Sqlite(db, { readonly: true, fileMustExist: true });
  try {
    return (handle.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
  } finally {
    handle.close();
  }
}
