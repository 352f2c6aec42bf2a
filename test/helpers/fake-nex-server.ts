/**
 * A fake Nex Developer API written from ../shared/contracts/nex-compounding.openapi.yaml:
 * POST /v1/compounding/trigger and GET /v1/compounding/jobs/{job_run_id}, with scripted job
 * progressions and injectable faults. Node built-ins only; listens on 127.0.0.1.
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
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'html'; status: number }
  | { kind: 'malformed-json'; status?: number }
  | { kind: 'reset' }
  | { kind: 'reset-mid-body' }
  | { kind: 'stall'; ms: number }
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'retry-after'; status: 429 | 503; retryAfter: string }
  | { kind: 'process-then-reset' };

export interface FakeNexServerOptions {
  apiKeys?: Record<string, { workspaceId: number; scopes: string[] }>;
  honourIdempotencyKey?: boolean;
  defaultScript?: (jobType: JobType, dryRun: boolean) => Array<Partial<JobStatusBody>>;
}

export interface FakeNexServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  jobCount(): number;
  addJob(script: Array<Partial<JobStatusBody>>, base?: Partial<JobStatusBody>): string;
  inject(match: 'trigger' | 'status' | 'any', fault: Fault, times?: number): void;
  close(): Promise<void>;
}

interface Job {
  base: JobStatusBody;
  script: Array<Partial<JobStatusBody>>;
  step: number;
  createdAt: number;
}

const DEFAULT_KEYS: Record<string, { workspaceId: number; scopes: string[] }> = { 'test-key-123': { workspaceId: 42, scopes: ['record.write'] } };

const defaultScript = (): Array<Partial<JobStatusBody>> => [
  { status: 'accepted' },
  { status: 'running', insights_scanned: 10 },
  { status: 'completed', insights_scanned: 20, insights_affected: 5, candidates_created: 2, errors: 0 },
];

export async function startFakeNexServer(options: FakeNexServerOptions = {}): Promise<FakeNexServer> {
  const apiKeys = options.apiKeys ?? DEFAULT_KEYS;
  const firstWorkspace = Object.values(apiKeys)[0]?.workspaceId ?? 42;
  const honourIdempotency = options.honourIdempotencyKey ?? true;
  const scriptFor = options.defaultScript ?? defaultScript;
  const jobs = new Map<string, Job>();
  const idempotent = new Map<string, { body: string; response: string }>();
  const faults: Array<{ match: 'trigger' | 'status' | 'any'; fault: Fault }> = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const createJob = (base: JobStatusBody, script: Array<Partial<JobStatusBody>>) => {
    jobs.set(base.job_run_id, { base, script, step: 0, createdAt: Date.now() });
  };

  const view = (job: Job): JobStatusBody => {
    const entry = job.script[Math.min(job.step, job.script.length - 1)] ?? {};
    const status: JobStatusBody = { ...job.base, ...entry };
    if (status.status === 'completed' || status.status === 'failed') {
      status.completed_at ??= new Date(job.createdAt + 1500).toISOString();
      status.duration_ms ??= 1500;
    }
    if (status.status !== 'failed') delete status.error_details;
    // The contract omits optional fields rather than sending null.
    for (const [k, v] of Object.entries(status)) if (v === undefined || v === null) delete (status as unknown as Record<string, unknown>)[k];
    return status;
  };

  const sendJson = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const apiError = (res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}) =>
    sendJson(res, status, { code: status, message }, headers);

  const authenticate = (req: http.IncomingMessage) => {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return match ? apiKeys[match[1]!] : undefined;
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const principal = authenticate(req);
    if (req.method === 'POST' && url.pathname === '/v1/compounding/trigger') {
      if (!principal) return apiError(res, 401, 'Unauthorized - Invalid or missing API key');
      if (!principal.scopes.includes('record.write')) return apiError(res, 403, 'API key lacks the record.write scope');
      let parsed: { job_type?: unknown; dry_run?: unknown };
      try {
        parsed = JSON.parse(body);
      } catch {
        return apiError(res, 400, 'malformed JSON body');
      }
      if (typeof parsed?.job_type !== 'string' || !JOB_TYPES.includes(parsed.job_type)) return apiError(res, 400, `unknown job_type: ${String(parsed?.job_type)}`);
      if (parsed.dry_run !== undefined && typeof parsed.dry_run !== 'boolean') return apiError(res, 400, 'dry_run must be a boolean');
      const key = req.headers['idempotency-key'];
      const scopeKey = typeof key === 'string' ? `${principal.workspaceId}:${key}` : undefined;
      if (honourIdempotency && scopeKey && idempotent.has(scopeKey)) {
        const previous = idempotent.get(scopeKey)!;
        if (previous.body !== body) return apiError(res, 422, 'Idempotency-Key reused with a different body');
        res.writeHead(202, { 'content-type': 'application/json' });
        return res.end(previous.response);
      }
      const jobType = parsed.job_type as JobType;
      const dryRun = parsed.dry_run === true;
      const id = randomUUID();
      createJob(
        { job_run_id: id, job_type: jobType, workspace_id: principal.workspaceId, status: 'accepted', dry_run: dryRun, started_at: new Date().toISOString() },
        scriptFor(jobType, dryRun),
      );
      const response = JSON.stringify({ job_run_id: id, job_type: jobType, workspace_id: principal.workspaceId, dry_run: dryRun, status: 'accepted', success: true });
      if (honourIdempotency && scopeKey) idempotent.set(scopeKey, { body, response });
      res.writeHead(202, { 'content-type': 'application/json' });
      return res.end(response);
    }
    const statusMatch = /^\/v1\/compounding\/jobs\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && statusMatch) {
      if (!principal) return apiError(res, 401, 'Unauthorized - Invalid or missing API key');
      const job = jobs.get(decodeURIComponent(statusMatch[1]!));
      // Another workspace's job is indistinguishable from a missing one.
      if (!job || job.base.workspace_id !== principal.workspaceId) return apiError(res, 404, 'compounding job not found');
      const body = view(job);
      job.step++;
      return sendJson(res, 200, body);
    }
    return apiError(res, 404, `no route for ${req.method} ${url.pathname}`);
  };

  const applyFault = (fault: Fault, req: http.IncomingMessage, res: http.ServerResponse, body: string): void => {
    switch (fault.kind) {
      case 'respond':
        res.writeHead(fault.status, fault.headers ?? {});
        res.end(fault.body ?? '');
        return;
      case 'html': {
        const page = `<!DOCTYPE html><html><head><title>${fault.status} Error</title></head><body><h1>${fault.status}</h1><p>upstream error</p></body></html>`;
        res.writeHead(fault.status, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page);
        return;
      }
      case 'malformed-json':
        res.writeHead(fault.status ?? 200, { 'content-type': 'application/json' });
        res.end('{"job_run_id": "abc", "status": "runn');
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'reset-mid-body': {
        const full = JSON.stringify({ status: 'running', job_run_id: '00000000-0000-4000-8000-000000000000', insights_scanned: 1 });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
        res.write(full.slice(0, Math.floor(full.length / 2)));
        setTimeout(() => req.socket.destroy(), 10);
        return;
      }
      case 'stall':
        setTimeout(() => {
          if (!res.destroyed) handle(req, res, body);
        }, fault.ms);
        return;
      case 'redirect':
        res.writeHead(fault.status, { location: fault.location, 'content-length': 0 });
        res.end();
        return;
      case 'retry-after':
        return apiError(res, fault.status, fault.status === 429 ? 'rate limited' : 'service unavailable', { 'retry-after': fault.retryAfter });
      case 'process-then-reset': {
        // Let the handler create the job, then drop the connection instead of answering.
        const sink = { writeHead: () => sink, end: () => undefined, destroyed: false } as unknown as http.ServerResponse;
        handle(req, sink, body);
        req.socket.destroy();
        return;
      }
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body });
      const kind = req.method === 'POST' && url.pathname === '/v1/compounding/trigger' ? 'trigger' : req.method === 'GET' && url.pathname.startsWith('/v1/compounding/jobs/') ? 'status' : 'other';
      const index = faults.findIndex((f) => f.match === 'any' || f.match === kind);
      if (index !== -1) {
        const { fault } = faults.splice(index, 1)[0]!;
        return applyFault(fault, req, res, body);
      }
      handle(req, res, body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    jobCount: () => jobs.size,
    addJob(script, base = {}) {
      const id = base.job_run_id ?? randomUUID();
      createJob(
        {
          job_run_id: id,
          job_type: 'consolidation',
          workspace_id: firstWorkspace,
          status: 'accepted',
          dry_run: false,
          started_at: new Date().toISOString(),
          ...base,
        },
        script,
      );
      return id;
    },
    inject(match, fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push({ match, fault });
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

