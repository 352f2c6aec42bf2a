/**
 * A fake Nex Developer API written from ../shared/contracts/nex-compounding.openapi.yaml
 * (and the seed pages it joins): POST /v1/compounding/trigger and
 * GET /v1/compounding/jobs/{job_run_id}, with scripted job progressions and injectable
 * transport/gateway faults. Node built-ins only; listens on 127.0.0.1, port 0.
 *
 * Contract points it holds to:
 * - every error body is application/json {code, message} (httpx.APIError);
 * - Authorization must be "Bearer <key>" naming a known key, else 401 (both endpoints);
 * - the trigger needs the record.write scope (403 without it); the status GET does not;
 * - a malformed body, a missing/unknown job_type or a non-boolean dry_run is a 400;
 * - 202 {job_run_id (uuid v4), job_type, workspace_id, dry_run, status: 'accepted', success: true};
 * - a job of another workspace is a 404, the same as an unknown id;
 * - optional status fields are omitted rather than null; started_at is set when the job is
 *   created; completed_at and duration_ms appear only once completed/failed; error_details
 *   only when failed.
 * Idempotency-Key is not in the contract: honouring it (default) models the server the
 * client hopes for, so a retried trigger can be shown to make exactly one job.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';

export type JobType = 'consolidation' | 'pattern_detection' | 'playbook_synthesis' | 'decay_sweep' | 'metrics';
const JOB_TYPES: readonly string[] = ['consolidation', 'pattern_detection', 'playbook_synthesis', 'decay_sweep', 'metrics'];

export interface JobStatusBody {
  job_run_id: string;
  job_type: JobType;
  workspace_id: number;
  status: 'accepted' | 'running' | 'completed' | 'failed';
  dry_run: boolean;
  insights_scanned?: number;
  insights_affected?: number;
  candidates_created?: number;
  errors?: number;
  started_at?: string;
  completed_at?: string;
  duration_ms?: number;
  error_details?: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Fault =
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string } // raw canned response
  | { kind: 'html'; status: number } // an HTML error page, as a proxy/CDN would send
  | { kind: 'malformed-json'; status?: number } // application/json, truncated body; default 200
  | { kind: 'reset' } // read the request, then destroy the socket without any response
  | { kind: 'reset-mid-body' } // 200 headers with the full content-length, half the body, then destroy
  | { kind: 'stall'; ms: number } // wait ms, then handle normally
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'retry-after'; status: 429 | 503; retryAfter: string } // {code,message} with Retry-After
  | { kind: 'process-then-reset' }; // handle normally (side effects happen), then destroy instead of replying

export interface FakeNexServerOptions {
  /** default { 'test-key-123': { workspaceId: 42, scopes: ['record.write'] } } */
  apiKeys?: Record<string, { workspaceId: number; scopes: string[] }>;
  /** default true: a repeated Idempotency-Key on the trigger replays the first 202 (same job) */
  honourIdempotencyKey?: boolean;
  /** states returned by successive GETs of a newly triggered job (the last one sticks) */
  defaultScript?: (jobType: JobType, dryRun: boolean) => Array<Partial<JobStatusBody>>;
}

export interface FakeNexServer {
  /** base URL without a trailing slash, e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** every request received, in order, including those answered by a fault */
  requests: RecordedRequest[];
  jobCount(): number;
  /** create a job directly in the default key's workspace (the first of apiKeys); returns its id */
  addJob(script: Array<Partial<JobStatusBody>>, base?: Partial<JobStatusBody>): string;
  /**
   * queue a fault for the next `times` (default 1) matching requests, FIFO; with `pathEnd`, only
   * requests whose path ends so (a job's id) match, so a late request of an earlier test cannot take it
   */
  inject(match: 'trigger' | 'status' | 'any', fault: Fault, times?: number, pathEnd?: string): void;
  /** close the server, destroy open sockets, cancel stalled requests */
  close(): Promise<void>;
}

interface Job {
  base: JobStatusBody;
  script: Array<Partial<JobStatusBody>>;
  step: number;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

type Principal = { workspaceId: number; scopes: string[] };

const DEFAULT_KEYS: Record<string, Principal> = { 'test-key-123': { workspaceId: 42, scopes: ['record.write'] } };
const TRIGGER_PATH = '/v1/compounding/trigger';
const JOBS_PREFIX = '/v1/compounding/jobs/';
const FAKE_DURATION_MS = 1500;

const defaultScript = (): Array<Partial<JobStatusBody>> => [
  { status: 'accepted' },
  { status: 'running', insights_scanned: 10 },
  { status: 'completed', insights_scanned: 20, insights_affected: 5, candidates_created: 2, errors: 0 },
];

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(value),
});
const apiError = (status: number, message: string, headers: Record<string, string> = {}): Reply => json(status, { code: status, message }, headers);

