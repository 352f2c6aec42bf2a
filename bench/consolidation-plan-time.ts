/**
 * One timed consolidation plan over the first N real package summaries, in a process of its
 * own: `node --import tsx bench/consolidation-plan-time.ts PLAN_MODULE N`. PLAN_MODULE is this
 * tree's plan.ts or the baseline's (consolidation-bench.ts `realtext` extracts the code before
 * the fact-key change from git), so both run under the same loader in the same run. Prints
 * {seconds, clusters, merged, conflicts}.
 */
import { pathToFileURL } from 'node:url';
import { asInsights, readSummaries } from './lib/labelled-pairs.js';

const [modulePath, count = '100000'] = process.argv.slice(2);
const { planConsolidation } = (await import(pathToFileURL(modulePath!).href)) as typeof import('../src/engine/jobs/consolidation/plan.js');
const insights = asInsights(readSummaries(Number(count)));
const start = performance.now();
const plan = planConsolidation(insights, { threshold: 0.7 });
const seconds = (performance.now() - start) / 1000;
const merged = plan.clusters.reduce((sum, c) => sum + c.members.length - 1, 0);
process.stdout.write(`${JSON.stringify({ insights: insights.length, seconds, clusters: plan.clusters.length, merged, conflicts: plan.conflicts_total })}\n`);
