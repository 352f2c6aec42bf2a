/**
 * One entry point for the benchmarks: `npm run bench` (default sizes, about two minutes)
 * or `npm run bench -- --full` (1M insights). Every figure is measured next to a baseline
 * in the same run and reported as a ratio; nothing here is a pass/fail timing assertion.
 * Prints a table and writes .bench/results.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';
import { JOB_CACHE_MIB, openDatabaseWith } from '../src/engine/store/db.js';
import { createJob } from '../src/engine/queue/queue.js';
import { runDecaySweep } from '../src/engine/jobs/decay/job.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'nex-compound.js');
const full = process.argv.includes('--full');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const DAY = 86_400_000;

interface Row {
  figure: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineLabel?: string;
  /** The baseline's unit when it is not a time in ms. */
  baselineUnit?: string;
  ratio?: number;
  goal?: string;
  peakRssMb?: number;
}
const rows: Row[] = [];
const want = (name: string) => !only || only.includes(name);

function tmp(): string {
  const dir = path.join(os.tmpdir(), `nex-compound-bench-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Median wall time of a command over n runs, after warm-up, in ms. Interleaved with its baseline to share noise. */
function timeCommands(commands: Array<{ args: string[]; env?: Record<string, string> }>, runs: number): number[] {
  const totals = commands.map(() => [] as number[]);
  for (let warm = 0; warm < 3; warm++) for (const c of commands) spawnSync(process.execPath, c.args, { env: { ...process.env, ...c.env }, stdio: 'ignore' });
  for (let i = 0; i < runs; i++) {
    commands.forEach((c, index) => {
      const start = process.hrtime.bigint();
      const r = spawnSync(process.execPath, c.args, { env: { ...process.env, ...c.env }, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${c.args.join(' ')} exited ${r.status}`);
      totals[index]!.push(Number(process.hrtime.bigint() - start) / 1e6);
    });
  }
  // The median resists the odd slow run on a shared 2-core machine.
  return totals.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

function seedInsights(file: string, n: number): void {
  const db = openDatabaseWith(Sqlite, file, { create: true });
  const insert = db.prepare(
    `INSERT INTO insights (workspace_id, text, normalized_text, source, tags, confidence, base_confidence, created_at, last_reinforced_at)
     VALUES (1, ?, ?, 'bench', '[]', ?, ?, ?, ?)`,
  );
  const now = Date.now();
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const base = 0.2 + ((i * 7919) % 80) / 100;
      const last = now - ((i * 104729) % 500) * DAY;
      insert.run(`bench insight ${i}`, `bench insight ${i}`, base, base, last - DAY, last);
    }
  });
  for (let i = 0; i < n; i += 50_000) batch(i, Math.min(n, i + 50_000));
  db.close();
}

