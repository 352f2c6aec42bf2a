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
import { stemmer } from 'stemmer';
import { NEGATIONS, STOP_WORDS } from '../../text/features.js';
import type { ItemMode } from '../../../contract/job-params.js';

/** Bouma's threshold for a collocation: half of the way from independence to "only ever together". */
const COLLOCATION_NPMI = 0.5;
const MAX_PHRASE = 3;
/** Surface forms counted per item to choose its label: the first ones in id order are enough. */
const LABEL_SAMPLES = 24;

const TOKEN = /[a-z0-9][a-z0-9'’-]*|[.,;:!?()[\]{}"“”…—–|/]/g;
const BREAK = -1;

const stems = new Map<string, string>();
function stemmed(word: string): string {
  let stem = stems.get(word);
  if (stem === undefined) {
    stem = stemmer(word);
    if (stems.size > 200_000) stems.clear();
    stems.set(word, stem);
  }
  return stem;
}

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

interface Row {
  id: number;
  text: string;
  tags: string;
  source: string | null;
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
  data = new Int32Array(1 << 16);
  length = 0;
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

function tokenize(texts: readonly string[]): TokenStream {
  const stemIds = new Map<string, number>();
  const stemOf: string[] = [];
  const tokens = new Growable();
  const start = new Growable();
  const end = new Growable();
  const offsets = new Int32Array(texts.length + 1);
  for (let t = 0; t < texts.length; t++) {
    let previousBreak = true;
    for (const match of texts[t]!.toLowerCase().matchAll(TOKEN)) {
      const raw = match[0];
      const first = raw.charCodeAt(0);
      const isWord = (first >= 97 && first <= 122) || (first >= 48 && first <= 57);
      if (!isWord) {
        if (!previousBreak) {
          tokens.push(BREAK);
          start.push(match.index);
          end.push(match.index);
          previousBreak = true;
        }
        continue;
      }
      const word = /['’-]/.test(raw) ? raw.replace(/['’]s$/, '').replace(/['’]/g, '').replace(/-+$/, '') : raw;
      // Numbers, short words and stop words join what stands around them; they are no item.
      if (word.length < 3 || first <= 57 || STOP_WORDS.has(word) || NEGATIONS.has(word)) continue;
      const stem = stemmed(word);
      let id = stemIds.get(stem);
      if (id === undefined) {
        id = stemOf.length;
        stemIds.set(stem, id);
        stemOf.push(stem);
      }
      tokens.push(id);
      start.push(match.index);
      end.push(match.index + raw.length);
      previousBreak = false;
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

/** Adjacent stem pairs (a * V + b) whose normalised PMI clears COLLOCATION_NPMI, with that NPMI. */
function collocations(stream: TokenStream, minCount: number): Map<number, number> {
  const { tokens, offsets } = stream;
  const v = stream.stemOf.length;
  const unigrams = new Int32Array(v);
  const bigrams = new Map<number, number>();
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
        const key = previous * v + id;
        bigrams.set(key, (bigrams.get(key) ?? 0) + 1);
        pairs++;
      }
      previous = id;
    }
  }
  const joined = new Map<number, number>();
  for (const [key, count] of bigrams) {
    if (count < minCount) continue;
    const a = Math.floor(key / v);
    const b = key - a * v;
    const pxy = count / pairs;
    const npmi = Math.log(pxy / ((unigrams[a]! / words) * (unigrams[b]! / words))) / -Math.log(pxy);
    if (npmi >= COLLOCATION_NPMI) joined.set(key, npmi);
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

/** Item names ↔ ids; a single stem's item is found by its stem id, without building a string. */
class ItemIds {
  readonly names: string[] = [];
  private readonly byName = new Map<string, number>();
  private byStem = new Int32Array(0);

  id(name: string): number {
    let id = this.byName.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.byName.set(name, id);
      this.names.push(name);
    }
    return id;
  }

  /** The item of a one-word phrase, `name()` giving its name the first time. */
  ofStem(stem: number, name: () => string): number {
    if (stem >= this.byStem.length) {
      const grown = new Int32Array(Math.max(stem + 1, this.byStem.length * 2)).fill(-1);
      grown.set(this.byStem);
      this.byStem = grown;
    }
    if (this.byStem[stem] === -1) this.byStem[stem] = this.id(name());
    return this.byStem[stem]!;
  }
}

/** The concept items of the rows (read once, in id order). */
export function conceptItems(rows: Iterable<Row>, mode: ItemMode, minCount: (insights: number) => number): ConceptItems {
  const ids = new ItemIds();
  const insightIds: number[] = [];
  const texts: string[] = [];
  const given = new Growable();
  const givenOffsets = [0];
  const tagNames = new Set<string>();
  for (const row of rows) {
    insightIds.push(row.id);
    if (mode !== 'terms') {
      for (const tag of JSON.parse(row.tags) as string[]) {
        const clean = tag.trim().toLowerCase();
        if (!clean) continue;
        given.push(ids.id(`#${clean}`));
        tagNames.add(clean);
      }
    }
    if (row.source) given.push(ids.id(`@${row.source.trim().toLowerCase()}`));
    givenOffsets.push(given.length);
    texts.push(mode === 'tags' ? '' : row.text);
  }
  const stream = tokenize(texts);
  const folded = tagConceptKeys(tagNames);
  const joined = collocations(stream, Math.max(2, minCount(insightIds.length)));
  const surfaces = new Map<number, { n: number; forms: Map<string, number> }>();
  const v = stream.stemOf.length;
  const { tokens, start, end, offsets } = stream;
  const out = new Growable();
  const outOffsets = new Int32Array(insightIds.length + 1);
  let seen = new Int32Array(1024).fill(-1);
  const add = (item: number, t: number) => {
    if (item >= seen.length) {
      const grown = new Int32Array(Math.max(item + 1, seen.length * 2)).fill(-1);
      grown.set(seen);
      seen = grown;
    }
    if (seen[item] === t) return;
    seen[item] = t;
    out.push(item);
  };
  const itemOf = (from: number, to: number): number => {
    const name = () => Array.from(tokens.subarray(from, to + 1), (s) => stream.stemOf[s]!).join(' ');
    if (from === to) return ids.ofStem(tokens[from]!, () => folded.get(name()) ?? name());
    const key = name();
    return ids.id(folded.get(key) ?? key);
  };
  for (let t = 0; t < insightIds.length; t++) {
    for (let i = givenOffsets[t]!; i < givenOffsets[t + 1]!; i++) add(given.data[i]!, t);
    let i = offsets[t]!;
    while (i < offsets[t + 1]!) {
      if (tokens[i] === BREAK) {
        i++;
        continue;
      }
      let last = i;
      while (last + 1 < offsets[t + 1]! && tokens[last + 1]! >= 0 && joined.has(tokens[last]! * v + tokens[last + 1]!)) last++;
      for (const [from, to] of phrases(tokens, i, last, (a, b) => joined.get(a * v + b)!)) {
        const item = itemOf(from, to);
        add(item, t);
        if (!ids.names[item]!.startsWith('#')) countSurface(surfaces, item, () => written(texts[t]!.slice(start[from]!, end[to]!)));
      }
      i = last + 1;
    }
    outOffsets[t + 1] = out.length;
  }
  const labelOf = new Map<string, string>();
  for (const [item, { forms }] of surfaces) labelOf.set(ids.names[item]!, commonest(forms)!);
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

/** Counts how the item was written, for its first LABEL_SAMPLES occurrences (in id order). */
function countSurface(surfaces: Map<number, { n: number; forms: Map<string, number> }>, item: number, written: () => string): void {
  let entry = surfaces.get(item);
  if (!entry) surfaces.set(item, (entry = { n: 0, forms: new Map() }));
  if (entry.n++ >= LABEL_SAMPLES) return;
  const { forms } = entry;
  const form = written();
  forms.set(form, (forms.get(form) ?? 0) + 1);
}

/** The most frequent form; ties to the shorter, then the first alphabetically. */
function commonest(forms: Map<string, number> | undefined): string | undefined {
  if (!forms) return undefined;
  let best: string | undefined;
  let count = -1;
  for (const [form, n] of forms) if (n > count || (n === count && (form.length < best!.length || (form.length === best!.length && form < best!)))) [best, count] = [form, n];
  return best;
}
