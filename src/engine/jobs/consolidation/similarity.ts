/**
 * The exact comparison of a candidate pair. One-sentence insights are too short for
 * shingle Jaccard: one added word drops it to ~0.7 while a swapped key word keeps it there
 * too. So the measure aligns canonical tokens (exact, then one-typo matches) and scores
 * matched / (matched + unmatched) with stop words weighted low; and a pair where *both*
 * sides keep an unmatched content word is a substitution, never a duplicate, whatever the
 * score. Numbers, dates, negation and names are compared separately: a difference there is
 * a conflict, reported and never merged.
 */
import type { TextFeatures } from '../../text/features.js';

export type Verdict =
  | { kind: 'duplicate'; similarity: number }
  | { kind: 'conflict'; similarity: number; reason: ConflictReason }
  | { kind: 'different'; similarity: number };

export type ConflictReason = 'number' | 'date' | 'negation' | 'entity';

const STOP_WEIGHT = 0.25;
/** Typo corrections allowed in one pair: a sentence with more is not the same note retyped. */
const MAX_TYPOS = 2;

function scoreOf(matched: number, unmatched: number, stopMatched: number, stopUnmatched: number): number {
  const m = matched + STOP_WEIGHT * stopMatched;
  const total = m + unmatched + STOP_WEIGHT * stopUnmatched;
  return total === 0 ? 1 : m / total;
}

let buffer = new Int32Array(1024);

/** Damerau–Levenshtein distance (optimal string alignment), or limit + 1 once it exceeds limit. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const rows = a.length + 1;
  const cols = b.length + 1;
  if (buffer.length < rows * cols) buffer = new Int32Array(rows * cols * 2);
  const d = buffer;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    let rowMin = Infinity;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j < cols; j++) {
      const cb = b.charCodeAt(j - 1);
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + (ca === cb ? 0 : 1));
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
  }
  return d[rows * cols - 1]!;
}

/**
 * Two different words (known to have no digit) that are one typo apart (two for long words).
 * Three-letter words only with the same first letter (and, in compareIndexed, never names: "SSO"
 * is not "SSL"). The cheap rejections come first, as most pairs end there.
 */
export function isWordTypo(a: string, b: string): boolean {
  const shorter = a.length < b.length ? a.length : b.length;
  if (shorter < 3 || a === b) return false;
  const limit = shorter >= 8 ? 2 : 1;
  if (Math.abs(a.length - b.length) > limit) return false;
  // One edit keeps the first or the last letter.
  if (limit === 1 && a.charCodeAt(0) !== b.charCodeAt(0) && a.charCodeAt(a.length - 1) !== b.charCodeAt(b.length - 1)) return false;
  if (shorter === 3 && a.charCodeAt(0) !== b.charCodeAt(0)) return false;
  return editDistance(a, b, limit) <= limit;
}

/** Token strings by id, shared by every IndexedText of one run, so comparisons work on integers. */
class Vocabulary {
  readonly words: string[] = [];
  readonly numeric: boolean[] = [];
  private readonly ids = new Map<string, number>();
  typo(x: number, y: number): boolean {
    return !this.numeric[x] && !this.numeric[y] && isWordTypo(this.words[x]!, this.words[y]!);
  }

  id(word: string): number {
    let id = this.ids.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.ids.set(word, id);
      this.words.push(word);
      this.numeric.push(/\d/.test(word));
    }
    return id;
  }
}

/**
 * Every text's features as sorted token ids, packed into one pool: a million insights as
 * a million objects with three typed arrays each cost ~900 bytes apiece in object headers
 * and backing stores; packed they cost their ids plus a six-int header (~80 bytes).
 * A text is known by its handle, the offset of its header:
 *   [contentLength, stopLength, entityLength, numbersId, datesId, negated, ...content, ...stop, ...entities]
 * where entities (names) are a subset of content, and numbers and dates are interned strings.
 */
export class FeatureStore {
  pool = new Int32Array(1 << 16);
  private used = 0;
  private readonly values = new Map<string, number>([['', 0]]);
  private scratch = new Int32Array(256);

  constructor(readonly vocabulary = new Vocabulary()) {}

  add(f: TextFeatures): number {
    const words = f.content.length + f.stop.length + f.entities.size;
    if (this.scratch.length < words) this.scratch = new Int32Array(words * 2);
    if (this.used + HEADER + words > this.pool.length) {
      const grown = new Int32Array(Math.max(this.pool.length * 2, this.used + HEADER + words));
      grown.set(this.pool.subarray(0, this.used));
      this.pool = grown;
    }
    const handle = this.used;
    const pool = this.pool;
    let at = handle + HEADER;
    const put = (list: Iterable<string>) => {
      let count = 0;
      for (const word of list) this.scratch[count++] = this.vocabulary.id(word);
      const sorted = this.scratch.subarray(0, count).sort();
      let unique = 0;
      for (let i = 0; i < count; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) pool[at + unique++] = sorted[i]!;
      at += unique;
      return unique;
    };
    pool[handle] = put(f.content);
    pool[handle + 1] = put(f.stop);
    pool[handle + 2] = put(f.entities);
    pool[handle + 3] = this.intern(f.numbers.join(' '));
    pool[handle + 4] = this.intern(f.dates.join(' '));
    pool[handle + 5] = f.negated ? 1 : 0;
    this.used = at;
    return handle;
  }

