/**
 * The pattern benchmarks' corpus (bench/patterns-bench.ts; test/engine/jobs/patterns/golden.test.ts
 * pins the jobs' output on a smaller one): the labelled consolidation corpus (realistic sentences)
 * with tags and a source per insight — theme tags that follow the text (a renewal note is usually
 * tagged renewal), account tiers, and noise tags, so that patterns mix tags, terms and sources as
 * real ones do.
 */
import { generateLabelledCorpus } from './labelled-insights.js';

const THEMES: Array<[RegExp, string]> = [
  [/renew/i, 'renewal'],
  [/pric|discount|budget|seat/i, 'pricing'],
  [/SSO|SCIM|audit|security|SOC|two-factor|role-based/i, 'security'],
  [/expan|upgrade|seats/i, 'expansion'],
  [/churn|cancel|competitor|switch/i, 'churn-risk'],
  [/bug|slow|outage|ticket|support|broken/i, 'support'],
  [/sync|connector|integration|API|webhook|app/i, 'integrations'],
];
const SOURCES = ['gong-call', 'zendesk', 'hubspot', 'email', 'slack', 'product-analytics'];
const TIERS = ['enterprise', 'mid-market', 'smb'];
const NOISE = ['q1', 'q2', 'q3', 'q4', 'follow-up', 'exec', 'champion', 'beta', 'emea', 'apac', 'na'];

export interface TaggedInsight {
  text: string;
  source: string;
  tags: string[];
  created_at: number;
}

/** `count` insights of the corpus, the same ones for the same count. */
export function* taggedInsights(count: number): Generator<TaggedInsight> {
  const corpus = generateLabelledCorpus({ facts: Math.ceil(count / 1.3), seed: 23, companies: Math.max(300, Math.round(count / 5)), variety: 10 });
  let s = 99;
  const random = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const insight of corpus.insights.slice(0, count)) {
    const tags = new Set<string>();
    for (const [pattern, tag] of THEMES) if (pattern.test(insight.text) && random() < 0.85) tags.add(tag);
    // An account tier follows the company (its first letter), as a CRM field would.
    tags.add(TIERS[insight.text.charCodeAt(0) % TIERS.length]!);
    if (random() < 0.3) tags.add(NOISE[Math.floor(random() * NOISE.length)]!);
    const source = tags.has('support') && random() < 0.7 ? 'zendesk' : SOURCES[Math.floor(random() * SOURCES.length)]!;
    yield { text: insight.text, source, tags: [...tags], created_at: insight.created_at };
  }
}
