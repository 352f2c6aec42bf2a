/**
 * A check of a whole store: SQLite's own integrity check and foreign keys, then the store's
 * invariants — every merged insight leads, through its merged_into chain, to an insight of its own
 * workspace that is not merged; nothing else has a merged_into; every change a consolidation
 * recorded names an insight that exists.
 */
import type { Database } from './db.js';

export interface StoreProblem {
  check: string;
  /** How many rows break it (the first few are named in `detail`). */
  count: number;
  detail: string;
}

export interface StoreCheck {
  problems: StoreProblem[];
  insights: number;
  jobs: number;
}

const SHOWN = 5;

function problem(check: string, ids: Array<number | string>, what: string): StoreProblem[] {
  if (ids.length === 0) return [];
  const named = ids.slice(0, SHOWN).join(', ');
  return [{ check, count: ids.length, detail: `${what}: ${named}${ids.length > SHOWN ? `, … (${ids.length - SHOWN} more)` : ''}` }];
}

export function checkStore(db: Database): StoreCheck {
  const problems: StoreProblem[] = [];
  const integrity = (db.pragma('integrity_check(100)') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
  if (!(integrity.length === 1 && integrity[0] === 'ok')) problems.push({ check: 'integrity', count: integrity.length, detail: integrity.slice(0, SHOWN).join('; ') });
  const foreign = db.pragma('foreign_key_check') as Array<{ table: string; rowid: number }>;
  problems.push(...problem('foreign keys', foreign.map((f) => `${f.table} row ${f.rowid}`), 'rows pointing at nothing'));

  const insights = db.prepare('SELECT id, workspace_id, status, merged_into FROM insights').all() as Array<{ id: number; workspace_id: number; status: string; merged_into: number | null }>;
  const byId = new Map(insights.map((i) => [i.id, i]));
  const broken: number[] = [];
  const stray: number[] = [];
  for (const insight of insights) {
    if (insight.status !== 'merged') {
      if (insight.merged_into !== null) stray.push(insight.id);
      continue;
    }
    // Follow the chain to its end: it must stay in the workspace, end, and end on an insight that is not merged.
    let current = insight;
    const seen = new Set<number>([insight.id]);
    let ok = false;
    for (;;) {
      const next = current.merged_into === null ? undefined : byId.get(current.merged_into);
      if (!next || next.workspace_id !== insight.workspace_id || seen.has(next.id)) break;
      if (next.status !== 'merged') {
        ok = true;
        break;
      }
      seen.add(next.id);
      current = next;
    }
    if (!ok) broken.push(insight.id);
  }
  problems.push(...problem('merged insights', broken, 'merged insights whose merged_into chain does not end on an insight of their workspace'));
  problems.push(...problem('merged_into', stray, 'insights that are not merged but have a merged_into'));
  const orphanChanges = db.prepare('SELECT DISTINCT c.insight_id FROM insight_changes c LEFT JOIN insights i ON i.id = c.insight_id WHERE i.id IS NULL').pluck().all() as number[];
  problems.push(...problem('recorded changes', orphanChanges, 'consolidation changes naming insights that do not exist'));
  const jobs = db.prepare('SELECT count(*) FROM jobs').pluck().get() as number;
  return { problems, insights: insights.length, jobs };
}
