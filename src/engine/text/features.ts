/**
 * What consolidation sees in an insight's text: canonical tokens (case, plural, common
 * abbreviations and number words folded), plus the features the contradiction guard
 * compares — numbers, dates, negation and named entities.
 */

export interface TextFeatures {
  /** Canonical content tokens, unique, in first-seen order (stop words and negations left out). */
  content: string[];
  /** Stop words, unique: they count a little toward similarity, never toward informativeness. */
  stop: string[];
  /** Numeric tokens (anything with a digit), sorted, repeats kept. */
  numbers: string[];
  /** Month and weekday names and relative days, sorted. */
  dates: string[];
  /** Whether the text is negated (an odd number of negations). */
  negated: boolean;
  /** Canonical tokens written with a capital or in capitals: names of companies, people, products. */
  entities: Set<string>;
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

/** Contractions written with or without the apostrophe. */
const CONTRACTIONS = /\b(can|won|don|doesn|didn|isn|aren|wasn|weren|hasn|haven|hadn|shouldn|couldn|wouldn|mustn|needn)['’]?t\b|\bcannot\b/gi;
const CONTRACTION_BASE: Record<string, string> = { can: 'can', won: 'will', cannot: 'can' };

/** A table lookup that never finds Object.prototype's members ("constructor" is a word too). */
const own = (table: Record<string, string>, key: string): string | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

const TOKEN = /[\p{L}\p{N}]+(?:[.,:/][\p{N}]+)*/gu;

/** Plural and third-person -s folded; short words and -ss/-us/-is endings left alone. */
function stem(word: string): string {
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(?:ches|shes|sses|xes|zes)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !/(?:ss|us|is|os)$/.test(word)) return word.slice(0, -1);
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
      numeric: /\p{N}/u.test(token),
      stop: STOP_WORDS.has(token),
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
const isUpper = (c: number) => c >= 65 && c <= 90;

export function textFeatures(text: string): TextFeatures {
  const source = (NON_ASCII.test(text) ? text.normalize('NFKC') : text)
    // The possessive adds nothing: "Acme's team" is "Acme team".
    .replace(/(?<=\p{L})['’]s\b/gu, '')
    .replace(PHRASE_PATTERN, (match) => PHRASES.find(([pattern]) => new RegExp(pattern.source, 'i').test(match))![1])
    .replace(CONTRACTIONS, (match, base: string | undefined) => {
      const key = (base ?? match).toLowerCase();
      return ` ${own(CONTRACTION_BASE, key) ?? key} not `;
    });
  const content: string[] = [];
  const stop: string[] = [];
  const numbers: string[] = [];
  const dates: string[] = [];
  const entities = new Set<string>();
  const seen = new Set<string>();
  let negations = 0;
  let index = 0;
  for (const match of source.matchAll(TOKEN)) {
    const raw = match[0];
    const position = index++;
    const lower = raw.toLowerCase();
    const info = tokenInfo(lower);
    if (info.negation) {
      negations++;
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
      continue;
    }
    const token = info.token;
    if (info.numeric) numbers.push(token);
    if (info.stop) {
      if (!seen.has(token)) stop.push(token);
      seen.add(token);
      continue;
    }
    // A capital mid-sentence, or all capitals anywhere, marks a name. A capitalized first
    // word is a name too unless it is a stop word: sentences here usually open with one.
    if (capitalized || (raw.length >= 2 && raw === raw.toUpperCase() && raw !== lower)) entities.add(token);
    if (!seen.has(token)) content.push(token);
    seen.add(token);
  }
  numbers.sort();
  dates.sort();
  return { content, stop, numbers, dates, negated: negations % 2 === 1, entities };
}
