/**
 * pattern_detection benchmarks (run by bench/run.ts; also runnable alone):
 *
 *   perf    --insights N   the real job on N insights imported through the CLI: time, peak RSS —
 *                          the default (concept items, KRIMP) and, on a copy of the same store in
 *                          the same run, `patterns.select closed` (the exact closed sets: the job
 *                          as it was before the selection existed), for their ratio
 *   versus --baseline DIR [--pairs N] [--insights N | --db FILE]
 *                          the default job against an older checkout's (DIR: `git worktree add DIR
 *                          <commit>`, node_modules linked, `npx tsc` there), alternating which runs
 *                          first, each on a fresh copy of one store: wall and CPU seconds, peak RSS,
 *                          medians and ranges, the ratio of the medians
 *   compare --insights N [--runs R]
 *                          our miner (src/engine/jobs/patterns/itemsets.ts) against a small C
 *                          Eclat (bench/eclat/eclat.c, compiled here by gcc) and the node-fpgrowth
 *                          package, on the same transactions and minimum support, R rounds (3)
 *                          with the three interleaved: medians and ranges of the mining seconds,
 *                          the ratios of the medians, equal output (count, support total, hash)
 *
 * The corpus: bench/lib/pattern-corpus.ts.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { taggedInsights } from './lib/pattern-corpus.js';
import { ROOT, queueJob, runMeasured } from './lib/engine.js';

const [mode = 'perf'] = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};

async function seededDatabase(insights: number): Promise<{ dir: string; db: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-patterns-bench-'));
  const file = path.join(dir, 'corpus.jsonl');
  const out = createWriteStream(file);
  for (const insight of taggedInsights(insights)) {
    const line = JSON.stringify({ text: insight.text, source: insight.source, tags: insight.tags, created_at: insight.created_at });
    if (!out.write(`${line}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  const db = path.join(dir, 'engine.db');
  const imported = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'nex-compound.js'), 'insights', 'import', file, '-q'], { env: { ...process.env, NEX_COMPOUND_DB: db }, encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
  return { dir, db };
}

const runner = (args: string[]) => runMeasured<Record<string, number>>('patterns-runner.mjs', args);
const option = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const spread = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

interface Run {
  seconds: number;
  cpu_seconds: number;
  peak_rss_mb: number;
  patterns: number;
}

/** Old and new, one after the other and alternating which goes first, each on a fresh copy of the store. */
function versus(store: string, dir: string, baseline: string, pairs: number): void {
  const runs: Record<'old' | 'new', Run[]> = { old: [], new: [] };
  const one = (which: 'old' | 'new') => {
    const db = path.join(dir, `${which}.db`);
    copyFileSync(store, db);
    const root = which === 'old' ? path.resolve(baseline) : ROOT;
    queueJob(db, 'pattern_detection', {}, root);
    const env: Record<string, string> = which === 'old' ? { NEX_COMPOUND_BENCH_DIST: path.join(root, 'dist') } : {};
    const r = runMeasured<Run>('patterns-runner.mjs', ['job', db], env);
    runs[which].push(r);
    process.stderr.write(`${which}: ${r.seconds.toFixed(3)} s wall, ${r.cpu_seconds.toFixed(3)} s CPU, ${Math.round(r.peak_rss_mb)} MB, ${r.patterns} patterns\n`);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  };
  for (let i = 0; i < pairs; i++) for (const which of i % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const)) one(which);
  const summary = (key: keyof Run) => {
    const of = (which: 'old' | 'new') => {
      const xs = runs[which].map((r) => r[key]);
      return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
    };
    const [o, n] = [of('old'), of('new')];
    const pairRatios = runs.new.map((r, i) => r[key] / runs.old[i]![key]);
    return { old: o, new: n, ratio_of_medians: n.median / o.median, pair_ratios: { median: median(pairRatios), min: Math.min(...pairRatios), max: Math.max(...pairRatios) } };
  };
  process.stdout.write(`${JSON.stringify({ pairs, seconds: summary('seconds'), cpu_seconds: summary('cpu_seconds'), peak_rss_mb: summary('peak_rss_mb'), patterns: { old: runs.old[0]?.patterns, new: runs.new[0]?.patterns } })}\n`);
}

/**
 * bench/eclat/eclat.c compiled into .bench/ with `gcc -O2 -march=native` (the machine's popcount,
 * as V8 compiles for the machine it runs on; plain `-O2` where -march=native is refused), or
 * undefined when gcc is missing. $CC, when set, names another compiler taking the same flags.
 */
