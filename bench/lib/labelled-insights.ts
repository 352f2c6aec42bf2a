/**
 * A labelled insight corpus for consolidation: realistic one-sentence sales and support
 * notes, each fact with a group label. Some facts get true duplicates — a typo, changed
 * case and punctuation, reordered clauses, a word added or dropped, an abbreviation — and
 * some get hard negatives that must never merge with them: a changed number or date, an
 * added negation, another company, or the same template with different key words.
 * Deterministic for a seed.
 */
import { normalizeText } from '../../src/engine/text/normalize.js';
import { seededRandom } from './seeded.js';

export type Perturbation = 'typo' | 'case' | 'reorder' | 'added' | 'dropped' | 'abbreviation';
export type HardNegative = 'number' | 'date' | 'negation' | 'entity' | 'keyword';

export interface LabelledInsight {
  id: number;
  text: string;
  created_at: number;
  /** Insights with the same group state the same fact. */
  group: number;
  made_by?: Perturbation;
}

export interface LabelledCorpus {
  insights: LabelledInsight[];
  /** Pairs that must never be merged, with what changed. */
  hardNegatives: Array<{ a: number; b: number; kind: HardNegative }>;
}

export interface CorpusOptions {
  facts: number;
  /** Share of facts that get 1–3 true duplicates. */
  duplicateRate?: number;
  /** Share of facts that get a hard negative. */
  hardNegativeRate?: number;
  /**
   * Distinct company names (default 300). Large corpora need more, as real ones have: with a
   * few hundred companies a million notes would be the same sentence a thousand times over.
   */
  companies?: number;
  /** Scale of the other vocabularies: people, product features and figures (default 1). */
  variety?: number;
  seed?: number;
}

