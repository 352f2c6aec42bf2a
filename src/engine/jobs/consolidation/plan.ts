/**
 * Consolidation as a pure function: active insights in, clusters and conflicts out.
 * Deterministic — the same insights and options always give the same plan — so a dry run
 * previews exactly what the real run writes.
 *
 * Clustering is greedy in age order with no transitive chaining: the oldest unassigned
 * insight is a cluster's canonical insight; members join only if they are duplicates of it
 * and conflict with no member, including the insights merged into one by earlier runs.
 * The survivor then takes the most informative member's text when that cannot make it a
 * duplicate of another active text, so a re-run right after finds nothing more to merge.
 */
import { JOB_SETTINGS } from '../../../contract/job-params.js';
import { DEFAULT_LSH, PairSet, bandKeys, candidatePairs, hashSeeds, minInto, tokenMinhash, unpackPair, type LshOptions } from './lsh.js';
import { FEATURE_HEADER, FeatureStore, compareIndexed, isWordTypo, type ConflictReason } from './similarity.js';
import { textFeatures } from '../../text/features.js';

export interface PlanInsight {
  id: number;
  text: string;
  /**
   * Equal normalized texts are always candidates. A store's active insights never share one
   * (a unique index), so the job leaves it out and saves ~100 bytes an insight.
   */
  normalized_text?: string;
  created_at: number;
}

export interface PlanOptions {
  threshold: number;
  lsh?: Partial<LshOptions>;
  /** Texts already merged into an active insight by earlier runs: the guard checks them too. */
  history?: (id: number) => string[];
  progress?: (fraction: number, stage: string) => void;
  /** The exact baseline: verify every pair instead of LSH candidates (benchmarks only; quadratic). */
  allPairs?: boolean;
  /** How many conflicts to list (default 1,000); all are counted. */
  maxConflicts?: number;
}

export interface ClusterMember {
  id: number;
  /** Similarity to the cluster's canonical (oldest) insight, which every member meets the threshold against. */
  similarity: number;
  text: string;
}

export interface PlannedCluster {
  survivor: number;
  /** The member whose text the survivor takes: the most informative one. */
  text_from: number;
  text: string;
  /** Every member, survivor first, then by id. */
  members: ClusterMember[];
}

export interface PlannedConflict {
  a: number;
  b: number;
  reason: ConflictReason;
  similarity: number;
}

export interface Plan {
  scanned: number;
  candidate_pairs: number;
  duplicate_pairs: number;
  clusters: PlannedCluster[];
  /** The first maxConflicts conflicts by (a, b); conflicts_total counts them all. */
  conflicts: PlannedConflict[];
  conflicts_total: number;
}

/** The default similarity threshold, chosen with the labelled benchmark (BENCHMARKS.md). */
export const DEFAULT_THRESHOLD = JOB_SETTINGS.consolidation.threshold.default;

/** Words rarer than one insight in e^MAX_IDF (~1,100) all weigh the same. */
const MAX_IDF = 7;
/**
 * A word's weight is (IDF − BASE_IDF)² / WEIGHT_DIVISOR, rounded to whole copies of its shingle:
 * squared, so a name or a figure outweighs the words every note of its kind shares, and two
 * notes that only share their wording ("X asked about Y pricing") seldom become candidates.
 */
const BASE_IDF = 1;
const WEIGHT_DIVISOR = 3;

const round = (x: number) => Math.round(x * 1e4) / 1e4;
const DEFAULT_MAX_CONFLICTS = 1_000;

/** A word this rare may be a misspelling... */
const MAX_CORRECTED_FREQUENCY = 50;
/** ...of a word one typo away and this many times as common. */
const CORRECTION_RATIO = 20;

/**
 * For each word id, the word to sign it as: itself, or — for a rare word — the commonest
 * word one typo away that is at least CORRECTION_RATIO times as common (the same typo may
 * recur: "recieve"). Candidates come
 * from a one-deletion index of the common words (SymSpell's idea), so no word is compared
 * with the whole vocabulary.
 */