async function benchStartup(): Promise<void> {
  const baseline = { args: ['-e', '0'] };
  const [base, version, help] = timeCommands([baseline, { args: [BIN, '--version'] }, { args: [BIN, '--help'] }], full ? 30 : 15);
  rows.push({ figure: 'startup: --version', value: version!, unit: 'ms', baseline: base!, baselineLabel: 'node -e 0', ratio: version! / base!, goal: '≤ 1.3×' });
  rows.push({ figure: 'startup: --help', value: help!, unit: 'ms', baseline: base!, baselineLabel: 'node -e 0', ratio: help! / base!, goal: '≤ 1.3×' });

  const dir = tmp();
  const db = path.join(dir, 'engine.db');
  seedInsights(db, 10);
  const env = { NEX_COMPOUND_DB: db, NEX_COMPOUND_CONFIG_DIR: dir, XDG_DATA_HOME: dir };
  const [base2, trigger] = timeCommands([baseline, { args: [BIN, 'trigger', 'metrics', '--local', '--json', '-q'], env }], full ? 20 : 10);
  rows.push({ figure: 'local trigger → accepted (wall)', value: trigger!, unit: 'ms', baseline: base2!, baselineLabel: 'node -e 0', ratio: trigger! / base2!, goal: '< 150 ms; ≤ 2.5×' });

  // status --json against a loopback server (in its own process: timeCommands blocks this one).
  const fake = spawn(process.execPath, ['-e', `
    const id = '3f1c2e4a-8b7d-4c6e-9f0a-1b2c3d4e5f60';
    const body = JSON.stringify({ job_run_id: id, job_type: 'metrics', workspace_id: 1, status: 'completed', dry_run: false, insights_scanned: 10, insights_affected: 0, candidates_created: 0, errors: 0, started_at: new Date().toISOString(), completed_at: new Date().toISOString(), duration_ms: 5 });
    const server = require('node:http').createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  `]);
  const port = await new Promise<string>((resolve) => fake.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  try {
    const remoteEnv = { NEX_API_KEY: 'bench-key-0000000000', NEX_COMPOUND_CONFIG_DIR: dir };
    const [base3, status] = timeCommands(
      [baseline, { args: [BIN, 'status', '3f1c2e4a-8b7d-4c6e-9f0a-1b2c3d4e5f60', '--json', '--remote', '--base-url', `http://127.0.0.1:${port}`], env: remoteEnv }],
      full ? 20 : 10,
    );
    rows.push({ figure: 'status <id> --json against a loopback server (wall)', value: status!, unit: 'ms', baseline: base3!, baselineLabel: 'node -e 0', ratio: status! / base3!, goal: '≤ 2.5×' });
  } finally {
    fake.kill();
  }

  // How soon after the worker finishes does a waiting watch see it? completed_at vs the moment watch exits.
  const lags: number[] = [];
  for (let i = 0; i < (full ? 10 : 5); i++) {
    const result = await new Promise<{ out: string; exitedAt: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'trigger', 'metrics', '--local', '--wait', '--json', '-q'], { env: { ...process.env, ...env } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('error', reject);
      child.on('close', () => resolve({ out, exitedAt: Date.now() }));
    });
    const status = JSON.parse(result.out) as { completed_at: string };
    lags.push(result.exitedAt - Date.parse(status.completed_at));
  }
  lags.sort((a, b) => a - b);
  rows.push({ figure: 'local watch: completion seen after worker finished (max)', value: lags.at(-1)!, unit: 'ms', goal: '≤ 250 ms' });
}

async function benchDecay(): Promise<void> {
  const n = full ? 1_000_000 : 200_000;
  const dir = tmp();
  const file = path.join(dir, 'engine.db');
  seedInsights(file, n);
  const db = openDatabaseWith(Sqlite, file, { create: false, cacheMiB: JOB_CACHE_MIB });
  // Baseline: a bare full scan of the same rows, the floor any sweep must pay.
  const scanStart = performance.now();
  let sum = 0;
  for (const row of db.prepare('SELECT id, confidence, base_confidence, last_reinforced_at FROM insights').raw().iterate() as IterableIterator<number[]>) sum += row[1]!;
  const scanMs = performance.now() - scanStart;
  void sum;
  const job = createJob(db, { workspaceId: 1, jobType: 'decay_sweep', dryRun: false, now: Date.now() });
  const start = performance.now();
  const outcome = runDecaySweep({ db, job, params: {}, now: Date.now(), progress: () => undefined });
  db.transaction(() => outcome.apply?.()).immediate();
  const ms = performance.now() - start;
  db.close();
  rows.push({
    figure: `decay_sweep over ${n.toLocaleString('en-US')} insights`,
    value: ms,
    unit: 'ms',
    baseline: scanMs,
    baselineLabel: 'bare SELECT scan',
    ratio: ms / scanMs,
    goal: full ? '< 5,000 ms' : '(1M: < 5 s)',
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  });
}

