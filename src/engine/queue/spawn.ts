/**
 * Starting background workers: a detached process per database that outlives the command
 * that started it. One supervisor per open engine decides when another worker is needed.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from '../store/db.js';
import { forgetGoneWorkers, hasAbandonedJob, hasRunnableJobs, leaseMs } from './queue.js';

/** A trigger and the polls right after it must not start a worker each. */
const RESPAWN_GUARD_MS = 1_000;

export class WorkerSupervisor {
  private lastSpawn = 0;

  constructor(
    private readonly db: Database,
    private readonly dbPath: string,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly now: () => number,
  ) {}

  /**
   * Starts a worker when jobs are waiting and no live worker would take them: after a
   * trigger, or when a killed worker's lease has expired (re-claim).
   */
  ensureWorker(afterTrigger: boolean): void {
    // A database opened read-only (see openDatabase's readOnlyFallback) cannot be worked on.
    if (this.db.readonly) return;
    const now = this.now();
    if (now - this.lastSpawn < RESPAWN_GUARD_MS) return;
    const lease = leaseMs(this.env);
    if (!hasRunnableJobs(this.db, now, lease)) return;
    const live = forgetGoneWorkers(this.db, now, lease);
    // A live worker picks up new jobs by itself; accepted jobs waiting behind a busy one need no second worker.
    if (live > 0 && afterTrigger) return;
    if (live > 0 && !hasAbandonedJob(this.db, now, lease)) return;
    this.lastSpawn = now;
    spawnWorker(this.dbPath, this.env);
  }
}

function spawnWorker(dbPath: string, env: Readonly<Record<string, string | undefined>>): number | undefined {
  const self = fileURLToPath(import.meta.url);
  // Under the test runner the sources are TypeScript run through tsx; built, they are plain JS.
  const fromSource = self.endsWith('.ts');
  const script = fileURLToPath(new URL(`./worker.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const args = fromSource ? ['--import', 'tsx', script, '--db', dbPath] : [script, '--db', dbPath];
  let log: number | 'ignore';
  try {
    log = openSync(`${dbPath}.worker.log`, 'a', 0o600);
  } catch {
    log = 'ignore';
  }
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'ignore', log],
    env: { ...(env as NodeJS.ProcessEnv) },
  });
  child.unref();
  if (typeof log === 'number') closeSync(log);
  return child.pid;
}
