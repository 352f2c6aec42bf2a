/**
 * Concept items: what the default pattern_detection sees in an insight. Stems alone split one
 * idea into several items that always stand together ("acme" + "corp", "support" + "ticket"),
 * and a word that names a tag ("enterprise" beside #enterprise) repeats the tag; mined as they
 * are, those pairs fill the output with sets that only restate phrases. So:
 *
 * - adjacent words that stand together far more often than chance — normalised PMI over the
 *   whole store (Bouma 2009) ≥ COLLOCATION_NPMI, seen at least `minCount` times — are joined
 *   into one phrase item ("support ticket", "single sign-on", "acme corp"), up to MAX_PHRASE
 *   words;
 * - a word or phrase that is a tag's concept is folded into that tag: "enterprise" and
 *   "enterprises" become #enterprise, "churn risk" and "churn-risk" become #churn-risk. A
 *   longer phrase keeps its own item ("row-level security" is not #security): cutting the
 *   tag's word out of it would leave a fragment that only restates the phrase;
 * - the rest are Porter stems as in items.ts, and the source stays an item (`@zendesk`).
 *
 * Stop words and numbers between two words do not separate them ("opened a ticket"),
 * punctuation does (a phrase never crosses a clause).
 */
import { NEGATIONS, STOP_WORDS } from '../../text/features.js';
import { stemmed } from './items.js';
import type { ItemMode } from '../../../contract/job-params.js';

/** Bouma's threshold for a collocation: half of the way from independence to "only ever together". */
const COLLOCATION_NPMI = 0.5;
const MAX_PHRASE = 3;
/** Surface forms counted per item to choose its label: the first ones in id order are enough. */
const LABEL_SAMPLES = 24;

const BREAK = -1;


/** The stems a tag names: one for "enterprise", the parts for "churn-risk" (and the whole, as written with its hyphen). */
function tagConcepts(tag: string): string[][] {
  const clean = tag.trim().toLowerCase();
  const parts = clean.split(/[-_\s]+/).filter(Boolean).map(stemmed);
  const whole = [stemmed(clean)];
  return parts.length > 1 ? [parts, whole] : [whole];
}

/**
 * Whether a content item (a stem, or a phrase of stems joined by spaces) names the tag: it holds
 * every stem of the tag. "enterpris" names #enterprise; "churn risk flag" names #churn-risk;
 * "feedback" does not name #product-feedback (it is a part of that concept, not all of it).
 */
export function namesTag(term: string, tag: string): boolean {
  const words = new Set(term.split(' '));
  return tagConcepts(tag).some((concept) => concept.every((stem) => words.has(stem)));
}

/** Words of every insight as stem ids, BREAK between clauses; the char span of each word. */
interface TokenStream {
  stemOf: string[];
  tokens: Int32Array;
  start: Int32Array;
  end: Int32Array;
  /** Insight t's tokens are tokens[offsets[t] .. offsets[t + 1]). */
  offsets: Int32Array;
}

class Growable {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1 << 16) {
    this.data = new Int32Array(Math.max(16, Math.ceil(capacity)));
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Tokens, in the lowercased text: a word is [a-z0-9][a-z0-9'’-]*; one of .,;:!?()[]{}"“”…—–|/
 * is punctuation, which ends a clause; any other character only separates.
 */
const ASCII_PUNCTUATION = Uint8Array.from({ length: 128 }, (_, c) => Number('.,;:!?()[]{}"|/'.includes(String.fromCharCode(c))));
const isPunctuation = (c: number) => (c < 128 ? ASCII_PUNCTUATION[c] === 1 : c === 0x201c || c === 0x201d || c === 0x2026 || c === 0x2014 || c === 0x2013);
const isAlnum = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
const isWordPart = (c: number) => isAlnum(c) || c === 39 || c === 0x2019 || c === 45;
/** The stem id of a word token, or SKIP when it is no item (a number, a short word, a stop word). */
const SKIP = -2;
/** Distinct word tokens remembered at most (each with its stem id): a bound on memory at any vocabulary. */
const WORD_CACHE = 500_000;

/**
 * Word tokens → stem ids, looked up by the token's place in the text and its hash: a word seen
 * before costs no string (most of a store's tokens are words seen before).
 */
class WordTable {
  private slots = new Int32Array(1 << 12);
  private words: string[] = [];
  private hashes: number[] = [];
  private values: number[] = [];

  /** The value of text[from, to), whose hash is `hash`, or undefined. */
  get(text: string, from: number, to: number, hash: number): number | undefined {
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]! - 1;
      if (entry < 0) return undefined;
      if (this.hashes[entry] !== hash) continue;
      const word = this.words[entry]!;
      if (word.length !== to - from) continue;
      let same = true;
      for (let i = 0; i < word.length && same; i++) same = word.charCodeAt(i) === text.charCodeAt(from + i);
      if (same) return this.values[entry]!;
    }
  }

