/**
 * pattern_detection and playbook_synthesis.
 *
 * - The FP-Growth miner against a brute-force counter (property test: frequent and closed
 *   item sets, with random support, sizes, item ids, duplicates and empty transactions)
 *   and against node-fpgrowth on a few thousand skewed transactions.
 * - Both jobs through the real bin on a real SQLite file with a generated corpus: every
 *   stored pattern and rule is re-counted directly from the active insights' item sets and
 *   the rule set re-derived from the stored patterns; dry runs persist nothing and preview
 *   exactly what the real runs do; re-runs change nothing; after the data changes (insights
 *   that have a rule's antecedent without its consequent, a theme archived by decay_sweep)
 *   the rules that no longer hold are deprecated (never deleted) and the patterns no longer
 *   found go stale; the markdown playbook; bad config values.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import fc from 'fast-check';
import { FPGrowth } from 'node-fpgrowth';
import { runBin, tempDir } from '../../../helpers/cli.js';
import { closedItemsets, frequentItemsets } from '../../../../src/engine/jobs/patterns/itemsets.js';
import { contentTerms, insightItems, itemsetKey } from '../../../../src/engine/jobs/patterns/items.js';
import { seededRandom } from '../../../../bench/lib/seeded.js';

// ---------------------------------------------------------------------------------------------
// Brute force

type Itemset = { items: number[]; support: number };

/** Every non-empty item set of the transactions' items with its support (all sizes, support ≥ 1). */
function bruteForceSupports(transactions: ReadonlyArray<ArrayLike<number>>): Itemset[] {
  const sets = transactions.map((t) => new Set(Array.from(t)));
  const universe = [...new Set(sets.flatMap((s) => [...s]))].sort((a, b) => a - b);
  assert.ok(universe.length <= 10, 'brute force is for small universes');
  const out: Itemset[] = [];
  for (let mask = 1; mask < 1 << universe.length; mask++) {
    const items = universe.filter((_, i) => mask & (1 << i));
    const support = sets.filter((s) => items.every((i) => s.has(i))).length;
    if (support > 0) out.push({ items, support });
  }
  return out;
}

const isSubset = (a: readonly number[], b: readonly number[]) => a.every((x) => b.includes(x));
const asMap = (sets: readonly Itemset[]) => new Map(sets.map((s) => [s.items.join(','), s.support]));

/** Items ascending, no duplicate set: the documented output shape. */
function assertWellFormed(sets: readonly Itemset[]) {
  const keys = new Set<string>();
  for (const s of sets) {
    for (let i = 1; i < s.items.length; i++) assert.ok(s.items[i - 1]! < s.items[i]!, `items ascending and distinct: ${s.items}`);
    const key = s.items.join(',');
    assert.ok(!keys.has(key), `duplicate item set ${key}`);
    keys.add(key);
  }
}


