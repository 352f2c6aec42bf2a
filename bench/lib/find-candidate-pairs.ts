/**
 * Proposes unlabelled candidate pairs of package summaries for hand labelling (bench/data/README.md,
 * "labelled-pairs-pypi-fresh.jsonl"). It reads only the corpus, never an engine decision, so the
 * labels a person gives its pairs stay blind to what consolidation does with them.
 *
 *   node --import tsx bench/lib/find-candidate-pairs.ts --out /tmp/candidates.jsonl [--seed 20261203]
 *     [--same-words 100] [--added 70] [--swapped 60] [--same-letters 30] [--jaccard 40]
 *
 * Same seed, same corpus, same pairs. Each kind is sampled at random among everything it finds
 * (not the first found), at most one pair per text over all kinds, and pairs already in
 * labelled-pairs-pypi.jsonl (either order) are left out.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { normalizeText } from '../../src/engine/text/normalize.js';
import { seededRandom } from './seeded.js';

const DATA = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'data');
const MAX_CHARS = 160;
/** Words that state no fact of their own in a package summary (README, "Labelling."). */
const FILLER = new Set([
  'a', 'an', 'the', 'this', 'that', 'is', 'are', 'it', 'just', 'simple', 'very', 'really', 'my', 'your',
  'python', 'python3', 'py', 'package', 'library', 'lib', 'module', 'tool',
]);

interface Summary {
  text: string;
  key: string;
  words: string[];
  content: string[];
}

interface Candidate {
  a: string;
  b: string;
  band: string;
  how_found: string;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const wordsOf = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}+#]+/gu) ?? [];

function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

const contentOf = (words: string[]): string[] =>
  [...new Set(words.map(singular).filter((w) => !FILLER.has(w)))].sort();

/** Word-set Jaccard of the two texts, in the README's bands. */
function bandOf(a: Summary, b: Summary): string {
  const jaccard = jaccardOf(a, b);
  if (jaccard < 0.5) return '0-0.5';
  if (jaccard < 0.7) return '0.5-0.7';
  if (jaccard < 0.85) return '0.7-0.85';
  return '0.85-1';
}

function jaccardOf(a: Summary, b: Summary): number {
  const left = new Set(a.words);
  const right = new Set(b.words);
  let shared = 0;
  for (const w of left) if (right.has(w)) shared++;
  return shared / (left.size + right.size - shared);
}

/** One summary per normalized text (the store's identity), at most MAX_CHARS long, in corpus order. */
function readCorpus(): Summary[] {
  const lines = gunzipSync(readFileSync(path.join(DATA, 'pypi-summaries.jsonl.gz'))).toString('utf8').split('\n');
  const seen = new Set<string>();
  const out: Summary[] = [];
  for (const line of lines) {
    if (!line) continue;
    const text = (JSON.parse(line) as { text: string }).text;
    const key = normalizeText(text);
    if (!key || text.length > MAX_CHARS || seen.has(key)) continue;
    seen.add(key);
    const words = wordsOf(text);
    out.push({ text, key, words, content: contentOf(words) });
  }
  return out;
}

