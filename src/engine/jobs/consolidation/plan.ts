/**
 * Consolidation as a pure function: active insights in, clusters and conflicts out.
 * Deterministic — the same insights and options always give the same plan — so a dry run
 * previews exactly what the real run writes.
 *
 * Candidates are exact, not sampled: two texts that state the same fact (similarity.ts) read
 * as the same set of meaningful words, so each text's *fact key* — that set, with misspellings
 * read as the common word, compounds joined and numbers left out — is computed once and only
 * texts with equal keys are compared. Every duplicate pair is found, which is what makes a
 * re-run right after find nothing more; pairs that differ only in a number, a date or a
 * negation share the key too, and become conflicts. Name swaps are looked up with the name
 * left out of the key.
 *
 * Clustering is greedy in age order with no transitive chaining: the oldest unassigned
 * insight is a cluster's canonical insight; members join only if they are duplicates of it
 * and conflict with no member, including the insights merged into one by earlier runs.
 * The survivor then takes the most informative member's text when that cannot make it a
 * duplicate of another active text.
 */
import { PairSet, unpackPair } from './pairs.js';
import { FEATURE_HEADER, FeatureStore, Role, compareIndexed, isWordTypo, joinsOf, swappableNames, type ConflictReason, type Vocabulary } from './similarity.js';
import { textFeatures } from '../../text/features.js';
import { JOB_SETTINGS } from '../../../contract/job-params.js';
import type { StageCount } from '../job.js';

export interface PlanInsight {
  id: number;
  text: string;
  /** Not needed: equal texts have equal keys. Accepted so callers may pass store rows as they are. */
  normalized_text?: string;
  created_at: number;
}

export interface PlanOptions {
  threshold: number;
  /** Texts already merged into an active insight by earlier runs: the guard checks them, and the store's word counts include them. */
  history?: (id: number) => string[];
  /** Called every PROGRESS_EVERY items of a counted stage and at each new stage. */
  progress?: (fraction: number, stage: string, count?: StageCount) => void;
  /** The exact baseline: verify every pair instead of keyed candidates (benchmarks only; quadratic). */
  allPairs?: boolean;
  /** How many conflicts to list, the most similar first (default 100); all are counted. */
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
  a_text: string;
  b_text: string;
}

export interface Plan {
  scanned: number;
  candidate_pairs: number;
  duplicate_pairs: number;
  clusters: PlannedCluster[];
  /** The maxConflicts most similar conflicts (then by reason, a, b); conflicts_total counts them all. */
  conflicts: PlannedConflict[];
  conflicts_total: number;
}

/** The default similarity threshold, chosen with the labelled benchmark (BENCHMARKS.md). */
export const DEFAULT_THRESHOLD = JOB_SETTINGS.consolidation.threshold.default;

const round = (x: number) => Math.round(x * 1e4) / 1e4;
const DEFAULT_MAX_CONFLICTS = 100;

/**
 * A word in at most this many texts may be a misspelling... (a typo is idiosyncratic: the
 * same one seldom recurs; "Preact" in five notes is a word, not "React" mistyped)
 */
const MAX_TYPO_FREQUENCY = 3;
/** ...of a word one typo away used this many times as often, and in at least MIN_CORRECTED_FREQUENCY texts. */
const CORRECTION_RATIO = 20;
const MIN_CORRECTED_FREQUENCY = 20;
/** Readings kept for an ambiguous misspelling. */
const MAX_READINGS = 3;
/**
 * A word in this share of a store's texts tells no fact from another and may be added on one
 * side ("Python" in 20 % of package summaries; "for" is a stop word anyway). Stores smaller
 * than COMMON_MIN_TEXTS have too few texts to say.
 */
const COMMON_SHARE = 0.06;
const COMMON_MIN_TEXTS = 1_000;
/** Texts with equal keys are all compared; beyond this many (templated filler), each only with its next WINDOW. */
const MAX_BUCKET = 2_000;
const WINDOW = 50;

/** Items between progress reports (a power of two minus one, as a mask). */
const PROGRESS_MASK = 1023;
/**
 * Where each stage starts, as a share of the plan's time (measured at 57k package summaries:
 * reading each text's features takes ~74 %, the vocabulary 11 %, the keys 10 %).
 */
