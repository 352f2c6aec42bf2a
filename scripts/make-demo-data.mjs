#!/usr/bin/env node
/**
 * Writes data/demo-insights.jsonl: the bundled sample dataset of `nex-compound demo`.
 * Deterministic (seeded PRNG, fixed reference date 2026-11-01): rerunning gives the same file.
 *
 * About 430 analyst notes on one fictional B2B SaaS company, Northwind Analytics, with:
 * - near-duplicate groups: the same fact restated (case, punctuation, a word added or
 *   dropped, reordered clauses, abbreviations), from different sources;
 * - hard negatives: pairs that look alike but differ in a number, a quarter, a negation or
 *   a company — a good deduplicator must not merge them;
 * - recurring themes (THEMES below): ten tag combinations, each with its own way of speaking
 *   (security+enterprise in notes on SOC 2, SSO, audit logs; tickets tagged support; webinars
 *   tagged product-usage; …), written in varied phrasings, for pattern mining — the demo's
 *   playbook states each one as a rule;
 * - stale items: about a fifth not reinforced for over six months, some with low
 *   confidence, so a decay sweep lowers and archives them.
 * The counts of each kind are printed when the script runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REFERENCE = Date.parse('2026-11-01T00:00:00Z');
const DAY = 86_400_000;

let seed = 0x5eed;
function rand() {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(rand() * list.length)];
const between = (lo, hi) => lo + rand() * (hi - lo);

const CUSTOMERS = ['Acme Corp', 'Globex', 'Initech', 'Umbrella Health', 'Hooli', 'Stark Logistics', 'Wayne Retail', 'Wonka Foods', 'Tyrell Bio', 'Cyberdyne Systems', 'Soylent Energy', 'Vandelay Imports', 'Pied Piper', 'Massive Dynamic', 'Oscorp'];
const SOURCES = ['gong-call', 'zendesk', 'hubspot', 'slack', 'product-analytics', 'email'];
const COMPETITORS = ['Looker', 'Tableau', 'Mode', 'Sigma'];

const records = [];
const counts = { theme: 0, duplicate_groups: 0, duplicates: 0, hard_negative_pairs: 0, stale: 0 };

function dates({ stale = false } = {}) {
  const ageDays = stale ? between(190, 520) : between(0, 170);
  const last = REFERENCE - ageDays * DAY;
  const created = last - between(0, 60) * DAY;
  return { created_at: new Date(created).toISOString(), last_reinforced_at: new Date(last).toISOString() };
}

function add(text, tags, options = {}) {
  const stale = options.stale ?? rand() < 0.18;
  if (stale) counts.stale++;
  const confidence = options.confidence ?? Math.round((stale && rand() < 0.5 ? between(0.3, 0.45) : between(0.45, 0.95)) * 100) / 100;
  records.push({ text, source: options.source ?? pick(SOURCES), tags, confidence, ...dates({ stale }) });
}

// Recurring themes: each is a tag combination and a way of speaking that go together, written
// in several phrasings (customers, products and figures vary), so that what recurs is the theme,
// not a sentence. THEMES lists them; the demo's playbook should state each one as a rule.
export const THEMES = [
  {
    name: 'security reviews gate enterprise deals',
    tags: ['security', 'enterprise'],
    count: 34,
    extra: (i) => (i % 3 === 0 ? ['procurement'] : []),
    notes: [
      (c) => `${c}'s security team requires SOC 2 Type II before signing the enterprise agreement.`,
      (c) => `${c} asked for SAML single sign-on across all of its enterprise workspaces.`,
      (c) => `${c}'s procurement questionnaire flags EU data residency as mandatory for the enterprise rollout.`,
      (c) => `${c} wants audit logs exported to their SIEM every ${pick(['hour', 'day', 'fifteen minutes'])} before going enterprise-wide.`,
      (c) => `${c} will not sign the enterprise contract until the penetration test report is shared.`,
    ],
  },
  {
    name: 'enterprise renewals are price negotiations',
    tags: ['pricing', 'renewal', 'enterprise'],
    count: 28,
    extra: (i) => (i % 4 === 0 ? ['competitor'] : []),
    notes: [
      (c) => `${c} pushed back on the per-seat price increase ahead of their renewal.`,
      (c) => `${c} will renew only with a multi-year discount on the enterprise tier.`,
      (c) => `${c} compared our enterprise pricing with ${pick(COMPETITORS)} during the renewal call.`,
      (c) => `${c}'s CFO asked to freeze the list price for the ${pick(['two', 'three'])}-year renewal.`,
    ],
  },
  {
    name: 'stalled onboarding turns into churn risk',
    tags: ['onboarding', 'support', 'churn-risk'],
    count: 24,
    notes: [
      (c) => `${c}'s admins got stuck connecting the warehouse during onboarding and opened a support ticket.`,
      (c) => `${c} has not finished onboarding after ${pick(['five', 'six', 'eight'])} weeks and support escalations are piling up.`,
      (c) => `${c}'s champion left mid-onboarding; support reports low activity since.`,
      (c) => `${c} is still onboarding after the kickoff slipped twice and keeps filing support requests.`,
    ],
  },
  {
    name: 'integration requests are product feedback',
    tags: ['integrations', 'product-feedback'],
    count: 20,
    extra: (i) => (i % 2 ? ['expansion'] : []),
    notes: [
      (c) => `${c} needs the ${pick(['Snowflake', 'BigQuery', 'Databricks'])} connector to sync hourly instead of daily.`,
      (c) => `${c} asked whether the Salesforce integration can write back account scores.`,
      (c) => `${c} reported the dbt integration breaking after their last schema change.`,
      (c) => `${c} wants a HubSpot connector that syncs custom objects.`,
    ],
  },
  {
    name: 'tickets are support work',
    cue: 'ticket',
    tags: ['support'],
    count: 30,
    notes: [(c) => `${c} opened a ticket about ${pick(['timezone handling', 'export limits', 'slow filters', 'chart colors', 'permission errors', 'broken embeds', 'stale caches'])}.`],
  },
  {
    name: 'webinar attendance shows product usage',
    cue: 'webinar',
    tags: ['product-usage'],
    count: 28,
    notes: [(c) => `${c} ${pick(['attended', 'joined', 'sent five people to'])} the product webinar on ${pick(['forecasting', 'alerts', 'embedded dashboards', 'semantic layer', 'row-level security', 'the new editor'])}.`],
  },
  {
    name: 'training requests come with expansion',
    cue: 'analysts',
    tags: ['onboarding', 'expansion'],
    count: 28,
    notes: [(c) => `${c} asked for training for ${Math.floor(between(3, 40))} new analysts ${pick(['next month', 'this quarter', 'after the reorg', 'in their EMEA team', 'before the launch'])}.`],
  },
  {
    name: 'competitors are mentioned in passing',
    cue: 'passing',
    tags: ['competitor'],
    count: 28,
    notes: [(c) => `${c} mentioned ${pick(COMPETITORS)} in passing during a ${pick(['QBR', 'support call', 'demo', 'pricing review', 'roadmap session'])}.`],
  },
  {
    name: 'active users are tracked as usage and expansion',
    cue: 'weekly active users',
    tags: ['product-usage', 'expansion'],
    count: 28,
    notes: [(c) => `${c}'s weekly active users ${pick(['rose', 'fell', 'held steady', 'doubled'])} to ${Math.floor(between(20, 400))} ${pick(['this week', 'after the launch', 'in October', 'since the rollout'])}.`],
  },
  {
    name: 'praise is product feedback',
    cue: 'positive feedback',
    tags: ['product-feedback'],
    count: 28,
    notes: [(c) => `${c} shared positive feedback on the ${pick(['new editor', 'mobile app', 'alerting', 'API docs', 'dashboard builder', 'scheduled reports'])} ${pick(['in the QBR', 'on a call', 'by email', 'in Slack'])}.`],
  },
];
for (const theme of THEMES) {
  for (let i = 0; i < theme.count; i++) {
    const c = CUSTOMERS[Math.floor(rand() * CUSTOMERS.length)];
    const tags = [...theme.tags, ...(theme.extra?.(i) ?? [])];
    add(theme.notes[i % theme.notes.length](c), tags, { stale: rand() < 0.25 });
    counts.theme++;
  }
}

// Near-duplicate groups: one fact, several phrasings.
const duplicateGroups = [
  ['Acme Corp renews in Q3 if SSO ships.', 'acme corp renews in q3 if sso ships', 'Acme Corp will renew in Q3 if SSO ships.', 'If SSO ships, Acme Corp renews in Q3.'],
  ['Globex uses single sign-on through Okta.', 'Globex uses SSO through Okta.', 'Globex uses single sign on through Okta'],
  ['Initech churned after the price increase in March.', 'Initech churned after the March price increase.', 'Initech churned after the price increase in march!'],
  ['Hooli wants a Snowflake integration before expanding seats.', 'Hooli wants the Snowflake integration before expanding seats.', 'Before expanding seats, Hooli wants a Snowflake integration.'],
  ['Umbrella Health requires HIPAA compliance for any renewal.', 'Umbrella Health requires HIPAA compliance for every renewal.', 'umbrella health requires hipaa compliance for any renewal'],
  ['Wayne Retail is evaluating Tableau as a replacement.', 'Wayne Retail is evaluating Tableau as a possible replacement.', 'Wayne Retail is evaluating tableau as a replacement'],
  ['Stark Logistics doubled its dashboard usage last month.', 'Stark Logistics doubled dashboard usage last month.', 'Last month, Stark Logistics doubled its dashboard usage.'],
  ['Pied Piper asked for an API rate limit increase.', 'Pied Piper asked for an API rate-limit increase', 'Pied Piper asked for API rate limit increases.'],
  ['Wonka Foods complained about slow support response times.', 'Wonka Foods complained about slow support response time.', 'Wonka Foods complained about support response times being slow.'],
  ['Tyrell Bio plans to add 200 seats in the third quarter.', 'Tyrell Bio plans to add 200 seats in Q3.', 'Tyrell Bio plans to add 200 seats in the 3rd quarter.'],
  ['Cyberdyne Systems needs EU data residency.', 'Cyberdyne Systems needs data residency in the EU.', 'cyberdyne systems needs EU data residency!'],
  ['Soylent Energy has not logged in for 45 days.', 'Soylent Energy has not logged in for 45 days', "Soylent Energy hasn't logged in for 45 days."],
  ['Vandelay Imports wants invoices in EUR.', 'Vandelay Imports wants its invoices in EUR.', 'Vandelay Imports wants invoices in euros (EUR).'],
  ['Massive Dynamic signed a two-year enterprise contract.', 'Massive Dynamic signed a 2-year enterprise contract.', 'Massive Dynamic signed a two year enterprise contract.'],
  ['Oscorp escalated a billing error to their CFO.', 'Oscorp escalated the billing error to their CFO.', 'Oscorp escalated a billing error to its CFO.'],
];
const groupTags = [['renewal', 'security'], ['security', 'enterprise'], ['churn-risk', 'pricing'], ['integrations', 'expansion'], ['security', 'renewal'], ['competitor', 'churn-risk'], ['product-usage', 'expansion'], ['integrations', 'product-feedback'], ['support', 'churn-risk'], ['expansion', 'enterprise'], ['security', 'enterprise'], ['churn-risk', 'product-usage'], ['billing', 'pricing'], ['enterprise', 'renewal'], ['billing', 'support']];
// Each group appears twice (first and second wave of notes) to reach ~40 groups with varied wording.
duplicateGroups.forEach((group, g) => {
  counts.duplicate_groups++;
  const sources = [...SOURCES].sort(() => rand() - 0.5);
  group.forEach((text, i) => {
    add(text, groupTags[g], { source: sources[i % sources.length], stale: false });
    counts.duplicates++;
  });
});
const secondWave = [
  ['Initech asked for a dedicated CSM after onboarding.', 'Initech asked for a dedicated customer success manager after onboarding.'],
  ['Globex plans to cut seats by 20% at renewal.', 'Globex plans to cut 20% of seats at renewal.'],
  ['Hooli praised the new anomaly alerts.', 'Hooli praised the new anomaly alerts!'],
  ['Acme Corp wants quarterly business reviews.', 'Acme Corp wants QBRs.', 'Acme Corp wants quarterly business reviews (QBRs).'],
  ['Stark Logistics needs row-level security for its regional managers.', 'Stark Logistics needs row level security for regional managers.'],
  ['Wonka Foods is moving its warehouse from Redshift to Snowflake.', 'Wonka Foods is moving the warehouse from Redshift to Snowflake.'],
  ['Umbrella Health legal is reviewing the new DPA.', 'Umbrella Health legal is reviewing the new DPAs.'],
  ['Tyrell Bio reported dashboards loading slowly on Mondays.', 'Tyrell Bio reported the dashboards loading slowly on Monday.'],
  ['Pied Piper wants usage-based pricing.', 'Pied Piper wants usage based pricing.'],
  ['Cyberdyne Systems requested an on-premise deployment.', 'Cyberdyne Systems requested an on-prem deployment.'],
  ['Soylent Energy downgraded to the team plan.', 'Soylent Energy downgraded to the Team plan.'],
  ['Vandelay Imports wants Slack alerts for failed syncs.', 'Vandelay Imports wants Slack alerts for failed sync.'],
  ['Massive Dynamic is piloting the forecasting module.', 'Massive Dynamic is piloting the forecasting modules.'],
  ['Oscorp requested SCIM provisioning.', 'Oscorp has requested SCIM provisioning.'],
  ['Wayne Retail expanded to three new regions.', 'Wayne Retail expanded into three new regions.'],
  ['Globex champion moved to a competitor.', "Globex's champion moved to a competitor."],
  ['Initech security review passed.', "Initech's security review passed."],
  ['Hooli budget freeze until January.', 'Hooli has a budget freeze until January.'],
  ['Acme Corp data team grew to 12 analysts.', "Acme Corp's data team grew to 12 analysts."],
  ['Stark Logistics asked for a Looker migration guide.', 'Stark Logistics asked for a migration guide from Looker.'],
  ['Wonka Foods wants SSO for contractors.', 'Wonka Foods wants single sign-on for contractors.'],
  ['Tyrell Bio renewal owner is the new VP of Data.', "Tyrell Bio's renewal owner is the new VP of Data."],
  ['Pied Piper flagged a bug in CSV exports.', 'Pied Piper flagged a bug in the CSV export.'],
  ['Cyberdyne Systems asked about FedRAMP.', 'Cyberdyne Systems really asked about FedRAMP.'],
  ['Umbrella Health wants audit logs retained for 7 years.', 'Umbrella Health wants the audit logs retained for 7 years.'],
];
const waveTags = [['onboarding', 'support'], ['churn-risk', 'renewal'], ['product-feedback'], ['enterprise', 'renewal'], ['security', 'enterprise'], ['integrations'], ['security', 'procurement'], ['support', 'product-feedback'], ['pricing'], ['security', 'enterprise'], ['churn-risk', 'pricing'], ['integrations', 'product-feedback'], ['expansion', 'product-usage'], ['security', 'enterprise'], ['expansion'], ['churn-risk', 'competitor'], ['security', 'procurement'], ['churn-risk', 'renewal'], ['expansion', 'product-usage'], ['competitor', 'onboarding'], ['security', 'enterprise'], ['renewal', 'enterprise'], ['support', 'product-feedback'], ['security', 'procurement'], ['security', 'enterprise']];
secondWave.forEach((group, g) => {
  counts.duplicate_groups++;
  group.forEach((text) => {
    add(text, waveTags[g], { stale: false });
    counts.duplicates++;
  });
});

// Hard negatives: near-identical wording, different facts.
const hardNegatives = [
  ['Acme Corp renews in Q3.', 'Acme Corp renews in Q4.'],
  ['Globex uses SSO.', 'Globex does not use SSO.'],
  ['Initech has 120 seats.', 'Initech has 210 seats.'],
  ['Hooli signed on March 3, 2026.', 'Hooli signed on March 13, 2026.'],
  ['Umbrella Health is evaluating Tableau.', 'Umbrella Health is evaluating Looker.'],
  ['Wayne Retail renewed for two years.', 'Wayne Retail renewed for three years.'],
  ['Stark Logistics uses the Snowflake connector.', 'Stark Logistics uses the BigQuery connector.'],
  ['Pied Piper is on the enterprise plan.', 'Pied Piper is not on the enterprise plan.'],
  ['Wonka Foods pays annually.', 'Wonka Foods pays monthly.'],
  ['Tyrell Bio churned in 2025.', 'Tyrell Bio churned in 2024.'],
  ['Cyberdyne Systems asked for a 10% discount.', 'Cyberdyne Systems asked for a 15% discount.'],
  ['Soylent Energy renews in Q3.', 'Globex renews in Q3.'],
  ['Vandelay Imports can share case studies.', 'Vandelay Imports cannot share case studies.'],
  ['Massive Dynamic has 5 admins.', 'Massive Dynamic has 50 admins.'],
  ['Oscorp wants invoices in USD.', 'Oscorp wants invoices in GBP.'],
];
hardNegatives.forEach(([a, b]) => {
  counts.hard_negative_pairs++;
  add(a, ['account-facts'], { stale: false });
  add(b, ['account-facts'], { stale: false });
});

// A stable shuffle, so themes and duplicates are spread through the file.
for (let i = records.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [records[i], records[j]] = [records[j], records[i]];
}
// Imported by the demo's test for THEMES: the file is written only when run as a script.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mkdirSync(path.join(ROOT, 'data'), { recursive: true });
  writeFileSync(path.join(ROOT, 'data', 'demo-insights.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  process.stdout.write(`${JSON.stringify({ insights: records.length, ...counts })}\n`);
}