function compileEclat(): string | undefined {
  const compiler = process.env.CC ?? 'gcc';
  const out = path.join(ROOT, '.bench', 'eclat');
  mkdirSync(path.dirname(out), { recursive: true });
  const source = path.join(ROOT, 'bench', 'eclat', 'eclat.c');
  for (const flags of [['-O2', '-march=native'], ['-O2']]) {
    const r = spawnSync(compiler, [...flags, '-o', out, source], { encoding: 'utf8' });
    if (r.error) {
      process.stderr.write(`${compiler} not found: the C Eclat anchor is skipped (on Debian/Ubuntu: sudo apt-get install gcc)\n`);
      return undefined;
    }
    if (r.status === 0) return out;
  }
  throw new Error(`${compiler} could not compile bench/eclat/eclat.c`);
}

interface MinerRun {
  seconds: number;
  cpu_seconds?: number;
  peak_rss_mb?: number;
  itemsets: number;
  support_total: number;
  hash: number;
}

/** Our miner, the C Eclat and node-fpgrowth, in turn, `runs` times (each in a fresh process). */
function compare(db: string, dir: string, insights: number, minSupport: number, runs: number) {
  const eclat = compileEclat();
  const file = path.join(dir, 'transactions.txt');
  if (eclat) runner(['export', db, file]);
  const load = os.loadavg();
  const results: { ours: MinerRun[]; eclat: MinerRun[]; theirs: MinerRun[] } = { ours: [], eclat: [], theirs: [] };
  for (let i = 0; i < runs; i++) {
    results.ours.push(runner(['ours', db, String(minSupport)]) as unknown as MinerRun);
    if (eclat) {
      const r = spawnSync(eclat, [file, String(minSupport)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`eclat failed: ${r.stderr}`);
      results.eclat.push(JSON.parse(r.stdout) as MinerRun);
    }
    results.theirs.push(runner(['node-fpgrowth', db, String(minSupport)]) as unknown as MinerRun);
  }
  const same = (a: MinerRun, b: MinerRun) => a.itemsets === b.itemsets && a.support_total === b.support_total && a.hash === b.hash;
  const summary = (list: MinerRun[]) => ({
    seconds: spread(list.map((r) => r.seconds)),
    cpu_seconds: list[0]?.cpu_seconds === undefined ? undefined : spread(list.map((r) => r.cpu_seconds!)),
    itemsets: list[0]?.itemsets,
    peak_rss_mb: list[0]?.peak_rss_mb,
  });
  const ours = summary(results.ours);
  const theirs = summary(results.theirs);
  const c = eclat ? summary(results.eclat) : undefined;
  const first = results.ours[0]!;
  return {
    insights,
    min_support: minSupport,
    runs,
    load_average: [os.loadavg(), load].map((l) => l.map((x) => Math.round(x * 100) / 100)),
    ours,
    eclat: c,
    theirs,
    vs_eclat: c ? ours.seconds.median / c.seconds.median : undefined,
    vs_eclat_per_round: eclat ? spread(results.ours.map((r, i) => r.seconds / results.eclat[i]!.seconds)) : undefined,
    // CPU seconds: under a loaded machine's waits for a core, the steadier of the two.
    vs_eclat_cpu: c?.cpu_seconds && ours.cpu_seconds ? ours.cpu_seconds.median / c.cpu_seconds.median : undefined,
    vs_fpgrowth: ours.seconds.median / theirs.seconds.median,
    equal: [...results.ours, ...results.theirs, ...results.eclat].every((r) => same(r, first)),
  };
}

if (mode === 'versus') {
  const baseline = option('--baseline');
  if (!baseline) throw new Error('versus needs --baseline DIR (a checkout of the older commit, built)');
  const given = option('--db');
  const { dir, db } = given ? { dir: mkdtempSync(path.join(os.tmpdir(), 'nex-compound-patterns-versus-')), db: given } : await seededDatabase(arg('--insights', 100_000));
  try {
    versus(db, dir, baseline, arg('--pairs', 5));
  } finally {
    if (given || !process.env.NEX_COMPOUND_BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${db}\n`);
  }
} else if (mode === 'perf' || mode === 'compare') {
  const insights = arg('--insights', mode === 'perf' ? 100_000 : 10_000);
  const { dir, db } = await seededDatabase(insights);
  try {
    if (mode === 'perf') {
      const closedDb = path.join(dir, 'closed.db');
      copyFileSync(db, closedDb);
      queueJob(closedDb, 'pattern_detection', { select: 'closed' });
      const closed = runner(['job', closedDb]);
      queueJob(db, 'pattern_detection');
      process.stdout.write(`${JSON.stringify({ ...runner(['job', db]), closed })}\n`);
    } else {
      const minSupport = Math.max(3, Math.ceil(0.01 * insights));
      process.stdout.write(`${JSON.stringify(compare(db, dir, insights, minSupport, arg('--runs', 3)))}\n`);
    }
  } finally {
    if (process.env.NEX_COMPOUND_BENCH_KEEP) process.stderr.write(`kept ${db}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
} else {
  process.stderr.write('usage: patterns-bench.ts perf|compare [--insights N] | versus --baseline DIR [--pairs N] [--insights N | --db FILE]\n');
  process.exit(2);
}
