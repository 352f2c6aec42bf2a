/**
 * The jobs this machine triggered on the remote API, kept in a small local history
 * ($XDG_DATA_HOME/nex-compound/remote-jobs.jsonl, the newest 200), for `nex-compound jobs`.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomically } from './files.js';
import path from 'node:path';
import type { Deps } from './deps.js';
import type { AcceptedJob } from '../contract/jobs.js';

const HISTORY_LIMIT = 200;

export interface RemoteHistoryEntry {
  job_run_id: string;
  job_type: string;
  workspace_id?: number;
  dry_run: boolean;
  triggered_at: string;
  base_url: string;
  profile: string;
}

export function historyPath(deps: Pick<Deps, 'env' | 'homedir'>): string {
  const dataHome = deps.env.XDG_DATA_HOME && path.isAbsolute(deps.env.XDG_DATA_HOME) ? deps.env.XDG_DATA_HOME : path.join(deps.homedir, '.local', 'share');
  return path.join(dataHome, 'nex-compound', 'remote-jobs.jsonl');
}

/** Best effort: a history that cannot be written must never fail a trigger that succeeded. */
export function recordRemoteJob(deps: Pick<Deps, 'env' | 'homedir' | 'now'>, job: AcceptedJob, baseUrl: string, profile: string): string | undefined {
  const file = historyPath(deps);
  const entry: RemoteHistoryEntry = {
    job_run_id: job.job_run_id,
    job_type: job.job_type,
    ...(job.workspace_id !== undefined ? { workspace_id: job.workspace_id } : {}),
    dry_run: job.dry_run,
    triggered_at: new Date(deps.now()).toISOString(),
    base_url: baseUrl,
    profile,
  };
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    appendFileSync(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    if (lines.length > HISTORY_LIMIT * 1.5) writeFileAtomically(file, `${lines.slice(-HISTORY_LIMIT).join('\n')}\n`);
    return undefined;
  } catch (error) {
    return `could not record the job in ${file}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export function readRemoteHistory(deps: Pick<Deps, 'env' | 'homedir'>, limit: number): RemoteHistoryEntry[] {
  const file = historyPath(deps);
  if (!existsSync(file)) return [];
  const entries: RemoteHistoryEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as RemoteHistoryEntry);
    } catch {
      // A torn last line from a crash is skipped, not fatal.
    }
  }
  return entries.slice(-limit).reverse();
}
