import { openLocalEngine } from '../settings/backend.js';
import type { Context } from '../context.js';
import { UsageError } from '../../contract/errors.js';
import { describeItems } from '../../engine/jobs/patterns/items.js';
import { decodeIds } from '../../engine/jobs/patterns/idlist.js';
import type { CommandResult } from '../command.js';

interface PatternRow {
  id: number;
  items: string;
  labels: string;
  size: number;
  support: number;
  status: string;
  first_seen: number;
  last_seen: number;
  members: Buffer;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The workspace's patterns, largest support first; stale ones only with --all. */
export async function patternsCommand(ctx: Context, options: { all?: boolean; limit?: string; members?: boolean }): Promise<CommandResult> {
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number ≥ 1, got "${options.limit}"`);
  const engine = await openLocalEngine(ctx);
  try {
    const rows = engine.db
      .prepare(
        `SELECT p.id, p.items, p.labels, p.size, p.support, p.status, p.first_seen, p.last_seen,
                p.members
         FROM patterns p WHERE p.workspace_id = ? ${options.all ? '' : `AND p.status = 'active'`}
         ORDER BY p.support DESC, p.items LIMIT ?`,
      )
      .all(engine.workspaceId, limit) as PatternRow[];
    const total = (engine.db.prepare(`SELECT count(*) FROM patterns WHERE workspace_id = ? ${options.all ? '' : `AND status = 'active'`}`).pluck().get(engine.workspaceId) as number);
    if (total === 0) ctx.ui.hint('no patterns yet: run `nex-compound trigger pattern_detection --local --wait`');
    else if (total > rows.length) ctx.ui.hint(`showing ${rows.length} of ${total} patterns (--limit ${total} shows all)`);
    const json = rows.map((r) => ({
      id: r.id,
      items: JSON.parse(r.items) as string[],
      labels: JSON.parse(r.labels) as string[],
      size: r.size,
      support: r.support,
      status: r.status,
      first_seen: iso(r.first_seen),
      last_seen: iso(r.last_seen),
      ...(options.members ? { member_ids: decodeIds(r.members) } : {}),
    }));
    return {
      data: {
        kind: 'rows',
        columns: ['id', 'support', 'items', ...(options.all ? ['status'] : []), 'last_seen'],
        rows: json.map((p) => ({ id: p.id, support: p.support, items: describeItems(p.labels), status: p.status, last_seen: p.last_seen })),
        json: { total, patterns: json },
      },
    };
  } finally {
    engine.db.close();
  }
}

interface RuleRow {
  rule_id: string;
  antecedent: string;
  consequent: string;
  antecedent_labels: string;
  consequent_labels: string;
  text: string;
  support: number;
  confidence: number;
  lift: number;
  source_patterns: string;
  status: string;
  created_at: number;
  updated_at: number;
  deprecated_at: number | null;
}

/** The playbook: active rules, most confident first; --all adds the deprecated ones. */
export async function playbookCommand(ctx: Context, options: { all?: boolean; format?: string }): Promise<CommandResult> {
  const format = (options.format ?? 'table').toLowerCase();
  if (!['table', 'markdown', 'md'].includes(format)) throw new UsageError(`--format must be table or markdown, got "${options.format}"`, 'use --json for JSON');
  const engine = await openLocalEngine(ctx);
  try {
    const rows = engine.db
      .prepare(
        `SELECT rule_id, antecedent, consequent, antecedent_labels, consequent_labels, text, support, confidence, lift, source_patterns, status, created_at, updated_at, deprecated_at
         FROM playbook_rules WHERE workspace_id = ? ${options.all ? '' : `AND status = 'active'`}
         ORDER BY status, confidence DESC, support DESC, rule_id`,
      )
      .all(engine.workspaceId) as RuleRow[];
    if (rows.length === 0) ctx.ui.hint('no playbook rules yet: run `nex-compound trigger pattern_detection --local --wait`, then `nex-compound trigger playbook_synthesis --local --wait`');
    const rules = rows.map((r) => ({
      rule_id: r.rule_id,
      antecedent: JSON.parse(r.antecedent) as string[],
      consequent: JSON.parse(r.consequent) as string[],
      antecedent_labels: JSON.parse(r.antecedent_labels) as string[],
      consequent_labels: JSON.parse(r.consequent_labels) as string[],
      text: r.text,
      support: r.support,
      confidence: r.confidence,
      lift: r.lift,
      source_patterns: JSON.parse(r.source_patterns) as number[],
      status: r.status,
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
      deprecated_at: iso(r.deprecated_at),
    }));
    const json = { workspace_id: engine.workspaceId, rules };
    if (format === 'markdown' || format === 'md') return { data: { kind: 'text', text: playbookMarkdown(engine.workspaceId, rules), json } };
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
    engine.db.close();
  }
}

const escapeMarkdown = (text: string) => text.replace(/([\\`*_[\]|<>])/g, '\\$1');

/** A document a person pastes as is: one section per consequent, rules as bullets with their figures and id. */
export function playbookMarkdown(
  workspaceId: number,
  rules: Array<{ rule_id: string; antecedent_labels: string[]; consequent_labels: string[]; support: number; confidence: number; lift: number; status: string }>,
): string {
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
