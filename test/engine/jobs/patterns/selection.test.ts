/**
 * The default pattern_detection: concept items (collocations, words folded into their tags) and
 * KRIMP's selection — unit by unit, then through the real bin on a real SQLite file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { conceptItems, namesTag } from '../../../../src/engine/jobs/patterns/concepts.js';
import { closedItemsets } from '../../../../src/engine/jobs/patterns/itemsets.js';
import { krimp } from '../../../../src/engine/jobs/patterns/krimp.js';
import { runBin, tempDir } from '../../../helpers/cli.js';
import { seededRandom } from '../../../../bench/lib/seeded.js';

const rows = (records: Array<{ text: string; tags?: string[]; source?: string }>) => records.map((r, i) => [i + 1, r.text, JSON.stringify(r.tags ?? []), r.source ?? null] as const);


const CUSTOMERS = ['Globex', 'Initech', 'Hooli', 'Umbrella', 'Stark', 'Wonka', 'Tyrell', 'Soylent'];
const TOPICS = ['exports', 'filters', 'alerts', 'charts', 'permissions', 'timezones', 'embeds', 'caches'];
const VERBS = ['opened', 'filed', 'escalated', 'closed', 'reopened', 'logged'];

describe('concept items', () => {
  test('words that stand together far more than chance become one phrase item; each word alone stays a word', () => {
    const random = seededRandom(3);
    const records = [
      ...Array.from({ length: 30 }, () => ({ text: `${CUSTOMERS[Math.floor(random() * 8)]} ${VERBS[Math.floor(random() * VERBS.length)]} a support ticket about ${TOPICS[Math.floor(random() * 8)]}.` })),
      // "support" and "ticket" also apart: the phrase is a collocation, not two words that always go together.
      ...Array.from({ length: 20 }, (_, i) => ({ text: `Support helped ${CUSTOMERS[i % 8]} with ${TOPICS[Math.floor(random() * 8)]}.` })),
      ...Array.from({ length: 10 }, (_, i) => ({ text: `The ticket queue for ${TOPICS[i % 8]} grew.` })),
      // The verbs and topics stand in other places too, as words do.
      ...Array.from({ length: 40 }, () => ({ text: `${CUSTOMERS[Math.floor(random() * 8)]} ${VERBS[Math.floor(random() * VERBS.length)]} the ${TOPICS[Math.floor(random() * 8)]} review.` })),
    ];
    const concepts = conceptItems(rows(records), 'both', () => 3);
    const itemsOf = (t: number) => Array.from(concepts.items.subarray(concepts.offsets[t]!, concepts.offsets[t + 1]!), (i) => concepts.itemNames[i]!);
    assert.ok(itemsOf(0).includes('support ticket'), `a phrase: ${itemsOf(0)}`);
    assert.ok(!itemsOf(0).includes('support') && !itemsOf(0).includes('ticket'), `its words are not also items of that insight: ${itemsOf(0)}`);
    assert.equal(concepts.label('support ticket'), 'support ticket');
    assert.ok(!itemsOf(30).includes('support ticket') && itemsOf(30).some((x) => x.split(' ').includes('support')), `"support" apart from "ticket" is no "support ticket": ${itemsOf(30)}`);
    assert.ok(!itemsOf(50).includes('support ticket') && itemsOf(50).some((x) => x.split(' ').includes('ticket')), `nor is "ticket" apart from "support": ${itemsOf(50)}`);
    // Below the minimum count, no phrase: the same store with a minimum above 30 keeps the words.
    const strict = conceptItems(rows(records), 'both', () => 31);
    assert.ok(!strict.itemNames.includes('support ticket'));
  });

  test('a word that names a tag is folded into the tag; a longer phrase holding it is not', () => {
    const records = [
      ...Array.from({ length: 12 }, (_, i) => ({ text: `${CUSTOMERS[i % 8]} wants the enterprise plan for ${TOPICS[i % 8]}.`, tags: ['enterprise'] })),
      ...Array.from({ length: 12 }, (_, i) => ({ text: `${CUSTOMERS[i % 8]} ${VERBS[i % 4]} ${TOPICS[(i * 3) % 8]} for enterprises.` })),
      ...Array.from({ length: 12 }, (_, i) => ({ text: `${CUSTOMERS[i % 8]} ${VERBS[(i * 5) % 4]} row-level security for ${i + 3} ${TOPICS[(i * 3) % 8]}.`, tags: ['security'] })),
      ...Array.from({ length: 6 }, (_, i) => ({ text: `${CUSTOMERS[i % 8]} is a churn risk after ${TOPICS[i % 8]} broke.`, tags: ['churn-risk'] })),
      ...Array.from({ length: 6 }, (_, i) => ({ text: `${CUSTOMERS[i % 8]}: security.` })),
      ...Array.from({ length: 12 }, (_, i) => ({ text: `${CUSTOMERS[(i * 3) % 8]} asked about ${TOPICS[i % 8]}.` })),
    ];
    const concepts = conceptItems(rows(records), 'both', () => 3);
    const itemsOf = (t: number) => Array.from(concepts.items.subarray(concepts.offsets[t]!, concepts.offsets[t + 1]!), (i) => concepts.itemNames[i]!);
    assert.ok(itemsOf(12).includes('#enterprise'), `"enterprises" with no tag becomes #enterprise: ${itemsOf(12)}`);
    assert.ok(!concepts.itemNames.includes('enterpris'), 'no word item "enterprise" is left');
    assert.ok(itemsOf(24).includes('row-level secur'), `"row-level security" stays a phrase: ${itemsOf(24)}`);
    assert.equal(concepts.label('row-level secur'), 'row-level security');
    assert.ok(itemsOf(36).includes('#churn-risk'), `"churn risk" is #churn-risk: ${itemsOf(36)}`);
    assert.ok(itemsOf(42).includes('#security'), `"security" alone is #security: ${itemsOf(42)}`);
    assert.ok(namesTag('row-level secur', 'security') && namesTag('churn risk flag', 'churn-risk') && !namesTag('feedback', 'product-feedback'));
  });
});

describe('KRIMP', () => {
  test('keeps the planted item sets that compress the data and none of their fragments or of the noise', () => {
    const random = seededRandom(11);
    const transactions: number[][] = [];
    for (let t = 0; t < 600; t++) {
      const items = new Set<number>();
      if (random() < 0.4) [0, 1, 2, 3].forEach((i) => items.add(i));
      if (random() < 0.3) [4, 5, 6].forEach((i) => items.add(i));
      for (let i = 7; i < 20; i++) if (random() < 0.12) items.add(i);
      transactions.push([...items].sort((a, b) => a - b));
    }
    const closed = closedItemsets(transactions, { minSupport: 12, minSize: 2, maxSize: 5 });
    const postings = Array.from({ length: 20 }, (_, item) => Int32Array.from(transactions.flatMap((t, index) => (t.includes(item) ? [index] : []))));
    const tidsOf = (items: number[]) => Int32Array.from(transactions.flatMap((t, index) => (items.every((i) => t.includes(i)) ? [index] : [])));
    const candidates = closed.map((s) => ({ ...s, tids: tidsOf(s.items) }));
    assert.ok(candidates.length > 30, `many candidates: ${candidates.length}`);
    const offsets = Int32Array.from([0, ...transactions.map((_, i) => transactions.slice(0, i + 1).reduce((n, t) => n + t.length, 0))]);
    const chosen = krimp(candidates, { items: Int32Array.from(transactions.flat()), offsets }, 20).map((k) => candidates[k]!.items.join(','));
    assert.ok(chosen.includes('0,1,2,3'), `the 4-item theme: ${chosen}`);
    assert.ok(chosen.includes('4,5,6'), `the 3-item theme: ${chosen}`);
    const planted = (set: string) => set.split(',').every((i) => Number(i) < 4) || set.split(',').every((i) => Number(i) >= 4 && Number(i) < 7);
    assert.ok(chosen.filter((s) => !['0,1,2,3', '4,5,6'].includes(s)).every((s) => !planted(s)), `no fragment of a theme kept beside it: ${chosen}`);
    assert.ok(chosen.length <= 6, `a small set: ${chosen}`);
    void postings;
  });
});

describe('the default pattern_detection through the real bin', () => {
  test('a store of phrases and tags gives a few patterns with their members, fewer than the closed sets, each rule from one of them', async () => {
    const dir = tempDir('nex-compound-selection-');
    const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir };
    const random = seededRandom(5);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) lines.push(JSON.stringify({ text: `${pick(CUSTOMERS)} ${pick(VERBS)} a support ticket about ${pick(TOPICS)}.`, tags: ['support'], source: 'zendesk' }));
    for (let i = 0; i < 50; i++) lines.push(JSON.stringify({ text: `${pick(CUSTOMERS)} ${pick(['needs', 'wants', 'asked for'])} single sign-on ${pick(['before', 'for'])} the enterprise ${pick(['rollout', 'renewal', 'pilot'])}.`, tags: ['security', 'enterprise'] }));
    for (let i = 0; i < 80; i++) lines.push(JSON.stringify({ text: `${pick(CUSTOMERS)} ${pick([...VERBS, 'needs', 'wants', 'asked for'])} the ${pick(TOPICS)} ${pick(['review', 'rollout', 'for the team'])}.`, tags: [pick(['feedback', 'usage'])], source: pick(['slack', 'email']) }));
    writeFileSync(path.join(dir, 'store.jsonl'), `${lines.join('\n')}\n`);
    const cli = async (argv: string[]) => {
      const r = await runBin(argv, { env, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `${argv.join(' ')}\n${r.stderr}`);
      return r.stdout;
    };
    await cli(['insights', 'import', path.join(dir, 'store.jsonl'), '-q']);
    await cli(['trigger', 'pattern_detection', '--local', '--wait', '-q']);
    await cli(['trigger', 'playbook_synthesis', '--local', '--wait', '-q']);
    const patterns = JSON.parse(await cli(['patterns', '--json', '--members'])) as { total: number; patterns: Array<{ id: number; items: string[]; support: number; member_ids: number[]; examples: Array<{ text: string }> }> };
    const rules = JSON.parse(await cli(['playbook', '--json', '--all'])).rules as Array<{ antecedent: string[]; consequent: string[]; source_patterns: number[]; examples: unknown[] }>;
    const exported = (await cli(['insights', 'export'])).trim().split('\n').map((l) => JSON.parse(l) as { id: number; text: string; tags: string[] });
    const keys = patterns.patterns.map((p) => p.items.join(' + '));
    assert.ok(patterns.patterns.some((p) => ['#support', '@zendesk'].every((x) => p.items.includes(x)) && p.items.some((x) => x.includes('support ticket'))), `the ticket theme as one phrase with its tag and source: ${keys}`);
    assert.ok(patterns.patterns.some((p) => p.items.includes('#enterprise') && p.items.includes('#security') && p.items.some((x) => x.includes('sign-on'))), `the security theme: ${keys}`);
    assert.ok(!keys.some((k) => /\bsupport\b/.test(k) && k.includes('ticket') && !k.includes('support ticket')), 'the phrase is never split into its words');
    // Closed mode over the same store finds many more sets: the selection is what makes it readable.
    await cli(['config', 'set', 'patterns.select', 'closed']);
    await cli(['trigger', 'pattern_detection', '--local', '--wait', '-q']);
    const closed = JSON.parse(await cli(['patterns', '--json'])) as { total: number };
    assert.ok(patterns.total * 3 <= closed.total, `compress ${patterns.total} vs closed ${closed.total}`);
    for (const p of patterns.patterns) {
      assert.equal(p.member_ids.length, p.support);
      assert.equal(p.examples.length, 2, 'two member examples');
      for (const e of p.examples) assert.ok(exported.some((x) => x.text === e.text && p.member_ids.includes(x.id)), 'examples are members');
    }
    assert.ok(rules.length > 0 && rules.length <= patterns.total);
    for (const r of rules) assert.equal(r.examples.length, 2);
  });
});
