/**
 * The exact comparison of a candidate pair, and the rule it applies: two insights state the
 * same fact when every meaningful word of each is matched in the other — the same canonical
 * word, a rare misspelling of it, or the same compound written apart ("date picker") — and
 * they agree on numbers, dates, negation and the direction of relations. Filler may differ
 * (stop words, hedges such as "really", the kind nouns "package" or "tool"), and one side may
 * add a word that a large share of the store uses (in a store of package summaries,
 * "Python"). Any other word that only one side has is a qualifier, a different product or a
 * different name: another fact. A pair that differs *only* in a number, a date, a negation or
 * one name (with the same named subject) contradicts itself: a conflict, never merged.
 *
 * Similarity (matched weight over all weight; meaningful words 1, commonplace 0.1, filler 0.05,
 * stop words 0.02) must also reach the threshold; it ranks conflicts.
 */
import { textFeatures, type TextFeatures } from '../../text/features.js';

export type Verdict =
  | { kind: 'duplicate'; similarity: number }
  | { kind: 'conflict'; similarity: number; reason: ConflictReason }
  | { kind: 'different'; similarity: number };

export type ConflictReason = 'number' | 'date' | 'negation' | 'entity';

/**
 * Weights in the similarity: what is matched counts, but the structural rule above decides;
 * words that tell no fact apart count little either way.
 */
const COMMON_WEIGHT = 0.1;
const FILLER_WEIGHT = 0.05;
const STOP_WEIGHT = 0.02;
/** Meaningful words a conflicting pair must share besides what contradicts. */
const MIN_CONFLICT_WORDS = 2;

