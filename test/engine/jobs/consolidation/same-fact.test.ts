/**
 * "Same fact" on the failure classes real text showed: look-alike words that are two names,
 * a side that adds a qualifier, relations run the other way, symbols that make another name,
 * templates, and the paraphrases that must still merge; conflicts only for real
 * contradictions; and a run right after another on real text finds nothing more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareTexts } from '../../../../src/engine/jobs/consolidation/similarity.js';
import { DEFAULT_THRESHOLD, planConsolidation, type Plan, type PlanInsight } from '../../../../src/engine/jobs/consolidation/plan.js';
import { asInsights, readSummaries } from '../../../../bench/lib/labelled-pairs.js';

const kind = (a: string, b: string) => compareTexts(a, b, DEFAULT_THRESHOLD).kind;
const insights = (texts: string[]): PlanInsight[] => texts.map((text, i) => ({ id: i + 1, text, created_at: i }));
const plan = (texts: string[]) => planConsolidation(insights(texts), { threshold: DEFAULT_THRESHOLD });
/** Whether the plan merged the two texts. */
const merged = (p: Plan, a: string, b: string) => p.clusters.some((c) => c.members.some((m) => m.text === a) && c.members.some((m) => m.text === b));
/** `count` notes that use `word` among other words, so the store has seen it that often. */
const notes = (word: string, count: number) => Array.from({ length: count }, (_, i) => `ticket ${i + 1} mentions ${word} in passing for account${i}`);

test('two frequent words one letter apart are two names, not a typo of each other', () => {
  const mysql = 'Contoso migrated from MySQL to Postgres';
  const mssql = 'Contoso migrated from MSSQL to Postgres';
  const react = 'Fabrikam builds on the React SDK';
  const preact = 'Fabrikam builds on the Preact SDK';
  const p = plan([mysql, mssql, react, preact, ...notes('MySQL', 30), ...notes('MSSQL', 8), ...notes('React', 60), ...notes('Preact', 5)]);
  assert.ok(!merged(p, mysql, mssql));
  assert.ok(!merged(p, react, preact));
  // Alone, with no store to tell a typo from a word, nothing is a typo.
  assert.notEqual(kind(mysql, mssql), 'duplicate');
});

test('a rare variant of a common word is a typo of it; a rare real word next to a common one is not', () => {
  const right = 'An implementation of the perceptron';
  const typo = 'An implimentation of the perceptron';
  const maze = 'A maze library';
  const make = 'A make library';
  const p = plan([right, typo, maze, make, ...notes('implementation', 40), ...notes('make', 40)]);
  assert.ok(merged(p, right, typo));
  // One letter for another in a short word is as likely another word.
  assert.ok(!merged(p, maze, make));
});

test('a side that adds a qualifier states another fact; filler words do not', () => {
  assert.equal(kind('Acme wants SSO', 'Acme wants SSO for contractors'), 'different');
  assert.equal(kind('The radio button is broken', 'The button is broken'), 'different');
  assert.equal(kind('Kubernetes python client', 'Kubernetes asynchronous python client'), 'different');
  assert.equal(kind('Acme wants SSO', 'Acme really wants SSO'), 'duplicate');
  assert.equal(kind('A simple logging package', 'this is a simple logging package'), 'duplicate');
  assert.equal(kind('Data preprocessing tools', 'Data pre-processing library'), 'duplicate');
});

test('a word a large share of the store uses may be added on one side, never swapped', () => {
  const filler = Array.from({ length: 1_200 }, (_, i) => `Python helpers for task${i}`);
  const plain = 'A wrapper for the Osu API';
  const withPython = 'Python wrapper for the Osu API';
  const p = plan([plain, withPython, 'Acme Labs renewed', 'Acme Health renewed', ...filler, ...Array.from({ length: 200 }, (_, i) => `Beta${i} Labs and Beta${i} Health`)]);
  assert.ok(merged(p, plain, withPython), 'Python is in most texts here: it tells no package apart');
  assert.ok(!merged(p, 'Acme Labs renewed', 'Acme Health renewed'), 'common words on both sides are a swap');
});

test('relations keep their direction: from/to, A to B, before/after', () => {
  assert.equal(kind('Globex wants an export from Salesforce to HubSpot', 'Globex wants an export from HubSpot to Salesforce'), 'different');
  assert.equal(kind('convert hex to rgb', 'convert rgb to hex'), 'different');
  assert.equal(kind('Blue Sun moved its warehouse from Redshift to Snowflake', 'Blue Sun moved its warehouse from Snowflake to Redshift'), 'different');
  assert.equal(kind('Map Postgres -> BigQuery types', 'Map BigQuery → Postgres types'), 'different');
  assert.equal(kind('Proseware churned before the price increase', 'Proseware churned after the price increase'), 'different');
  // Moving a clause keeps the relation.
  assert.equal(kind('Gringotts moved from Looker to Tableau last quarter', 'Last quarter, Gringotts moved from Looker to Tableau'), 'duplicate');
});

