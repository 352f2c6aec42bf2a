/** `nex-compound playbook`: the local workspace's playbook, rules synthesized from patterns, most confident first. */
import { UsageError } from '../../contract/errors.js';
import type { RuleRecord } from '../../engine/index.js';
import { defineCommand, switchOption, valueOption } from '../command.js';
import { describeItems } from '../render/items.js';
import { openLocalEngine } from '../settings/backend.js';

export default defineCommand({
  name: 'playbook',
  localOnly: true,
  description: "the local workspace's playbook: rules synthesized from patterns, most confident first",
  options: {
    format: valueOption('--format <format>', 'table (default) or markdown, to paste into a document'),
    all: switchOption('--all', 'include deprecated rules'),
  },
  async run(ctx, _args, options) {
    const format = (options.format ?? 'table').toLowerCase();
    if (!['table', 'markdown', 'md'].includes(format)) throw new UsageError(`--format must be table or markdown, got "${options.format}"`, 'use --json for JSON');
    const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
    try {
      const rules = await workspace.playbook.list({ all: Boolean(options.all) });
      if (rules.length === 0) ctx.ui.hint('no playbook rules yet: run `nex-compound trigger pattern_detection --local --wait`, then `nex-compound trigger playbook_synthesis --local --wait`');
      const json = { workspace_id: workspace.id, rules };
      if (format === 'markdown' || format === 'md') return { data: { kind: 'text', text: playbookMarkdown(workspace.id, rules), json } };
      return {
        data: {
          kind: 'rows',
          columns: ['rule_id', 'confidence', 'lift', 'support', 'rule', ...(options.all ? ['status'] : [])],
          rows: rules.map((r) => ({
            rule_id: r.rule_id,
            confidence: r.confidence.toFixed(2),
            lift: r.lift.toFixed(1),
            support: r.support,
            rule: `{${describeItems(r.antecedent_labels)}} ⇒ {${describeItems(r.consequent_labels)}}`,
            status: r.status,
          })),
          json,
        },
      };
    } finally {
      engine.close();
    }
  },
});

const escapeMarkdown = (text: string) => text.replace(/([\\`*_[\]|<>])/g, '\\$1');

/** A document a person pastes as is: one section per consequent, rules as bullets with their figures and id. */
function playbookMarkdown(workspaceId: number, rules: readonly RuleRecord[]): string {
  const lines = [`# Playbook (workspace ${workspaceId})`, ''];
  const active = rules.filter((r) => r.status === 'active');
  if (active.length === 0) lines.push('_No rules yet._', '');
  else lines.push(`${active.length} rule${active.length === 1 ? '' : 's'} mined from recurring patterns in the insights. Each reads: when insights mention the first items, they also mention the second.`, '');
  const byConsequent = new Map<string, typeof active>();
  for (const rule of active) {
    const key = describeItems(rule.consequent_labels);
    byConsequent.set(key, [...(byConsequent.get(key) ?? []), rule]);
  }
  for (const [consequent, group] of [...byConsequent].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))) {
    lines.push(`## ${escapeMarkdown(consequent)}`, '');
    for (const r of group) {
      lines.push(`- When insights mention **${escapeMarkdown(describeItems(r.antecedent_labels))}**, they also mention **${escapeMarkdown(consequent)}** — ${r.support} insights, confidence ${r.confidence.toFixed(2)}, lift ${r.lift.toFixed(1)} \`${r.rule_id}\``);
    }
    lines.push('');
  }
  const deprecated = rules.filter((r) => r.status === 'deprecated');
  if (deprecated.length > 0) {
    lines.push('## Deprecated', '', 'These no longer hold on the current insights.', '');
    for (const r of deprecated) lines.push(`- ~~${escapeMarkdown(describeItems(r.antecedent_labels))} ⇒ ${escapeMarkdown(describeItems(r.consequent_labels))}~~ \`${r.rule_id}\``);
    lines.push('');
  }
  return lines.join('\n');
}
