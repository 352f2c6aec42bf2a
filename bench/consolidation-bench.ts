/**
 * Consolidation benchmarks (run by bench/run.ts; also runnable alone):
 *
 *   quality  [--facts 3000]        precision, recall and hard-negative false merges on the
 *                                  labelled corpus, per threshold (one JSON line each)
 *   perf     --insights N          the real job on N insights imported through the CLI: time, peak RSS
 *   baseline [--insights 10000]    LSH against exact all-pairs on the same insights: speed-up, recall
 *
 * Performance corpora use the same generator with vocabularies that grow with the size
 * (companies = N / 5, 10× people, features and figures): a million notes about 300 companies
 * and 20 features would be the same few thousand sentences repeated, which no store holds.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateLabelledCorpus, scoreClusters } from './lib/labelled-insights.js';
import { ROOT, queueJob, runMeasured } from './lib/engine.js';
import { planConsolidation } from '../src/engine/jobs/consolidation/plan.js';
import { normalizeText } from '../src/engine/text/normalize.js';

const [mode = 'quality'] = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};

async function seededDatabase(insights: number): Promise<{ dir: string; db: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-consolidation-bench-'));
  const file = path.join(dir, 'corpus.jsonl');
  const corpus = generateLabelledCorpus({ facts: Math.ceil(insights / 1.3), seed: 17, companies: Math.max(300, Math.round(insights / 5)), variety: 10 });
  const out = createWriteStream(file);
  for (const insight of corpus.insights.slice(0, insights)) {
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
} else {
  process.stderr.write('usage: consolidation-bench.ts quality|perf|baseline [--facts N] [--insights N]\n');
  process.exit(2);
}
