/**
 * The background worker: a detached process, outliving the CLI that started it, that
 * runs queued jobs until the queue stays empty for a moment, then exits.
 * Started as: node worker.js --db <path>
 */
import { randomUUID } from 'node:crypto';
import { JOB_CACHE_MIB, openDatabase } from '../store/db.js';
import { hasRunnableJobs, leaseMs as leaseFromEnv } from './queue.js';
import { runNextJob } from './runner.js';

const IDLE_EXIT_MS = 2_000;
const IDLE_POLL_MS = 100;

async function main(): Promise<void> {
  const dbIndex = process.argv.indexOf('--db');
  const file = dbIndex === -1 ? undefined : process.argv[dbIndex + 1];
  if (!file) throw new Error('usage: worker --db <path>');
  const db = await openDatabase(file, { create: false, cacheMiB: JOB_CACHE_MIB });
  const leaseDb = await openDatabase(file, { create: false });
  const workerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const lease = leaseFromEnv(process.env);
  const register = leaseDb.prepare('INSERT OR REPLACE INTO workers (worker_id, pid, heartbeat_at) VALUES (?, ?, ?)');
  const beat = () => register.run(workerId, process.pid, Date.now());
  beat();
  const timer = setInterval(beat, Math.max(100, Math.floor(lease / 6)));
  timer.unref();
  let idleSince = Date.now();
  try {
    for (;;) {
      const job = await runNextJob({ db, leaseDb, workerId, leaseMs: lease, now: () => Date.now(), slowdownMs: Number(process.env.NEX_COMPOUND_JOB_SLOWDOWN_MS) || 0 });
      if (job) {
        idleSince = Date.now();
        beat();
        continue;
      }
      if (Date.now() - idleSince > IDLE_EXIT_MS) {
        // Leave and look once more under the write lock: a trigger that slipped in after
        // the last claim either sees this worker gone (and starts one) or is seen here.
        const leave = db.transaction(() => {
          db.prepare('DELETE FROM workers WHERE worker_id = ?').run(workerId);
          return !hasRunnableJobs(db, Date.now(), lease);
        });
        if (leave.immediate()) break;
        beat();
        idleSince = Date.now();
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
  } finally {
    clearInterval(timer);
    db.prepare('DELETE FROM workers WHERE worker_id = ?').run(workerId);
    db.close();
    leaseDb.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`nex-compound worker: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
