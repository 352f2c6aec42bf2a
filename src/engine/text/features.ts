/**
 * What consolidation sees in an insight's text: canonical tokens (case, plural, common
 * abbreviations and number words folded), plus the features the contradiction guard
 * compares — numbers, dates, negation and named entities — and what matching needs beyond
 * a bag of words: adjacent words that may be one compound ("date picker"), and the
 * direction of relations ("from A to B"). normalizeText, not this, is an insight's identity.
 */

export interface TextFeatures {
  /** Canonical content tokens, unique, in first-seen order (stop words and negations left out). */
  content: string[];
  /** Stop words, unique: they count a little toward similarity, never toward informativeness. */
  stop: string[];
  /**
   * Quantities, versions, ordinals (3, 2.5, v2, 1.43.0, 3rd, 2x, 10k, Q3), sorted, repeats kept;
   * also in content. Other words with a digit are names (boto3, S3, an id), content only.
   */
  numbers: string[];
  /** Month and weekday names and relative days, sorted. */
  dates: string[];
  /** Whether the text is negated (an odd number of negations). */
  negated: boolean;
  /** Canonical tokens written with a capital or in capitals: names of companies, people, products. */
  entities: Set<string>;
  /** The first content word when it is written with a capital: a name, or just a sentence's first word. */
  capitalizedFirst: string | undefined;
  /** Every content word is capitalized (Title Case): capitals say nothing about names here. */
  titleCase: boolean;
  /** Content words written in lower case here: evidence that a word is no name. */
  lowercase: string[];
  /** Adjacent content words that may be one compound written apart ("date picker", "stand-alone"): [first, second]. */
  joins: Array<[string, string]>;
  /** Ordered relations between content words: "from A to B", "A to B", "A → B", "A before B" give [A, B]. */
  edges: Array<[string, string]>;
}

export const STOP_WORDS: ReadonlySet<string> = new Set(
  'a an the of to in on for and or but if is are was were be been being am with at by from that this these those it its as into about over after before than then there their they them he she his her we our you your i me my has have had do does did will would shall should can could may might must so such via per up out just also again still very'.split(
    ' ',
  ),
);

export const NEGATIONS: ReadonlySet<string> = new Set(['not', 'no', 'never', 'none', 'nobody', 'nothing', 'neither', 'nor', 'without']);

/** Abbreviations common in sales and support notes, folded to the word they stand for. */
const ABBREVIATIONS: Record<string, string> = {
  acct: 'account',
  accts: 'account',
  admin: 'administrator',
  approx: 'approximately',
  asap: 'soon',
  cust: 'customer',
  custs: 'customer',
  dept: 'department',
  dev: 'developer',
  devs: 'developer',
  docs: 'documentation',
  doc: 'documentation',
  eng: 'engineering',
  govt: 'government',
  info: 'information',
  intl: 'international',
  mgmt: 'management',
  mgr: 'manager',
  mtg: 'meeting',
  msg: 'message',
  perf: 'performance',
  pls: 'please',
  reqs: 'requirement',
  req: 'request',
  w: 'with',
  wk: 'week',
  wks: 'week',
  mo: 'month',
  mos: 'month',
  yr: 'year',
  yrs: 'year',
  qtr: 'quarter',
  rep: 'representative',
  reps: 'representative',
  svc: 'service',
  tix: 'ticket',
  ux: 'experience',
  biz: 'business',
  config: 'configuration',
  cfg: 'configuration',
  // Software's common short forms: "JS" is JavaScript, "utils" utilities.
  js: 'javascript',
  util: 'utility',
  utils: 'utility',
  lib: 'library',
  libs: 'library',
  pkg: 'package',
  async: 'asynchronous',
  db: 'database',
  repo: 'repository',
  repos: 'repository',
  impl: 'implementation',
  img: 'image',
  env: 'environment',
  // A currency's name and its code: "in euros" is "in EUR".
  euro: 'eur',
  euros: 'eur',
};

const NUMBER_WORDS: Record<string, string> = {
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
  eleven: '11',
  twelve: '12',
  twenty: '20',
  thirty: '30',
  fifty: '50',
  hundred: '100',
  dozen: '12',
  half: '0.5',
  first: '1st',
  second: '2nd',
  third: '3rd',
  fourth: '4th',
  twice: '2x',
  once: '1x',
};