  set(word: string, hash: number, value: number): void {
    if (this.words.length >= WORD_CACHE) {
      this.words = [];
      this.hashes = [];
      this.values = [];
      this.slots.fill(0);
    }
    if ((this.words.length + 1) * 2 > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2);
      for (let entry = 0; entry < this.words.length; entry++) this.place(this.hashes[entry]!, entry);
    }
    this.place(hash, this.words.length);
    this.words.push(word);
    this.hashes.push(hash);
    this.values.push(value);
  }

  private place(hash: number, entry: number): void {
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = entry + 1;
  }
}

/**
 * The words of the texts as stem ids, BREAK for punctuation after a word, each text scanned by
 * hand: a regular expression's match objects and a stem look-up per word cost more than the
 * rest of the itemizing. Each distinct word token is stemmed once.
 */
function tokenize(texts: readonly string[]): TokenStream {
  const stemIds = new Map<string, number>();
  const stemOf: string[] = [];
  // Sized for the usual ~7 characters a token (stop words left out): growing by doubling would copy and overshoot.
  let chars = 0;
  for (const text of texts) chars += text.length;
  const tokens = new Growable(chars / 7);
  const start = new Growable(chars / 7);
  const end = new Growable(chars / 7);
  const offsets = new Int32Array(texts.length + 1);
  const wordIds = new WordTable();
  const wordId = (raw: string): number => {
    const first = raw.charCodeAt(0);
    const word = /['’-]/.test(raw) ? raw.replace(/['’]s$/, '').replace(/['’]/g, '').replace(/-+$/, '') : raw;
    // Numbers, short words and stop words join what stands around them; they are no item.
    if (word.length < 3 || first <= 57 || STOP_WORDS.has(word) || NEGATIONS.has(word)) return SKIP;
    const stem = stemmed(word);
    let id = stemIds.get(stem);
    if (id === undefined) {
      id = stemOf.length;
      stemIds.set(stem, id);
      stemOf.push(stem);
    }
    return id;
  };
  for (let t = 0; t < texts.length; t++) {
    let previousBreak = true;
    const text = texts[t]!.toLowerCase();
    const length = text.length;
    let at = 0;
    while (at < length) {
      const c = text.charCodeAt(at);
      if (isAlnum(c)) {
        let hash = Math.imul(0x811c9dc5 ^ c, 0x01000193);
        let to = at + 1;
        for (let d = to < length ? text.charCodeAt(to) : 0; to < length && isWordPart(d); d = text.charCodeAt(++to)) hash = Math.imul(hash ^ d, 0x01000193);
        let id = wordIds.get(text, at, to, hash);
        if (id === undefined) {
          const raw = text.slice(at, to);
          id = wordId(raw);
          wordIds.set(raw, hash, id);
        }
        if (id !== SKIP) {
          tokens.push(id);
          start.push(at);
          end.push(to);
          previousBreak = false;
        }
        at = to;
        continue;
      }
      if (!previousBreak && isPunctuation(c)) {
        tokens.push(BREAK);
        start.push(at);
        end.push(at);
        previousBreak = true;
      }
      at++;
    }
    offsets[t + 1] = tokens.length;
  }
  return { stemOf, tokens: tokens.view(), start: start.view(), end: end.view(), offsets };
}

/** Each tag's concepts as phrase keys (stems joined by spaces) → the tag item. */
function tagConceptKeys(tagNames: Iterable<string>): Map<string, string> {
  const keys = new Map<string, string>();
  // Sorted so that two tags naming one concept ("sso", "SSO ") fold into the same one whatever the order.
  for (const tag of [...tagNames].sort()) for (const concept of tagConcepts(tag)) if (!keys.has(concept.join(' '))) keys.set(concept.join(' '), `#${tag}`);
  return keys;
}

/** Counts of stem pairs (a, b), by open addressing in typed arrays: a Map of a million numeric keys cost most of the counting. */
class PairCounts {
  first = new Int32Array(1 << 14).fill(-1);
  second = new Int32Array(1 << 14);
  counts = new Int32Array(1 << 14);
  size = 0;

  add(a: number, b: number): void {
    const mask = this.first.length - 1;
    let slot = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & mask;
    for (; this.first[slot] !== -1; slot = (slot + 1) & mask) {
      if (this.first[slot] === a && this.second[slot] === b) {
        this.counts[slot]!++;
        return;
      }
    }
    this.first[slot] = a;
    this.second[slot] = b;
    this.counts[slot] = 1;
    if (++this.size * 2 > this.first.length) this.grow();
  }

  private grow(): void {
    const { first, second, counts } = this;
    this.first = new Int32Array(first.length * 2).fill(-1);
    this.second = new Int32Array(first.length * 2);
    this.counts = new Int32Array(first.length * 2);
    const mask = this.first.length - 1;
    for (let old = 0; old < first.length; old++) {
      if (first[old] === -1) continue;
      let slot = (Math.imul(first[old]!, 0x9e3779b1) ^ Math.imul(second[old]!, 0x85ebca6b)) & mask;
      while (this.first[slot] !== -1) slot = (slot + 1) & mask;
      this.first[slot] = first[old]!;
      this.second[slot] = second[old]!;
      this.counts[slot] = counts[old]!;
    }
  }
}

/** Adjacent stem pairs (a * V + b) whose normalised PMI clears COLLOCATION_NPMI, with that NPMI. */
function collocations(stream: TokenStream, minCount: number): Map<number, number> {
  const { tokens, offsets } = stream;
  const v = stream.stemOf.length;
  const unigrams = new Int32Array(v);
  const bigrams = new PairCounts();
  let words = 0;
  let pairs = 0;
  for (let t = 0; t + 1 < offsets.length; t++) {
    let previous = BREAK;
    for (let i = offsets[t]!; i < offsets[t + 1]!; i++) {
      const id = tokens[i]!;
      if (id < 0) {
        previous = BREAK;
        continue;
      }
      unigrams[id]!++;
      words++;
      if (previous >= 0) {
        bigrams.add(previous, id);
        pairs++;
      }
      previous = id;
    }
  }
  const joined = new Map<number, number>();
  for (let slot = 0; slot < bigrams.first.length; slot++) {
    const count = bigrams.counts[slot]!;
    if (bigrams.first[slot] === -1 || count < minCount) continue;
    const a = bigrams.first[slot]!;
    const b = bigrams.second[slot]!;
    const pxy = count / pairs;
    const npmi = Math.log(pxy / ((unigrams[a]! / words) * (unigrams[b]! / words))) / -Math.log(pxy);
    if (npmi >= COLLOCATION_NPMI) joined.set(a * v + b, npmi);
  }
  return joined;
}

export interface ConceptItems {
  insightIds: number[];
  itemNames: string[];
  /** Insight t's item ids (tags, phrases and stems, source; no repeats) are items[offsets[t] .. offsets[t + 1]). */
  items: Int32Array;
  offsets: Int32Array;
  /** How each content item reads: its commonest written form in the store. */
  label: (item: string) => string;
}

/** Item names ↔ ids. */
class ItemIds {
  readonly names: string[] = [];
  private readonly byName = new Map<string, number>();

  id(name: string): number {
    let id = this.byName.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.byName.set(name, id);
      this.names.push(name);
    }
    return id;
  }
}