function correctSpelling(words: string[], frequency: Uint32Array, numeric: boolean[]): Int32Array {
  const corrected = Int32Array.from(words, (_, id) => id);
  const index = new Map<string, number[]>();
  const variants = (word: string) => {
    const out = [word];
    for (let i = 0; i < word.length; i++) out.push(word.slice(0, i) + word.slice(i + 1));
    return out;
  };
  for (let id = 0; id < words.length; id++) {
    if (frequency[id]! < 3 || numeric[id] || words[id]!.length < 4) continue;
    for (const v of variants(words[id]!)) {
      const list = index.get(v);
      if (list) list.push(id);
      else index.set(v, [id]);
    }
  }
  for (let id = 0; id < words.length; id++) {
    const f = frequency[id]!;
    if (f === 0 || f > MAX_CORRECTED_FREQUENCY || numeric[id] || words[id]!.length < 4) continue;
    let best = -1;
    for (const v of variants(words[id]!)) {
      for (const other of index.get(v) ?? []) {
        if (frequency[other]! < CORRECTION_RATIO * f || other === best) continue;
        if (best !== -1 && (frequency[other]! < frequency[best]! || (frequency[other]! === frequency[best]! && words[other]! > words[best]!))) continue;
        if (isWordTypo(words[id]!, words[other]!)) best = other;
      }
    }
    if (best !== -1) corrected[id] = best;
  }
  return corrected;
}

