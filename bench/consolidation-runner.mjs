/**
 * The measured half of bench/consolidation-bench.ts, in plain Node on the built dist/ (a
 * TypeScript loader would slow the code it measures). Modes:
 *
 *   node bench/consolidation-runner.mjs job DB        runs one queued consolidation job the way
 *                                                     the worker does; prints seconds, peak RSS
 *   node bench/consolidation-runner.mjs baseline DB   keyed-candidate plan against the exact all-pairs plan
 */
import { openDatabase, JOB_CACHE_MIB } from '../dist/engine/store/db.js';
import { runNextJob } from '../dist/engine/queue/runner.js';
import { planConsolidation, DEFAULT_THRESHOLD } from '../dist/engine/jobs/consolidation/plan.js';

const [mode, file] = process.argv.slice(2);
const db = await openDatabase(file, { create: false, cacheMiB: JOB_CACHE_MIB });

if (mode === 'job') {
  const start = performance.now();
  const job = await runNextJob({ db, workerId: 'bench', leaseMs: 600_000, now: () => Date.now() });
  const seconds = (performance.now() - start) / 1000;
  const row = db.prepare('SELECT status, insights_scanned, insights_affected, candidates_created, result FROM jobs WHERE job_run_id = ?').get(job.job_run_id);
  if (row.status !== 'completed') throw new Error(`job ${row.status}: ${row.result}`);
  const result = JSON.parse(row.result);
  process.stdout.write(`${JSON.stringify({ insights: row.insights_scanned, seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024, clusters: row.candidates_created, merged: result.merged, candidate_pairs: result.candidate_pairs, conflicts: result.conflicts_total })}\n`);
} else if (mode === 'baseline') {
  const rows = db.prepare(`SELECT id, text, normalized_text, created_at FROM insights WHERE status = 'active'`).all();
  const pairsOf = (plan) => {
    const set = new Set();
    for (const c of plan.clusters) for (const a of c.members) for (const b of c.members) if (a.id < b.id) set.add(`${a.id}:${b.id}`);
    return set;
  };
  let start = performance.now();
  const keyed = planConsolidation(rows, { threshold: DEFAULT_THRESHOLD });
  const keyedSeconds = (performance.now() - start) / 1000;
  start = performance.now();
  const exact = planConsolidation(rows, { threshold: DEFAULT_THRESHOLD, allPairs: true });
  const exactSeconds = (performance.now() - start) / 1000;
  const found = pairsOf(keyed);
  const truth = pairsOf(exact);
  let common = 0;
  for (const p of truth) if (found.has(p)) common++;
  process.stdout.write(
    `${JSON.stringify({ insights: rows.length, keyed_seconds: keyedSeconds, all_pairs_seconds: exactSeconds, speedup: exactSeconds / keyedSeconds, keyed_candidate_pairs: keyed.candidate_pairs, all_pairs: exact.candidate_pairs, merged_pairs_all_pairs: truth.size, merged_pairs_keyed: found.size, recall_vs_all_pairs: truth.size === 0 ? 1 : common / truth.size })}\n`,
  );
}
db.close();
