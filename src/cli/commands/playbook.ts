/**
 * `nex-compound playbook`: the local workspace's playbook — the rules playbook_synthesis
 * kept, largest leverage first (the insights a rule explains beyond chance), each with its
 * figures and two insights it holds in, quoted. A person reads the top of it and acts.
 */
import { UsageError } from '../../contract/errors.js';
import { sanitize } from '../../contract/sanitize.js';
import type { RuleRecord } from '../../engine/index.js';
import { defineCommand, switchOption, valueOption } from '../command.js';
import { describeItems } from '../render/items.js';
import { openLocalEngine } from '../settings/backend.js';

const TOP = 20;
const FORMATS = ['text', 'table', 'markdown', 'md'] as const;

export default defineCommand({
  name: 'playbook',
  localOnly: true,
  description: "the local workspace's playbook: the top rules synthesized from patterns, each with two example insights",
  options: {
    format: valueOption('--format <format>', 'text (default), table, or markdown to paste into a document', { values: FORMATS }),
    all: switchOption('--all', `every rule, deprecated ones included (default: the top ${TOP} active rules)`),
  },
  async run(ctx, _args, options) {
    const format = (options.format ?? 'text').toLowerCase();
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be text, table or markdown, got "${options.format}"`, 'use --json for JSON');
    const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
    try {
      const stored = await workspace.playbook.list({ all: Boolean(options.all) });
      const active = stored.filter((r) => r.status === 'active').length;
      const rules = options.all ? stored : stored.slice(0, TOP);
      if (stored.length === 0) ctx.ui.hint('no playbook rules yet: run `nex-compound trigger pattern_detection --local --wait`, then `nex-compound trigger playbook_synthesis --local --wait`');
      else if (!options.all && active > rules.length) ctx.ui.hint(`showing the top ${rules.length} of ${active} rules (--all shows every one)`);
      const json = { workspace_id: workspace.id, total: active, rules };
      if (format === 'markdown' || format === 'md') return { data: { kind: 'text', text: playbookMarkdown(workspace.id, rules, active), json } };
      if (format === 'text') return { data: { kind: 'text', text: playbookText(rules), json } };
      return {
        data: {
          kind: 'rows',
          columns: ['rule_id', 'support', 'beyond_chance', 'confidence', 'lift', 'rule', ...(options.all ? ['status'] : [])],
          rows: rules.map((r) => ({ ...figures(r), rule_id: r.rule_id, rule: `{${describeItems(r.antecedent_labels)}} ⇒ {${describeItems(r.consequent_labels)}}`, status: r.status })),
          json,
        },
      };
    } finally {
      engine.close();
    }
  },
});

const figures = (r: RuleRecord) => ({ support: r.support, beyond_chance: r.beyond_chance.toFixed(0), confidence: r.confidence.toFixed(2), lift: r.lift.toFixed(1) });

const figureLine = (r: RuleRecord) => `${r.support} insights (${r.beyond_chance.toFixed(0)} more than chance) · confidence ${r.confidence.toFixed(2)} · lift ${r.lift.toFixed(1)}`;

/** What a rule says, in words: "When insights mention webinar, they are tagged #product-usage". */
function sentence(r: RuleRecord, quote: (s: string) => string): string {
  const consequent = r.consequent_labels;
  const tagsOnly = consequent.every((x) => x.startsWith('#'));
  const then = tagsOnly ? `they are tagged ${quote(describeItems(consequent))}` : `they also mention ${quote(describeItems(consequent))}`;
  return `When insights mention ${quote(describeItems(r.antecedent_labels))}, ${then}`;
}

function playbookText(rules: readonly RuleRecord[]): string {
  const lines: string[] = [];
  rules.forEach((r, i) => {
    lines.push(`${i + 1}. ${sentence(r, (s) => s)}${r.status === 'active' ? '' : ` [${r.status}]`}`);
    lines.push(`   ${figureLine(r)} · ${r.rule_id}`);
    for (const e of r.examples) lines.push(`   “${sanitize(e.text)}” (#${e.id})`);
    lines.push('');
  });
  return lines.join('\n');
}

const escapeMarkdown = (text: string) => text.replace(/([\\`*_[\]|<>#])/g, '\\$1');

/** A document a person pastes as is: one numbered finding per rule, its figures and two insights quoted. */
function playbookMarkdown(workspaceId: number, rules: readonly RuleRecord[], total: number): string {
  const lines = [`# Playbook (workspace ${workspaceId})`, ''];
  const active = rules.filter((r) => r.status === 'active');
  if (active.length === 0) lines.push('_No rules yet._', '');
  else {
    const shown = active.length < total ? `The top ${active.length} of ${total} rules` : `${active.length} rule${active.length === 1 ? '' : 's'}`;
    lines.push(`${shown} found in recurring patterns of the insights, the ones that explain the most insights beyond chance first. Each holds in the insights counted and passed a significance test.`, '');
  }
  active.forEach((r, i) => {
    lines.push(`## ${i + 1}. ${sentence(r, (s) => `**${escapeMarkdown(s)}**`)}`, '');
    lines.push(`${figureLine(r)} · \`${r.rule_id}\``, '');
    for (const e of r.examples) lines.push(`> ${escapeMarkdown(sanitize(e.text))}`, '');
  });
  const deprecated = rules.filter((r) => r.status === 'deprecated');
  if (deprecated.length > 0) {
    lines.push('## Deprecated', '', 'These no longer hold on the current insights.', '');
    for (const r of deprecated) lines.push(`- ~~${escapeMarkdown(describeItems(r.antecedent_labels))} ⇒ ${escapeMarkdown(describeItems(r.consequent_labels))}~~ \`${r.rule_id}\``);
    lines.push('');
  }
  return lines.join('\n');
}