export function planConsolidation(input: PlanInsight[], options: PlanOptions): Plan {
  const lsh: LshOptions = { ...DEFAULT_LSH, ...options.lsh };
  const progress = options.progress ?? (() => undefined);
  const insights = [...input].sort((a, b) => a.id - b.id);
  const n = insights.length;
  const threshold = options.threshold;

  progress(0, 'shingling');
  const store = new FeatureStore();
  const vocabulary = store.vocabulary;
  /** Each insight's handle in the store. */
  const features = new Int32Array(n);
  const compare = (x: number, y: number, t: number) => compareIndexed(store, x, y, t);
  const k = lsh.bands * lsh.rows;
  // Only band keys are kept (bands × 4 bytes an insight), not whole signatures (k × 4).
  const keys = new Uint32Array(n * lsh.bands);
  const signature = new Uint32Array(k);
  const seeds = hashSeeds(lsh);
  for (let i = 0; i < n; i++) {
    features[i] = store.add(textFeatures(insights[i]!.text));
    if ((i & 0x3fff) === 0) progress((0.2 * i) / n, 'shingling');
  }
  // Signatures weight each word by its rarity in this store (inverse document frequency):
  // words common across the store ("asked", "pricing", "customer") say little about which
  // fact a note states, yet unweighted they make every pair of notes written alike a
  // candidate (~60 pairs per insight on a templated 100k corpus). The commonest words weigh
  // nothing; rarer ones weigh more, up to a cap. A typo would be the
  // rarest word of all, so a word seen once or twice that is one typo from a much commoner
  // word is signed as that word (spelling corrected against the store's own vocabulary).
  const pool = store.pool;
  const documentFrequency = new Uint32Array(vocabulary.words.length);
  for (let i = 0; i < n; i++) {
    const h = features[i]!;
    // Stop words are counted too, so that a misspelt one ("thier") is recognised as such.
    const end = h + FEATURE_HEADER + pool[h]! + pool[h + 1]!;
    for (let t = h + FEATURE_HEADER; t < end; t++) documentFrequency[pool[t]!]!++;
  }
  const words = vocabulary.words;
  const corrected = correctSpelling(words, documentFrequency, vocabulary.numeric);
  const weightOf = (id: number) => {
    const idf = Math.max(0, Math.min(MAX_IDF, Math.log(n / documentFrequency[id]!)) - BASE_IDF);
    return Math.round((idf * idf) / WEIGHT_DIVISOR);
  };
  const signWeight = Uint8Array.from(corrected, (id) => weightOf(id));
  // A word's contribution to signatures is computed once and kept while it recurs.
  const slot = new Int32Array(words.length).fill(-1);
  let contributions = new Uint32Array(k * 1024);
  let cached = 0;
  const scratch = new Uint32Array(k);
  const contribution = (id: number, weight: number): [Uint32Array, number] => {
    if (slot[id] !== -1) return [contributions, slot[id]!];
    if (documentFrequency[id]! < 2) {
      tokenMinhash(words[id]!, weight, lsh.shingles, seeds, scratch, 0);
      return [scratch, 0];
    }
    if ((cached + 1) * k > contributions.length) {
      const grown = new Uint32Array(contributions.length * 2);
      grown.set(contributions);
      contributions = grown;
    }
    slot[id] = cached * k;
    tokenMinhash(words[id]!, weight, lsh.shingles, seeds, contributions, cached * k);
    cached++;
    return [contributions, slot[id]!];
  };
  for (let i = 0; i < n; i++) {
    const h = features[i]!;
    const start = h + FEATURE_HEADER;
    const contentEnd = start + pool[h]!;
    signature.fill(0xffffffff);
    let distinctive = false;
    for (let t = start; t < contentEnd; t++) {
      const id = pool[t]!;
      const weight = signWeight[id]!;
      if (weight === 0) continue;
      distinctive = true;
      const [source, offset] = contribution(corrected[id]!, weight);
      minInto(signature, source, offset);
    }
    if (!distinctive) {
      // Nothing distinctive: sign every word alike (the stop words if there is nothing else).
      const stops = contentEnd === start;
      const to = stops ? contentEnd + pool[h + 1]! : contentEnd;
      for (let t = stops ? contentEnd : start; t < to; t++) {
        tokenMinhash(words[stops ? pool[t]! : corrected[pool[t]!]!]!, 1, lsh.shingles, seeds, scratch, 0);
        minInto(signature, scratch, 0);
      }
    }
    bandKeys(signature, lsh, keys, i * lsh.bands);
    if ((i & 0x3fff) === 0) progress(0.2 + (0.15 * i) / n, 'shingling');
  }

  progress(0.35, 'finding candidates');
  const pairs = new PairSet();
  // Equal normalized texts are always candidates, whatever their signatures.
  const byText = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const text = insights[i]!.normalized_text;
    if (text === undefined) continue;
    const seen = byText.get(text);
    if (seen === undefined) byText.set(text, i);
    else pairs.add(seen, i);
  }
  if (!options.allPairs) candidatePairs(keys, n, lsh, pairs, (band) => progress(0.35 + (0.2 * (band + 1)) / lsh.bands, 'finding candidates'));
  const unique = pairs.unique();

  progress(0.55, 'verifying');
  const neighbours = new Map<number, Array<{ other: number; similarity: number }>>();
  // Pairs are verified once each, in (id, id) order, so the first maxConflicts found are the
  // ones listed; a templated store can have millions, which are only counted.
  const conflicts: PlannedConflict[] = [];
  let conflictsTotal = 0;
  const maxConflicts = options.maxConflicts ?? DEFAULT_MAX_CONFLICTS;
  const addConflict = (i: number, j: number, reason: ConflictReason, similarity: number) => {
    conflictsTotal++;
    if (conflicts.length < maxConflicts) conflicts.push({ a: insights[i]!.id, b: insights[j]!.id, reason, similarity: round(similarity) });
  };
  const link = (i: number, j: number, similarity: number) => {
    let list = neighbours.get(i);
    if (!list) neighbours.set(i, (list = []));
    list.push({ other: j, similarity });
  };
  let duplicatePairs = 0;
  const verify = (i: number, j: number) => {
    const verdict = compare(features[i]!, features[j]!, threshold);
    if (verdict.kind === 'duplicate') {
      duplicatePairs++;
      link(i, j, verdict.similarity);
      link(j, i, verdict.similarity);
    } else if (verdict.kind === 'conflict') addConflict(i, j, verdict.reason, verdict.similarity);
  };
  if (options.allPairs) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) verify(i, j);
  } else {
    for (let p = 0; p < unique.length; p++) {
      const [i, j] = unpackPair(unique[p]!);
      verify(i, j);
      if ((p & 0xffff) === 0) progress(0.55 + (0.3 * p) / unique.length, 'verifying');
    }
  }

  progress(0.85, 'clustering');
  const historyFeatures = (i: number): number[] => (options.history ? options.history(insights[i]!.id).map((text) => store.add(textFeatures(text))) : []);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => insights[a]!.created_at - insights[b]!.created_at || insights[a]!.id - insights[b]!.id);
  const assigned = new Uint8Array(n);
  const informative = (i: number, j: number) =>
    store.contentLength(features[j]!) - store.contentLength(features[i]!) ||
    insights[j]!.text.length - insights[i]!.text.length ||
    insights[i]!.created_at - insights[j]!.created_at ||
    insights[i]!.id - insights[j]!.id;

  interface Forming {
    canonical: number;
    members: number[];
    /** Handles of every member's text and what was merged into the members earlier. */
    guard: number[];
  }
  const forming: Forming[] = [];
  const clusterOf = new Int32Array(n).fill(-1);
  const conflictsWith = (x: number, guard: number[]) => guard.some((g) => compare(features[x]!, g, threshold).kind === 'conflict');
  const byStrength = (list: Array<{ other: number; similarity: number }>) =>
    [...list].sort((p, q) => q.similarity - p.similarity || insights[p.other]!.created_at - insights[q.other]!.created_at || insights[p.other]!.id - insights[q.other]!.id);

  // Membership: the oldest unassigned insight is the canonical one; its duplicates join
  // unless they conflict with a member (or with what was merged into one earlier).
  for (const canonical of order) {
    if (assigned[canonical] || !neighbours.has(canonical)) continue;
    const members = [canonical];
    const guard: number[] = [features[canonical]!, ...historyFeatures(canonical)];
    for (const { other } of byStrength(neighbours.get(canonical)!)) {
      if (assigned[other] || conflictsWith(other, guard)) continue;
      members.push(other);
      guard.push(features[other]!, ...historyFeatures(other));
      assigned[other] = 1;
    }
    if (members.length < 2) continue;
    assigned[canonical] = 1;
    for (const x of members) clusterOf[x] = forming.length;
    forming.push({ canonical, members, guard });
  }

  // The text: the most informative member's — unless that text would be a duplicate of
  // another text that stays active (an unmerged insight, or another cluster's text) which
  // the guard does not stop: a re-run would then merge again. The canonical text is always
  // safe: everything active it duplicates was refused for a conflict.
  const textFrom = new Int32Array(forming.length).fill(-1);
  const notTextFrom = new Set<number>();
  forming.forEach((cluster, c) => {
    const candidates = cluster.members.filter((x) => x !== cluster.canonical && !notTextFrom.has(x)).sort(informative);
    let chosen = cluster.canonical;
    for (const m of candidates) {
      if (informative(m, cluster.canonical) >= 0) break;
      const forbid: number[] = [];
      const safe = (neighbours.get(m) ?? []).every(({ other }) => {
        const d = clusterOf[other]!;
        if (d === c) return true;
        if (conflictsWith(other, cluster.guard)) return true;
        if (d === -1) return false;
        if (textFrom[d] !== -1) return textFrom[d] !== other;
        if (forming[d]!.canonical === other) return false;
        forbid.push(other);
        return true;
      });
      if (safe) {
        chosen = m;
        for (const x of forbid) notTextFrom.add(x);
        break;
      }
    }
    textFrom[c] = chosen;
  });

  const clusters: PlannedCluster[] = forming.map((cluster, c) => {
    const giver = textFrom[c]!;
    const similarityTo = (x: number) => (x === cluster.canonical ? 1 : round(compare(features[x]!, features[cluster.canonical]!, threshold).similarity));
    const rest = cluster.members.filter((x) => x !== cluster.canonical).sort((a, b) => insights[a]!.id - insights[b]!.id);
    return {
      survivor: insights[cluster.canonical]!.id,
      text_from: insights[giver]!.id,
      text: insights[giver]!.text,
      members: [cluster.canonical, ...rest].map((x) => ({ id: insights[x]!.id, similarity: similarityTo(x), text: insights[x]!.text })),
    };
  });
  progress(1, 'clustering');
  return {
    scanned: n,
    candidate_pairs: options.allPairs ? (n * (n - 1)) / 2 : unique.length,
    duplicate_pairs: duplicatePairs,
    clusters,
    conflicts,
    conflicts_total: conflictsTotal,
  };
}
