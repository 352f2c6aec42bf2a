/**
 * playbook_synthesis: association rules A ⇒ C from the stored (active) patterns, with
 * supports counted afresh on the active insights: confidence = supp(A ∪ C) / supp(A),
 * lift = confidence / (supp(C) / N). A rule is kept when its confidence and lift clear the
 * thresholds and no rule with a smaller antecedent and the same consequent is as confident
 * (it would say the same thing with less). Rules are keyed by (A, C): re-runs update their
 * figures, add new ones, deprecate the ones that no longer hold — never delete, never duplicate.
 */
import { createHash } from 'node:crypto';
import { describeItems, itemsetKey } from '../patterns/items.js';
import type { Database } from '../../store/db.js';
import { jobParams } from '../../../contract/job-params.js';
import type { JobContext, JobOutcome } from '../job.js';
import { intersectPostings, loadTransactions } from '../patterns/job.js';
import type { RuleBody } from './store.js';

export interface SynthesizedRule extends RuleBody {
  change: 'new' | 'updated' | 'unchanged';
}

export interface PlaybookResult {
  min_confidence: number;
  min_lift: number;
  patterns_used: number;
  added: number;
  updated: number;
  unchanged: number;
  deprecated: number;
  rules: SynthesizedRule[];
  deprecated_rules: Array<{ rule_id: string; text: string }>;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A rule's id never changes: it is derived from what the rule says, not from when it was found. */
const ruleId = (key: string) => `R-${createHash('sha256').update(key).digest('hex').slice(0, 10)}`;
const ruleKey = (antecedent: readonly string[], consequent: readonly string[]) => `${itemsetKey(antecedent)}\u001e${itemsetKey(consequent)}`;

function ruleText(antecedent: readonly string[], consequent: readonly string[], support: number, confidence: number, lift: number): string {
  return `When insights mention {${describeItems(antecedent)}}, they also mention {${describeItems(consequent)}} — ${support} insights, confidence ${confidence.toFixed(2)}, lift ${lift.toFixed(1)}`;
}

/** Non-empty proper subsets of a small set, as index masks. */
function* splits(size: number): Generator<number> {
  for (let mask = 1; mask < (1 << size) - 1; mask++) yield mask;
}

export function runPlaybookSynthesis(ctx: JobContext): JobOutcome {
  const { db, job } = ctx;
  const p = jobParams('playbook_synthesis', ctx.params);
  ctx.progress(1, 'reading patterns');
  const patterns = db.prepare(`SELECT id, items FROM patterns WHERE workspace_id = ? AND status = 'active' ORDER BY id`).all(job.workspace_id) as Array<{ id: number; items: string }>;
  ctx.progress(10, 'counting supports');
  // Items are the same strings whatever patterns.items was, so 'both' counts any pattern's items.
  const data = loadTransactions(db, job.workspace_id, 'both');
  const n = data.insightIds.length;
  const itemIndex = new Map(data.itemNames.map((name, i) => [name, i]));
  const supportCache = new Map<string, number>();
  const supportOf = (items: readonly string[]) => {
    const key = itemsetKey(items);
    let s = supportCache.get(key);
    if (s === undefined) {
      const ids = items.map((item) => itemIndex.get(item));
      s = ids.some((id) => id === undefined) ? 0 : intersectPostings(data.postings, ids as number[]).length;
      supportCache.set(key, s);
    }
    return s;
  };

  ctx.progress(40, 'deriving rules');
  const candidates = new Map<string, Omit<SynthesizedRule, 'change' | 'rule_id' | 'text' | 'antecedent_labels' | 'consequent_labels'> & { key: string }>();
  for (const pattern of patterns) {
    const items = (JSON.parse(pattern.items) as string[]).sort();
    const both = supportOf(items);
    if (both === 0) continue;
    for (const mask of splits(items.length)) {
      const antecedent = items.filter((_, i) => mask & (1 << i));
      const consequent = items.filter((_, i) => !(mask & (1 << i)));
      const confidence = both / supportOf(antecedent);
      const lift = confidence / (supportOf(consequent) / n);
      if (confidence < p.minConfidence || !(lift > p.minLift)) continue;
      const key = ruleKey(antecedent, consequent);
      const seen = candidates.get(key);
      if (seen) seen.source_patterns.push(pattern.id);
      else candidates.set(key, { key, antecedent, consequent, support: both, confidence, lift, source_patterns: [pattern.id] });
    }
  }
  // Drop a rule when one with a smaller antecedent and the same consequent is at least as confident.
  const kept = [...candidates.values()].filter((rule) => {
    if (rule.antecedent.length === 1) return true;
    for (const mask of splits(rule.antecedent.length)) {
      const general = candidates.get(ruleKey(rule.antecedent.filter((_, i) => mask & (1 << i)), rule.consequent));
      if (general && general.confidence >= rule.confidence) return false;
    }
    return true;
  });

  const existing = new Map(
    (
      db.prepare(`SELECT rule_id, rule_key, text, support, confidence, lift, status FROM playbook_rules WHERE workspace_id = ?`).all(job.workspace_id) as Array<{
        rule_id: string;
        rule_key: string;
        text: string;
        support: number;
        confidence: number;
        lift: number;
        status: string;
      }>
    ).map((row) => [row.rule_key, row]),
  );
  const rules: SynthesizedRule[] = kept
    .map((rule) => {
      const confidence = round(rule.confidence, 4);
      const lift = round(rule.lift, 4);
      const before = existing.get(rule.key);
      const text = ruleText(rule.antecedent.map(data.label), rule.consequent.map(data.label), rule.support, confidence, lift);
      const change: SynthesizedRule['change'] = !before
        ? 'new'
        : before.status !== 'active' || before.support !== rule.support || before.confidence !== confidence || before.lift !== lift || before.text !== text
          ? 'updated'
          : 'unchanged';
      const antecedentLabels = rule.antecedent.map(data.label);
      const consequentLabels = rule.consequent.map(data.label);
      return {
        rule_id: before?.rule_id ?? ruleId(rule.key),
        antecedent: rule.antecedent,
        consequent: rule.consequent,
        antecedent_labels: antecedentLabels,
        consequent_labels: consequentLabels,
        text,
        support: rule.support,
        confidence,
        lift,
        source_patterns: rule.source_patterns.sort((a, b) => a - b),
        change,
      };
    })
    .sort((a, b) => b.confidence - a.confidence || b.support - a.support || a.rule_id.localeCompare(b.rule_id));
  const keys = new Set(kept.map((rule) => rule.key));
  const deprecated = [...existing.values()].filter((row) => row.status === 'active' && !keys.has(row.rule_key));

  const newRules = rules.filter((r) => r.change === 'new');
  // Insights behind the rules this run adds.
  const affected = new Set<number>();
  for (const rule of newRules) for (const index of intersectPostings(data.postings, [...rule.antecedent, ...rule.consequent].map((i) => itemIndex.get(i)!))) affected.add(index);

  const result: PlaybookResult = {
    min_confidence: p.minConfidence,
    min_lift: p.minLift,
    patterns_used: patterns.length,
    added: newRules.length,
    updated: rules.filter((r) => r.change === 'updated').length,
    unchanged: rules.filter((r) => r.change === 'unchanged').length,
    deprecated: deprecated.length,
    rules,
    deprecated_rules: deprecated.map((row) => ({ rule_id: row.rule_id, text: row.text })),
  };
  ctx.progress(90, 'writing');
  return {
    counts: { insights_scanned: n, insights_affected: affected.size, candidates_created: newRules.length, errors: 0 },
    result,
    apply: () => writeRules(db, job.workspace_id, job.job_run_id, ctx.now, rules, deprecated.map((row) => row.rule_id)),
  };
}

function writeRules(db: Database, workspaceId: number, jobRunId: string, now: number, rules: SynthesizedRule[], deprecated: string[]): void {
  const insert = db.prepare(
    `INSERT INTO playbook_rules (workspace_id, rule_id, rule_key, antecedent, consequent, antecedent_labels, consequent_labels, text, support, confidence, lift, source_patterns, status, created_at, updated_at, created_by, updated_by)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE playbook_rules SET antecedent_labels = ?, consequent_labels = ?, text = ?, support = ?, confidence = ?, lift = ?, source_patterns = ?, status = 'active', deprecated_at = NULL, updated_at = ?, updated_by = ?
     WHERE workspace_id = ? AND rule_id = ?`,
  );
  for (const rule of rules) {
    if (rule.change === 'new') {
      insert.run(
        workspaceId,
        rule.rule_id,
        ruleKey(rule.antecedent, rule.consequent),
        JSON.stringify(rule.antecedent),
        JSON.stringify(rule.consequent),
        JSON.stringify(rule.antecedent_labels),
        JSON.stringify(rule.consequent_labels),
        rule.text,
        rule.support,
        rule.confidence,
        rule.lift,
        JSON.stringify(rule.source_patterns),
        now,
        now,
        jobRunId,
        jobRunId,
      );
    } else if (rule.change === 'updated') {
      update.run(JSON.stringify(rule.antecedent_labels), JSON.stringify(rule.consequent_labels), rule.text, rule.support, rule.confidence, rule.lift, JSON.stringify(rule.source_patterns), now, jobRunId, workspaceId, rule.rule_id);
    }
  }
  const deprecate = db.prepare(`UPDATE playbook_rules SET status = 'deprecated', deprecated_at = ?, updated_at = ?, updated_by = ? WHERE workspace_id = ? AND rule_id = ?`);
  for (const id of deprecated) deprecate.run(now, now, jobRunId, workspaceId, id);
}