const PREFIXES = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne', 'Soylent', 'Vandelay', 'Aperture', 'Oscorp', 'Nakatomi', 'Massive', 'Pied Piper', 'Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware', 'Proseware', 'Woodgrove', 'Monarch', 'Gringotts', 'Blue Sun', 'Dunder', 'Prestige', 'Kruger'];
const SUFFIXES = [' Labs', ' Group', ' Health', ' Systems', ' Bank', ' Retail', ' Logistics', ' Energy', ' Media', ' Foods'];
const PEOPLE = ['Maria', 'Dev', 'Priya', 'Tom', 'Aiko', 'Lars', 'Fatima', 'Jonas', 'Chen', 'Olu', 'Sofia', 'Rahul', 'Grace', 'Mateo', 'Hana', 'Ivan', 'Noor', 'Ben', 'Yuki', 'Carla'];
const FEATURES = ['SSO', 'SCIM provisioning', 'audit logs', 'Salesforce sync', 'Snowflake connector', 'usage-based billing', 'mobile app', 'role-based access', 'EU data residency', 'public API', 'webhooks', 'custom dashboards', 'Slack integration', 'offline mode', 'two-factor login', 'bulk export', 'HubSpot sync', 'SOC 2 reports', 'Zendesk app', 'sandbox environments'];
const COMPETITORS = ['Gong', 'Clari', 'Outreach', 'Salesloft', 'Chorus', 'Highspot'];
const MONTHS = ['January', 'February', 'March', 'April', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const TIERS = ['Starter', 'Growth', 'Business', 'Enterprise'];

interface Slots {
  company: string;
  other: string;
  person: string;
  feature: string;
  otherFeature: string;
  competitor: string;
  month: string;
  otherMonth: string;
  n: number;
  tier: string;
}

/**
 * A template: the sentence, its clauses reordered, its negation, and an optional word
 * ([brackets]) that may be dropped. Words the abbreviation perturbation may shorten are
 * the ordinary ones: account, customer, meeting, management, documentation, information, with.
 */
interface Template {
  text: (s: Slots) => string;
  reordered?: (s: Slots) => string;
  negated: (s: Slots) => string;
  hasNumber: boolean;
  hasMonth: boolean;
}

const TEMPLATES: Template[] = [
  {
    text: (s) => `${s.company} asked about ${s.feature} pricing for ${s.n} seats in the [${s.tier}] plan`,
    reordered: (s) => `For ${s.n} seats in the [${s.tier}] plan, ${s.company} asked about ${s.feature} pricing`,
    negated: (s) => `${s.company} never asked about ${s.feature} pricing for ${s.n} seats in the [${s.tier}] plan`,
    hasNumber: true,
    hasMonth: false,
  },
  {
    text: (s) => `${s.company} will renew in ${s.month} if ${s.feature} ships before then`,
    reordered: (s) => `If ${s.feature} ships before then, ${s.company} will renew in ${s.month}`,
    negated: (s) => `${s.company} will not renew in ${s.month} if ${s.feature} ships before then`,
    hasNumber: false,
    hasMonth: true,
  },
  {
    text: (s) => `${s.person} from ${s.company} said the ${s.feature} setup is [too] slow for their team`,
    reordered: (s) => `The ${s.feature} setup is [too] slow for their team, ${s.person} from ${s.company} said`,
    negated: (s) => `${s.person} from ${s.company} said the ${s.feature} setup is not [too] slow for their team`,
    hasNumber: false,
    hasMonth: false,
  },
  {
    text: (s) => `${s.company} is evaluating ${s.competitor} because ${s.feature} is missing`,
    reordered: (s) => `Because ${s.feature} is missing, ${s.company} is evaluating ${s.competitor}`,
    negated: (s) => `${s.company} is not evaluating ${s.competitor} because ${s.feature} is missing`,
    hasNumber: false,
    hasMonth: false,
  },
  {
    text: (s) => `The security team at ${s.company} requires ${s.feature} before signing the [renewal] contract`,
    reordered: (s) => `Before signing the [renewal] contract, the security team at ${s.company} requires ${s.feature}`,
    negated: (s) => `The security team at ${s.company} no longer requires ${s.feature} before signing the [renewal] contract`,
    hasNumber: false,
    hasMonth: false,
  },
  {
    text: (s) => `Customer ${s.company} opened ${s.n} support tickets about ${s.feature} in ${s.month}`,
    reordered: (s) => `In ${s.month}, customer ${s.company} opened ${s.n} support tickets about ${s.feature}`,
    negated: (s) => `Customer ${s.company} opened no support tickets about ${s.feature} in ${s.month}`,
    hasNumber: true,
    hasMonth: true,
  },
  {
    text: (s) => `${s.company} expanded to ${s.n} seats after the ${s.feature} launch [last] quarter`,
    reordered: (s) => `After the ${s.feature} launch [last] quarter, ${s.company} expanded to ${s.n} seats`,
    negated: (s) => `${s.company} did not expand to ${s.n} seats after the ${s.feature} launch [last] quarter`,
    hasNumber: true,
    hasMonth: false,
  },
  {
    text: (s) => `In the account review meeting, ${s.person} at ${s.company} asked for ${s.feature} documentation`,
    reordered: (s) => `${s.person} at ${s.company} asked for ${s.feature} documentation in the account review meeting`,
    negated: (s) => `In the account review meeting, ${s.person} at ${s.company} did not ask for ${s.feature} documentation`,
    hasNumber: false,
    hasMonth: false,
  },
  {
    text: (s) => `${s.company} management wants ${s.feature} included with the ${s.tier} tier at no [extra] cost`,
    reordered: (s) => `At no [extra] cost, ${s.company} management wants ${s.feature} included with the ${s.tier} tier`,
    negated: (s) => `${s.company} management does not want ${s.feature} included with the ${s.tier} tier at no [extra] cost`,
    hasNumber: false,
    hasMonth: false,
  },
  {
    text: (s) => `${s.company} churned in ${s.month} after repeated ${s.feature} outages`,
    reordered: (s) => `After repeated ${s.feature} outages, ${s.company} churned in ${s.month}`,
    negated: (s) => `${s.company} did not churn in ${s.month} after repeated ${s.feature} outages`,
    hasNumber: false,
    hasMonth: true,
  },
  {
    text: (s) => `The customer success team shared information with ${s.company} about ${s.feature} limits of ${s.n} requests per minute`,
    reordered: (s) => `About ${s.feature} limits of ${s.n} requests per minute, the customer success team shared information with ${s.company}`,
    negated: (s) => `The customer success team never shared information with ${s.company} about ${s.feature} limits of ${s.n} requests per minute`,
    hasNumber: true,
    hasMonth: false,
  },
  {
    text: (s) => `${s.person} says ${s.company} loves ${s.feature} [but] hates the onboarding flow`,
    reordered: (s) => `${s.person} says ${s.company} hates the onboarding flow [but] loves ${s.feature}`,
    negated: (s) => `${s.person} says ${s.company} does not love ${s.feature} [but] hates the onboarding flow`,
    hasNumber: false,
    hasMonth: false,
  },
];

const ABBREVIATE: Array<[RegExp, string]> = [
  [/\baccount\b/i, 'acct'],
  [/\bcustomer\b/i, 'cust'],
  [/\bmeeting\b/i, 'mtg'],
  [/\bmanagement\b/i, 'mgmt'],
  [/\bdocumentation\b/i, 'docs'],
  [/\binformation\b/i, 'info'],
  [/\bwith\b/i, 'w/'],
];
const FILLERS = ['really', 'now', 'apparently', 'again', 'definitely', 'reportedly'];

export function generateLabelledCorpus(options: CorpusOptions): LabelledCorpus {
  const random = seededRandom(options.seed ?? 7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const companyCount = options.companies ?? PREFIXES.length * SUFFIXES.length;
  const companyNames: string[] = [];
  for (const prefix of PREFIXES) for (const suffix of SUFFIXES) companyNames.push(`${prefix}${suffix}`);
  // Beyond the list, invented names: two or three syllables and a suffix, e.g. "Varotek Labs" (millions possible).
  const SYLLABLES = ['va', 'ro', 'tek', 'quen', 'li', 'bo', 'zan', 'mi', 'dra', 'sol', 'ka', 'nex', 'pel', 'tor', 'vi', 'gen', 'lu', 'mar', 'os', 'fin', 'tri', 'cor', 'dex', 'ha'];
  const invented = new Set(companyNames);
  while (companyNames.length < companyCount) {
    const parts = 2 + Math.floor(random() * 3);
    let name = '';
    for (let i = 0; i < parts; i++) name += pick(SYLLABLES);
    const full = `${name.charAt(0).toUpperCase()}${name.slice(1)}${pick(SUFFIXES)}`;
    if (!invented.has(full)) {
      invented.add(full);
      companyNames.push(full);
    }
  }
  companyNames.length = companyCount;
  const company = () => pick(companyNames);
  // With variety > 1: invented first names and features made of a qualifier and a feature.
  const variety = Math.max(1, Math.floor(options.variety ?? 1));
  const people = [...PEOPLE];
  const PERSON_SYLLABLES = ['an', 'el', 'mi', 'ra', 'to', 'ki', 'sa', 'jo', 'lu', 'ne', 'da', 'vi', 'or', 'ha', 'ze', 'bo'];
  const personSeen = new Set(people);
  while (people.length < PEOPLE.length * variety) {
    const name = `${pick(PERSON_SYLLABLES)}${pick(PERSON_SYLLABLES)}${pick(PERSON_SYLLABLES)}`;
    const cased = name.charAt(0).toUpperCase() + name.slice(1);
    if (!personSeen.has(cased)) {
      personSeen.add(cased);
      people.push(cased);
    }
  }
  const QUALIFIERS = ['realtime', 'regional', 'legacy', 'scheduled', 'granular', 'delegated', 'encrypted', 'automated', 'multi-region', 'self-serve', 'tiered', 'federated', 'versioned', 'batched', 'streaming', 'white-label'];
  const features = [...FEATURES];
  for (let v = 1; v < variety && v <= QUALIFIERS.length; v++) for (const f of FEATURES) features.push(`${QUALIFIERS[v - 1]} ${f}`);
  const maxFigure = 2000 * variety;
  const duplicateRate = options.duplicateRate ?? 0.2;
  const hardNegativeRate = options.hardNegativeRate ?? 0.1;
  const insights: LabelledInsight[] = [];
  const hardNegatives: LabelledCorpus['hardNegatives'] = [];
  const used = new Set<string>();
  const base = Date.parse('2026-01-01T00:00:00Z');
  let group = 0;
  const add = (text: string, g: number, madeBy?: Perturbation) => {
    const id = insights.length + 1;
    insights.push({ id, text, created_at: base + id * 60_000, group: g, ...(madeBy ? { made_by: madeBy } : {}) });
    return id;
  };
  /** Square brackets mark the optional word: kept (without brackets) or removed. */
  const render = (text: string, keepOptional = true) => (keepOptional ? text.replace(/\[([^\]]+)\]/g, '$1') : text.replace(/ ?\[[^\]]+\]/g, '')).replace(/\s+/g, ' ').trim();
  const cap = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

  const perturb = (template: Template, slots: Slots, kind: Perturbation): string => {
    const plain = render(template.text(slots));
    switch (kind) {
      case 'typo': {
        const words = plain.split(' ');
        const candidates = words.map((w, i) => [w, i] as const).filter(([w]) => /^[a-z]{5,}$/.test(w));
        const [word, i] = pick(candidates);
        const at = 1 + Math.floor(random() * (word.length - 2));
        const style = random();
        words[i] =
          style < 0.34
            ? word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2) // transposed letters
            : style < 0.67
              ? word.slice(0, at) + word.slice(at + 1) // a dropped letter
              : word.slice(0, at) + word[at] + word.slice(at); // a doubled letter
        return words.join(' ');
      }
      case 'case': {
        const style = random();
        if (style < 0.33) return `${plain.toLowerCase()}.`;
        if (style < 0.66) return `"${plain}!"`;
        return `${plain.toUpperCase()}  `;
      }
      case 'reorder':
        return cap(render(template.reordered!(slots)));
      case 'added': {
        const words = plain.split(' ');
        words.splice(1 + Math.floor(random() * (words.length - 1)), 0, pick(FILLERS));
        return words.join(' ');
      }
      case 'dropped':
        return render(template.text(slots), false);
      case 'abbreviation': {
        const usable = ABBREVIATE.filter(([pattern]) => pattern.test(plain));
        const [pattern, short] = pick(usable);
        return plain.replace(pattern, short);
      }
    }
  };

  const applicable = (template: Template): Perturbation[] => {
    const text = render(template.text({ company: 'X', other: 'Y', person: 'P', feature: 'F', otherFeature: 'G', competitor: 'C', month: 'May', otherMonth: 'May', n: 1, tier: 'T' }));
    const list: Perturbation[] = ['typo', 'case', 'added'];
    if (template.reordered) list.push('reorder');
    if (/\[/.test(template.text({ company: 'X', other: 'Y', person: 'P', feature: 'F', otherFeature: 'G', competitor: 'C', month: 'May', otherMonth: 'May', n: 1, tier: 'T' }))) list.push('dropped');
    if (ABBREVIATE.some(([pattern]) => pattern.test(text))) list.push('abbreviation');
    return list;
  };

  for (let fact = 0; fact < options.facts; fact++) {
    let template: Template;
    let slots: Slots;
    let text: string;
    // Every fact is distinct: a repeated slot filling would be a duplicate nobody labelled.
    do {
      template = pick(TEMPLATES);
      const feature = pick(features);
      let otherFeature = pick(features);
      while (otherFeature === feature) otherFeature = pick(features);
      const month = pick(MONTHS);
      let otherMonth = pick(MONTHS);
      while (otherMonth === month) otherMonth = pick(MONTHS);
      const c = company();
      let other = company();
      while (other === c) other = company();
      slots = { company: c, other, person: pick(people), feature, otherFeature, competitor: pick(COMPETITORS), month, otherMonth, n: 5 + Math.floor(random() * maxFigure), tier: pick(TIERS) };
      text = render(template.text(slots));
    } while (used.has(normalizeText(text)));
    used.add(normalizeText(text));
    const g = ++group;
    const original = add(text, g);

    if (random() < duplicateRate) {
      const kinds = applicable(template);
      const copies = 1 + Math.floor(random() * 3);
      for (let c = 0; c < copies; c++) {
        const kind = pick(kinds);
        const dup = perturb(template, slots, kind);
        // The store keeps one insight per normalized text (a repeat is a reinforcement).
        if (used.has(normalizeText(dup))) continue;
        used.add(normalizeText(dup));
        add(dup, g, kind);
      }
    }
    if (random() < hardNegativeRate) {
      const kinds: HardNegative[] = ['negation', 'entity', 'keyword'];
      if (template.hasNumber) kinds.push('number');
      if (template.hasMonth) kinds.push('date');
      const kind = pick(kinds);
      const changed: Slots = { ...slots };
      if (kind === 'number') changed.n = slots.n + 1 + Math.floor(random() * 50);
      if (kind === 'date') changed.month = slots.otherMonth;
      if (kind === 'entity') changed.company = slots.other;
      if (kind === 'keyword') changed.feature = slots.otherFeature;
      const negText = kind === 'negation' ? render(template.negated(slots)) : render(template.text(changed));
      if (!used.has(normalizeText(negText))) {
        used.add(normalizeText(negText));
        const id = add(negText, ++group);
        hardNegatives.push({ a: original, b: id, kind });
      }
    }
  }
  return { insights, hardNegatives };
}