async function benchImport(): Promise<void> {
  const script = path.join(ROOT, 'bench', 'import-bench.ts');
  if (!existsSync(script)) return;
  const lines = full ? 1_000_000 : 200_000;
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--lines', String(lines)], { encoding: 'utf8', cwd: ROOT });
  const last = r.stdout.trim().split('\n').at(-1);
  if (r.status !== 0 || !last) throw new Error(`import bench failed: ${r.stderr}`);
  const result = JSON.parse(last) as {
    lines: number;
    runs: number;
    insights_per_second: number;
    insights_per_second_min: number;
    insights_per_second_max: number;
    floor_insights_per_second: number;
    peak_rss_mb: number;
    export_seconds: number;
    export_peak_rss_mb: number;
    export_anchor_seconds: number | null;
    restore_seconds: number;
    restore_peak_rss_mb: number;
    backup_seconds: number;
    backup_peak_rss_mb: number;
    backup_anchor_seconds: number | null;
  };
  const range = `${result.insights_per_second_min.toLocaleString('en-US')}–${result.insights_per_second_max.toLocaleString('en-US')}/s`;
  rows.push({
    figure: `import ${result.lines.toLocaleString('en-US')}-line JSONL (median of ${result.runs}; ${range})`,
    value: result.insights_per_second,
    unit: 'insights/s',
    baseline: result.floor_insights_per_second,
    baselineUnit: 'insights/s',
    baselineLabel: 'storage floor: same rows, same writer, no parsing',
    ratio: result.insights_per_second / result.floor_insights_per_second,
    goal: '≥ 100,000/s; RSS < 300 MB',
    peakRssMb: result.peak_rss_mb,
  });
  const n = result.lines.toLocaleString('en-US');
  rows.push({
    figure: `insights export of the ${n}-line store`,
    value: result.export_seconds * 1000,
    unit: 'ms',
    baseline: result.export_anchor_seconds === null ? undefined : result.export_anchor_seconds * 1000,
    baselineUnit: 'ms',
    baselineLabel: 'sqlite3 CLI: the same rows as JSON objects',
    ratio: result.export_anchor_seconds === null ? undefined : result.export_seconds / result.export_anchor_seconds,
    goal: 'RSS < 300 MB',
    peakRssMb: result.export_peak_rss_mb,
  });
  rows.push({
    figure: `insights import --restore of that export`,
    value: result.restore_seconds * 1000,
    unit: 'ms',
    goal: 'RSS < 300 MB',
    peakRssMb: result.restore_peak_rss_mb,
  });
  rows.push({
    figure: `backup of the ${n}-line store`,
    value: result.backup_seconds * 1000,
    unit: 'ms',
    baseline: result.backup_anchor_seconds === null ? undefined : result.backup_anchor_seconds * 1000,
    baselineUnit: 'ms',
    baselineLabel: 'sqlite3 CLI .backup',
    ratio: result.backup_anchor_seconds === null ? undefined : result.backup_seconds / result.backup_anchor_seconds,
    goal: 'RSS < 300 MB',
    peakRssMb: result.backup_peak_rss_mb,
  });
  // Issue 24: realistic texts in random key order, against the sqlite3 CLI's own upsert of the same file.
  const realistic = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'import-anchor-bench.ts'), '--lines', String(lines)], { encoding: 'utf8', cwd: ROOT });
  if (realistic.status !== 0) throw new Error(`import anchor bench failed: ${realistic.stderr}`);
  process.stderr.write(realistic.stderr);
  const anchored = JSON.parse(realistic.stdout.trim().split('\n').at(-1)!) as { runs: number; engine_seconds: number[]; engine_median_seconds: number; engine_peak_rss_mb: number; anchor_median_seconds: number | null; ratio: number | null };
  rows.push({
    figure: `import ${lines.toLocaleString('en-US')} realistic lines, random key order (median of ${anchored.runs}; ${Math.min(...anchored.engine_seconds)}–${Math.max(...anchored.engine_seconds)} s)`,
    value: anchored.engine_median_seconds * 1000,
    unit: 'ms',
    baseline: anchored.anchor_median_seconds === null ? undefined : anchored.anchor_median_seconds * 1000,
    baselineUnit: 'ms',
    baselineLabel: 'sqlite3 CLI: .import + one upsert of the same file',
    ratio: anchored.ratio ?? undefined,
    goal: '≤ 1.2× sqlite3 CLI; RSS < 300 MB',
    peakRssMb: anchored.engine_peak_rss_mb,
  });
}

