/**
 * What pattern_detection and playbook_synthesis give a reader (run by bench/run.ts; also alone):
 *
 *   demo   the bundled demo: patterns and rules by default, and how many of the themes planted by
 *          scripts/make-demo-data.mjs (THEMES) a rule states
 *   real   40,000 real PyPI package summaries (bench/data/pypi-sample-patterns.jsonl.gz) with tags
 *          from TAG_KEYWORDS below: rules, distinct item sets, word-equals-its-tag rules and
 *          phrase-fragment rules, for `--select compress` (default) or `--select closed`, at the
 *          default minimum support or `--min-support X`
 *
 * Each prints one JSON line. The figures are computed here from the playbook's JSON and the
 * insights' texts, not taken from the jobs' own reports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { stemmer } from 'stemmer';
import { THEMES } from '../scripts/make-demo-data.mjs';
import { ROOT } from './lib/engine.js';

const [mode = 'demo'] = process.argv.slice(2);
const option = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const select = option('--select') ?? 'compress';
/** patterns.min-support for the real text (default: the job's own, 1 %). */
const minSupport = option('--min-support');

/**
 * Tags for the real text: the summaries carry none, so each gets the tags whose keywords it
 * mentions (whole words, case-insensitive) — the way a CRM's keyword rules tag notes. It is
 * exactly the setting where a word and its own tag stand together in every insight.
 */
const TAG_KEYWORDS: Record<string, RegExp> = {
  web: /\b(web|django|flask|fastapi|http|html|website)\b/i,
  data: /\b(data|dataset|datasets|dataframe|pandas|csv|etl)\b/i,
  ml: /\b(machine learning|deep learning|neural|pytorch|tensorflow|model|models)\b/i,
  llm: /\b(llm|llms|gpt|openai|language models?|agents?|rag)\b/i,
  cli: /\b(cli|command[- ]line|terminal)\b/i,
  testing: /\b(test|tests|testing|pytest)\b/i,
  cloud: /\b(aws|azure|gcp|google cloud|cloud|kubernetes|docker)\b/i,
  api: /\b(api|apis|sdk|client)\b/i,
  database: /\b(database|sql|postgres|postgresql|mysql|sqlite|mongodb|redis)\b/i,
  security: /\b(security|auth|authentication|encryption|crypto)\b/i,
};

interface Rule {
  antecedent: string[];
  consequent: string[];
  antecedent_labels: string[];
  consequent_labels: string[];
  support: number;
  source_patterns: number[];
}

