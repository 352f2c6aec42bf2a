/**
 * What pattern_detection sees in an insight: an item set of its tags (`#billing`), its
 * content terms (lowercased, stop words and numbers left out, Porter-stemmed: `renew`) and
 * its source (`@gong`). Items are plain strings so that patterns and rules read as they are
 * stored.
 */
import { stemmer } from 'stemmer';
import type { ItemMode } from '../../../contract/job-params.js';
import { NEGATIONS, STOP_WORDS } from '../../text/features.js';


const WORD = /[a-z][a-z'’-]*[a-z]/g;
const stems = new Map<string, string>();

/** A word's Porter stem, cached (a store repeats its words; the cache is dropped past 200,000). */
export function stemmed(word: string): string {
  let stem = stems.get(word);
  if (stem === undefined) {
    stem = stemmer(word);
    if (stems.size > 200_000) stems.clear();
    stems.set(word, stem);
  }
  return stem;
}

/** Content terms as stems; `surfaces`, when given, counts the words each stem was written as. */
export function contentTerms(text: string, surfaces?: SurfaceCounts): string[] {
  const terms = new Set<string>();
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0].replace(/['’]s$/, '').replace(/['’]/g, '');
    if (word.length < 3 || STOP_WORDS.has(word) || NEGATIONS.has(word)) continue;
    const stem = stemmed(word);
    terms.add(stem);
    if (surfaces) {
      let forms = surfaces.get(stem);
      if (!forms) surfaces.set(stem, (forms = new Map()));
      forms.set(word, (forms.get(word) ?? 0) + 1);
    }
  }
  return [...terms];
}

/** Per stem, the words it was written as and how often. */
export type SurfaceCounts = Map<string, Map<string, number>>;

export function insightItems(insight: { text: string; tags: string | readonly string[]; source: string | null }, mode: ItemMode, surfaces?: SurfaceCounts): string[] {
  const items = new Set<string>();
  if (mode !== 'terms') {
    const tags = typeof insight.tags === 'string' ? (JSON.parse(insight.tags) as string[]) : insight.tags;
    for (const tag of tags) if (tag.trim()) items.add(`#${tag.trim().toLowerCase()}`);
  }
  if (mode !== 'tags') for (const term of contentTerms(insight.text, surfaces)) items.add(term);
  if (insight.source) items.add(`@${insight.source.trim().toLowerCase()}`);
  return [...items];
}

/**
 * How an item reads: a stem ("enterpris") as the word it is most often written as in this
 * workspace ("enterprise"; ties to the shorter, then the first alphabetically); tags and
 * sources as they are.
 */
export function itemLabel(item: string, surfaces: SurfaceCounts): string {
  const forms = surfaces.get(item);
  if (!forms) return item;
  let best = item;
  let count = -1;
  for (const [word, n] of forms) if (n > count || (n === count && (word.length < best.length || (word.length === best.length && word < best)))) [best, count] = [word, n];
  return best;
}

/** A pattern's or a rule side's items as people read them: "#billing, renew". */
export const describeItems = (items: readonly string[]) => items.join(', ');

/** The canonical key of an item set: its items sorted, joined by a separator no item contains. */
export const itemsetKey = (items: readonly string[]) => [...items].sort().join('\u001f');
