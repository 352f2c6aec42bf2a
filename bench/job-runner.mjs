/**
 * Runs the next queued job of a database the way the worker does, in plain Node on the built
 * dist/, and prints its type, the insights it scanned, its wall time and this process's peak
 * RSS. A process per measurement, so each size's peak RSS is its own.
 *
 *   node bench/job-runner.mjs DB
 */
import { openDatabase, JOB_CACHE_MIB } from '../dist/engine/store/db.js';
import { runNextJob } from '../dist/engine/queue/runner.js';

const [file] = process.argv.slice(2);
const db = await openDatabase(file, { create: false, cacheMiB: JOB_CACHE_MIB });
const start = performance.now();
const job = await runNextJob({ db, workerId: 'bench', leaseMs: 600_000, now: () => Date.now() });
const seconds = (performance.now() - start) / 1000;
if (!job) throw new Error('no queued job');
const row = db.prepare('SELECT job_type, status, insights_scanned, insights_affected, result FROM jobs WHERE job_run_id = ?').get(job.job_run_id);
if (row.status !== 'completed') throw new Error(`${row.job_type} ${row.status}: ${row.result}`);
db.close();
process.stdout.write(`${JSON.stringify({ job_type: row.job_type, insights: row.insights_scanned, affected: row.insights_affected, seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024 })}\n`);