function consolidationBench(args: string[]): Array<Record<string, number>> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'consolidation-bench.ts'), ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`consolidation bench failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number>);
}

async function benchConsolidation(): Promise<void> {
  for (const q of consolidationBench(['quality'])) {
    rows.push({
      figure: `consolidation quality @ threshold ${q.threshold} (${q.insights} labelled insights)`,
      value: q.precision!,
      unit: `precision, recall ${q.recall!.toFixed(4)}, hard-negative false merges ${q.hard_negative_false_merges}/${q.hard_negatives}`,
      goal: 'P ≥ 0.99, R ≥ 0.95, 0',
    });
  }
  for (const p of consolidationBench(['pairs']) as Array<Record<string, any>>) {
    rows.push({
      figure: `consolidation on hand-labelled ${p.set} pairs, ${p.split} half (${p.pairs} pairs, ${p.judged_same} judged same)`,
      value: p.precision * 100,
      unit: `% precision, recall ${(p.recall * 100).toFixed(1)} %`,
      goal: p.split === 'held-out' ? 'P ≥ 0.95, R ≥ 0.85' : '',
    });
  }
  const [b] = consolidationBench(['baseline', '--insights', '3000']);
  rows.push({
    figure: `consolidation ${b!.insights!.toLocaleString('en-US')}: keyed candidates vs exact all-pairs`,
    value: b!.keyed_seconds! * 1000,
    unit: `ms; recall vs all-pairs ${b!.recall_vs_all_pairs!.toFixed(4)}`,
    baseline: b!.all_pairs_seconds! * 1000,
    baselineLabel: 'all pairs',
    ratio: b!.keyed_seconds! / b!.all_pairs_seconds!,
  });
  const [idempotence, speed] = consolidationBench(['realtext']) as Array<Record<string, any>>;
  rows.push({
    figure: `consolidation job twice over ${idempotence!.first.insights.toLocaleString('en-US')} real package summaries (${idempotence!.first.clusters} clusters, then ${idempotence!.second.clusters})`,
    value: idempotence!.second.clusters,
    unit: 'clusters on the re-run',
    goal: '0',
    peakRssMb: idempotence!.first.peak_rss_mb,
  });
  if (speed!.skipped) process.stderr.write(`consolidation speed baseline skipped: ${speed!.skipped}\n`);
  else {
    rows.push({
      figure: `consolidation plan over ${speed!.insights.toLocaleString('en-US')} real package summaries vs the code before fact keys (median of ${speed!.runs}, interleaved)`,
      value: speed!.seconds * 1000,
      unit: 'ms',
      baseline: speed!.baseline_seconds * 1000,
      baselineLabel: 'before',
      ratio: speed!.ratio,
      goal: '≤ 1.2×',
    });
  }
  const sizes = full ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
  const times: number[] = [];
  for (const n of sizes) {
    const [p] = consolidationBench(['perf', '--insights', String(n)]);
    times.push(p!.seconds!);
    rows.push({
      figure: `consolidation job over ${n.toLocaleString('en-US')} insights (${p!.clusters} clusters, ${p!.candidate_pairs!.toLocaleString('en-US')} candidate pairs)`,
      value: p!.seconds! * 1000,
      unit: 'ms',
      ...(times.length > 1 ? { baseline: times.at(-2)! * 1000, baselineLabel: `${(sizes[times.length - 2]!).toLocaleString('en-US')} insights`, ratio: p!.seconds! / times.at(-2)! } : {}),
      goal: n === 100_000 ? '≤ 10 s' : n === 1_000_000 ? '≤ 120 s; ×≤ 12 of 100k; RSS ≤ 1.5 GB' : '',
      peakRssMb: p!.peak_rss_mb!,
    });
  }
}

function patternsBench(args: string[]): Array<Record<string, any>> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'patterns-bench.ts'), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`patterns bench failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
}