const STAGES = { signing: 0, vocabulary: 0.74, candidates: 0.85, comparing: 0.95, clustering: 0.99, done: 1 } as const;

/**
 * For each word id, the word to read it as: itself, or — for a rare word — the commonest word
 * one typo away that is far more common (all such words go to vocabulary.alternatives when
 * there are several). Candidates come from a one-deletion index of the common words
 * (SymSpell's idea), so no word is compared with the whole vocabulary.
 */
function correctSpelling(words: string[], frequency: Uint32Array, vocabulary: Vocabulary): Int32Array {
  const digits = vocabulary.digits;
  const corrected = Int32Array.from(words, (_, id) => id);
  const index = new Map<string, number[]>();
  const variants = (word: string) => {
    const out = [word];
    for (let i = 0; i < word.length; i++) out.push(word.slice(0, i) + word.slice(i + 1));
    return out;
  };
  for (let id = 0; id < words.length; id++) {
    if (frequency[id]! < MIN_CORRECTED_FREQUENCY || digits[id] || words[id]!.length < 3) continue;
    for (const v of variants(words[id]!)) {
      const list = index.get(v);
      if (list) list.push(id);
      else index.set(v, [id]);
    }
  }
  for (let id = 0; id < words.length; id++) {
    const f = frequency[id]!;
    if (f === 0 || digits[id] || words[id]!.length < 3) continue;
    const found: number[] = [];
    for (const v of variants(words[id]!)) {
      for (const other of index.get(v) ?? []) {
        // A misspelt stop word ("ther") may recur: it changes no fact.
        if (f > MAX_TYPO_FREQUENCY && vocabulary.role[other] !== Role.Stop) continue;
        if (frequency[other]! < CORRECTION_RATIO * f || found.includes(other)) continue;
        if (isWordTypo(words[id]!, words[other]!)) found.push(other);
      }
    }
    if (found.length === 0) continue;
    found.sort((x, y) => frequency[y]! - frequency[x]! || (words[x]! < words[y]! ? -1 : 1));
    corrected[id] = found[0]!;
    if (found.length > 1) vocabulary.alternatives.set(id, found.slice(0, MAX_READINGS));
  }
  // An agent noun is read as its verb when the store writes both: "Docstring generator" is
  // "generate docstrings". Also for what was read as the noun.
  const verbOf = new Map<number, number>();
  for (let id = 0; id < words.length; id++) {
    const word = words[id]!;
    if (word.length < 7 || !word.endsWith('ator') || frequency[id] === 0) continue;
    const verb = vocabulary.lookup(`${word.slice(0, -2)}e`);
    if (verb !== undefined && frequency[verb]! > 0 && vocabulary.role[verb] === Role.Meaningful) verbOf.set(id, corrected[verb]!);
  }
  if (verbOf.size > 0) {
    for (let id = 0; id < words.length; id++) corrected[id] = verbOf.get(corrected[id]!) ?? corrected[id]!;
    for (const readings of vocabulary.alternatives.values()) readings.forEach((r, i) => (readings[i] = verbOf.get(r) ?? r));
  }
  return corrected;
}

/** In how many texts each word occurs (content and stop words). */
function documentFrequency(store: FeatureStore, handles: Iterable<number>): Uint32Array {
  const pool = store.pool;
  const frequency = new Uint32Array(store.vocabulary.words.length);
  for (const h of handles) {
    const end = h + FEATURE_HEADER + pool[h]! + pool[h + 1]!;
    for (let t = h + FEATURE_HEADER; t < end; t++) frequency[pool[t]!]!++;
  }
  return frequency;
}

/** 53-bit FNV-style hash of a sorted id list, as a Map key. */
function hashIds(ids: number[], salt = 0): number {
  let lo = 0x811c9dc5 ^ salt;
  let hi = 0x01000193;
  for (const id of ids) {
    lo = Math.imul(lo ^ id, 0x01000193);
    hi = Math.imul(hi ^ (id + 0x9e3779b9), 0x85ebca6b) ^ (lo >>> 15);
  }
  return (hi & 0x1fffff) * 2 ** 32 + (lo >>> 0);
}

