/** Reading the playbook playbook_synthesis stored: active rules, largest leverage first. */
import type { Database } from '../../store/db.js';
import { examplesOf, patternMembers, type Example } from '../patterns/store.js';

/** What a rule says and its figures, as synthesized and as stored. */
export interface RuleBody {
  rule_id: string;
  antecedent: string[];
  consequent: string[];
  /** The two sides as they read (stems as their commonest word): what `text` says. */
  antecedent_labels: string[];
  consequent_labels: string[];
  text: string;
  support: number;
  confidence: number;
  lift: number;
  source_patterns: number[];
}

export interface RuleRecord extends RuleBody {
  /** Leverage as a count: supp(A ∪ C) − supp(A) · supp(C) / N = support · (1 − 1 / lift), the insights beyond chance. */
  beyond_chance: number;
  /** Two insights the rule holds in, quoted (from its source pattern's members). */
  examples: Example[];
  status: string;
  created_at: string | null;
  updated_at: string | null;
  deprecated_at: string | null;
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

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Leverage from the stored figures: support · (1 − 1 / lift), which needs no N. */
const BEYOND_CHANCE = `(support * (1 - 1 / max(lift, 1e-9)))`;

/** The active rules, largest leverage first; with `all` the deprecated ones too, after them. */
export function listRules(db: Database, workspaceId: number, options: { all: boolean }): RuleRecord[] {
  const rows = db
    .prepare(
      `SELECT rule_id, antecedent, consequent, antecedent_labels, consequent_labels, text, support, confidence, lift, source_patterns, status, created_at, updated_at, deprecated_at
       FROM playbook_rules WHERE workspace_id = ? ${options.all ? '' : `AND status = 'active'`}
       ORDER BY status, ${BEYOND_CHANCE} DESC, confidence DESC, rule_id`,
    )
    .all(workspaceId) as RuleRow[];
  return rows.map((r) => {
    const sourcePatterns = JSON.parse(r.source_patterns) as number[];
    return {
    rule_id: r.rule_id,
    antecedent: JSON.parse(r.antecedent) as string[],
    consequent: JSON.parse(r.consequent) as string[],
    antecedent_labels: JSON.parse(r.antecedent_labels) as string[],
    consequent_labels: JSON.parse(r.consequent_labels) as string[],
    text: r.text,
    support: r.support,
    confidence: r.confidence,
    lift: r.lift,
    source_patterns: sourcePatterns,
    beyond_chance: Math.round(r.support * (1 - 1 / Math.max(r.lift, 1e-9)) * 10) / 10,
    examples: sourcePatterns.length > 0 ? examplesOf(db, patternMembers(db, sourcePatterns[0]!)) : [],
    status: r.status,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    deprecated_at: iso(r.deprecated_at),
    };
  });
}