  contentLength(handle: number): number {
    return this.pool[handle]!;
  }

  private intern(value: string): number {
    let id = this.values.get(value);
    if (id === undefined) this.values.set(value, (id = this.values.size));
    return id;
  }
}

/** Ints before a text's token ids in the pool. */
export const FEATURE_HEADER = 6;
const HEADER = FEATURE_HEADER;

function has(pool: Int32Array, start: number, length: number, id: number): boolean {
  let lo = start;
  let hi = start + length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = pool[mid]!;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Counts the ids in both sorted lists and collects the ones in only one. */
function align(p: Int32Array, a: number, aEnd: number, b: number, bEnd: number, onlyA: number[], onlyB: number[]): number {
  let i = a;
  let j = b;
  let both = 0;
  while (i < aEnd && j < bEnd) {
    const x = p[i]!;
    const y = p[j]!;
    if (x === y) {
      both++;
      i++;
      j++;
    } else if (x < y) {
      onlyA.push(x);
      i++;
    } else {
      onlyB.push(y);
      j++;
    }
  }
  while (i < aEnd) onlyA.push(p[i++]!);
  while (j < bEnd) onlyB.push(p[j++]!);
  return both;
}

/** Compares two texts (see compareIndexed); convenient where no run-wide vocabulary exists. */
export function compare(a: TextFeatures, b: TextFeatures, threshold: number): Verdict {
  const store = new FeatureStore();
  return compareIndexed(store, store.add(a), store.add(b), threshold);
}

/** Matches of two sorted id lists, and how many unmatched on each side are numbers: no allocation. */
function overlap(p: Int32Array, a: number, aEnd: number, b: number, bEnd: number, numeric: boolean[] | undefined, out: Int32Array): void {
  let i = a;
  let j = b;
  let both = 0;
  let numbersA = 0;
  let numbersB = 0;
  while (i < aEnd && j < bEnd) {
    const x = p[i]!;
    const y = p[j]!;
    if (x === y) {
      both++;
      i++;
      j++;
    } else if (x < y) {
      if (numeric?.[x]) numbersA++;
      i++;
    } else {
      if (numeric?.[y]) numbersB++;
      j++;
    }
  }
  if (numeric) {
    for (; i < aEnd; i++) if (numeric[p[i]!]) numbersA++;
    for (; j < bEnd; j++) if (numeric[p[j]!]) numbersB++;
  }
  out[0] = both;
  out[1] = numbersA;
  out[2] = numbersB;
}

const counts = new Int32Array(3);

/** Compares two texts of one store by handle. */
export function compareIndexed(store: FeatureStore, a: number, b: number, threshold: number): Verdict {
  const p = store.pool;
  const vocabulary = store.vocabulary;
  const aContent = a + HEADER;
  const aStop = aContent + p[a]!;
  const aEntities = aStop + p[a + 1]!;
  const bContent = b + HEADER;
  const bStop = bContent + p[b]!;
  const bEntities = bStop + p[b + 1]!;
  const aContentLength = p[a]!;
  const bContentLength = p[b]!;
  const aStopLength = p[a + 1]!;
  const bStopLength = p[b + 1]!;
  // Most candidate pairs are different facts written alike. First, without allocating, bound
  // the best score that at most MAX_TYPOS corrections (and pairing differing numbers) could
  // reach; below the threshold the pair can be neither a duplicate nor a reportable conflict.
  overlap(p, aStop, aEntities, bStop, bEntities, undefined, counts);
  const stopBoth = counts[0]!;
  const stopLeft = aStopLength + bStopLength - 2 * stopBoth;
  overlap(p, aContent, aStop, bContent, bStop, vocabulary.numeric, counts);
  const both = counts[0]!;
  const leftA = aContentLength - both;
  const leftB = bContentLength - both;
  if (leftA > 0 || leftB > 0) {
    const numbersA = counts[1]!;
    const numbersB = counts[2]!;
    const corrections = Math.min(MAX_TYPOS, Math.min(leftA - numbersA, leftB - numbersB));
    const paired = Math.min(numbersA, numbersB);
    const m = both + corrections + paired + STOP_WEIGHT * stopBoth;
    const rest = leftA + leftB - 2 * (corrections + paired);
    // A correction may instead absorb a misspelt stop word: one unmatched word fewer on each count.
    const absorbable = Math.min(MAX_TYPOS - corrections, rest, stopLeft);
    const best = (m + STOP_WEIGHT * absorbable) / (m + STOP_WEIGHT * absorbable + rest - absorbable + STOP_WEIGHT * (stopLeft - absorbable));
    if (best < threshold) return { kind: 'different', similarity: scoreOf(both, leftA + leftB, stopBoth, stopLeft) };
  }

  const words = vocabulary.words;
  const isNameInA = (id: number) => has(p, aEntities, p[a + 2]!, id);
  const isNameInB = (id: number) => has(p, bEntities, p[b + 2]!, id);
  const isName = (id: number) => isNameInA(id) || isNameInB(id);
  const typo = (x: number, y: number) => {
    if (!vocabulary.typo(x, y)) return false;
    return Math.min(words[x]!.length, words[y]!.length) > 3 || !(isName(x) || isName(y));
  };
  const unmatchedA: number[] = [];
  let unmatchedB: number[] = [];
  let matched = align(p, aContent, aStop, bContent, bStop, unmatchedA, unmatchedB);
  const spareA: number[] = [];
  const spareB: number[] = [];
  let stopMatched = align(p, aStop, aEntities, bStop, bEntities, spareA, spareB);
  let stopUnmatched = spareA.length + spareB.length;

  // Then typo matches among the leftovers, at most MAX_TYPOS in all.
  let typos = 0;
  if (unmatchedA.length > 0 && unmatchedB.length > 0) {
    for (let i = unmatchedA.length - 1; i >= 0 && typos < MAX_TYPOS; i--) {
      const k = unmatchedB.findIndex((y) => typo(unmatchedA[i]!, y));
      if (k !== -1) {
        matched++;
        typos++;
        unmatchedA.splice(i, 1);
        unmatchedB.splice(k, 1);
      }
    }
  }
  // A misspelt stop word ("abuot", "teh") is no longer a stop word: match it to the other side's.
  if (stopUnmatched > 0 && typos < MAX_TYPOS && (unmatchedA.length > 0 || unmatchedB.length > 0)) {
    const absorb = (unmatched: number[], spare: number[]) =>
      unmatched.filter((token) => {
        if (typos >= MAX_TYPOS) return true;
        const i = spare.findIndex((stop) => typo(token, stop));
        if (i === -1) return true;
        spare.splice(i, 1);
        stopMatched++;
        stopUnmatched--;
        typos++;
        return false;
      });
    unmatchedA.splice(0, unmatchedA.length, ...absorb(unmatchedA, spareB));
    unmatchedB = absorb(unmatchedB, spareA);
  }
  const score = (extraMatched: number, extraUnmatched: number) => {
    const m = matched + extraMatched + STOP_WEIGHT * stopMatched;
    const total = m + unmatchedA.length + unmatchedB.length - extraUnmatched + STOP_WEIGHT * stopUnmatched;
    return total === 0 ? 1 : m / total;
  };
  const similarity = score(0, 0);

  // The guard. A pair whose only differences are a number, a date or a negation states the
  // same thing with a different value: a conflict, reported (when the rest would have merged)
  // and never merged. A pair that swaps a word for another is a different statement; swapping
  // one name (Acme for Globex) with nothing else changed is reported as a conflict too.
  const numeric = vocabulary.numeric;
  let wordsA = 0;
  let wordsB = 0;
  for (const t of unmatchedA) if (!numeric[t]) wordsA++;
  for (const t of unmatchedB) if (!numeric[t]) wordsB++;
  const numbersDiffer = p[a + 3] !== p[b + 3];
  const datesDiffer = p[a + 4] !== p[b + 4];
  const negationDiffers = p[a + 5] !== p[b + 5];
  if (wordsA > 0 && wordsB > 0) {
    const named = unmatchedA.some(isNameInA) || unmatchedB.some(isNameInB);
    const swapped = Math.min(wordsA, wordsB);
    if (named && swapped <= 2 && !numbersDiffer && !datesDiffer && !negationDiffers && score(swapped, 2 * swapped) >= threshold) {
      return { kind: 'conflict', similarity, reason: 'entity' };
    }
    return { kind: 'different', similarity };
  }
  if (numbersDiffer || datesDiffer || negationDiffers) {
    const paired = Math.min(unmatchedA.length - wordsA, unmatchedB.length - wordsB);
    const reason: ConflictReason = numbersDiffer ? 'number' : datesDiffer ? 'date' : 'negation';
    return score(paired, 2 * paired) >= threshold ? { kind: 'conflict', similarity, reason } : { kind: 'different', similarity };
  }
  return similarity >= threshold ? { kind: 'duplicate', similarity } : { kind: 'different', similarity };
}