/** A row as read with `.raw()`: id, text, tags (JSON), source. */
export type ConceptRow = readonly [id: number, text: string, tags: string, source: string | null];

/** The concept items of the rows (read once, in id order). */
export function conceptItems(rows: Iterable<ConceptRow>, mode: ItemMode, minCount: (insights: number) => number): ConceptItems {
  const ids = new ItemIds();
  const insightIds: number[] = [];
  const texts: string[] = [];
  const given = new Growable();
  const givenOffsets = new Growable();
  givenOffsets.push(0);
  const tagNames = new Set<string>();
  // Most insights share their tag list and source with many others: each is read once.
  const tagLists = new Map<string, Int32Array>();
  const sources = new Map<string, number>();
  for (const [id, text, tags, source] of rows) {
    insightIds.push(id);
    if (mode !== 'terms') {
      let list = tagLists.get(tags);
      if (list === undefined) {
        const items: number[] = [];
        for (const tag of JSON.parse(tags) as string[]) {
          const clean = tag.trim().toLowerCase();
          if (!clean) continue;
          items.push(ids.id(`#${clean}`));
          tagNames.add(clean);
        }
        tagLists.set(tags, (list = Int32Array.from(items)));
      }
      for (let i = 0; i < list.length; i++) given.push(list[i]!);
    }
    if (source) {
      let item = sources.get(source);
      if (item === undefined) sources.set(source, (item = ids.id(`@${source.trim().toLowerCase()}`)));
      given.push(item);
    }
    givenOffsets.push(given.length);
    texts.push(mode === 'tags' ? '' : text);
  }
  tagLists.clear();
  const stream = tokenize(texts);
  const folded = tagConceptKeys(tagNames);
  const joined = collocations(stream, Math.max(2, minCount(insightIds.length)));
  const v = stream.stemOf.length;
  const { tokens, start, end, offsets } = stream;
  // Whether a stem begins a collocation: most words do not, and skip the pair look-up.
  const joinsRight = new Uint8Array(v);
  for (const key of joined.keys()) joinsRight[Math.floor(key / v)] = 1;
  const npmi = (a: number, b: number) => joined.get(a * v + b)!;

  // A phrase's item, by its stems: a single stem by its id, two by their pair key, three by the
  // pair key and the third (MAX_PHRASE): no name is built but for a phrase's first occurrence.
  const byStem = new Int32Array(v).fill(-1);
  const byPair = new Map<number, number>();
  const byTriple = new Map<number, Map<number, number>>();
  const named = (from: number, to: number): number => {
    const name = Array.from(tokens.subarray(from, to + 1), (stem) => stream.stemOf[stem]!).join(' ');
    return ids.id(folded.get(name) ?? name);
  };
  const itemOf = (from: number, to: number): number => {
    const a = tokens[from]!;
    if (from === to) {
      let item = byStem[a]!;
      if (item === -1) byStem[a] = item = named(from, to);
      return item;
    }
    const pair = a * v + tokens[from + 1]!;
    if (to === from + 1) {
      let item = byPair.get(pair);
      if (item === undefined) byPair.set(pair, (item = named(from, to)));
      return item;
    }
    if (to > from + 2) return named(from, to);
    let thirds = byTriple.get(pair);
    if (thirds === undefined) byTriple.set(pair, (thirds = new Map()));
    let item = thirds.get(tokens[to]!);
    if (item === undefined) thirds.set(tokens[to]!, (item = named(from, to)));
    return item;
  };

  // Per item: the insight that last had it (no repeats), and how often its written form was
  // counted (-1 for tags, which read as they are).
  let seen = new Int32Array(1024).fill(-1);
  let sampled = new Int32Array(1024);
  const forms = new Map<number, Map<string, number>>();
  // At most every token and given item once: no growing.
  const out = new Growable(tokens.length + given.length);
  const outOffsets = new Int32Array(insightIds.length + 1);
  const add = (item: number, t: number): boolean => {
    if (item >= seen.length) {
      const grown = new Int32Array(Math.max(item + 1, seen.length * 2)).fill(-1);
      grown.set(seen);
      seen = grown;
      const counts = new Int32Array(grown.length);
      counts.set(sampled);
      sampled = counts;
    }
    if (seen[item] === t) return false;
    seen[item] = t;
    out.push(item);
    return true;
  };
  /** Counts how the item was written, for its first LABEL_SAMPLES occurrences (in id order). */
  const countSurface = (item: number, t: number, from: number, to: number) => {
    const n = sampled[item]!;
    if (n >= LABEL_SAMPLES) return;
    if (n === 0 && ids.names[item]!.startsWith('#')) {
      sampled[item] = LABEL_SAMPLES;
      return;
    }
    sampled[item] = n + 1;
    let counts = forms.get(item);
    if (!counts) forms.set(item, (counts = new Map()));
    const form = written(texts[t]!.slice(start[from]!, end[to]!));
    counts.set(form, (counts.get(form) ?? 0) + 1);
  };
  for (let t = 0; t < insightIds.length; t++) {
    for (let i = givenOffsets.data[t]!; i < givenOffsets.data[t + 1]!; i++) add(given.data[i]!, t);
    const last = offsets[t + 1]!;
    let i = offsets[t]!;
    while (i < last) {
      const stem = tokens[i]!;
      if (stem === BREAK) {
        i++;
        continue;
      }
      let to = i;
      if (joinsRight[stem] === 1) while (to + 1 < last && tokens[to + 1]! >= 0 && joined.has(tokens[to]! * v + tokens[to + 1]!)) to++;
      if (to - i + 1 <= MAX_PHRASE) {
        const item = itemOf(i, to);
        add(item, t);
        countSurface(item, t, i, to);
      } else {
        for (const [from, until] of phrases(tokens, i, to, npmi)) {
          const item = itemOf(from, until);
          add(item, t);
          countSurface(item, t, from, until);
        }
      }
      i = to + 1;
    }
    outOffsets[t + 1] = out.length;
  }
  const labelOf = new Map<string, string>();
  for (const [item, counted] of forms) labelOf.set(ids.names[item]!, commonest(counted)!);
  return { insightIds, itemNames: ids.names, items: out.view(), offsets: outOffsets, label: (item) => labelOf.get(item) ?? item };
}