/**
 * The meaningful words a text must share with any duplicate, each read as the store reads it:
 * misspellings corrected; filler, commonplace words and numbers left out. Sorted and unique.
 * With `joined`, adjacent words the store also writes as one word count as that word
 * ("date picker" as "datepicker"); a text is filed under both readings, as either may be the
 * one its duplicate shares.
 */
function factWords(store: FeatureStore, h: number, joined: boolean): number[] {
  const p = store.pool;
  const v: Vocabulary = store.vocabulary;
  const parts = new Set<number>();
  const words: number[] = [];
  if (joined) {
    const start = joinsOf(p, h);
    for (let k = 0; k < p[h + 6]!; k++) {
      const at = start + 3 * k;
      if (p[at + 2] === -1 || parts.has(p[at]!) || parts.has(p[at + 1]!)) continue;
      parts.add(p[at]!);
      parts.add(p[at + 1]!);
      const read = v.read(p[at + 2]!);
      if (v.roleOf(read) === Role.Meaningful) words.push(read);
    }
  }
  for (let t = h + FEATURE_HEADER; t < h + FEATURE_HEADER + p[h]!; t++) {
    const id = p[t]!;
    if (parts.has(id) || v.numeric[id]) continue;
    const read = v.read(id);
    if (v.roleOf(read) === Role.Meaningful && v.roleOf(id) === Role.Meaningful) words.push(read);
  }
  words.sort((x, y) => x - y);
  return words.filter((id, i) => i === 0 || words[i - 1] !== id);
}

/** The text's word list with each ambiguous misspelling read each other way it may be read. */
function otherReadings(store: FeatureStore, h: number, words: number[]): number[][] {
  const v = store.vocabulary;
  if (v.alternatives.size === 0) return [];
  const p = store.pool;
  const out: number[][] = [];
  for (let t = h + FEATURE_HEADER; t < h + FEATURE_HEADER + p[h]!; t++) {
    const readings = v.alternatives.get(p[t]!);
    const at = readings ? words.indexOf(readings[0]!) : -1;
    if (at === -1) continue;
    for (const reading of readings!.slice(1)) {
      const other = [...words];
      other[at] = reading;
      out.push(other.sort((x, y) => x - y));
    }
  }
  return out;
}

/** Whether a text has a compound the store also writes as one word. */
function hasCompound(p: Int32Array, h: number): boolean {
  const start = joinsOf(p, h);
  for (let k = 0; k < p[h + 6]!; k++) if (p[start + 3 * k + 2] !== -1) return true;
  return false;
}

/** Pairs every two members of each bucket (the next WINDOW only, in an oversized one). */
function pairBuckets(buckets: Map<number, number[]>, pairs: PairSet): void {
  for (const members of buckets.values()) {
    if (members.length < 2) continue;
    const reach = members.length > MAX_BUCKET ? WINDOW : members.length;
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < Math.min(members.length, x + 1 + reach); y++) pairs.add(members[x]!, members[y]!);
    }
  }
}

const push = (map: Map<number, number[]>, key: number, value: number) => {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
};