describe('frequent item sets (PrePost)', () => {
  test('frequentItemsets and closedItemsets equal a brute-force count (property)', () => {
    const arbitrary = fc
      .record({
        ids: fc.uniqueArray(fc.nat(1_000_000), { minLength: 1, maxLength: 8 }),
        rows: fc.array(fc.array(fc.nat(7), { maxLength: 8, size: 'medium' }), { maxLength: 30, size: 'medium' }),
        typed: fc.boolean(),
        // Mostly low supports (many sets, deep trees), sometimes above every count.
        minSupport: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 32 }) }),
        maxSize: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
        minSize: fc.integer({ min: 1, max: 9 }),
      })
      .map(({ ids, rows, typed, ...rest }) => {
        // Item ids are arbitrary non-negative numbers; duplicates inside a transaction are allowed.
        const transactions = rows.map((row) => row.map((i) => ids[i % ids.length]!));
        return { transactions: typed ? transactions.map((t) => Int32Array.from(t)) : transactions, ...rest };
      });
    fc.assert(
      fc.property(arbitrary, ({ transactions, minSupport, maxSize, minSize }) => {
        const all = bruteForceSupports(transactions);
        const limit = maxSize ?? Number.POSITIVE_INFINITY;
        const options = maxSize === undefined ? { minSupport } : { minSupport, maxSize };

        const frequent = frequentItemsets(transactions, options);
        assertWellFormed(frequent);
        const expectedFrequent = all.filter((s) => s.support >= minSupport && s.items.length <= limit);
        assert.deepEqual(asMap(frequent), asMap(expectedFrequent));

        const low = Math.min(minSize, limit);
        const closed = closedItemsets(transactions, { ...options, minSize: low });
        assertWellFormed(closed);
        // Closed: no proper superset, of any size, has the same support.
        const expectedClosed = all.filter(
          (s) =>
            s.support >= minSupport &&
            s.items.length >= low &&
            s.items.length <= limit &&
            !all.some((t) => t.items.length > s.items.length && t.support === s.support && isSubset(s.items, t.items)),
        );
        assert.deepEqual(asMap(closed), asMap(expectedClosed));
      }),
      { numRuns: 100, seed: 20261123 },
    );
  });

  test('frequentItemsets equals node-fpgrowth on 3,000 skewed transactions over 60 items', async (t) => {
    const random = seededRandom(7);
    const ITEMS = 60;
    // Zipf-like item probabilities, plus correlated groups so that larger item sets are frequent.
    const probability = Array.from({ length: ITEMS }, (_, i) => 0.45 / (1 + i) ** 0.8);
    const groups = [
      [3, 17, 29, 41],
      [5, 22, 38],
      [11, 44, 52, 57, 59],
    ];
    const transactions: number[][] = [];
    for (let t = 0; t < 3000; t++) {
      const items = new Set<number>();
      for (let i = 0; i < ITEMS; i++) if (random() < probability[i]!) items.add(i);
      for (const group of groups) if (random() < 0.08) for (const i of group) if (random() < 0.9) items.add(i);
      transactions.push([...items]);
    }
    const fraction = 0.006;
    const minSupport = Math.ceil(fraction * transactions.length);

    const ours = frequentItemsets(transactions, { minSupport });
    assertWellFormed(ours);
    const reference = await new FPGrowth<number>(fraction).exec(transactions.map((t) => [...t]));
    const expected = new Map(reference.map((s) => [[...s.items].sort((a, b) => a - b).join(','), s.support]));
    assert.equal(expected.size, reference.length, 'the reference reports each set once');
    assert.ok(expected.size > 500, `a meaningful comparison: ${expected.size} sets`);
    assert.ok(
      ours.some((s) => s.items.length >= 4),
      'item sets of 4+ items are part of it',
    );
    assert.deepEqual(asMap(ours), expected);
    t.diagnostic(`${ours.length} frequent item sets at support ${minSupport}, up to ${Math.max(...ours.map((s) => s.items.length))} items`);
    // A spot check by direct count, independent of both miners.
    for (const s of ours.filter((_, i) => i % 97 === 0)) {
      assert.equal(s.support, transactions.filter((t) => s.items.every((i) => t.includes(i))).length, s.items.join(','));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Through the real bin

const YEAR_AGO = new Date(Date.now() - 365 * 86_400_000).toISOString();

/** A unique made-up word per index (letters only, so it is a content term). */
const token = (n: number) => {
  let s = '';
  for (let i = 0; i < 4; i++) {
    s += String.fromCharCode(97 + (n % 26));
    n = Math.floor(n / 26);
  }
  return `zq${s}`;
};

interface Theme {
  count: number;
  /** Word alternatives; each inner list is one concept, written in one of its forms. */
  words: Array<{ forms: string[]; p: number }>;
  tag: string;
  source: string;
  old?: boolean;
}

const THEMES: Theme[] = [
  {
    count: 90,
    words: [
      { forms: ['invoice', 'invoices', 'invoiced'], p: 1 },
      { forms: ['refund', 'refunds', 'refunded'], p: 0.9 },
      { forms: ['overcharged'], p: 0.45 },
    ],
    tag: 'billing',
    source: 'zendesk',
  },
  {
    count: 80,
    words: [
      { forms: ['renewal', 'renewals'], p: 1 },
      { forms: ['contract', 'contracts'], p: 0.92 },
      { forms: ['procurement'], p: 0.55 },
    ],
    tag: 'renewal',
    source: 'gong',
  },
  {
    count: 70,
    words: [
      { forms: ['onboarding'], p: 1 },
      { forms: ['integration', 'integrations'], p: 0.85 },
      { forms: ['sso'], p: 0.5 },
    ],
    tag: 'onboarding',
    source: 'hubspot',
  },
  {
    // Old and low-confidence: decay_sweep archives this whole theme.
    count: 30,
    words: [
      { forms: ['mainframe', 'mainframes'], p: 1 },
      { forms: ['fax', 'faxes'], p: 0.9 },
    ],
    tag: 'legacy',
    source: 'legacy-crm',
    old: true,
  },
];
const NOISE_ONLY = 50;
const CUSTOMERS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Soylent', 'Stark', 'Wonka', 'Cyberdyne', 'Tyrell'];
const VERBS = ['mentioned', 'asked about', 'complained about', 'raised', 'keeps bringing up'];
const FILLER = ['dashboard', 'latency', 'roadmap', 'pricing', 'champion', 'budget', 'security', 'mobile', 'export', 'reporting', 'workflow', 'analytics', 'permissions', 'webhook', 'sandbox', 'quota', 'training', 'feedback'];
const OTHER_SOURCES = ['slack', 'email', 'zendesk', 'gong'];

function generateCorpus(seed: number): string {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const lines: string[] = [];
  let n = 0;
  const line = (words: string[], tags: string[], source: string | undefined, old: boolean) => {
    const filler = FILLER.filter(() => random() < 0.08);
    const text = `${pick(CUSTOMERS)} ${pick(VERBS)} ${[...words, ...filler].join(' and ')}; ref ${token(n++)}.`;
    const record: Record<string, unknown> = { text, tags };
    if (source) record.source = source;
    if (old) Object.assign(record, { created_at: YEAR_AGO, confidence: 0.4 });
    lines.push(JSON.stringify(record));
  };
  for (const theme of THEMES) {
    for (let i = 0; i < theme.count; i++) {
      const words = theme.words.filter((w) => random() < w.p).map((w) => pick(w.forms));
      const tags = random() < 0.93 ? [theme.tag] : [];
      if (random() < 0.2) tags.push(pick(['enterprise', 'smb', 'priority']));
      line(words, tags, random() < 0.88 ? theme.source : pick(OTHER_SOURCES), Boolean(theme.old));
    }
  }
  for (let i = 0; i < NOISE_ONLY; i++) line([], random() < 0.5 ? [pick(['enterprise', 'smb', 'priority'])] : [], random() < 0.7 ? pick(OTHER_SOURCES) : undefined, false);
  // Shuffle so that ids do not follow themes.
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  }
  return `${lines.join('\n')}\n`;
}

interface JobStatusJson {
  job_run_id: string;
  job_type: string;
  status: string;
  dry_run: boolean;
  insights_scanned: number;
  insights_affected: number;
  candidates_created: number;
}

interface PatternResultJson {
  min_support: number;
  found: number;
  added: number;
  updated: number;
  unchanged: number;
  staled: number;
  patterns: Array<{ items: string[]; labels: string[]; support: number; change: string; newly_linked: number }>;
  stale: Array<{ id: number; items: string[] }>;
}

interface RuleJson {
  rule_id: string;
  antecedent: string[];
  consequent: string[];
  antecedent_labels: string[];
  consequent_labels: string[];
  text: string;
  support: number;
  confidence: number;
  lift: number;
  source_patterns: number[];
  examples: Array<{ id: number; text: string }>;
  status: string;
  deprecated_at: string | null;
  change?: string;
}

interface PlaybookResultJson {
  splits_tested: number;
  added: number;
  updated: number;
  unchanged: number;
  deprecated: number;
  rules: RuleJson[];
  deprecated_rules: Array<{ rule_id: string; text: string }>;
}

interface PatternRow {
  id: number;
  workspace_id: number;
  pattern_key: string;
  items: string;
  labels: string;
  size: number;
  support: number;
  status: string;
  first_seen: number;
  last_seen: number;
  updated_by: string;
}

interface ListedPattern {
  id: number;
  items: string[];
  labels: string[];
  size: number;
  support: number;
  status: string;
  first_seen: string;
  last_seen: string;
  member_ids: number[];
}

interface RuleRow {
  rule_id: string;
  rule_key: string;
  antecedent: string;
  consequent: string;
  support: number;
  confidence: number;
  lift: number;
  status: string;
  deprecated_at: number | null;
  source_patterns: string;
}

function readDb<T>(file: string, fn: (db: Sqlite.Database) => T): T {
  const db = new Sqlite(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The two tables as stored (a pattern's members are part of its row). */
const tableState = (file: string) =>
  readDb(file, (db) => ({
    patterns: db.prepare('SELECT * FROM patterns ORDER BY id').all() as PatternRow[],
    rules: db.prepare('SELECT * FROM playbook_rules ORDER BY id').all() as RuleRow[],
  }));

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
const ruleKeyOf = (a: readonly string[], c: readonly string[]) => `${itemsetKey(a)}\u001e${itemsetKey(c)}`;

/** Active insights as item sets ('both'), read straight from the table. */
function activeItemSets(file: string): Array<{ id: number; items: Set<string> }> {
  return readDb(file, (db) =>
    (db.prepare(`SELECT id, text, tags, source FROM insights WHERE status = 'active' ORDER BY id`).all() as Array<{ id: number; text: string; tags: string; source: string | null }>).map((row) => ({
      id: row.id,
      items: new Set(insightItems(row, 'both')),
    })),
  );
}

/**
 * Re-counts every active pattern and rule from the active insights and re-derives the
 * pattern set and the rule set independently of the jobs' code paths (the miner aside,
 * which the FP-Growth tests above cover).
 */
function checkAgainstDirectCounts(file: string, rules: RuleJson[], listed: ListedPattern[], splitsTested: number) {
  const insights = activeItemSets(file);
  const n = insights.length;
  const countOf = (items: readonly string[]) => insights.filter((i) => items.every((x) => i.items.has(x))).length;
  const membersOf = (items: readonly string[]) => insights.filter((i) => items.every((x) => i.items.has(x))).map((i) => i.id);
  const byId = new Map(insights.map((i) => [i.id, i.items]));
  const frequency = new Map<string, number>();
  for (const i of insights) for (const x of i.items) frequency.set(x, (frequency.get(x) ?? 0) + 1);
  const minSupport = Math.max(3, Math.ceil(0.01 * n));
  const allowed = (x: string) => (frequency.get(x) ?? 0) <= 0.5 * n;

  const { patterns, rules: ruleRows } = tableState(file);
  const active = patterns.filter((p) => p.status === 'active');
  assert.deepEqual(listed.map((p) => p.id).sort((a, b) => a - b), patterns.map((p) => p.id), 'patterns --all lists every stored pattern');
  const membersById = new Map(listed.map((p) => [p.id, p.member_ids]));
  for (const p of active) {
    const items = JSON.parse(p.items) as string[];
    const what = items.join(' ');
    assert.equal(p.pattern_key, itemsetKey(items), what);
    assert.equal(p.size, items.length, what);
    assert.ok(items.length >= 2 && items.length <= 4, `size 2..4: ${what}`);
    const direct = membersOf(items);
    assert.equal(p.support, direct.length, `pattern support = direct count: ${what}`);
    assert.deepEqual(membersById.get(p.id), direct, `pattern members = the active insights having all its items: ${what}`);
    assert.ok(p.support >= minSupport, `support ≥ min support ${minSupport}: ${what}`);
    for (const x of items) assert.ok(allowed(x), `an item in more than half the insights is left out: ${x}`);
    // Closed: no other (allowed) item is in every member.
    const memberItems = direct.map((id) => byId.get(id)!);
    const common = [...frequency.keys()].filter((x) => allowed(x) && !items.includes(x) && memberItems.every((m) => m.has(x)));
    assert.deepEqual(common, [], `closed: ${what}`);
  }
  // Complete: the active patterns are exactly the closed sets of 2..4 allowed items.
  const names = [...frequency.keys()].filter(allowed).sort();
  const index = new Map(names.map((x, i) => [x, i]));
  const transactions = insights.map((i) => [...i.items].filter(allowed).map((x) => index.get(x)!));
  const expectedKeys = closedItemsets(transactions, { minSupport, minSize: 2, maxSize: 4 }).map((s) => itemsetKey(s.items.map((i) => names[i]!)));
  assert.deepEqual(active.map((p) => p.pattern_key).sort(), expectedKeys.sort(), 'the active patterns are exactly the closed frequent item sets');

  // Rules: figures by direct count, thresholds, stable ids.
  const activeRules = rules.filter((r) => r.status === 'active');
  assert.equal(activeRules.length, ruleRows.filter((r) => r.status === 'active').length);
  for (const r of activeRules) {
    const what = `${r.rule_id} ${r.antecedent.join(',')} => ${r.consequent.join(',')}`;
    const both = countOf([...r.antecedent, ...r.consequent]);
    const confidence = both / countOf(r.antecedent);
    const lift = confidence / (countOf(r.consequent) / n);
    assert.equal(r.support, both, `support: ${what}`);
    assert.equal(r.confidence, round4(confidence), `confidence: ${what}`);
    assert.equal(r.lift, round4(lift), `lift: ${what}`);
    assert.ok(confidence >= 0.8 && lift > 1, `thresholds: ${what}`);
    const a = countOf(r.antecedent);
    const c = countOf(r.consequent);
    assert.ok(fisherByCombinations(both, a, c, n) <= 0.05 / splitsTested, `significant after the correction for ${splitsTested} splits: ${what}`);
    assert.equal(r.deprecated_at, null, what);
    assert.ok(r.text.includes(`confidence ${r.confidence.toFixed(2)}`) && r.text.includes(`${r.support} insights`), `text: ${r.text}`);
    const row = ruleRows.find((x) => x.rule_id === r.rule_id)!;
    assert.equal(row.rule_key, ruleKeyOf(r.antecedent, r.consequent), what);
    assert.equal(r.rule_id, `R-${createHash('sha256').update(row.rule_key).digest('hex').slice(0, 10)}`, `stable id: ${what}`);
    assert.equal(row.support, r.support);
    assert.equal(row.confidence, r.confidence);
    assert.equal(row.lift, r.lift);
    for (const id of r.source_patterns) assert.ok(active.some((p) => p.id === id && isSubsetOf([...r.antecedent, ...r.consequent], JSON.parse(p.items) as string[])), `source pattern ${id}: ${what}`);
  }
  // One rule per finding: each active pattern is the source of at most one rule, which says
  // nothing about a word and its own tag, and whose items are the pattern's.
  const sources = activeRules.flatMap((r) => r.source_patterns);
  assert.equal(new Set(sources).size, sources.length, 'no pattern is the source of two rules');
  for (const r of activeRules) {
    const what = `${r.antecedent.join(',')} => ${r.consequent.join(',')}`;
    for (const id of r.source_patterns) assert.ok(isSubsetOf([...r.antecedent, ...r.consequent], JSON.parse(active.find((p) => p.id === id)!.items) as string[]), `items from source pattern ${id}: ${what}`);
    const ownTag = (words: string[], tags: string[]) => words.some((w) => !/^[#@]/.test(w) && tags.some((t) => t.startsWith('#') && contentTerms(t.slice(1)).includes(w)));
    assert.ok(!ownTag(r.antecedent, r.consequent) && !ownTag(r.consequent, r.antecedent), `no word and its own tag on opposite sides: ${what}`);
  }
  return { n, activePatterns: active.length, activeRules: activeRules.length };
}

const isSubsetOf = (a: readonly string[], b: readonly string[]) => a.every((x) => b.includes(x));

/** Fisher's one-sided p by exact counting of combinations (BigInt), independent of the job's log-space sum. */
function fisherByCombinations(both: number, a: number, c: number, n: number): number {
  const choose = (m: number, k: number): bigint => {
    if (k < 0 || k > m) return 0n;
    let r = 1n;
    for (let i = 1; i <= k; i++) r = (r * BigInt(m - k + i)) / BigInt(i);
    return r;
  };
  let tail = 0n;
  for (let x = both; x <= Math.min(a, c); x++) tail += choose(c, x) * choose(n - c, a - x);
  const total = choose(n, a);
  // Scaled to keep 15 digits through the division of two huge integers.
  return Number((tail * 10n ** 15n) / total) / 1e15;
}

describe('pattern_detection and playbook_synthesis through the real bin', () => {
  const dir = tempDir('nex-compound-patterns-');
  const file = path.join(dir, 'engine.db');
  const env = { NEX_COMPOUND_DB: file, NEX_COMPOUND_CONFIG_DIR: dir };

  const bin = async (argv: string[]) => {
    const r = await runBin(argv, { env, timeoutMs: 30_000 });
    assert.equal(r.code, 0, `${argv.join(' ')}\n${r.stderr}`);
    return r;
  };
  const trigger = async (type: 'pattern_detection' | 'playbook_synthesis' | 'decay_sweep', dryRun = false) => {
    const r = await bin(['trigger', type, '--local', '--wait', '--json', ...(dryRun ? ['--dry-run'] : [])]);
    const status = JSON.parse(r.stdout) as JobStatusJson;
    assert.equal(status.status, 'completed', r.stdout);
    assert.equal(status.dry_run, dryRun);
    const result = readDb(file, (db) => JSON.parse((db.prepare('SELECT result FROM jobs WHERE job_run_id = ?').pluck().get(status.job_run_id) as string | null) ?? 'null'));
    return { status, result };
  };
  const patternJob = (dryRun = false) => trigger('pattern_detection', dryRun) as Promise<{ status: JobStatusJson; result: PatternResultJson }>;
  const playbookJob = (dryRun = false) => trigger('playbook_synthesis', dryRun) as Promise<{ status: JobStatusJson; result: PlaybookResultJson }>;
  /** Every active rule (or every rule, deprecated ones too), past the top 20 the plain listing shows. */
  const playbook = async (all: boolean) => {
    const listed = JSON.parse((await bin(['playbook', '--json', '--all'])).stdout) as { workspace_id: number; rules: RuleJson[] };
    return { ...listed, rules: all ? listed.rules : listed.rules.filter((r) => r.status === 'active') };
  };
  const patternsCmd = async (all: boolean) =>
    JSON.parse((await bin(['patterns', '--json', '--members', '--limit', '100000', ...(all ? ['--all'] : [])])).stdout) as { total: number; patterns: ListedPattern[] };

  let firstRules: RuleJson[] = [];

  before(async () => {
    const jsonl = path.join(dir, 'corpus.jsonl');
    writeFileSync(jsonl, generateCorpus(11));
    await bin(['insights', 'import', jsonl, '--json']);
    // This suite checks the exact mode: every closed frequent item set, as before.
    await bin(['config', 'set', 'patterns.select', 'closed']);
  });

  test('dry runs persist nothing and preview the real runs; the stored patterns and rules equal direct counts', async (t) => {
    const empty = { patterns: [], rules: [] };
    // Playbook first: with no patterns there is nothing to derive.
    const dryPlaybookFirst = await playbookJob(true);
    assert.equal(dryPlaybookFirst.result.rules.length, 0);
    assert.equal(dryPlaybookFirst.status.candidates_created, 0);

    const dryPatterns = await patternJob(true);
    assert.deepEqual(tableState(file), empty, 'a dry pattern_detection writes no pattern');
    assert.ok(dryPatterns.result.added >= 20, `patterns would be added: ${dryPatterns.result.added}`);
    assert.equal(dryPatterns.status.candidates_created, dryPatterns.result.added);
    assert.equal(dryPatterns.result.found, dryPatterns.result.added);
    assert.equal(dryPatterns.result.min_support, 4, 'max(3, ⌈1 % of 320⌉)');

    const realPatterns = await patternJob();
    assert.deepEqual(realPatterns.result, dryPatterns.result, 'the dry run previewed exactly what the real run did');
    for (const key of ['insights_scanned', 'insights_affected', 'candidates_created'] as const) assert.equal(realPatterns.status[key], dryPatterns.status[key], key);
    assert.equal(realPatterns.status.insights_scanned, 320);
    const afterPatterns = tableState(file);
    assert.equal(afterPatterns.patterns.length, realPatterns.result.added);
    const listed = await patternsCmd(false);
    assert.equal(realPatterns.status.insights_affected, new Set(listed.patterns.flatMap((p) => p.member_ids)).size, 'insights_affected = insights newly linked to a pattern');

    const dryPlaybook = await playbookJob(true);
    assert.deepEqual(tableState(file).rules, [], 'a dry playbook_synthesis writes no rule');
    assert.deepEqual(tableState(file).patterns, afterPatterns.patterns, 'nor touches the patterns');
    assert.ok(dryPlaybook.result.added >= 10, `rules would be added: ${dryPlaybook.result.added}`);
    assert.equal(dryPlaybook.status.candidates_created, dryPlaybook.result.added);
    assert.ok(dryPlaybook.result.rules.every((r) => r.change === 'new'));

    const realPlaybook = await playbookJob();
    assert.deepEqual(realPlaybook.result, dryPlaybook.result, 'the dry run previewed exactly what the real run did');
    assert.equal(realPlaybook.status.candidates_created, realPlaybook.result.added);

    const shown = await playbook(false);
    assert.equal(shown.rules.length, realPlaybook.result.added);
    assert.deepEqual(shown.rules.map((r) => r.rule_id).sort(), realPlaybook.result.rules.map((r) => r.rule_id).sort());
    const counts = checkAgainstDirectCounts(file, shown.rules, listed.patterns, realPlaybook.result.splits_tested);
    assert.equal(counts.activePatterns, realPatterns.result.found);
    assert.equal(listed.total, realPatterns.result.found);
    assert.equal(listed.patterns.length, listed.total);
    for (const p of listed.patterns) {
      assert.equal(p.member_ids.length, p.support, `support = member count: ${p.items.join(' ')}`);
      assert.equal(p.status, 'active');
    }
    // The job's own report agrees with what it stored.
    const byKey = new Map(listed.patterns.map((p) => [itemsetKey(p.items), p]));
    for (const f of realPatterns.result.patterns) {
      assert.equal(byKey.get(itemsetKey(f.items))?.support, f.support, f.items.join(' '));
      assert.equal(f.newly_linked, f.support, 'all members newly linked on the first run');
    }
    // The corpus' themes are there.
    const keys = new Set(shown.rules.map((r) => ruleKeyOf(r.antecedent, r.consequent)));
    assert.ok(keys.has(ruleKeyOf(['invoic'], ['#billing'])), 'invoice ⇒ #billing');
    assert.ok([...keys].some((k) => k.includes('mainfram')), 'a mainframe rule');
    firstRules = shown.rules;
    t.diagnostic(`${counts.n} insights: ${counts.activePatterns} patterns, ${counts.activeRules} rules`);
  });

  test('a re-run right after creates nothing and changes nothing', async () => {
    const before = tableState(file);
    const listedBefore = await patternsCmd(true);
    const patterns = await patternJob();
    assert.equal(patterns.status.candidates_created, 0);
    assert.equal(patterns.status.insights_affected, 0);
    assert.equal(patterns.result.added, 0);
    assert.equal(patterns.result.updated, 0);
    assert.equal(patterns.result.staled, 0);
    assert.equal(patterns.result.unchanged, before.patterns.length);
    const playbookRun = await playbookJob();
    assert.equal(playbookRun.status.candidates_created, 0);
    assert.equal(playbookRun.result.added, 0);
    assert.equal(playbookRun.result.updated, 0);
    assert.equal(playbookRun.result.deprecated, 0);
    assert.equal(playbookRun.result.unchanged, before.rules.length);

    const after = tableState(file);
    // Patterns keep everything but last_seen and updated_by (members included); rules are not rewritten.
    const stable = (rows: PatternRow[]) => rows.map(({ last_seen: _l, updated_by: _u, ...rest }) => rest);
    assert.deepEqual(stable(after.patterns), stable(before.patterns));
    assert.deepEqual(
      (await patternsCmd(true)).patterns.map(({ last_seen: _l, ...rest }) => rest),
      listedBefore.patterns.map(({ last_seen: _l, ...rest }) => rest),
    );
    assert.deepEqual(after.rules, before.rules, 'unchanged rules are not rewritten');
    assert.deepEqual((await playbook(false)).rules.map((r) => r.rule_id), firstRules.map((r) => r.rule_id), 'rule ids unchanged');
  });

  test('after the data changes, rules that no longer hold are deprecated and patterns no longer found go stale', async (t) => {
    const before = tableState(file);
    const beforePlaybook = await playbook(true);
    // A rule with one content term as antecedent: insights having that term but not the
    // consequent bring its confidence down to about half.
    const target = firstRules
      .filter((r) => r.antecedent.length === 1 && /^[a-z]/.test(r.antecedent[0]!) && !r.antecedent[0]!.startsWith('mainfram') && !r.antecedent[0]!.startsWith('fax'))
      .sort((a, b) => b.support - a.support)[0];
    assert.ok(target, 'a rule with a single content term as antecedent');
    const term = target.antecedent[0]!;
    const word = target.antecedent_labels[0]!;
    assert.deepEqual(contentTerms(word), [term], `the label "${word}" is written as the term "${term}"`);
    const insights = activeItemSets(file);
    const antecedentCount = insights.filter((i) => i.items.has(term)).length;
    const dilution = Array.from({ length: antecedentCount }, (_, i) => JSON.stringify({ text: `${word} ${token(10_000 + i)}` })).join('\n');
    const jsonl = path.join(dir, 'dilution.jsonl');
    writeFileSync(jsonl, `${dilution}\n`);
    await bin(['insights', 'import', jsonl, '--json']);

    // The legacy theme is a year old with low confidence: decay_sweep archives it.
    const decay = await trigger('decay_sweep');
    const archived = readDb(file, (db) => db.prepare(`SELECT count(*) FROM insights WHERE status = 'archived'`).pluck().get() as number);
    assert.equal(archived, THEMES.find((t) => t.old)!.count, `decay_sweep archived the legacy theme: ${JSON.stringify(decay.result)}`);

    const patterns = await patternJob();
    const playbookRun = await playbookJob();
    const after = tableState(file);

    // Patterns: never deleted; those containing a legacy item (now in no active insight) are stale.
    assert.deepEqual(after.patterns.map((p) => p.id).filter((id) => before.patterns.some((p) => p.id === id)), before.patterns.map((p) => p.id), 'no pattern deleted');
    const legacy = (items: readonly string[]) => items.some((x) => ['#legacy', '@legacy-crm', 'mainfram', 'fax'].includes(x));
    const legacyPatterns = before.patterns.filter((p) => legacy(JSON.parse(p.items) as string[]));
    assert.ok(legacyPatterns.length >= 3, `legacy patterns before: ${legacyPatterns.length}`);
    for (const p of legacyPatterns) assert.equal(after.patterns.find((x) => x.id === p.id)!.status, 'stale', p.pattern_key);
    const newlyStale = after.patterns.filter((p) => p.status === 'stale' && before.patterns.find((b) => b.id === p.id)?.status === 'active');
    assert.equal(patterns.result.staled, newlyStale.length);
    assert.deepEqual(patterns.result.stale.map((s) => s.id).sort((a, b) => a - b), newlyStale.map((p) => p.id));
    const listedAll = await patternsCmd(true);
    const listedActive = await patternsCmd(false);
    for (const p of legacyPatterns) {
      assert.equal(listedAll.patterns.find((x) => x.id === p.id)?.status, 'stale', `patterns --all shows stale ${p.pattern_key}`);
      assert.ok(!listedActive.patterns.some((x) => x.id === p.id), `plain patterns hides stale ${p.pattern_key}`);
    }
    assert.equal(listedAll.total, after.patterns.length);

    // Rules: never deleted; the diluted rule and every legacy rule are deprecated.
    const afterAll = await playbook(true);
    const afterActive = await playbook(false);
    for (const r of beforePlaybook.rules) assert.ok(afterAll.rules.some((x) => x.rule_id === r.rule_id), `rule ${r.rule_id} still stored`);
    const deprecatedNow = afterAll.rules.filter((r) => r.status === 'deprecated');
    const expectDeprecated = [target, ...firstRules.filter((r) => legacy([...r.antecedent, ...r.consequent]))];
    for (const r of expectDeprecated) {
      const stored = afterAll.rules.find((x) => x.rule_id === r.rule_id)!;
      assert.equal(stored.status, 'deprecated', r.text);
      assert.ok(stored.deprecated_at && !Number.isNaN(Date.parse(stored.deprecated_at)), `deprecated_at set: ${r.rule_id}`);
      assert.ok(!afterActive.rules.some((x) => x.rule_id === r.rule_id), `plain playbook hides ${r.rule_id}`);
    }
    // The diluted rule went because its confidence fell, not because its pattern went.
    const targetPattern = after.patterns.find((p) => p.id === target.source_patterns[0]);
    assert.equal(targetPattern?.status, 'active', 'the diluted rule’s pattern is still found');
    assert.deepEqual(playbookRun.result.deprecated_rules.map((r) => r.rule_id).sort(), deprecatedNow.map((r) => r.rule_id).sort());
    assert.equal(playbookRun.result.deprecated, deprecatedNow.length);
    assert.deepEqual(afterActive.rules.map((r) => r.rule_id).sort(), afterAll.rules.filter((r) => r.status === 'active').map((r) => r.rule_id).sort());
    assert.equal(after.rules.length, new Set(after.rules.map((r) => r.rule_key)).size, 'no duplicate rule');

    // Everything still active equals direct counts on the changed data.
    const counts = checkAgainstDirectCounts(file, afterAll.rules, listedAll.patterns, playbookRun.result.splits_tested);
    t.diagnostic(
      `diluted ${target.antecedent} ⇒ ${target.consequent} with ${antecedentCount} insights; ${patterns.result.staled} patterns stale, ${playbookRun.result.deprecated} rules deprecated; now ${counts.n} insights, ${counts.activePatterns} patterns, ${counts.activeRules} rules`,
    );
  });

  test('playbook --format markdown prints a document: one numbered finding per rule with its figures and two quoted insights', async () => {
    const active = await playbook(false);
    const all = await playbook(true);
    const md = (await bin(['playbook', '--format', 'markdown'])).stdout;
    const lines = md.split('\n');
    assert.match(lines[0]!, /^# Playbook\b/);
    const findings = lines.filter((l) => /^## \d+\. When insights mention /.test(l));
    assert.equal(findings.length, Math.min(20, active.rules.length), 'one section per rule shown');
    for (const r of active.rules.slice(0, 20)) {
      const at = lines.findIndex((l) => l.includes(`\`${r.rule_id}\``));
      assert.ok(at > 0, `a section for ${r.rule_id}`);
      assert.ok(lines[at]!.includes(`confidence ${r.confidence.toFixed(2)}`) && lines[at]!.includes(`${r.support} insights`), lines[at]);
      const quotes = lines.slice(at + 1).findIndex((l) => l.startsWith('## '));
      const body = lines.slice(at + 1, quotes === -1 ? undefined : at + 1 + quotes);
      assert.equal(body.filter((l) => l.startsWith('> ')).length, 2, `two quoted insights under ${r.rule_id}`);
      assert.equal(r.examples.length, 2);
    }
    assert.ok(!md.includes('## Deprecated'), 'deprecated rules only with --all');
    const mdAll = (await bin(['playbook', '--format', 'markdown', '--all'])).stdout;
    const deprecatedSection = mdAll.slice(mdAll.indexOf('## Deprecated'));
    assert.ok(mdAll.includes('## Deprecated'));
    for (const r of all.rules.filter((x) => x.status === 'deprecated')) assert.ok(deprecatedSection.includes(`\`${r.rule_id}\``), r.rule_id);
  });

  test('bad config values exit 2 with a one-line message and no stack trace', async () => {
    const configDir = tempDir('nex-compound-patterns-config-');
    const cfgEnv = { NEX_COMPOUND_DB: path.join(configDir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: configDir };
    const cli = (argv: string[]) => runBin(argv, { env: cfgEnv });
    const oneLineError = (r: { stderr: string }, pattern: RegExp) => {
      assert.doesNotMatch(r.stderr, /\n\s+at |Error:|node:internal/, `no stack trace: ${r.stderr}`);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0]!, pattern);
    };
    for (const [key, good, bad] of [
      ['patterns.items', 'tags', 'banana'],
      ['patterns.select', 'closed', 'banana'],
      ['playbook.significance', '0.01', '0'],
      ['patterns.min-support', '5', '0'],
      ['patterns.max-size', '3', '1'],
    ] as const) {
      assert.equal((await cli(['config', 'set', key, good])).code, 0);
      const r = await cli(['config', 'set', key, bad]);
      assert.equal(r.code, 2, `${key} ${bad}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      oneLineError(r, new RegExp(`^error: ${key.replace('.', '\\.')} .*"${bad}"$`));
      assert.equal(r.stdout, '');
      const got = await cli(['config', 'get', key]);
      assert.equal(got.stdout.trim(), good, `${key} kept its value`);
    }
    // A bad value written by hand into the config file stops the trigger before any job exists.
    assert.equal((await cli(['insights', 'add', 'Acme asked for SSO.'])).code, 0);
    writeFileSync(path.join(configDir, 'config.json'), JSON.stringify({ profiles: { default: { 'patterns.max-size': '1' } } }));
    const trigger = await cli(['trigger', 'pattern_detection', '--local', '--wait', '--json']);
    assert.equal(trigger.code, 2, trigger.stderr);
    oneLineError(trigger, /^error: patterns\.max-size .*"1"$/);
    assert.equal(readDb(cfgEnv.NEX_COMPOUND_DB, (db) => db.prepare('SELECT count(*) FROM jobs').pluck().get()), 0, 'no job recorded');
  });
});
