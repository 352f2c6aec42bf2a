/**
 * Consolidation benchmarks (run by bench/run.ts; also runnable alone):
 *
 *   quality  [--facts 3000]        precision, recall and hard-negative false merges on the
 *                                  labelled corpus, per threshold (one JSON line each)
 *   perf     --insights N          the real job on N insights imported through the CLI: time, peak RSS
 *   baseline [--insights 10000]    keyed candidates against exact all-pairs on the same insights: speed-up, recall
 *   pairs                          precision and recall on the hand-labelled pairs (bench/data), per set and split
 *   realtext [--insights 100000]   the real job twice on real package summaries (the second run must find
 *                                  nothing), and the plan's time against the code before fact keys, interleaved
 *
 * Performance corpora use the same generator with vocabularies that grow with the size
 * (companies = N / 5, 10× people, features and figures): a million notes about 300 companies
 * and 20 features would be the same few thousand sentences repeated, which no store holds.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateLabelledCorpus, scoreClusters } from './lib/labelled-insights.js';
import { ROOT, queueJob, runMeasured } from './lib/engine.js';
import { DEFAULT_THRESHOLD, planConsolidation } from '../src/engine/jobs/consolidation/plan.js';
import { normalizeText } from '../src/engine/text/normalize.js';
import { asInsights, readPairs, readSummaries, scorePairs, type LabelledPair } from './lib/labelled-pairs.js';

/** The last commit before consolidation read fact keys (LSH candidates, the old guard): the speed baseline. */
const BASELINE_COMMIT = '02d18b2';
/** The real-text corpus the labelled package-summary pairs were drawn from, and the idempotence run's. */
const SUMMARIES = 100_000;

const [mode = 'quality'] = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};