async function benchPatterns(): Promise<void> {
  const compareAt = full ? 100_000 : 10_000;
  const [c] = patternsBench(['compare', '--insights', String(compareAt)]);
  rows.push({
    figure: `FP-Growth vs node-fpgrowth, ${compareAt.toLocaleString('en-US')} insights' transactions, min support ${c!.min_support} (${c!.ours.itemsets.toLocaleString('en-US')} item sets, ${c!.equal ? 'identical' : 'DIFFERENT'})`,
    value: c!.ours.seconds * 1000,
    unit: 'ms',
    baseline: c!.theirs.seconds * 1000,
    baselineLabel: 'node-fpgrowth',
    ratio: c!.ours.seconds / c!.theirs.seconds,
    goal: 'faster, identical',
    peakRssMb: c!.ours.peak_rss_mb,
  });
  const sizes = full ? [100_000, 1_000_000] : [100_000];
  let previous: number | undefined;
  for (const n of sizes) {
    const [p] = patternsBench(['perf', '--insights', String(n)]);
    rows.push({
      figure: `pattern_detection job over ${n.toLocaleString('en-US')} insights (${p!.patterns} patterns, min support ${p!.min_support}) vs patterns.select closed (${p!.closed.patterns} patterns)`,
      value: p!.seconds * 1000,
      unit: 'ms',
      baseline: p!.closed.seconds * 1000,
      baselineLabel: 'closed',
      ratio: p!.seconds / p!.closed.seconds,
      goal: n === 100_000 ? '≤ 0.5× closed; RSS ≤ 1.5 GB' : '≤ 240 s; RSS ≤ 1.5 GB',
      peakRssMb: p!.peak_rss_mb,
    });
    if (previous !== undefined) rows.push({ figure: `pattern_detection, ${n.toLocaleString('en-US')} vs ${(n / 10).toLocaleString('en-US')} insights`, value: p!.seconds * 1000, unit: 'ms', baseline: previous * 1000, ratio: p!.seconds / previous, goal: '' });
    previous = p!.seconds;
  }
}

