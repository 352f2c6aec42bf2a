// The anchor for `trigger <type> --local --json -q`: the same queued-job insert into an existing
// engine database, and a detached node process started the way the worker is, then the row as JSON.
// node bench/oneshot-trigger.mjs <db-file> <job_type> [worker-script]  (without a worker script: node -e 0)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
const [file, jobType, worker] = process.argv.slice(2);
const db = new Database(file);
db.pragma('busy_timeout = 5000');
const id = randomUUID();
const now = Date.now();
db.transaction(() => {
  db.prepare(`INSERT INTO jobs (job_run_id, workspace_id, job_type, dry_run, status, created_at, started_at) VALUES (?, 1, ?, 0, 'accepted', ?, ?)`).run(id, jobType, now, now);
  db.prepare(`INSERT INTO job_events (job_run_id, at, kind) VALUES (?, ?, 'accepted')`).run(id, now);
}).immediate();
const row = db.prepare('SELECT * FROM jobs WHERE job_run_id = ?').get(id);
const log = openSync(`${file}.worker.log`, 'a', 0o600);
spawn(process.execPath, worker ? [worker, '--db', file] : ['-e', '0'], { detached: true, stdio: ['ignore', 'ignore', log] }).unref();
closeSync(log);
db.close();
process.stdout.write(`${JSON.stringify(row, null, 2)}\n`);
