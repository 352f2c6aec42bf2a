/**
 * The measured half of bench/patterns-bench.ts, in plain Node on the built dist/. Modes:
 *
 *   node bench/patterns-runner.mjs job DB                runs one queued pattern_detection job as the worker does
 *   node bench/patterns-runner.mjs ours DB MINSUP        our miner (itemsets.ts): every frequent item set of the store's
 *                                                        transactions, from the pool the job mines
 *   node bench/patterns-runner.mjs node-fpgrowth DB MINSUP   the node-fpgrowth package on the same transactions
 *   node bench/patterns-runner.mjs export DB FILE        the same transactions as text for bench/eclat/eclat.c:
 *                                                        a line per transaction, item ids separated by spaces
 *
 * Each prints one JSON line: seconds, peak RSS, and for the miners a digest of the item sets
 * (count, support total, an order-independent hash; eclat.c computes the same) so they can be checked equal.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// NEX_COMPOUND_BENCH_DIST runs another build's job (bench/patterns-bench.ts versus: an older commit's dist/).
const dist = process.env.NEX_COMPOUND_BENCH_DIST ? pathToFileURL(`${process.env.NEX_COMPOUND_BENCH_DIST}/`).href : new URL('../dist/', import.meta.url).href;
const { openDatabase, JOB_CACHE_MIB } = await import(`${dist}engine/store/db.js`);
const { runNextJob } = await import(`${dist}engine/queue/runner.js`);

const [mode, file, minSupportArg] = process.argv.slice(2);
const db = await openDatabase(file, { create: false, cacheMiB: JOB_CACHE_MIB });
const rss = () => process.resourceUsage().maxRSS / 1024;

function digest() {
  let count = 0;
  let supportTotal = 0;
  let hash = 0;
  // The set's items sorted in a reused buffer, as eclat.c does (memcpy, qsort), so both sides
  // do the same work per set (it was a spread array sorted with a comparator).
  let sorted = new Int32Array(64);
  return {
    add(items, support) {
      count++;
      supportTotal += support;
      // Sum of a per-set hash: independent of the order sets and items come in.
      const size = items.length;
      if (sorted.length < size) sorted = new Int32Array(2 * size);
      for (let i = 0; i < size; i++) {
        const x = items[i];
        let j = i;
        for (; j > 0 && sorted[j - 1] > x; j--) sorted[j] = sorted[j - 1];
        sorted[j] = x;
      }
      let h = 0x811c9dc5 ^ support;
      for (let i = 0; i < size; i++) h = Math.imul(h ^ sorted[i], 0x01000193);
      hash = (hash + (h >>> 0)) % 2 ** 32;
    },
    get: () => ({ itemsets: count, support_total: supportTotal, hash }),
  };
}

if (mode === 'job') {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const job = await runNextJob({ db, leaseDb: await openDatabase(file, { create: false }), workerId: 'bench', leaseMs: 600_000, now: () => Date.now() });
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const row = db.prepare('SELECT status, insights_scanned, candidates_created, result, error_details FROM jobs WHERE job_run_id = ?').get(job.job_run_id);
  if (row.status !== 'completed') throw new Error(`job ${row.status}: ${row.error_details ?? row.result}`);
  const result = JSON.parse(row.result);
  process.stdout.write(`${JSON.stringify({ insights: row.insights_scanned, seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6, peak_rss_mb: rss(), patterns: result.found, min_support: result.min_support })}\n`);
} else if (mode === 'export') {
  const { writeFileSync } = await import('node:fs');
  const { loadTransactions } = await import('../dist/engine/jobs/patterns/job.js');
  const { items, offsets } = loadTransactions(db, 1, 'both', 0.5).transactions;
  const lines = [];
  for (let t = 0; t + 1 < offsets.length; t++) lines.push(items.subarray(offsets[t], offsets[t + 1]).join(' '));
  writeFileSync(minSupportArg, `${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ transactions: lines.length })}\n`);
} else {
  const { loadTransactions } = await import('../dist/engine/jobs/patterns/job.js');
  const { eachTransaction, mineFrequentItemsets } = await import('../dist/engine/jobs/patterns/itemsets.js');
  const minSupport = Number(minSupportArg);
  const { transactions } = loadTransactions(db, 1, 'both', 0.5);
  const count = transactions.offsets.length - 1;
  const d = digest();
  // Timed inside the thread for node-fpgrowth: neither thread start nor copying counts against it.
  let theirSeconds;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  if (mode === 'ours') {
    mineFrequentItemsets(transactions, { minSupport }, (items, support) => d.add(items, support));
  } else {
    // node-fpgrowth recurses once per tree level and node: at 100k insights that overflows the
    // default stack, so it runs in a thread with a 1 GiB stack.
    const { Worker } = await import('node:worker_threads');
    const plain = Array.from(eachTransaction(transactions), (t) => Array.from(t));
    const fraction = (minSupport - 0.5) / plain.length; // it mines with ceil(fraction × n)
    const found = await new Promise((resolve, reject) => {
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         const { FPGrowth } = require(workerData.module);
         const start = performance.now();
         new FPGrowth(workerData.fraction).exec(workerData.transactions).then((sets) =>
           parentPort.postMessage({ seconds: (performance.now() - start) / 1000, sets: sets.map((s) => [s.items, s.support]) }));`,
        { eval: true, workerData: { transactions: plain, fraction, module: createRequire(import.meta.url).resolve('node-fpgrowth') }, resourceLimits: { stackSizeMb: 1024 } },
      );
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    for (const [items, support] of found.sets) d.add(items, support);
    theirSeconds = found.seconds;
  }
  const seconds = theirSeconds ?? (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  // CPU seconds for ours only: node-fpgrowth's thread shares the process's count with the copying.
  const cpuSeconds = theirSeconds === undefined ? (cpu.user + cpu.system) / 1e6 : undefined;
  process.stdout.write(`${JSON.stringify({ transactions: count, seconds, cpu_seconds: cpuSeconds, peak_rss_mb: rss(), ...d.get() })}\n`);
}
db.close();