export async function startFakeNexServer(options: FakeNexServerOptions = {}): Promise<FakeNexServer> {
  const apiKeys = options.apiKeys ?? DEFAULT_KEYS;
  const defaultWorkspace = Object.values(apiKeys)[0]?.workspaceId ?? 42;
  const honourIdempotency = options.honourIdempotencyKey ?? true;
  const scriptFor = options.defaultScript ?? defaultScript;
  const jobs = new Map<string, Job>();
  const idempotent = new Map<string, Reply>();
  const faults: Array<{ match: 'trigger' | 'status' | 'any'; fault: Fault; pathEnd?: string }> = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const newJob = (base: Partial<JobStatusBody>, script: Array<Partial<JobStatusBody>>, commit: boolean): JobStatusBody => {
    const full: JobStatusBody = {
      job_run_id: randomUUID(),
      job_type: 'consolidation',
      workspace_id: defaultWorkspace,
      status: 'accepted',
      dry_run: false,
      started_at: new Date().toISOString(),
      ...base,
    };
    if (commit) jobs.set(full.job_run_id, { base: full, script: [...script], step: 0 });
    return full;
  };

  /** The job as a GET shows it at its current step (contract shape; optional fields omitted). */
  const view = (job: Job): JobStatusBody => {
    const entry = job.script.length > 0 ? job.script[Math.min(job.step, job.script.length - 1)] : undefined;
    const out: JobStatusBody = { ...job.base, ...entry, job_run_id: job.base.job_run_id };
    const record = out as unknown as Record<string, unknown>;
    if (out.status === 'completed' || out.status === 'failed') {
      const started = out.started_at === undefined ? NaN : Date.parse(out.started_at);
      const origin = Number.isNaN(started) ? Date.now() : started;
      if (out.duration_ms === undefined) {
        const done = out.completed_at === undefined ? NaN : Date.parse(out.completed_at);
        out.duration_ms = Number.isNaN(done) ? FAKE_DURATION_MS : Math.max(0, done - origin);
      }
      out.completed_at ??= new Date(origin + out.duration_ms).toISOString();
    } else {
      delete out.completed_at;
      delete out.duration_ms;
    }
    if (out.status !== 'failed') delete out.error_details;
    for (const [k, v] of Object.entries(record)) if (v === undefined || v === null) delete record[k];
    return out;
  };

  const authenticate = (headers: http.IncomingHttpHeaders): Principal | undefined => {
    const match = /^Bearer (\S+)$/.exec(headers.authorization ?? '');
    return match && Object.hasOwn(apiKeys, match[1]!) ? apiKeys[match[1]!] : undefined;
  };

  /**
   * Normal handling. With commit=false it has no side effects (no job created, no step taken,
   * nothing stored for idempotency): used to build the body a reset-mid-body cuts short.
   */
  const route = (method: string, pathname: string, headers: http.IncomingHttpHeaders, body: string, commit: boolean): Reply => {
    const principal = authenticate(headers);
    if (method === 'POST' && pathname === TRIGGER_PATH) {
      if (!principal) return apiError(401, 'Unauthorized - Invalid or missing API key');
      if (!principal.scopes.includes('record.write')) return apiError(403, 'Forbidden - the API key lacks the record.write scope');
      const rawKey = headers['idempotency-key'];
      const idemKey = honourIdempotency && typeof rawKey === 'string' && rawKey !== '' ? `${principal.workspaceId}\n${rawKey}` : undefined;
      const replay = idemKey === undefined ? undefined : idempotent.get(idemKey);
      if (replay) return replay;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return apiError(400, 'Invalid request - the body is not valid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return apiError(400, 'Invalid request - the body must be a JSON object');
      const { job_type: jobType, dry_run: dryRun } = parsed as { job_type?: unknown; dry_run?: unknown };
      if (jobType === undefined) return apiError(400, 'Invalid request - job_type is required');
      if (typeof jobType !== 'string' || !JOB_TYPES.includes(jobType)) return apiError(400, `Invalid request - unknown job_type ${JSON.stringify(jobType)}`);
      if (dryRun !== undefined && typeof dryRun !== 'boolean') return apiError(400, 'Invalid request - dry_run must be a boolean');
      const type = jobType as JobType;
      const dry = dryRun === true;
      const job = newJob({ job_type: type, workspace_id: principal.workspaceId, dry_run: dry }, commit ? scriptFor(type, dry) : [], commit);
      const reply = json(202, { job_run_id: job.job_run_id, job_type: type, workspace_id: principal.workspaceId, dry_run: dry, status: 'accepted', success: true });
      if (commit && idemKey !== undefined) idempotent.set(idemKey, reply);
      return reply;
    }
    if (method === 'GET' && pathname.startsWith(JOBS_PREFIX) && !pathname.slice(JOBS_PREFIX.length).includes('/')) {
      if (!principal) return apiError(401, 'Unauthorized - Invalid or missing API key');
      let id: string;
      try {
        id = decodeURIComponent(pathname.slice(JOBS_PREFIX.length));
      } catch {
        id = '';
      }
      const job = jobs.get(id);
      // A job of another workspace is indistinguishable from a missing one.
      if (!job || job.base.workspace_id !== principal.workspaceId) return apiError(404, 'Job not found');
      const reply = json(200, view(job));
      if (commit) job.step++;
      return reply;
    }
    return apiError(404, `Not found - no route for ${method} ${pathname}`);
  };

  const send = (res: http.ServerResponse, reply: Reply): void => {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)) });
    res.end(reply.body);
  };

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) fn();
    }, ms);
    timers.add(timer);
  };

  const applyFault = (fault: Fault, req: http.IncomingMessage, res: http.ServerResponse, pathname: string, body: string): void => {
    const method = req.method ?? '';
    switch (fault.kind) {
      case 'respond': {
        const text = fault.body ?? '';
        res.writeHead(fault.status, { ...fault.headers });
        res.end(text);
        return;
      }
      case 'html': {
        const page = `<!DOCTYPE html>\n<html><head><title>${fault.status} Error</title></head><body><h1>${fault.status}</h1><p>The upstream server returned an error.</p><hr><center>cloudflare</center></body></html>\n`;
        return send(res, { status: fault.status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: page });
      }
      case 'malformed-json':
        return send(res, { status: fault.status ?? 200, headers: { 'content-type': 'application/json' }, body: '{"job_run_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "status": "runn' });
      case 'reset':
        req.socket.destroy();
        return;
      case 'reset-mid-body': {
        const full = route(method, pathname, req.headers, body, false).body;
        const bytes = Buffer.from(full);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => later(20, () => req.socket.destroy()));
        return;
      }
      case 'stall':
        // The request still happens once the wait is over (a slow server is not a dead one);
        // its answer is written only if the client is still there.
        later(fault.ms, () => send(res, route(method, pathname, req.headers, body, true)));
        return;
      case 'redirect':
        return send(res, { status: fault.status, headers: { location: fault.location }, body: '' });
      case 'retry-after':
        return send(res, apiError(fault.status, fault.status === 429 ? 'Too Many Requests - rate limit exceeded' : 'Service Unavailable', { 'retry-after': fault.retryAfter }));
      case 'process-then-reset':
        route(method, pathname, req.headers, body, true);
        req.socket.destroy();
        return;
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? '';
      const pathname = new URL(req.url ?? '/', 'http://fake.invalid').pathname;
      requests.push({ method, path: pathname, headers: req.headers, body });
      const kind = method === 'POST' && pathname === TRIGGER_PATH ? 'trigger' : method === 'GET' && pathname.startsWith(JOBS_PREFIX) ? 'status' : 'other';
      const index = faults.findIndex((f) => (f.match === 'any' || f.match === kind) && (f.pathEnd === undefined || pathname.endsWith(f.pathEnd)));
      if (index !== -1) {
        const { fault } = faults.splice(index, 1)[0]!;
        return applyFault(fault, req, res, pathname, body);
      }
      send(res, route(method, pathname, req.headers, body, true));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    jobCount: () => jobs.size,
    addJob(script, base = {}) {
      return newJob(base, script, true).job_run_id;
    },
    inject(match, fault, times = 1, pathEnd) {
      for (let i = 0; i < times; i++) faults.push({ match, fault, ...(pathEnd !== undefined ? { pathEnd } : {}) });
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