const DATE_WORDS: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(
  [
    ...'january february march april may june july august september october november december'.split(' '),
    ...'monday tuesday wednesday thursday friday saturday sunday yesterday today tomorrow'.split(' '),
  ].map((w) => [w, w]),
));
DATE_WORDS.sept = 'september';
DATE_WORDS.tonight = 'today';
/** Month and day abbreviations are ordinary words or names too ("Sun", "Mar", "Wed"): dates only next to a number. */
const DATE_ABBREVIATIONS: Record<string, string> = {
  jan: 'january', feb: 'february', mar: 'march', apr: 'april', jun: 'june', jul: 'july', aug: 'august', sep: 'september', oct: 'october', nov: 'november', dec: 'december',
};

/** Phrases with a common short form, folded to it before tokenizing. */
const PHRASES: Array<[RegExp, string]> = [
  [/\bsingle[- ]sign[- ]on\b/gi, 'SSO'],
  [/\bcustomer success managers?\b/gi, 'CSM'],
  [/\bquarterly business reviews?\b/gi, 'QBR'],
  [/\bon[- ]prem(?:ise|ises)?\b/gi, 'onprem'],
  [/\b(?:first|1st) quarter\b/gi, 'Q1'],
  [/\b(?:second|2nd) quarter\b/gi, 'Q2'],
  [/\b(?:third|3rd) quarter\b/gi, 'Q3'],
  [/\b(?:fourth|4th) quarter\b/gi, 'Q4'],
];

const PHRASE_PATTERN = new RegExp(PHRASES.map(([pattern]) => pattern.source).join('|'), 'gi');

/**
 * Symbols that make another name of a letter or a word: "C++" and "C#" are not "C", ".NET" is
 * not "net". Spelt out before tokenizing, which would drop the symbols.
 */
