/**
 * The hand-labelled pairs under bench/data (see its README): real package summaries and
 * CRM-style notes, each pair judged "same" or "different" fact by reading both texts. A pair
 * counts as merged when the plan puts both texts in one cluster, consolidating the pair's
 * whole corpus at once — so the store's word counts (misspellings, commonplace words) are the
 * ones a real run would see.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { normalizeText } from '../../src/engine/text/normalize.js';
import type { PlannedCluster } from '../../src/engine/jobs/consolidation/plan.js';

export const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'data');

export interface LabelledPair {
  a: string;
  b: string;
  label: 'same' | 'different';
  band: string;
  how_found: string;
  split: 'dev' | 'held-out';
  /** Which labelling session a pair comes from (the fresh set's). */
  batch?: string;
}

export const readPairs = (file: string): LabelledPair[] =>
  readFileSync(path.join(DATA, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LabelledPair);

/** The first `limit` package summaries of the checked-in copy, in file order. */
export function readSummaries(limit = Infinity): string[] {
  const lines = gunzipSync(readFileSync(path.join(DATA, 'pypi-summaries.jsonl.gz'))).toString('utf8').split('\n');
  const texts: string[] = [];
  for (const line of lines) {
    if (texts.length >= limit) break;
    if (line) texts.push((JSON.parse(line) as { text: string }).text);
  }
  return texts;
}

/** Texts as a store holds them: one insight per normalized text (a repeat is a reinforcement), ids and ages in order. */
export function asInsights(texts: Iterable<string>): Array<{ id: number; text: string; created_at: number }> {
  const seen = new Set<string>();
  const out: Array<{ id: number; text: string; created_at: number }> = [];
  for (const text of texts) {
    const key = normalizeText(text);
    if (!key || seen.has(key)) continue;
    seen.add(key);
    out.push({ id: out.length + 1, text, created_at: Date.UTC(2026, 0, 1) + out.length * 1000 });
  }
  return out;
}

export interface PairScore {
  pairs: number;
  /**
   * Pairs the store holds as one insight (normalizeText, the store's identity, strips edge
   * symbols: "writes C++." is "writes c"): no consolidation decision, left out of the figures.
   */
  one_insight: string[];
  judged_same: number;
  merged: number;
  correct_merges: number;
  precision: number;
  recall: number;
  mistakes: Array<{ a: string; b: string; label: string; merged: boolean; how_found: string }>;
}

/** Precision and recall of "merged" against the labels, for the pairs of one split. */
export function scorePairs(pairs: LabelledPair[], insights: Array<{ id: number; text: string }>, clusters: PlannedCluster[]): PairScore {
  const idOf = new Map(insights.map((i) => [normalizeText(i.text), i.id]));
  const clusterOf = new Map<number, number>();
  clusters.forEach((c, k) => c.members.forEach((m) => clusterOf.set(m.id, k)));
  let merged = 0;
  let correct = 0;
  let same = 0;
  const mistakes: PairScore['mistakes'] = [];
  const oneInsight: string[] = [];
  for (const pair of pairs) {
    const a = idOf.get(normalizeText(pair.a));
    const b = idOf.get(normalizeText(pair.b));
    if (a === undefined || b === undefined) throw new Error(`a labelled text is not in its corpus: ${a === undefined ? pair.a : pair.b}`);
    if (a === b) {
      oneInsight.push(`${pair.a} / ${pair.b}`);
      continue;
    }
    const together = clusterOf.has(a) && clusterOf.get(a) === clusterOf.get(b);
    if (pair.label === 'same') same++;
    if (together) merged++;
    if (together && pair.label === 'same') correct++;
    if (together !== (pair.label === 'same')) mistakes.push({ a: pair.a, b: pair.b, label: pair.label, merged: together, how_found: pair.how_found });
  }
  return { pairs: pairs.length - oneInsight.length, one_insight: oneInsight, judged_same: same, merged, correct_merges: correct, precision: merged === 0 ? 1 : correct / merged, recall: same === 0 ? 1 : correct / same, mistakes };
}