export interface QualityReport {
  precision: number;
  recall: number;
  true_pairs: number;
  predicted_pairs: number;
  correct_pairs: number;
  hard_negatives: number;
  hard_negative_false_merges: number;
  /** Hard negatives reported as conflicts, by kind. */
  hard_negatives_reported: Record<string, number>;
  false_merges_by_kind: Record<string, number>;
  missed_by_perturbation: Record<string, number>;
}

/** Scores clusters (lists of member ids) against the labels, pairwise. */
export function scoreClusters(corpus: LabelledCorpus, clusters: number[][], conflicts: Array<{ a: number; b: number }>): QualityReport {
  const byId = new Map(corpus.insights.map((i) => [i.id, i]));
  const clusterOf = new Map<number, number>();
  clusters.forEach((members, c) => members.forEach((id) => clusterOf.set(id, c)));
  const groups = new Map<number, number[]>();
  for (const insight of corpus.insights) {
    const list = groups.get(insight.group) ?? [];
    list.push(insight.id);
    groups.set(insight.group, list);
  }
  let truePairs = 0;
  let correct = 0;
  const missed: Record<string, number> = {};
  for (const members of groups.values()) {
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < members.length; y++) {
        truePairs++;
        const a = members[x]!;
        const b = members[y]!;
        if (clusterOf.has(a) && clusterOf.get(a) === clusterOf.get(b)) correct++;
        else {
          const kind = byId.get(b)!.made_by ?? byId.get(a)!.made_by ?? 'original';
          missed[kind] = (missed[kind] ?? 0) + 1;
        }
      }
    }
  }
  let predicted = 0;
  for (const members of clusters) predicted += (members.length * (members.length - 1)) / 2;
  const falseByKind: Record<string, number> = {};
  const reported: Record<string, number> = {};
  const conflictKeys = new Set(conflicts.map((c) => `${Math.min(c.a, c.b)}:${Math.max(c.a, c.b)}`));
  let falseMerges = 0;
  for (const { a, b, kind } of corpus.hardNegatives) {
    if (clusterOf.has(a) && clusterOf.get(a) === clusterOf.get(b)) {
      falseMerges++;
      falseByKind[kind] = (falseByKind[kind] ?? 0) + 1;
    }
    if (conflictKeys.has(`${Math.min(a, b)}:${Math.max(a, b)}`)) reported[kind] = (reported[kind] ?? 0) + 1;
  }
  return {
    precision: predicted === 0 ? 1 : correct / predicted,
    recall: truePairs === 0 ? 1 : correct / truePairs,
    true_pairs: truePairs,
    predicted_pairs: predicted,
    correct_pairs: correct,
    hard_negatives: corpus.hardNegatives.length,
    hard_negative_false_merges: falseMerges,
    hard_negatives_reported: reported,
    false_merges_by_kind: falseByKind,
    missed_by_perturbation: missed,
  };
}
