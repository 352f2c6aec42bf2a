/** Shared by the job benchmarks: queue a job in a database, and run a measured child on dist/. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Records a job without triggering it: the measured runner process then runs it itself (`root`: whose dist/ records it). */
export function queueJob(db: string, jobType: string, params: Record<string, unknown> = {}, root = ROOT): void {
  const r = spawnSync(process.execPath, ['-e', `
    import('${path.join(root, 'dist/engine/store/db.js')}').then(async ({ openDatabase }) => {
      const { createJob } = await import('${path.join(root, 'dist/engine/queue/queue.js')}');
      const db = await openDatabase(${JSON.stringify(db)}, { create: false });
      createJob(db, { workspaceId: 1, jobType: ${JSON.stringify(jobType)}, dryRun: false, now: Date.now(), params: ${JSON.stringify(params)} });
      db.close();
    })`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`queueing ${jobType} failed: ${r.stderr}`);
}

/** Runs bench/<script> with args in plain Node and returns the JSON of its last stdout line. */
export function runMeasured<T = Record<string, unknown>>(script: string, args: string[], env: Record<string, string> = {}): T {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', script), ...args], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}