async function seededDatabase(insights: number, texts?: string[]): Promise<{ dir: string; db: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-consolidation-bench-'));
  const file = path.join(dir, 'corpus.jsonl');
  const rows = texts
    ? texts.map((text, i) => ({ text, created_at: Date.UTC(2026, 0, 1) + i * 1000 }))
    : generateLabelledCorpus({ facts: Math.ceil(insights / 1.3), seed: 17, companies: Math.max(300, Math.round(insights / 5)), variety: 10 }).insights;
  const out = createWriteStream(file);
  for (const insight of rows.slice(0, insights)) {
    if (!out.write(`${JSON.stringify({ text: insight.text, source: 'bench', created_at: insight.created_at })}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  const db = path.join(dir, 'engine.db');
  const env = { ...process.env, NEX_COMPOUND_DB: db };
  const bin = path.join(ROOT, 'bin', 'nex-compound.js');
  const imported = spawnSync(process.execPath, [bin, 'insights', 'import', file, '-q'], { env, encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
  queueJob(db, 'consolidation');
  return { dir, db };
}

const runner = (modeName: string, db: string) => runMeasured('consolidation-runner.mjs', [modeName, db]);

if (mode === 'quality') {
  const corpus = generateLabelledCorpus({ facts: arg('--facts', 3_000), seed: 11 });
  const input = corpus.insights.map((i) => ({ id: i.id, text: i.text, normalized_text: normalizeText(i.text), created_at: i.created_at }));
  for (const threshold of [0.5, 0.6, 0.7, 0.8, 0.9]) {
    const plan = planConsolidation(input, { threshold, maxConflicts: Infinity });
    const report = scoreClusters(corpus, plan.clusters.map((c) => c.members.map((m) => m.id)), plan.conflicts);
    process.stdout.write(`${JSON.stringify({ threshold, insights: input.length, ...report })}\n`);
  }
} else if (mode === 'perf' || mode === 'baseline') {
  const { dir, db } = await seededDatabase(arg('--insights', mode === 'baseline' ? 10_000 : 100_000));
  try {
    process.stdout.write(`${JSON.stringify(runner(mode === 'perf' ? 'job' : 'baseline', db))}\n`);
  } finally {
    if (process.env.NEX_COMPOUND_BENCH_KEEP) process.stderr.write(`kept ${db}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
} else if (mode === 'pairs') {
  for (const line of labelledPairScores()) process.stdout.write(`${JSON.stringify(line)}\n`);
} else if (mode === 'realtext') {
  const n = arg('--insights', SUMMARIES);
  const { dir, db } = await seededDatabase(n, readSummaries(n));
  try {
    const first = runner('job', db);
    queueJob(db, 'consolidation');
    const second = runner('job', db);
    process.stdout.write(`${JSON.stringify({ mode: 'idempotence', first, second })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify({ mode: 'speed', ...comparePlanTimes(n, arg('--runs', 3)) })}\n`);
} else {
  process.stderr.write('usage: consolidation-bench.ts quality|perf|baseline|pairs|realtext [--facts N] [--insights N] [--runs N]\n');
  process.exit(2);
}

/** Per labelled set and split: precision and recall of the plan's merges, and the mistakes on the held-out half. */
function labelledPairScores(): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const score = (set: string, pairs: LabelledPair[], texts: string[], splitName = (split: LabelledPair['split']): string => split) => {
    const insights = asInsights(texts);
    const plan = planConsolidation(insights, { threshold: DEFAULT_THRESHOLD });
    for (const split of ['dev', 'held-out'] as const) {
      const chosen = pairs.filter((p) => p.split === split);
      if (chosen.length === 0) continue;
      const { mistakes, ...figures } = scorePairs(chosen, insights, plan.clusters);
      out.push({ set, split: splitName(split), ...figures, ...(split === 'held-out' ? { mistakes } : {}) });
    }
  };
  // The first set's held-out half was read while the rule was built, so both of its halves are
  // development data now; the fresh set, labelled blind to the engine, is the held-out figure.
  // Its texts from after line 100,000 join the corpus (one plan for both sets).
  const fresh = readPairs('labelled-pairs-pypi-fresh.jsonl');
  const summaries = [...readSummaries(SUMMARIES), ...fresh.flatMap((p) => [p.a, p.b])];
  score('package summaries (first set)', readPairs('labelled-pairs-pypi.jsonl'), summaries, (split) => (split === 'dev' ? 'dev' : 'dev (former held-out half)'));
  score('package summaries (fresh set)', fresh, summaries);
  // CRM notes in the context of a CRM-like store: the demo's notes and the generator's.
  const crm = readPairs('labelled-pairs-crm.jsonl');
  const demo = readFileSync(path.join(ROOT, 'data', 'demo-insights.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { text: string }).text);
  const generated = generateLabelledCorpus({ facts: 3_000, seed: 11 }).insights.map((i) => i.text);
  score('CRM notes', crm, [...crm.flatMap((p) => [p.a, p.b]), ...demo, ...generated]);
  return out;
}

/**
 * The plan over the same real summaries with this code and with the code of BASELINE_COMMIT
 * (extracted from git into .bench/), each in a child process, interleaved: medians of `runs`.
 */
function comparePlanTimes(n: number, runs: number): Record<string, unknown> {
  const baselineDir = path.join(ROOT, '.bench', `baseline-${BASELINE_COMMIT}`);
  const baselinePlan = path.join(baselineDir, 'src', 'engine', 'jobs', 'consolidation', 'plan.ts');
  if (!existsSync(baselinePlan)) {
    mkdirSync(baselineDir, { recursive: true });
    const archive = spawnSync('sh', ['-c', `git -C "${ROOT}" archive ${BASELINE_COMMIT} src | tar -x -C "${baselineDir}"`], { encoding: 'utf8' });
    if (archive.status !== 0) return { skipped: `no baseline: git archive ${BASELINE_COMMIT} failed (${archive.stderr.trim()}); a shallow clone lacks it` };
  }
  const time = (plan: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'consolidation-plan-time.ts'), plan, String(n)], { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`plan timing failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { insights: number; seconds: number; clusters: number; merged: number; conflicts: number };
  };
  const current = path.join(ROOT, 'src', 'engine', 'jobs', 'consolidation', 'plan.ts');
  const before: number[] = [];
  const after: number[] = [];
  let last: Record<string, unknown> = {};
  let lastBaseline: Record<string, unknown> = {};
  for (let i = 0; i < runs; i++) {
    const b = time(baselinePlan);
    before.push(b.seconds);
    lastBaseline = b;
    const a = time(current);
    after.push(a.seconds);
    last = a;
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { insights: last.insights, runs, seconds: median(after), baseline_seconds: median(before), ratio: median(after) / median(before), after: last, baseline: lastBaseline, all_seconds: after, all_baseline_seconds: before };
}