function labelledAlready(): Set<string> {
  const done = new Set<string>();
  for (const line of readFileSync(path.join(DATA, 'labelled-pairs-pypi.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const { a, b } = JSON.parse(line) as { a: string; b: string };
    done.add(`${a}\n${b}`).add(`${b}\n${a}`);
  }
  return done;
}

function groupBy(items: Summary[], keysOf: (s: Summary) => string[]): Map<string, Summary[]> {
  const groups = new Map<string, Summary[]>();
  for (const item of items) {
    for (const key of keysOf(item)) {
      const group = groups.get(key);
      if (group) group.push(item);
      else groups.set(key, [item]);
    }
  }
  return groups;
}

/** Keeps the one-pair-per-text rule and the exclusions across all kinds. */
class Picker {
  readonly picked: Candidate[] = [];
  private readonly usedTexts = new Set<string>();
  constructor(private readonly excluded: Set<string>) {}

  take(a: Summary, b: Summary, howFound: string): boolean {
    if (a.key === b.key || this.usedTexts.has(a.key) || this.usedTexts.has(b.key)) return false;
    if (this.excluded.has(`${a.text}\n${b.text}`)) return false;
    this.usedTexts.add(a.key).add(b.key);
    this.picked.push({ a: a.text, b: b.text, band: bandOf(a, b), how_found: howFound });
    return true;
  }

  /** One random pair a group offers at a time, groups in random order, until `count` are taken. */
  fromGroups(groups: Summary[][], count: number, howFound: string, random: () => number, fits: (a: Summary, b: Summary) => boolean) {
    let taken = 0;
    for (const group of shuffle(groups, random)) {
      if (taken >= count) break;
      const members = shuffle([...group], random);
      pairs: for (let i = 0; i < members.length; i++) {
        for (let j = i + 1; j < members.length; j++) {
          if (fits(members[i]!, members[j]!) && this.take(members[i]!, members[j]!, howFound)) {
            taken++;
            break pairs;
          }
        }
      }
    }
    return taken;
  }
}

const withoutIndex = (words: string[], ...drop: number[]) => words.filter((_, k) => !drop.includes(k)).join(' ');

function sameContentWords(corpus: Summary[], picker: Picker, count: number, random: () => number) {
  const groups = groupBy(corpus.filter((s) => s.content.length > 0), (s) => [s.content.join(' ')]);
  const many = [...groups.values()].filter((g) => g.length > 1);
  return picker.fromGroups(many, count, 'loose: same content words', random, () => true);
}

/** The shorter side's content words are the longer's minus one or two (at least two kept). */
function oneSideAdds(corpus: Summary[], picker: Picker, count: number, random: () => number) {
  const byContent = groupBy(corpus.filter((s) => s.content.length >= 2), (s) => [s.content.join(' ')]);
  let taken = 0;
  for (const longer of shuffle(corpus.filter((s) => s.content.length >= 3 && s.content.length <= 14), random)) {
    if (taken >= count) break;
    const n = longer.content.length;
    const shorterKeys: string[] = [];
    for (let i = 0; i < n; i++) {
      shorterKeys.push(withoutIndex(longer.content, i));
      for (let j = i + 1; j < n && n - 2 >= 2; j++) shorterKeys.push(withoutIndex(longer.content, i, j));
    }
    const shorter = shorterKeys.flatMap((key) => byContent.get(key) ?? []);
    for (const other of shuffle(shorter, random)) {
      if (picker.take(other, longer, 'loose: one or two words added')) {
        taken++;
        break;
      }
    }
  }
  return taken;
}

/** Same number of content words (three or more), all but one shared. */
function oneWordSwapped(corpus: Summary[], picker: Picker, count: number, random: () => number) {
  const groups = groupBy(corpus.filter((s) => s.content.length >= 3), (s) =>
    s.content.map((_, i) => `${i}\u0000${withoutIndex(s.content, i)}`),
  );
  const many = [...groups.values()].filter((g) => g.length > 1);
  const differByOne = (a: Summary, b: Summary) => a.content.length === b.content.length && a.content.filter((w) => !b.content.includes(w)).length === 1;
  return picker.fromGroups(many, count, 'loose: one word swapped', random, differByOne);
}

/**
 * Same letters and digits once spaces and punctuation go ("date picker"/"datepicker",
 * "test-package"/"Test Package"). The corpus has only a few dozen such groups, so this kind runs first.
 */
function sameLetters(corpus: Summary[], picker: Picker, count: number, random: () => number) {
  const groups = groupBy(corpus, (s) => [s.key.replace(/[^\p{L}\p{N}+#]/gu, '')]);
  const many = [...groups.values()].filter((g) => g.length > 1);
  return picker.fromGroups(many, count, 'loose: same letters', random, () => true);
}

/**
 * Random texts, each compared with the texts that share its rarest word; a pair is kept when its
 * word-set Jaccard falls in the band, half the count per band.
 */
function jaccardBands(corpus: Summary[], picker: Picker, count: number, random: () => number) {
  const postings = groupBy(corpus, (s) => [...new Set(s.words)]);
  const bands = [
    { low: 0.5, high: 0.7, wanted: Math.ceil(count / 2) },
    { low: 0.7, high: 0.85, wanted: Math.floor(count / 2) },
  ];
  let taken = 0;
  for (const text of shuffle([...corpus], random)) {
    if (bands.every((b) => b.wanted === 0)) break;
    if (text.words.length < 3) continue;
    const rarest = [...new Set(text.words)].sort((x, y) => postings.get(x)!.length - postings.get(y)!.length)[0]!;
    const others = shuffle([...postings.get(rarest)!], random);
    for (const other of others) {
      const jaccard = jaccardOf(text, other);
      const band = bands.find((b) => b.wanted > 0 && jaccard >= b.low && jaccard < b.high);
      if (band && picker.take(text, other, `jaccard band sampler ${band.low}-${band.high}`)) {
        band.wanted--;
        taken++;
        break;
      }
    }
  }
  return taken;
}

function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: '20261203' },
      'same-words': { type: 'string', default: '100' },
      added: { type: 'string', default: '70' },
      swapped: { type: 'string', default: '60' },
      'same-letters': { type: 'string', default: '30' },
      jaccard: { type: 'string', default: '40' },
    },
  });
  if (!values.out) throw new Error('--out FILE is required (write outside the repository, e.g. /tmp/candidates.jsonl)');
  const random = seededRandom(Number(values.seed));
  const corpus = readCorpus();
  const picker = new Picker(labelledAlready());
  const counts = {
    'same letters': sameLetters(corpus, picker, Number(values['same-letters']), random),
    'same content words': sameContentWords(corpus, picker, Number(values['same-words']), random),
    'one or two words added': oneSideAdds(corpus, picker, Number(values.added), random),
    'one word swapped': oneWordSwapped(corpus, picker, Number(values.swapped), random),
    'jaccard bands': jaccardBands(corpus, picker, Number(values.jaccard), random),
  };
  const temp = `${values.out}.tmp-${process.pid}`;
  writeFileSync(temp, picker.picked.map((c) => JSON.stringify(c)).join('\n') + '\n');
  renameSync(temp, values.out);
  console.log(JSON.stringify({ texts: corpus.length, ...counts, written: picker.picked.length }));
}

main();