/**
 * A run of collocated words [from, to] as phrases of at most MAX_PHRASE words: a longer run is
 * cut at its weakest link (lowest NPMI), so "asked | training new analysts" splits where the
 * words are least bound, not after an arbitrary third word.
 */
function phrases(tokens: Int32Array, from: number, to: number, npmi: (a: number, b: number) => number): Array<[number, number]> {
  if (to - from + 1 <= MAX_PHRASE) return [[from, to]];
  let cut = from;
  for (let k = from; k < to; k++) if (npmi(tokens[k]!, tokens[k + 1]!) < npmi(tokens[cut]!, tokens[cut + 1]!)) cut = k;
  return [...phrases(tokens, from, cut, npmi), ...phrases(tokens, cut + 1, to, npmi)];
}

/** A phrase as written, without the figures inside it ("training for 12 new analysts" reads "training for new analysts"). */
const written = (span: string) => span.toLowerCase().replace(/(^|\s)[\d][\d.,%]*(?=\s|$)/g, '').replace(/\s+/g, ' ').trim();

/** The most frequent form; ties to the shorter, then the first alphabetically. */
function commonest(forms: Map<string, number> | undefined): string | undefined {
  if (!forms) return undefined;
  let best: string | undefined;
  let count = -1;
  for (const [form, n] of forms) if (n > count || (n === count && (form.length < best!.length || (form.length === best!.length && form < best!)))) [best, count] = [form, n];
  return best;
}