/** What a word may do in a pair (Vocabulary.roleOf). */
export const Role = {
  /** Must be matched on the other side. */
  Meaningful: 0,
  /** May differ on both sides: says nothing about which fact ("really", "simple", "package"). */
  Filler: 1,
  /** May be added by one side: a store-wide commonplace ("Python" among package summaries). */
  Common: 2,
  Stop: 3,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/**
 * Filler: hedges, intensifiers and quantifiers ("any", "every"), the author's view of their own note, and the nouns that
 * only name the kind of thing ("a tool", "a library"). Chosen on the development half of the
 * labelled pairs (bench/data): each word here was added or swapped in pairs judged the same.
 */
const FILLER_WORDS: ReadonlySet<string> = new Set(
  'really actually definitely apparently reportedly basically simply truly quite now probably maybe perhaps certainly currently even already ever yet possible possibly potential potentially any every each all simple basic small minimal little another own awesome great nice cool useful handy dumb package library module tool toolkit toolbox collection program implementation use using used based related'.split(
    ' ',
  ),
);

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

const SHORT_WORD = 6;

/** Equal-length words that differ only by two adjacent letters swapped. */
function isTransposition(a: string, b: string): boolean {
  let i = 0;
  while (i < a.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/**
 * Two different words (known to have no digit) that are one typo apart (two for long words).
 * Three-letter words only with the same first letter. Whether one *is* a typo of the other
 * is for the store's frequencies to say (plan.ts, correctSpelling). The cheap rejections
 * come first, as most pairs end there.
 */
export function isWordTypo(a: string, b: string): boolean {
  const shorter = a.length < b.length ? a.length : b.length;
  if (shorter < 3 || a === b) return false;
  const limit = shorter >= 8 ? 2 : 1;
  if (Math.abs(a.length - b.length) > limit) return false;
  // One edit keeps the first or the last letter.
  if (limit === 1 && a.charCodeAt(0) !== b.charCodeAt(0) && a.charCodeAt(a.length - 1) !== b.charCodeAt(b.length - 1)) return false;
  if (shorter === 3 && a.charCodeAt(0) !== b.charCodeAt(0)) return false;
  // In a short word one letter for another is as likely another word ("maze", "make"; "MSSQL",
  // "MySQL"): only a letter dropped, doubled or two swapped count as a typo there.
  if (shorter < SHORT_WORD && a.length === b.length) return isTransposition(a, b);
  return editDistance(a, b, limit) <= limit;
}

/**
 * Token strings by id, shared by every text of one run, so comparisons work on integers; and
 * what the run learnt about each word from the whole store (plan.ts fills these in).
 */
export class Vocabulary {
  readonly words: string[] = [];
  /** Quantities, versions, ordinals: compared as numbers, never typos. */
  readonly numeric: boolean[] = [];
  /** Any digit: never a typo. */
  readonly digits: boolean[] = [];
  readonly role: Role[] = [];
  /** How often each word was written in lower case, and with a capital (evidence for names). */
  readonly lowercase: number[] = [];
  readonly capitalized: number[] = [];
  /** The word each word is read as: itself, or for a rare misspelling the common word (plan.ts). */
  corrected: Int32Array | undefined;
  /** A misspelling one typo from several common words ("reiew": review, renew) may be any of them. */
  alternatives = new Map<number, number[]>();
  /** Words a large share of the store uses: they may stand on one side only. */
  common: Uint8Array | undefined;
  private readonly ids = new Map<string, number>();

  id(word: string, stop = false): number {
    let id = this.ids.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.ids.set(word, id);
      this.words.push(word);
      this.numeric.push(false);
      this.digits.push(/\d/.test(word));
      this.role.push(stop ? Role.Stop : FILLER_WORDS.has(word) ? Role.Filler : Role.Meaningful);
      this.lowercase.push(0);
      this.capitalized.push(0);
    }
    return id;
  }

  lookup(word: string): number | undefined {
    return this.ids.get(word);
  }

  read(id: number): number {
    return this.corrected && id < this.corrected.length ? this.corrected[id]! : id;
  }

  /** Whether two words may be read as one: the same word, or a misspelling of it. */
  same(x: number, y: number): boolean {
    if (x === y) return true;
    const rx = this.read(x);
    const ry = this.read(y);
    if (rx === ry) return true;
    return this.alternatives.get(x)?.includes(ry) === true || this.alternatives.get(y)?.includes(rx) === true;
  }

  roleOf(id: number): Role {
    const role = this.role[id]!;
    if (role === Role.Meaningful && this.common && id < this.common.length && this.common[id]) return Role.Common;
    return role;
  }

  /** A capitalized first word is a name when the store seldom writes it in lower case ("Acme", not "Type"). */
  isName(id: number): boolean {
    return this.capitalized[id]! > 2 * this.lowercase[id]!;
  }
}

/**
 * Every text's features as token ids, packed into one pool: a million insights as a million
 * objects cost ~900 bytes apiece in object headers; packed they cost their ids plus a header.
 * A text is known by its handle, the offset of its header:
 *   [contentLength, stopLength, entityLength, numbersId, datesId, negated, joinCount, edgeCount,
 *    firstId, flags, ...content (sorted), ...stop (sorted), ...entities (sorted),
 *    ...joins (first, second, joined or -1; in text order), ...edges (from, to)]
 * where entities (names) are a subset of content, and numbers and dates are interned strings.
 */
export class FeatureStore {
  pool = new Int32Array(1 << 16);
  private used = 0;
  private readonly values = new Map<string, number>([['', 0]]);
  private scratch = new Int32Array(256);

  constructor(readonly vocabulary = new Vocabulary()) {}

  add(f: TextFeatures): number {
    const v = this.vocabulary;
    const ints = HEADER + f.content.length + f.stop.length + f.entities.size + 3 * f.joins.length + 2 * f.edges.length;
    if (this.scratch.length < ints) this.scratch = new Int32Array(ints * 2);
    if (this.used + ints > this.pool.length) {
      const grown = new Int32Array(Math.max(this.pool.length * 2, this.used + ints));
      grown.set(this.pool.subarray(0, this.used));
      this.pool = grown;
    }
    const handle = this.used;
    const pool = this.pool;
    let at = handle + HEADER;
    const put = (list: Iterable<string>, stop = false) => {
      let count = 0;
      for (const word of list) this.scratch[count++] = v.id(word, stop);
      const sorted = this.scratch.subarray(0, count).sort();
      let unique = 0;
      for (let i = 0; i < count; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) pool[at + unique++] = sorted[i]!;
      at += unique;
      return unique;
    };
    pool[handle] = put(f.content);
    pool[handle + 1] = put(f.stop, true);
    pool[handle + 2] = put(f.entities);
    for (const n of f.numbers) v.numeric[v.id(n)] = true;
    for (const [first, second] of f.joins) {
      pool[at++] = v.id(first);
      pool[at++] = v.id(second);
      pool[at++] = -1;
    }
    for (const [from, to] of f.edges) {
      pool[at++] = v.id(from);
      pool[at++] = v.id(to);
    }
    for (const word of f.lowercase) v.lowercase[v.id(word)]!++;
    for (const word of f.entities) v.capitalized[v.id(word)]!++;
    pool[handle + 3] = this.intern(f.numbers.join(' '));
    pool[handle + 4] = this.intern(f.dates.join(' '));
    pool[handle + 5] = f.negated ? 1 : 0;
    pool[handle + 6] = f.joins.length;
    pool[handle + 7] = f.edges.length;
    pool[handle + 8] = f.capitalizedFirst === undefined ? -1 : v.id(f.capitalizedFirst);
    pool[handle + 9] = f.titleCase ? 1 : 0;
    this.used = at;
    return handle;
  }

  /**
   * Adjacent words are one compound only if the store writes them together somewhere:
   * "date picker" reads as "datepicker" once some text says "datepicker". Called once all
   * texts are in, so the order of insights does not matter.
   */
  resolveCompounds(handles: Iterable<number>): void {
    const v = this.vocabulary;
    const p = this.pool;
    for (const h of handles) {
      const start = joinsOf(p, h);
      for (let k = 0; k < p[h + 6]!; k++) {
        const at = start + 3 * k;
        p[at + 2] = v.lookup(v.words[p[at]!]! + v.words[p[at + 1]!]!) ?? -1;
      }
    }
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
export const FEATURE_HEADER = 10;
const HEADER = FEATURE_HEADER;

/** Where a text's joins start in the pool. */
export const joinsOf = (p: Int32Array, h: number): number => h + HEADER + p[h]! + p[h + 1]! + p[h + 2]!;
const edgesOf = (p: Int32Array, h: number): number => joinsOf(p, h) + 3 * p[h + 6]!;

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

/** Compares two texts (see compareIndexed); with no store around them, nothing counts as a misspelling. */
export function compare(a: TextFeatures, b: TextFeatures, threshold: number): Verdict {
  const store = new FeatureStore();
  const handles = [store.add(a), store.add(b)];
  store.resolveCompounds(handles);
  return compareIndexed(store, handles[0]!, handles[1]!, threshold);
}

/** compare() on two texts. */
export const compareTexts = (a: string, b: string, threshold: number): Verdict => compare(textFeatures(a), textFeatures(b), threshold);

/** Removes from `unmatched` the first word read as `id`; whether one was there. */
function take(v: Vocabulary, unmatched: number[], id: number): boolean {
  const i = unmatched.findIndex((x) => v.same(x, id));
  if (i === -1) return false;
  unmatched.splice(i, 1);
  return true;
}

/** A compound on one side written as one word on the other: both parts and the word leave the unmatched lists. */
function matchCompounds(v: Vocabulary, p: Int32Array, h: number, own: number[], other: number[]): number {
  let matched = 0;
  const start = joinsOf(p, h);
  for (let k = 0; k < p[h + 6]! && other.length > 0; k++) {
    const at = start + 3 * k;
    const joined = p[at + 2]!;
    if (joined === -1 || !own.includes(p[at]!) || !own.includes(p[at + 1]!)) continue;
    if (!take(v, other, joined)) continue;
    own.splice(own.indexOf(p[at]!), 1);
    own.splice(own.indexOf(p[at + 1]!), 1);
    matched++;
  }
  return matched;
}

/** Whether a relation of one text runs the other way in the other: "from A to B" against "from B to A". */
function reversed(v: Vocabulary, p: Int32Array, a: number, b: number): boolean {
  const ea = edgesOf(p, a);
  const eb = edgesOf(p, b);
  for (let i = 0; i < p[a + 7]!; i++) {
    const from = p[ea + 2 * i]!;
    const to = p[ea + 2 * i + 1]!;
    for (let j = 0; j < p[b + 7]!; j++) if (v.same(p[eb + 2 * j]!, to) && v.same(p[eb + 2 * j + 1]!, from)) return true;
  }
  return false;
}

const WEIGHTS: Record<Role, number> = { [Role.Meaningful]: 1, [Role.Common]: COMMON_WEIGHT, [Role.Filler]: FILLER_WEIGHT, [Role.Stop]: STOP_WEIGHT };
const weightOf = (role: Role) => WEIGHTS[role];

/** Compares two texts of one store by handle. */
export function compareIndexed(store: FeatureStore, a: number, b: number, threshold: number): Verdict {
  const p = store.pool;
  const v = store.vocabulary;
  const aContent = a + HEADER;
  const aStop = aContent + p[a]!;
  const aEntities = aStop + p[a + 1]!;
  const bContent = b + HEADER;
  const bStop = bContent + p[b]!;
  const bEntities = bStop + p[b + 1]!;
  const onlyA: number[] = [];
  const onlyB: number[] = [];
  align(p, aContent, aStop, bContent, bStop, onlyA, onlyB);
  const stopOnlyA: number[] = [];
  const stopOnlyB: number[] = [];
  const stopBoth = align(p, aStop, aEntities, bStop, bEntities, stopOnlyA, stopOnlyB);

  // Misspellings (read as the same word), then compounds written apart.
  if (onlyA.length > 0 && onlyB.length > 0 && v.corrected) {
    for (let i = onlyA.length - 1; i >= 0; i--) if (take(v, onlyB, onlyA[i]!)) onlyA.splice(i, 1);
  }
  if (onlyA.length > 0 && onlyB.length > 0) {
    matchCompounds(v, p, a, onlyA, onlyB);
    matchCompounds(v, p, b, onlyB, onlyA);
  }

  // The weight of what matched and of what did not; a misspelt stop word counts as one.
  let matchedWeight = STOP_WEIGHT * stopBoth;
  let matchedMeaningful = 0;
  for (let i = aContent; i < aStop; i++) {
    const id = p[i]!;
    if (onlyA.includes(id)) continue;
    const role = v.roleOf(id);
    matchedWeight += weightOf(role);
    if (role === Role.Meaningful) matchedMeaningful++;
  }
  let unmatchedWeight = STOP_WEIGHT * (stopOnlyA.length + stopOnlyB.length);
  const meaningfulA: number[] = [];
  const meaningfulB: number[] = [];
  let commonOnly = true;
  const sort = (only: number[], meaningful: number[]) => {
    for (const id of only) {
      const role = v.read(id) !== id && v.role[v.read(id)] === Role.Stop ? Role.Stop : v.roleOf(id);
      unmatchedWeight += weightOf(role);
      if (role === Role.Meaningful || role === Role.Common || v.numeric[id]) {
        meaningful.push(id);
        if (role !== Role.Common || v.numeric[id]) commonOnly = false;
      }
    }
  };
  sort(onlyA, meaningfulA);
  sort(onlyB, meaningfulB);
  const similarity = matchedWeight + unmatchedWeight === 0 ? 1 : matchedWeight / (matchedWeight + unmatchedWeight);
  /** The similarity were `pairs` unmatched words on each side matched. */
  const paired = (pairs: number) => (matchedWeight + 2 * pairs) / (matchedWeight + unmatchedWeight);
  const different: Verdict = { kind: 'different', similarity };
  // A contradiction needs a statement around it: "No description" against "My description" is none.
  const statement = matchedMeaningful >= MIN_CONFLICT_WORDS;

  if (reversed(v, p, a, b)) return different;
  const numbersDiffer = p[a + 3] !== p[b + 3];
  const datesDiffer = p[a + 4] !== p[b + 4];
  const negationDiffers = p[a + 5] !== p[b + 5];
  const wordsA = meaningfulA.filter((id) => !v.numeric[id]);
  const wordsB = meaningfulB.filter((id) => !v.numeric[id]);
  const numbersA = meaningfulA.length - wordsA.length;
  const numbersB = meaningfulB.length - wordsB.length;

  if (wordsA.length > 0 && wordsB.length > 0) {
    const swap = wordsA.length === 1 && wordsB.length === 1 && !numbersDiffer && !datesDiffer && !negationDiffers;
    if (swap && statement && nameSwap(store, a, b, wordsA[0]!, wordsB[0]!) && paired(1) >= threshold) return { kind: 'conflict', similarity, reason: 'entity' };
    return different;
  }
  // One side adds words: a qualifier, unless the store says they are commonplace.
  if ((wordsA.length > 0 || wordsB.length > 0) && !(commonOnly && numbersA + numbersB === 0)) return different;
  if (wordsA.length + wordsB.length > 0 && (numbersDiffer || datesDiffer || negationDiffers)) return different;
  // A number or a date on one side only adds to the fact; on both sides and different, it contradicts.
  if ((numbersA > 0) !== (numbersB > 0)) return different;
  if (datesDiffer && (p[a + 4] === 0 || p[b + 4] === 0)) return different;
  if (numbersDiffer || datesDiffer || negationDiffers) {
    const reason: ConflictReason = numbersDiffer ? 'number' : datesDiffer ? 'date' : 'negation';
    return statement && paired(Math.min(numbersA, numbersB)) >= threshold ? { kind: 'conflict', similarity, reason } : different;
  }
  return similarity >= threshold ? { kind: 'duplicate', similarity } : different;
}

/**
 * One name for another about the same named subject ("Umbrella Health is evaluating Tableau"
 * / "… Looker") contradicts; another subject ("Acme renews in Q3" / "Globex renews in Q3")
 * is another statement. Names in Title Case text are only style.
 */
function nameSwap(store: FeatureStore, a: number, b: number, x: number, y: number): boolean {
  const p = store.pool;
  const v = store.vocabulary;
  // The subject: the capitalized word a text opens with.
  const subjectA = p[a + 8]!;
  const subjectB = p[b + 8]!;
  if (subjectA === -1 || subjectB === -1 || !v.same(subjectA, subjectB) || subjectA === x || subjectB === y) return false;
  if (v.roleOf(subjectA) !== Role.Meaningful || !isNameIn(store, a, subjectA) || !isNameIn(store, b, subjectB)) return false;
  // A name written next to the subject is part of it: "Google Drive" and "Google Calendar" are two subjects.
  if (adjacent(p, a, subjectA, x) || adjacent(p, b, subjectB, y)) return false;
  return isNameIn(store, a, x) && isNameIn(store, b, y);
}

function adjacent(p: Int32Array, h: number, x: number, y: number): boolean {
  const start = joinsOf(p, h);
  for (let k = 0; k < p[h + 6]!; k++) {
    const first = p[start + 3 * k]!;
    const second = p[start + 3 * k + 1]!;
    if ((first === x && second === y) || (first === y && second === x)) return true;
  }
  return false;
}

/** The names a text could swap for another in a conflict: its names but the subject, none in Title Case. */
export function swappableNames(store: FeatureStore, h: number): number[] {
  const p = store.pool;
  if (p[h + 9] || p[h + 8] === -1) return [];
  const entities = h + HEADER + p[h]! + p[h + 1]!;
  const out: number[] = [];
  for (let t = entities; t < entities + p[h + 2]!; t++) if (p[t] !== p[h + 8] && !store.vocabulary.numeric[p[t]!]) out.push(store.vocabulary.read(p[t]!));
  return out;
}

function isNameIn(store: FeatureStore, h: number, id: number): boolean {
  const p = store.pool;
  if (p[h + 9]) return false;
  const entities = h + HEADER + p[h]! + p[h + 1]!;
  if (!has(p, entities, p[h + 2]!, id)) return false;
  return id !== p[h + 8] || store.vocabulary.isName(id);
}