function cli(env: Record<string, string>, argv: string[]): string {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'nex-compound.js'), ...argv], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const isWord = (item: string) => !item.startsWith('#') && !item.startsWith('@');
const words = (text: string) => text.toLowerCase().match(/[a-z0-9][a-z0-9'’-]*/g) ?? [];

/** A word on one side whose stem is a tag's stem on the other: "enterprise" ⇒ #enterprise. */
function wordEqualsItsTag(rule: Rule): boolean {
  const stems = (labels: string[]) => labels.filter(isWord).flatMap((l) => words(l).map((w) => stemmer(w)));
  const tags = (labels: string[]) => labels.filter((l) => l.startsWith('#')).map((t) => stemmer(t.slice(1)));
  const cross = (a: string[], b: string[]) => stems(a).some((s) => tags(b).includes(s));
  return cross(rule.antecedent_labels, rule.consequent_labels) || cross(rule.consequent_labels, rule.antecedent_labels);
}

/**
 * A rule whose items are all words, and in most of the insights it holds in those words stand
 * together as one phrase (one span, at most one other word between them): it restates a phrase.
 */
function phraseFragment(rule: Rule, textsOf: (rule: Rule) => string[]): boolean {
  const labels = [...rule.antecedent_labels, ...rule.consequent_labels];
  if (!labels.every(isWord)) return false;
  const texts = textsOf(rule);
  const together = texts.filter((text) => {
    const w = words(text);
    const spans = labels.map((label) => {
      const l = words(label);
      const at: number[] = [];
      for (let i = 0; i + l.length <= w.length; i++) if (l.every((x, k) => w[i + k]!.startsWith(x.slice(0, Math.max(3, x.length - 3))))) at.push(i);
      return { at, length: l.length };
    });
    if (spans.some((s) => s.at.length === 0)) return false;
    const starts = spans.map((s) => s.at[0]!);
    const from = Math.min(...starts);
    const to = Math.max(...spans.map((s, i) => starts[i]! + s.length));
    return to - from <= spans.reduce((sum, s) => sum + s.length, 0) + 1;
  });
  return together.length * 2 > texts.length;
}

function realText(): Record<string, unknown> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-patterns-quality-'));
  try {
    const lines = gunzipSync(readFileSync(path.join(ROOT, 'bench', 'data', 'pypi-sample-patterns.jsonl.gz'))).toString('utf8').trim().split('\n');
    const jsonl = lines.map((line) => {
      const { text } = JSON.parse(line) as { text: string };
      const tags = Object.entries(TAG_KEYWORDS).filter(([, re]) => re.test(text)).map(([tag]) => tag);
      return JSON.stringify({ text, tags, source: 'pypi' });
    });
    writeFileSync(path.join(dir, 'sample.jsonl'), `${jsonl.join('\n')}\n`);
    const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir };
    cli(env, ['insights', 'import', path.join(dir, 'sample.jsonl'), '-q']);
    cli(env, ['config', 'set', 'patterns.select', select]);
    if (minSupport) cli(env, ['config', 'set', 'patterns.min-support', minSupport]);
    cli(env, ['trigger', 'pattern_detection', '--local', '--wait', '-q']);
    cli(env, ['trigger', 'playbook_synthesis', '--local', '--wait', '-q']);
    const patterns = JSON.parse(cli(env, ['patterns', '--json', '--members', '--limit', '100000'])) as { total: number; patterns: Array<{ id: number; member_ids: number[] }> };
    const rules = (JSON.parse(cli(env, ['playbook', '--json', '--all'])) as { rules: Array<Rule & { status: string }> }).rules.filter((r) => r.status === 'active');
    const texts = new Map<number, string>();
    for (const line of cli(env, ['insights', 'export']).trim().split('\n')) {
      const r = JSON.parse(line) as { id: number; text: string };
      texts.set(r.id, r.text);
    }
    const members = new Map(patterns.patterns.map((p) => [p.id, p.member_ids]));
    // The insights a rule holds in include its source pattern's members: enough to judge phrasing.
    const textsOf = (rule: Rule) => (members.get(rule.source_patterns[0]!) ?? []).map((id) => texts.get(id) ?? '');
    const itemSets = new Set(rules.map((r) => [...r.antecedent, ...r.consequent].sort().join('\u001f')));
    const fragments = rules.filter((r) => phraseFragment(r, textsOf));
    return {
      select,
      min_support: minSupport ?? 'default',
      insights: lines.length,
      patterns: patterns.total,
      rules: rules.length,
      distinct_item_sets: itemSets.size,
      rules_per_item_set: rules.length / Math.max(1, itemSets.size),
      word_equals_its_tag: rules.filter(wordEqualsItsTag).length,
      phrase_fragments: fragments.length,
      phrase_fragment_share: fragments.length / Math.max(1, rules.length),
      examples: rules.slice(0, 8).map((r) => `{${r.antecedent_labels.join(', ')}} ⇒ {${r.consequent_labels.join(', ')}} (${r.support})`),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function demo(): Record<string, unknown> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nex-compound-patterns-demo-'));
  try {
    const env = { NEX_COMPOUND_DB: path.join(dir, 'demo.db'), NEX_COMPOUND_CONFIG_DIR: dir };
    cli(env, ['demo', '-q']);
    const patterns = JSON.parse(cli(env, ['patterns', '--json'])) as { total: number };
    const rules = (JSON.parse(cli(env, ['playbook', '--json', '--all'])) as { rules: Array<Rule & { status: string }> }).rules.filter((r) => r.status === 'active');
    const recovered = THEMES.filter((theme) => rules.some((r) => themeStated(theme, r)));
    return {
      patterns: patterns.total,
      rules: rules.length,
      themes: THEMES.length,
      recovered: recovered.length,
      missed: THEMES.filter((t) => !recovered.includes(t)).map((t) => t.name),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A rule states a theme when it holds all the theme's tags and, if the theme has a cue, words with the cue. */
function themeStated(theme: { tags: string[]; cue?: string }, rule: Pick<Rule, 'antecedent_labels' | 'consequent_labels'>): boolean {
  const labels = [...rule.antecedent_labels, ...rule.consequent_labels];
  return theme.tags.every((tag) => labels.includes(`#${tag}`)) && (!theme.cue || labels.some((l) => isWord(l) && l.includes(theme.cue!)));
}

if (mode === 'real') process.stdout.write(`${JSON.stringify(realText())}\n`);
else if (mode === 'demo') process.stdout.write(`${JSON.stringify(demo())}\n`);
else {
  process.stderr.write('usage: patterns-quality.ts demo | real [--select compress|closed]\n');
  process.exit(2);
}
