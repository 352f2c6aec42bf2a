/**
 * GET status answers, serialised once and kept: a poller asks for the same job many times a
 * second, and reading and serialising its row cost more than the rest of the request. A
 * completed or failed job's body is kept until the store is replaced (a restore: the engine's
 * `replacements`); an unfinished job's until the store moves at all (a heartbeat, a commit).
 */
import type { JobStatus } from '../contract/jobs.js';
import type { Engine, StoreVersion } from '../engine/index.js';

/**
 * The status body as fastify's precompiled serialiser writes it. Properties in the order the
 * engine sets them, so the bytes are JSON.stringify's (test/server/app.test.ts checks, hostile
 * strings included): the contract's fields plus progress, stage and attempts.
 */
export const STATUS_BODY_SCHEMA = {
  type: 'object',
  properties: {
    job_run_id: { type: 'string' },
    job_type: { type: 'string' },
    workspace_id: { type: 'number' },
    status: { type: 'string' },
    dry_run: { type: 'boolean' },
    progress: { type: 'number' },
    attempts: { type: 'number' },
    stage: { type: 'string' },
    insights_scanned: { type: 'number' },
    insights_affected: { type: 'number' },
    candidates_created: { type: 'number' },
    errors: { type: 'number' },
    started_at: { type: 'string' },
    completed_at: { type: 'string' },
    duration_ms: { type: 'number' },
    // Whatever the failure recorded, written as JSON.stringify would.
    error_details: {},
  },
} as const;

interface Kept {
  workspaceId: number;
  body: string;
  finished: boolean;
  version: StoreVersion;
}

/** Jobs whose bodies are kept at most: past it the oldest go first (a poller asks for a few at a time). */
const KEPT_JOBS = 10_000;

const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed']);

/**
 * A lookup of a job's status body for a workspace: the serialised JSON, or undefined when the
 * workspace has no such job (another workspace's job included). `serialize` is the route's
 * (called only when the body is not kept).
 */
export function statusBodies(engine: Engine, version: () => StoreVersion): (workspaceId: number, jobRunId: string, serialize: (status: JobStatus) => string) => string | undefined {
  const kept = new Map<string, Kept>();
  return (workspaceId, jobRunId, serialize) => {
    const now = version();
    const hit = kept.get(jobRunId);
    if (hit && hit.version.replacements === now.replacements && (hit.finished || hit.version.changes === now.changes)) {
      return hit.workspaceId === workspaceId ? hit.body : undefined;
    }
    const status = engine.workspace(workspaceId).jobs.find(jobRunId);
    if (!status) return undefined;
    const body = serialize(status);
    if (!hit && kept.size >= KEPT_JOBS) kept.delete(kept.keys().next().value!);
    kept.set(jobRunId, { workspaceId, body, finished: FINISHED.has(status.status), version: now });
    return body;
  };
}