test('symbols that make another name are kept: C++, C#, .NET, v2', () => {
  assert.notEqual(kind("Initech's team writes C++", "Initech's team writes C"), 'duplicate');
  assert.notEqual(kind('Hooli backend is written in C#', 'Hooli backend is written in C'), 'duplicate');
  assert.notEqual(kind('Dunder uses the .NET SDK', 'Dunder uses the NET SDK'), 'duplicate');
  assert.equal(compareTexts('Tailspin needs the v2 API before renewal', 'Tailspin needs the v3 API before renewal', DEFAULT_THRESHOLD).kind, 'conflict');
});

test('templates do not grow clusters: "X for the Y plugin" with different X and Y', () => {
  const features = ['SSO', 'audit logs', 'webhooks', 'bulk export', 'SCIM', 'dark mode'];
  const plugins = ['Jira', 'Slack', 'Zendesk', 'Salesforce', 'HubSpot', 'Teams', 'Okta'];
  const texts = features.flatMap((f) => plugins.map((p) => `Northwind wants ${f} for the ${p} plugin`));
  assert.equal(plan(texts).clusters.length, 0);
});

test('paraphrases merge: compounds, hyphens, dots, abbreviations, case of names', () => {
  for (const [a, b] of [
    ['Fabrikam needs a date picker in the report builder', 'Fabrikam needs a datepicker in the report builder'],
    ['Tailspin wants a stand-alone installer', 'Tailspin wants a standalone installer'],
    ["Litware's frontend is plain JS", "Litware's frontend is plain JavaScript"],
    ['Proseware documents the export utils', 'Proseware documents the export utilities'],
    ['Woodgrove renders charts with three.js', 'Woodgrove renders charts with threejs'],
    ['Monarch wants Re-usable report templates', 'Monarch wants reusable report templates'],
    ['The admin console is built on VueJs', 'The admin console is built on Vue.js'],
  ]) {
    assert.equal(kind(a!, b!), 'duplicate', `${a} / ${b}`);
  }
});

test('spelling variants of one word: look-alike letters, acronym plurals, an agent noun and its verb', () => {
  // A Greek capital alpha typed for "A" in Latin text; a Greek text keeps its words.
  assert.equal(kind('\u0391 python module to use the Termii API', 'A Python module to use the Termii API'), 'duplicate');
  assert.equal(kind('APIs for TD Ameritrade', 'API for TD Ameritrade'), 'duplicate');
  assert.notEqual(kind('iOS client', 'IO client'), 'duplicate');
  // "generator" reads as "generate" only in a store that writes both.
  const noun = 'Docstring generator';
  const verb = 'generate docstrings';
  assert.ok(merged(plan([noun, verb, 'Password generator']), noun, verb));
  assert.ok(!merged(plan([noun, 'Docstring validator', 'validate passwords']), noun, 'Docstring validator'));
  assert.notEqual(kind(noun, verb), 'duplicate');
});

test('conflicts: only the same statement with a contradicting value, the most similar first, with both texts', () => {
  const p = planConsolidation(
    insights([
      'Initech has 120 seats on the Growth plan',
      'Initech has 210 seats on the Growth plan',
      'Umbrella Health is evaluating Tableau as a replacement',
      'Umbrella Health is evaluating Looker as a replacement',
      'Globex uses SSO through Okta',
      'Globex does not use SSO through Okta',
      'No description',
      'My description',
      'Acme renews in Q3',
      'Soylent renews in Q3',
    ]),
    { threshold: DEFAULT_THRESHOLD, maxConflicts: 2 },
  );
  assert.equal(p.conflicts_total, 3, JSON.stringify(p.conflicts));
  assert.equal(p.conflicts.length, 2, 'capped');
  assert.ok(p.conflicts[0]!.similarity >= p.conflicts[1]!.similarity);
  for (const c of p.conflicts) assert.ok(c.a_text && c.b_text);
  assert.equal(p.clusters.length, 0);
});

test('on real text a plan run right after another finds nothing more to merge', () => {
  const summaries = asInsights(readSummaries(20_000));
  const first = planConsolidation(summaries, { threshold: DEFAULT_THRESHOLD });
  assert.ok(first.clusters.length > 20, `clusters: ${first.clusters.length}`);
  // Apply it as the job does: members merged away, the survivor takes the cluster's text.
  const active = new Map(summaries.map((s) => [s.id, { ...s }]));
  const history = new Map<number, string[]>();
  for (const cluster of first.clusters) {
    for (const m of cluster.members) {
      if (m.id === cluster.survivor) continue;
      active.delete(m.id);
      history.set(cluster.survivor, [...(history.get(cluster.survivor) ?? []), m.text]);
    }
    active.get(cluster.survivor)!.text = cluster.text;
  }
  const second = planConsolidation([...active.values()], { threshold: DEFAULT_THRESHOLD, history: (id) => history.get(id) ?? [] });
  assert.deepEqual(second.clusters, []);
});