function patternsQuality(args: string[]): Record<string, any> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'patterns-quality.ts'), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`patterns quality bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
}

async function benchPatternQuality(): Promise<void> {
  const d = patternsQuality(['demo']);
  rows.push({ figure: `demo: ${d.patterns} patterns, ${d.rules} rules; planted themes stated by a rule (missed: ${d.missed.join('; ') || 'none'})`, value: d.recovered, unit: `of ${d.themes}`, goal: '≤ 30 patterns, ≤ 20 rules, ≥ 90 %' });
  for (const minSupport of [undefined, '0.002']) {
    const q = patternsQuality(['real', ...(minSupport ? ['--min-support', minSupport] : [])]);
    rows.push({
      figure: `real text (${q.insights.toLocaleString('en-US')} PyPI summaries, min support ${q.min_support}): ${q.patterns} patterns, ${q.rules} rules over ${q.distinct_item_sets} item sets; word-equals-its-tag ${q.word_equals_its_tag}; phrase fragments ${q.phrase_fragments}`,
      value: q.rules_per_item_set,
      unit: 'rules per item set',
      goal: '≤ 1.2, 0 word=tag, ≤ 10 % fragments, ≤ 150 rules',
    });
  }
}

async function benchServe(): Promise<void> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'serve-bench.ts'), '--insights', full ? '1000000' : '100000', '--seconds', '10'], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`serve bench failed: ${r.stderr}`);
  const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
  rows.push({
    figure: `serve: GET status, 50 connections, 10 s, consolidation of ${(s.insights as number).toLocaleString('en-US')} running (${s.consolidation_status_at_end} at the end; p99 ${s.served.p99} ms, baseline p99 ${s.baseline.p99} ms; ${s.served.errors + s.served.non2xx} errors)`,
    value: s.served.rps,
    unit: 'requests/s',
    baseline: s.baseline.rps,
    baselineUnit: 'req/s',
    baselineLabel: 'bare node:http',
    ratio: s.served.rps / s.baseline.rps,
    goal: '≥ 5,000/s, p99 < 50 ms',
  });
  rows.push({ figure: 'serve: 200 concurrent triggers', value: s.jobs_created, unit: `jobs created (${s.accepted} answered 202)`, goal: 'exactly 200' });
}

/**
 * decay_sweep and metrics at 10k, 100k and 1M insights (--full; 10k and 100k by default),
 * each job in its own process through the runner, as the worker runs it. metrics runs after
 * the sweep, on the store the sweep left.
 */
async function benchJobScaling(): Promise<void> {
  const sizes = full ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
  const previous = new Map<string, number>();
  for (const n of sizes) {
    const dir = tmp();
    const file = path.join(dir, 'engine.db');
    seedInsights(file, n);
    for (const jobType of ['decay_sweep', 'metrics'] as const) {
      const db = openDatabaseWith(Sqlite, file, { create: false });
      createJob(db, { workspaceId: 1, jobType, dryRun: false, now: Date.now() });
      db.close();
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'job-runner.mjs'), file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${jobType} at ${n}: ${r.stderr}`);
      const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { seconds: number; peak_rss_mb: number; affected: number };
      const before = previous.get(jobType);
      rows.push({
        figure: `scaling: ${jobType} job over ${n.toLocaleString('en-US')} insights${jobType === 'decay_sweep' ? ` (${result.affected.toLocaleString('en-US')} changed)` : ''}`,
        value: result.seconds * 1000,
        unit: 'ms',
        ...(before !== undefined ? { baseline: before * 1000, baselineLabel: `${(n / 10).toLocaleString('en-US')} insights`, ratio: result.seconds / before } : {}),
        peakRssMb: result.peak_rss_mb,
      });
      previous.set(jobType, result.seconds);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const benches: Array<[string, () => Promise<void>]> = [
  ['startup', benchStartup],
  ['import', benchImport],
  ['decay', benchDecay],
  ['scaling', benchJobScaling],
  ['consolidation', benchConsolidation],
  ['patterns', benchPatterns],
  ['pattern-quality', benchPatternQuality],
  ['serve', benchServe],
];

if (!existsSync(path.join(ROOT, 'dist', 'cli', 'entry.js'))) {
  process.stderr.write('dist/ is missing: run `npm run build` first\n');
  process.exit(2);
}
for (const [name, bench] of benches) {
  if (!want(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  await bench();
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined ? '' : n >= 1000 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits));
const table = [
  ['figure', 'value', 'baseline', 'ratio', 'goal', 'peak RSS'],
  ...rows.map((r) => [
    r.figure,
    `${fmt(r.value)} ${r.unit}`,
    r.baseline !== undefined ? `${fmt(r.baseline)} ${r.baselineUnit ?? 'ms'} (${r.baselineLabel})` : '',
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '',
    r.goal ?? '',
    r.peakRssMb !== undefined ? `${Math.round(r.peakRssMb)} MB` : '',
  ]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
for (const row of table) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}\n`);

const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gb: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}` };
mkdirSync(path.join(ROOT, '.bench'), { recursive: true });
writeFileSync(path.join(ROOT, '.bench', 'results.json'), `${JSON.stringify({ full, at: new Date().toISOString(), machine, rows }, null, 2)}\n`);
process.stderr.write(`wrote .bench/results.json\n`);