export function planConsolidation(input: PlanInsight[], options: PlanOptions): Plan {
  const progress = options.progress ?? (() => undefined);
  const insights = [...input].sort((a, b) => a.id - b.id);
  const n = insights.length;
  const threshold = options.threshold;

  /** Reports item `done` of `total` in a stage that spans [from, to) of the plan. */
  const counted = (stage: string, from: number, to: number, done: number, total: number) => {
    if ((done & PROGRESS_MASK) === 0) progress(from + ((to - from) * done) / Math.max(1, total), stage, { done, total });
  };
  const store = new FeatureStore();
  const vocabulary = store.vocabulary;
  /** Each insight's handle in the store. */
  const features = new Int32Array(n);
  const compare = (x: number, y: number, t: number) => compareIndexed(store, x, y, t);
  for (let i = 0; i < n; i++) {
    counted('signing', STAGES.signing, STAGES.vocabulary, i, n);
    features[i] = store.add(textFeatures(insights[i]!.text));
  }
  // What earlier runs merged counts in the store's word counts too: a run right after sees
  // the same store, so it reads every word as this run did.
  const history = new Map<number, number[]>();
  if (options.history) {
    for (let i = 0; i < n; i++) {
      const texts = options.history(insights[i]!.id);
      if (texts.length > 0) history.set(i, texts.map((text) => store.add(textFeatures(text))));
    }
  }
  progress(STAGES.vocabulary, 'learning the vocabulary');
  const allHandles = [...features, ...[...history.values()].flat()];
  store.resolveCompounds(allHandles);
  const frequency = documentFrequency(store, allHandles);
  vocabulary.corrected = correctSpelling(vocabulary.words, frequency, vocabulary);
  if (allHandles.length >= COMMON_MIN_TEXTS) {
    const common = new Uint8Array(vocabulary.words.length);
    for (let id = 0; id < common.length; id++) common[id] = frequency[id]! >= COMMON_SHARE * allHandles.length && !vocabulary.digits[id] ? 1 : 0;
    vocabulary.common = common;
  }

  const pairs = new PairSet();
  if (!options.allPairs) {
    const byFact = new Map<number, number[]>();
    const byFactButAName = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      counted('finding candidates', STAGES.candidates, STAGES.comparing, i, n);
      const h = features[i]!;
      const words = factWords(store, h, false);
      const keys = new Set([hashIds(words)]);
      if (hasCompound(store.pool, h)) keys.add(hashIds(factWords(store, h, true)));
      for (const reading of otherReadings(store, h, words)) keys.add(hashIds(reading));
      for (const key of keys) push(byFact, key, i);
      const subject = store.pool[h + 8]!;
      if (subject === -1 || words.length < 3 || !vocabulary.isName(subject)) continue;
      for (const name of swappableNames(store, h)) {
        const at = words.indexOf(name);
        if (at !== -1) push(byFactButAName, hashIds([...words.slice(0, at), ...words.slice(at + 1)], 1), i);
      }
    }
    pairBuckets(byFact, pairs);
    pairBuckets(byFactButAName, pairs);
  }
  const unique = pairs.unique();

  const neighbours = new Map<number, Array<{ other: number; similarity: number }>>();
  const found: Array<{ i: number; j: number; reason: ConflictReason; similarity: number }> = [];
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
    } else if (verdict.kind === 'conflict') found.push({ i, j, reason: verdict.reason, similarity: verdict.similarity });
  };
  if (options.allPairs) {
    for (let i = 0; i < n; i++) {
      counted('comparing every pair', STAGES.comparing, STAGES.clustering, i, n);
      for (let j = i + 1; j < n; j++) verify(i, j);
    }
  } else {
    for (let p = 0; p < unique.length; p++) {
      counted('comparing candidates', STAGES.comparing, STAGES.clustering, p, unique.length);
      const [i, j] = unpackPair(unique[p]!);
      verify(i, j);
    }
  }
  // The most similar conflicts first: those are the pairs most worth a look.
  found.sort((x, y) => y.similarity - x.similarity || x.reason.localeCompare(y.reason) || insights[x.i]!.id - insights[y.i]!.id || insights[x.j]!.id - insights[y.j]!.id);
  const conflicts: PlannedConflict[] = found.slice(0, options.maxConflicts ?? DEFAULT_MAX_CONFLICTS).map(({ i, j, reason, similarity }) => ({
    a: insights[i]!.id,
    b: insights[j]!.id,
    reason,
    similarity: round(similarity),
    a_text: insights[i]!.text,
    b_text: insights[j]!.text,
  }));

  const historyFeatures = (i: number): number[] => history.get(i) ?? [];
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
  for (let k = 0; k < n; k++) {
    counted('clustering', STAGES.clustering, STAGES.done, k, n);
    const canonical = order[k]!;
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
  progress(STAGES.done, 'clustering', { done: n, total: n });
  return {
    scanned: n,
    candidate_pairs: options.allPairs ? (n * (n - 1)) / 2 : unique.length,
    duplicate_pairs: duplicatePairs,
    clusters,
    conflicts,
    conflicts_total: found.length,
  };
}