const SYMBOL_NAMES = /(?<![\p{L}\p{N}])([a-z])(\+\+|#)(?![\p{L}\p{N}+#])|(?<![\p{L}\p{N}.])\.(net)\b/giu;
const spellSymbol = (match: string, letter: string | undefined, symbol: string | undefined, net: string | undefined) =>
  net ? `dot${net}` : `${letter}${symbol === '#' ? 'sharp' : 'plusplus'}`;
/** Symbols are rare enough that most texts skip the replacement. */
const HAS_SYMBOL = /\+\+|#|\.net/i;

/** A quantity, version or ordinal: digits with separators, at most a short prefix (v2, Q3) or unit suffix (3rd, 2x, 10k, 90s, 20%). */
const QUANTITY = /^(?:v|q|h|x)?\d+(?:[.,:/]\d+)*(?:st|nd|rd|th|x|k|m|s|h|d|gb|mb|tb|kb|ms)?$/;

/** Words that make relations directional, and which side of them comes first. */
type Direction = 'forward' | 'backward' | 'source';
const DIRECTIONS: Record<string, Direction> = { to: 'forward', into: 'forward', before: 'forward', after: 'backward', from: 'source' };
const INNER_DOT = /(?<=\p{L})\.(?=\p{L})/gu;
/** What may stand between a direction word and its object: "to the warehouse". */
const ARTICLES: ReadonlySet<string> = new Set(['a', 'an', 'the']);
const CLAUSE_BREAK = /[,;:!?()[\]]|\.(?:\s|$)/;
/** Arrows between words ("A -> B", "A → B") read as "to". */
const ARROWS = /\s*(?:->|→|=>|⇒)\s*/gu;

/** Contractions written with or without the apostrophe. */
const CONTRACTIONS = /\b(can|won|don|doesn|didn|isn|aren|wasn|weren|hasn|haven|hadn|shouldn|couldn|wouldn|mustn|needn)['’]?t\b|\bcannot\b/gi;
const CONTRACTION_BASE: Record<string, string> = { can: 'can', won: 'will', cannot: 'can' };

/** A table lookup that never finds Object.prototype's members ("constructor" is a word too). */
const own = (table: Record<string, string>, key: string): string | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

const TOKEN = /[\p{L}\p{N}]+(?:[.,:/][\p{N}]+)*/gu;
const ACRONYM_PLURAL = /^[A-Z][A-Z0-9]*[A-Z]s$/;

/** Plural and third-person -s folded; short words and -ss/-us/-is endings left alone. */
function stem(word: string): string {
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(?:ches|shes|sses|xes|zes)$/.test(word)) return word.slice(0, -2);
  // "-js" is a name's ending (threejs, vuejs), not a plural.
  if (word.endsWith('s') && !/(?:ss|us|is|os|js)$/.test(word)) return word.slice(0, -1);
  return word;
}

function canonicalToken(raw: string): string {
  const lower = raw.toLowerCase();
  if (/\p{N}/u.test(lower)) return lower.replace(/(?<=\d),(?=\d{3}\b)/g, '');
  const number = own(NUMBER_WORDS, lower);
  if (number) return number;
  const expanded = own(ABBREVIATIONS, lower) ?? lower;
  return stem(expanded);
}

interface TokenInfo {
  token: string;
  numeric: boolean;
  stop: boolean;
  negation: boolean;
  date: string | undefined;
  abbreviatedDate: string | undefined;
}

/** Per lower-cased word: a store has far fewer distinct words than words, so this is computed once each. */
const TOKEN_INFO = new Map<string, TokenInfo>();
const MAX_CACHED_WORDS = 500_000;

function tokenInfo(lower: string): TokenInfo {
  let info = TOKEN_INFO.get(lower);
  if (!info) {
    const token = canonicalToken(lower);
    info = {
      token,
      numeric: QUANTITY.test(token),
      // Checked before folding too: "does" would fold to "doe".
      stop: STOP_WORDS.has(lower) || STOP_WORDS.has(token),
      negation: NEGATIONS.has(lower),
      date: lower === 'may' ? undefined : own(DATE_WORDS, lower),
      abbreviatedDate: own(DATE_ABBREVIATIONS, lower),
    };
    if (TOKEN_INFO.size >= MAX_CACHED_WORDS) TOKEN_INFO.clear();
    TOKEN_INFO.set(lower, info);
  }
  return info;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Greek and Cyrillic letters drawn like Latin ones, typed in Latin text by another keyboard
 * ("Α python module", a Greek capital alpha): read as the Latin letter when the word mixes
 * them with Latin letters, or when the text's other words are all Latin. A Greek or Russian
 * text keeps its words.
 */
const LOOKALIKES: Record<string, string> = Object.fromEntries(
  [...'ΑAΒBΕEΖZΗHΙIΚKΜMΝNΟOΡPΤTΥYΧXοoАAВBЕEКKМMНHОOРPСCТTХXаaеeоoрpсcуyхxіiјjѕs'.matchAll(/(.)(.)/gu)].map((m) => [m[1]!, m[2]!]),
);
const GREEK_OR_CYRILLIC = /[\u0370-\u03ff\u0400-\u04ff]/u;
const WORD = /[\p{L}\p{N}]+/gu;

function foldLookalikes(source: string): string {
  const words = source.match(WORD) ?? [];
  const foreign = words.filter((w) => GREEK_OR_CYRILLIC.test(w));
  const latin = words.filter((w) => /[a-z]/i.test(w) && !GREEK_OR_CYRILLIC.test(w)).length;
  const readable = (w: string) => [...w].every((c) => !GREEK_OR_CYRILLIC.test(c) || Object.hasOwn(LOOKALIKES, c));
  return source.replace(WORD, (w) => {
    if (!GREEK_OR_CYRILLIC.test(w) || !readable(w)) return w;
    const mixed = /[a-z]/i.test(w);
    if (!mixed && !(foreign.length === 1 && latin >= 2)) return w;
    return [...w].map((c) => LOOKALIKES[c] ?? c).join('');
  });
}
const isUpper = (c: number) => c >= 65 && c <= 90;

/** Separators that may stand inside one compound: "date-picker", "three.js", "stand alone", "messenger_server". */
const COMPOUND_GAP = /^[\s\-_.]?$/;

export function textFeatures(text: string): TextFeatures {
  const nonAscii = NON_ASCII.test(text);
  let source = nonAscii ? text.normalize('NFKC') : text;
  if (nonAscii && GREEK_OR_CYRILLIC.test(source)) source = foldLookalikes(source);
  if (HAS_SYMBOL.test(source)) source = source.replace(SYMBOL_NAMES, spellSymbol);
  source = source
    // The possessive adds nothing: "Acme's team" is "Acme team".
    .replace(/(?<=\p{L})['’]s\b/gu, '')
    .replace(PHRASE_PATTERN, (match) => PHRASES.find(([pattern]) => new RegExp(pattern.source, 'i').test(match))![1])
    .replace(CONTRACTIONS, (match, base: string | undefined) => {
      const key = (base ?? match).toLowerCase();
      // "hasn't" is "has not": the base without its n.
      return ` ${own(CONTRACTION_BASE, key) ?? key.slice(0, -1)} not `;
    });
  // A dot inside a name joins it: "three.js" is "threejs", "Vue.js" is "VueJs", "chess.com" one word.
  if (source.includes('.')) source = source.replace(INNER_DOT, '');
  if (source.includes('>') || source.includes('→') || source.includes('⇒')) source = source.replace(ARROWS, ' to ');
  const content: string[] = [];
  const stop: string[] = [];
  const numbers: string[] = [];
  const dates: string[] = [];
  const entities = new Set<string>();
  const lowercase: string[] = [];
  const joins: Array<[string, string]> = [];
  const edges: Array<[string, string]> = [];
  const seen = new Set<string>();
  let negations = 0;
  let index = 0;
  let capitalizedFirst: string | undefined;
  let capitalizedWords = 0;
  let words = 0;
  // For compounds: the previous content word and where it ended.
  let previous: { token: string; end: number } | undefined;
  // For relations: the last content word, the pending direction word and the "from" source.
  let last: string | undefined;
  let direction: Direction | undefined;
  let left: string | undefined;
  let origin: string | undefined;
  let lastEnd = 0;
  for (const match of source.matchAll(TOKEN)) {
    const raw = match[0];
    const position = index++;
    // A relation does not reach across a clause: "If SSO ships before then, Acme renews".
    if (direction !== undefined || origin !== undefined) {
      if (CLAUSE_BREAK.test(source.slice(lastEnd, match.index))) direction = origin = undefined;
    }
    lastEnd = match.index + raw.length;
    // An acronym's plural: "APIs" is "API" ("-is" words are otherwise kept: "analysis").
    const lower = ACRONYM_PLURAL.test(raw) ? raw.slice(0, -1).toLowerCase() : raw.toLowerCase();
    const info = tokenInfo(lower);
    if (info.negation) {
      negations++;
      previous = undefined;
      continue;
    }
    const ascii = !NON_ASCII.test(raw);
    const capitalized = ascii ? isUpper(raw.charCodeAt(0)) : /^\p{Lu}/u.test(raw);
    // "may" is a month only as "May", and not as a sentence's first word.
    let date = lower === 'may' ? (capitalized && position > 0 ? 'may' : undefined) : info.date;
    if (!date && info.abbreviatedDate) {
      const around = source.slice(Math.max(0, match.index - 4), match.index + raw.length + 4);
      if (/\d/.test(around)) date = info.abbreviatedDate;
    }
    if (date) {
      dates.push(date);
      previous = undefined;
      continue;
    }
    const token = info.token;
    if (info.numeric) numbers.push(token);
    if (info.stop) {
      if (!seen.has(token)) stop.push(token);
      seen.add(token);
      const relation = own(DIRECTIONS, lower) as Direction | undefined;
      if (relation) {
        direction = relation;
        left = last;
      } else if (!ARTICLES.has(token)) direction = undefined;
      previous = undefined;
      continue;
    }
    // A capital mid-sentence, or all capitals anywhere, marks a name. A capitalized first
    // word is a name too unless it is a stop word: sentences here usually open with one.
    const allCapitals = raw.length >= 2 && raw === raw.toUpperCase() && raw !== lower;
    if (capitalized || allCapitals) entities.add(token);
    if (!info.numeric && /\p{L}/u.test(raw)) {
      words++;
      if (capitalized || allCapitals) capitalizedWords++;
      else lowercase.push(token);
    }
    if (position === 0 && capitalized) capitalizedFirst = token;
    if (previous && !info.numeric && COMPOUND_GAP.test(source.slice(previous.end, match.index))) {
      joins.push([previous.token, token]);
    }
    previous = info.numeric ? undefined : { token, end: match.index + raw.length };
    if (direction) {
      if (direction === 'source') origin = token;
      else if (left !== undefined && left !== token) edges.push(direction === 'forward' ? [left, token] : [token, left]);
      if (direction === 'forward' && origin !== undefined && origin !== token && left !== origin) edges.push([origin, token]);
      if (direction !== 'source') origin = undefined;
      direction = undefined;
    }
    last = token;
    if (!seen.has(token)) content.push(token);
    seen.add(token);
  }
  numbers.sort();
  dates.sort();
  return {
    content,
    stop,
    numbers,
    dates,
    negated: negations % 2 === 1,
    entities,
    capitalizedFirst,
    titleCase: words >= 3 && capitalizedWords === words,
    lowercase,
    joins,
    edges,
  };
}
