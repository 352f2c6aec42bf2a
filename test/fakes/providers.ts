/**
 * Fake HTTP servers for three third-party job-status APIs, written from their public reference
 * pages (../shared/seeds/002–004 and ../shared/contracts/julep-job-status.openapi.yaml):
 *
 *   Julep     GET /api/jobs/{job_id}     Authorization: <raw API key>                 (no "Bearer")
 *   jobs API  GET /api/jobs/:id          Authorization: Bearer <JWT>                  (jobs scoped to their owner)
 *   Nexio     GET /api/v1/runs/{run_id}  Authorization: Bearer nx_test_…|nx_live_…    (runs scoped to the key's environment)
 *
 * A test scripts each job as a list of steps. Every GET that reaches the job consumes the next
 * step and the last step repeats forever, so a poller sees a deterministic progression followed
 * by a stable answer. A step is either a job object (200 JSON) or any raw answer (an HTML page
 * from a proxy, a 500, a 429 with Retry-After, truncated JSON...).
 *
 * Order of checks — the same for all three, the order a real framework applies them in:
 *   1. routing: an unknown path is a 404 and a known path with a method other than GET is a 405
 *      (routing runs before any handler or auth dependency, so these ignore credentials);
 *   2. authentication: 401;
 *   3. id format: 422 (Julep, FastAPI path validation) / 400 (jobs API, Nexio);
 *   4. existence and scoping: 404. A job of another user / a run of the other environment
 *      answers exactly like a missing one, as the real servers do, so a client cannot come to
 *      rely on telling them apart.
 * Only a GET that passes all four consumes a step and counts in hits(); `requests` records
 * every request, whatever it was answered.
 *
 * Node built-ins only; each server listens on 127.0.0.1, port 0.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/**
 * One scripted answer to a GET of a job.
 * - `{ body }`: 200, application/json, the job object as given (served verbatim: a test may
 *   serve a body that breaks the contract on purpose).
 * - `{ status, ... }`: any raw answer. `body` is sent as JSON, `text` as is (give either, not
 *   both). Content-Type defaults to application/json for `body` and text/plain for `text`;
 *   set `contentType` for an HTML page or for malformed JSON sent as `text`.
 */
export type Step =
  | { body: Record<string, unknown> }
  | { status: number; body?: unknown; text?: string; contentType?: string; headers?: Record<string, string> };

export type NexioEnvironment = 'test' | 'live';

export interface FakeJob {
  /** a UUID; canonicalised (lower case, and for Julep hyphenated) like the server does */
  id: string;
  /** at least one; the last one repeats */
  steps: Step[];
  /** jobs API only: the user the job belongs to; default the user of the first token */
  owner?: string;
  /** Nexio only: default the first step body's `environment`, else 'test' */
  environment?: NexioEnvironment;
}

export interface RecordedRequest {
  method: string;
  /** the request target as sent: path plus any query string */
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface FakeProviderServer {
  /** the base URL to give the CLI: Julep `${origin}/api`, jobs API and Nexio `${origin}` */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** every request received, in order (clear it with `requests.length = 0`) */
  requests: RecordedRequest[];
  /** adds a job, or replaces the one with the same id (its script and hits start over) */
  addJob(job: FakeJob): void;
  /** GETs of that job that were served a step so far (0 for an unknown id) */
  hits(id: string): number;
  /** closes the server and destroys open (keep-alive) connections */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Body builders
// ---------------------------------------------------------------------------------------------

// Timestamps are derived from one fixed instant so bodies are deterministic; each builder takes
// overrides for tests that care about time.
const SEED_INSTANT = Date.parse('2026-03-04T12:00:00.000Z');
const isoAfter = (base: string, seconds: number): string => new Date(Date.parse(base) + seconds * 1000).toISOString();

/** Julep's server is Python: pydantic writes datetimes with microseconds, e.g. 2026-03-04T12:00:00.000000Z. */
const pythonIso = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export type JulepState = 'pending' | 'in_progress' | 'retrying' | 'succeeded' | 'aborted' | 'failed' | 'unknown';

/** JobStatus from the Julep OpenAPI document (all fields; only id, created_at, updated_at are required there). */
export type JulepJobStatus = {
  id: string;
  created_at: string;
  updated_at: string;
  name: string;
  reason: string;
  has_progress: boolean;
  progress: number;
  state: JulepState;
};

const JULEP_REASONS: Partial<Record<JulepState, string>> = {
  retrying: 'Activity failed with a transient error; retrying (attempt 2 of 3)',
  failed: 'Workflow execution failed: activity StartTimeout exceeded',
  aborted: 'Cancelled by the developer',
};

/**
 * A Julep JobStatus with every field. Defaults: progress 100 when succeeded, else 0;
 * has_progress true when a progress is given; reason set for retrying/failed/aborted;
 * updated_at = created_at while pending, else 5 s later.
 */
export function julepJob(
  id: string,
  options: { state: JulepState; progress?: number; has_progress?: boolean; reason?: string; name?: string; created_at?: string; updated_at?: string },
): JulepJobStatus {
  const created = options.created_at ?? pythonIso(SEED_INSTANT);
  const progress = options.progress ?? (options.state === 'succeeded' ? 100 : 0);
  return {
    id,
    created_at: created,
    updated_at: options.updated_at ?? (options.state === 'pending' ? created : pythonIso(Date.parse(created) + 5000)),
    name: options.name ?? 'execute_task',
    reason: options.reason ?? JULEP_REASONS[options.state] ?? '',
    has_progress: options.has_progress ?? options.progress !== undefined,
    progress,
    state: options.state,
  };
}

export type JobsApiStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED';
export type JobsApiType = 'AI_PREVIEW' | 'PARSE_DOCUMENT' | 'GAP_DETECTION' | 'RISK_ANALYSIS' | 'REPORT_GENERATION';

/** The job record of the jobs API (seed 003); absent values are null, as in its examples. */
export type JobsApiJob = {
  id: string;
  type: JobsApiType;
  status: JobsApiStatus;
  result: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
};

/** The AI_PREVIEW result and the failure message of the seed's examples. */
export const JOBS_API_EXAMPLE_RESULT = {
  output:
    'The main market risks identified are price volatility, lack of market access, and limited contract farming opportunities. Recommendations include establishing farmer cooperatives, diversifying market channels, and implementing price risk management strategies.',
};
export const JOBS_API_EXAMPLE_ERROR = 'Bedrock API error: ThrottlingException - Rate exceeded';

/**
 * A jobs API record with every field, timed like the seed's examples: started 1 s after
 * creation, updated at 2 s while processing, completed at 5 s (COMPLETED) or 15 s after three
 * attempts (FAILED). PENDING has no attempt yet.
 */
export function jobsApiJob(
  id: string,
  options: {
    status: JobsApiStatus;
    type?: JobsApiType;
    attempts?: number;
    result?: Record<string, unknown> | null;
    error?: string | null;
    createdAt?: string;
  },
): JobsApiJob {
  const created = options.createdAt ?? new Date(SEED_INSTANT).toISOString();
  const { status } = options;
  const done = status === 'COMPLETED' ? isoAfter(created, 5) : status === 'FAILED' ? isoAfter(created, 15) : null;
  return {
    id,
    type: options.type ?? 'AI_PREVIEW',
    status,
    result: options.result !== undefined ? options.result : status === 'COMPLETED' ? JOBS_API_EXAMPLE_RESULT : null,
    error: options.error !== undefined ? options.error : status === 'FAILED' ? JOBS_API_EXAMPLE_ERROR : null,
    attempts: options.attempts ?? (status === 'PENDING' ? 0 : status === 'FAILED' ? 3 : 1),
    createdAt: created,
    startedAt: status === 'PENDING' ? null : isoAfter(created, 1),
    completedAt: done,
    updatedAt: done ?? (status === 'PENDING' ? created : isoAfter(created, 2)),
  };
}

export type NexioStatus = 'queued' | 'processing' | 'completed' | 'degraded' | 'failed';

/**
 * A Nexio run (seed 004). Optional fields are absent, not null — the seed's queued example
 * carries only run_id, status, environment and created_at.
 */
export type NexioRun = {
  run_id: string;
  status: NexioStatus;
  environment: NexioEnvironment;
  created_at: string;
  engine_version?: string;
  stage?: string;
  output?: Record<string, unknown>;
  duration_ms?: number;
  error?: string;
  error_details?: Record<string, unknown>;
  completed_at?: string;
};

// The seed documents no output, error or error_details example; these are invented but shaped
// as it describes (a run summary; degraded = the same output plus degradation_reason).
export const NEXIO_EXAMPLE_OUTPUT = { summary: 'Evaluated 42 candidates; 3 passed the FILTER stage.', candidates_evaluated: 42, candidates_passed: 3 };
export const NEXIO_EXAMPLE_DEGRADATION_REASON = 'Enrichment provider timed out; results were computed without enrichment data.';
export const NEXIO_EXAMPLE_ERROR = 'Stage EVALUATE exceeded its time budget';
export const NEXIO_EXAMPLE_ERROR_DETAILS = { code: 'stage_timeout', stage: 'EVALUATE', retryable: true };

/**
 * A Nexio run with the fields its status implies: queued has the four required fields (plus
 * engine_version, which is present whenever the run was pinned — pass engine_version: null for
 * an unpinned run); processing adds a stage; terminal runs add stage, duration_ms and
 * completed_at, and output (completed/degraded, degraded with output.degradation_reason) or
 * error + error_details (failed).
 */
export function nexioRun(
  id: string,
  options: {
    status: NexioStatus;
    environment: NexioEnvironment;
    stage?: string;
    output?: Record<string, unknown>;
    error?: string;
    error_details?: Record<string, unknown>;
    duration_ms?: number;
    engine_version?: string | null;
    created_at?: string;
  },
): NexioRun {
  const { status } = options;
  const created = options.created_at ?? '2026-04-01T18:19:38.851Z';
  const run: NexioRun = { run_id: id, status, environment: options.environment, created_at: created };
  const version = options.engine_version === undefined ? '1.3' : options.engine_version;
  if (version !== null) run.engine_version = version;
  if (status === 'queued') return withOverrides(run, options);
  run.stage = options.stage ?? (status === 'processing' || status === 'failed' ? 'EVALUATE' : 'FILTER');
  if (status === 'processing') return withOverrides(run, options);
  if (status === 'completed') run.output = options.output ?? { ...NEXIO_EXAMPLE_OUTPUT };
  if (status === 'degraded') run.output = options.output ?? { ...NEXIO_EXAMPLE_OUTPUT, degradation_reason: NEXIO_EXAMPLE_DEGRADATION_REASON };
  if (status === 'failed') {
    run.error = options.error ?? NEXIO_EXAMPLE_ERROR;
    run.error_details = options.error_details ?? { ...NEXIO_EXAMPLE_ERROR_DETAILS };
  }
  run.duration_ms = options.duration_ms ?? (status === 'failed' ? 30_000 : 12_480);
  run.completed_at = new Date(Date.parse(created) + run.duration_ms).toISOString();
  return withOverrides(run, options);
}

/** Explicitly given fields win even where the status would not carry them (a test may want that). */
function withOverrides(run: NexioRun, o: { stage?: string; output?: Record<string, unknown>; error?: string; error_details?: Record<string, unknown>; duration_ms?: number }): NexioRun {
  if (o.stage !== undefined) run.stage = o.stage;
  if (o.output !== undefined) run.output = o.output;
  if (o.error !== undefined) run.error = o.error;
  if (o.error_details !== undefined) run.error_details = o.error_details;
  if (o.duration_ms !== undefined) run.duration_ms = o.duration_ms;
  return run;
}

// Raw-step builders for the usual misbehaviours of the network between the CLI and a provider.

/** An HTML error page as a proxy or CDN in front of the API would send it. */
export function htmlStep(status: number, headers?: Record<string, string>): Step {
  const text = `<!DOCTYPE html>\n<html><head><title>${status} Error</title></head><body><h1>${status}</h1><p>The upstream server returned an error.</p><hr><center>nginx</center></body></html>\n`;
  return { status, text, contentType: 'text/html; charset=utf-8', ...(headers ? { headers } : {}) };
}

/** application/json whose body is cut off mid-value. */
export function malformedJsonStep(status = 200): Step {
  return { status, text: '{"id": "550e8400-e29b-41d4-a716-446655440000", "status": "PROC', contentType: 'application/json' };
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; reply: Reply };

interface StoredJob {
  steps: Step[];
  served: number;
  owner: string | undefined;
  environment: NexioEnvironment | undefined;
}

/** What distinguishes one provider; the server around it is shared. */
interface Provider<P> {
  name: string;
  /** prefix of the only route, ending in '/'; the rest of the path (one segment) is the id */
  routePrefix: string;
  /** added to the origin to make `url` */
  basePath: string;
  noRoute: Reply;
  noMethod: Reply;
  authenticate(authorization: string | undefined): Outcome<P>;
  /** the canonical id, or the provider's validation error */
  parseId(raw: string): Outcome<string>;
  notFound: Reply;
  canSee(job: StoredJob, principal: P): boolean;
  /** fills defaults (owner, environment) or throws on a job no request could reach */
  prepare(job: FakeJob): StoredJob;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(value),
});

// Hyphenated, any version/variant: what NestJS' ParseUUIDPipe / validator's isUUID('all') and
// most Node servers accept.
const UUID_HYPHENATED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `Authorization: Bearer <token>`, scheme spelled exactly so: a client sending anything else is caught. */
const bearer = (header: string | undefined): string | undefined => /^Bearer ([^\s]+)$/.exec(header ?? '')?.[1];

function stepReply(step: Step): Reply {
  if (!('status' in step)) return json(200, step.body);
  const headers: Record<string, string> = { ...step.headers };
  let body = '';
  if (step.text !== undefined) {
    body = step.text;
    headers['content-type'] = step.contentType ?? 'text/plain; charset=utf-8';
  } else if (step.body !== undefined) {
    body = JSON.stringify(step.body);
    headers['content-type'] = step.contentType ?? 'application/json';
  } else if (step.contentType !== undefined) {
    headers['content-type'] = step.contentType;
  }
  return { status: step.status, headers, body };
}

function checkSteps(name: string, job: FakeJob): void {
  if (job.steps.length === 0) throw new TypeError(`${name}: job ${job.id} has no steps`);
  for (const step of job.steps) {
    if ('status' in step && step.text !== undefined && step.body !== undefined) {
      throw new TypeError(`${name}: a step of job ${job.id} has both body and text; give one`);
    }
  }
}

async function startProviderServer<P>(provider: Provider<P>): Promise<FakeProviderServer> {
  const jobs = new Map<string, StoredJob>();
  const requests: RecordedRequest[] = [];
  let closed = false;

  const route = (method: string, target: string, authorization: string | undefined): Reply => {
    let pathname: string;
    try {
      pathname = new URL(target, 'http://fake.invalid').pathname;
    } catch {
      return provider.noRoute;
    }
    const rawId = pathname.startsWith(provider.routePrefix) ? pathname.slice(provider.routePrefix.length) : '';
    if (rawId === '' || rawId.includes('/')) return provider.noRoute;
    if (method !== 'GET') return provider.noMethod;

    const principal = provider.authenticate(authorization);
    if (!principal.ok) return principal.reply;

    let decoded: string;
    try {
      decoded = decodeURIComponent(rawId);
    } catch {
      decoded = rawId; // not valid percent-encoding: let the id check reject it as written
    }
    const id = provider.parseId(decoded);
    if (!id.ok) return id.reply;

    const job = jobs.get(id.value);
    if (!job || !provider.canSee(job, principal.value)) return provider.notFound;
    const step = job.steps[Math.min(job.served, job.steps.length - 1)]!;
    job.served++;
    return stepReply(step);
  };

  const server = http.createServer((req, res) => {
    // Drain any body first: answering before reading it can reset the connection under the client.
    req.resume();
    req.on('end', () => {
      const method = req.method ?? '';
      const target = req.url ?? '/';
      requests.push({ method, path: target, headers: req.headers });
      const reply = route(method, target, req.headers.authorization);
      if (res.destroyed) return;
      const noBody = reply.status === 204 || reply.status === 304 || method === 'HEAD';
      res.writeHead(reply.status, { ...reply.headers, ...(noBody ? {} : { 'content-length': String(Buffer.byteLength(reply.body)) }) });
      res.end(noBody ? undefined : reply.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}${provider.basePath}`,
    origin,
    requests,
    addJob(job) {
      const id = provider.parseId(job.id);
      // Ids are validated before lookup, so a job with a malformed id could never be served.
      if (!id.ok) throw new TypeError(`${provider.name}: job id ${JSON.stringify(job.id)} is not a UUID, so no request could reach it`);
      checkSteps(provider.name, job);
      jobs.set(id.value, provider.prepare({ ...job, steps: [...job.steps] }));
    },
    hits(id) {
      const parsed = provider.parseId(id);
      return parsed.ok ? (jobs.get(parsed.value)?.served ?? 0) : 0;
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// --- Julep -----------------------------------------------------------------------------------

/**
 * Parses a job_id as pydantic (via the Rust uuid crate) does: the canonical lower-case hyphenated
 * form, or the crate's error text (pydantic prefixes it with "Input should be a valid UUID, ").
 * Accepted forms: hyphenated, 32 hex digits, {braced}, urn:uuid:-prefixed; any case.
 */
function parseJulepUuid(input: string): { canonical: string } | { error: string } {
  let body = input;
  let offset = 0;
  if (input.length === 45 && input.toLowerCase().startsWith('urn:uuid:')) {
    body = input.slice(9);
    offset = 9;
  } else if (input.length === 38 && input.startsWith('{') && input.endsWith('}')) {
    body = input.slice(1, -1);
    offset = 1;
  }
  if (UUID_HYPHENATED.test(body)) return { canonical: body.toLowerCase() };
  if (/^[0-9a-f]{32}$/i.test(body)) {
    const h = body.toLowerCase();
    return { canonical: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` };
  }
  const chars = [...body];
  const bad = chars.findIndex((c) => !/[0-9a-fA-F-]/.test(c));
  if (bad !== -1) {
    return { error: `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${chars[bad]}\` at ${bad + offset + 1}` };
  }
  const groups = body.split('-');
  if (groups.length > 1) {
    if (groups.length !== 5) return { error: `invalid group count: expected 5, found ${groups.length}` };
    const expected = [8, 4, 4, 4, 12];
    const g = groups.findIndex((group, i) => group.length !== expected[i]);
    if (g !== -1) return { error: `invalid group length in group ${g}: expected ${expected[g]}, found ${groups[g]!.length}` };
  }
  return { error: `invalid length: expected length 32 for simple format, found ${body.length}` };
}

/**
 * Julep Agents API (FastAPI). url = `${origin}/api`.
 * - Authorization carries the raw API key (securityScheme apiKey, header Authorization), so
 *   `Bearer <key>` is a wrong key. Missing → 401 {"detail":"Not authenticated"};
 *   wrong → 401 {"detail":"Invalid API key"}.
 * - job_id must parse as a UUID (format: uuid): 422 HTTPValidationError
 *   {"detail":[{"type":"uuid_parsing","loc":["path","job_id"],"msg":"Input should be a valid UUID, …","input":…,"ctx":{"error":…}}]}
 *   (input and ctx are what FastAPI with pydantic 2 adds to the documented loc/msg/type).
 * - unknown id → 404 {"detail":"Job not found"}; unknown path → 404 {"detail":"Not Found"};
 *   other method → 405 {"detail":"Method Not Allowed"} with Allow: GET (Starlette's own answers).
 */
export function startJulepServer(options: { apiKey: string }): Promise<FakeProviderServer> {
  return startProviderServer<true>({
    name: 'julep',
    routePrefix: '/api/jobs/',
    basePath: '/api',
    noRoute: json(404, { detail: 'Not Found' }),
    noMethod: json(405, { detail: 'Method Not Allowed' }, { allow: 'GET' }),
    authenticate(authorization) {
      if (authorization === undefined || authorization === '') return { ok: false, reply: json(401, { detail: 'Not authenticated' }) };
      return authorization === options.apiKey ? { ok: true, value: true } : { ok: false, reply: json(401, { detail: 'Invalid API key' }) };
    },
    parseId(raw) {
      const parsed = parseJulepUuid(raw);
      if ('canonical' in parsed) return { ok: true, value: parsed.canonical };
      const detail = [{ type: 'uuid_parsing', loc: ['path', 'job_id'], msg: `Input should be a valid UUID, ${parsed.error}`, input: raw, ctx: { error: parsed.error } }];
      return { ok: false, reply: json(422, { detail }) };
    },
    notFound: json(404, { detail: 'Job not found' }),
    canSee: () => true,
    prepare: (job) => ({ steps: job.steps, served: 0, owner: undefined, environment: undefined }),
  });
}

// --- jobs API --------------------------------------------------------------------------------

/**
 * The jobs API of seed 003. url = origin (its paths start with /api). Errors are {"error": string}:
 * - 401 "Missing or invalid Bearer token" — no header, a scheme other than "Bearer", or a token
 *   not in `tokens` (the fake's stand-in for Cognito JWT verification);
 * - 400 "Invalid UUID format" — id not a hyphenated UUID (any case);
 * - 404 "Job not found or does not belong to the requesting user" — unknown id, or a job whose
 *   owner is not the token's user;
 * - unknown path 404 {"error":"Not found"}, other method 405 {"error":"Method not allowed"} (Allow: GET).
 */
export function startJobsApiServer(options: { tokens: Record<string, string> }): Promise<FakeProviderServer> {
  const tokens = new Map(Object.entries(options.tokens));
  const firstUser = tokens.values().next().value;
  return startProviderServer<string>({
    name: 'jobs API',
    routePrefix: '/api/jobs/',
    basePath: '',
    noRoute: json(404, { error: 'Not found' }),
    noMethod: json(405, { error: 'Method not allowed' }, { allow: 'GET' }),
    authenticate(authorization) {
      const token = bearer(authorization);
      const user = token === undefined ? undefined : tokens.get(token);
      return user === undefined
        ? { ok: false, reply: json(401, { error: 'Missing or invalid Bearer token' }, { 'www-authenticate': 'Bearer' }) }
        : { ok: true, value: user };
    },
    parseId: (raw) => (UUID_HYPHENATED.test(raw) ? { ok: true, value: raw.toLowerCase() } : { ok: false, reply: json(400, { error: 'Invalid UUID format' }) }),
    notFound: json(404, { error: 'Job not found or does not belong to the requesting user' }),
    canSee: (job, user) => job.owner === user,
    prepare(job) {
      const owner = job.owner ?? firstUser;
      if (owner === undefined) throw new TypeError(`jobs API: job ${job.id} has no owner and no token maps to a user`);
      return { steps: job.steps, served: 0, owner, environment: undefined };
    },
  });
}

// --- Nexio -----------------------------------------------------------------------------------

const nexioError = (status: number, code: string, message: string, headers: Record<string, string> = {}): Reply =>
  json(status, { error: { code, message } }, headers);

const keyEnvironment = (key: string): NexioEnvironment | undefined =>
  key.startsWith('nx_test_') ? 'test' : key.startsWith('nx_live_') ? 'live' : undefined;

/**
 * Nexio (seed 004). url = origin (its paths start with /api/v1). The seed documents no error
 * bodies; this fake answers {"error":{"code","message"}}:
 * - 401 unauthorized "Invalid API key" — no header, not "Bearer <key>", or a key not in `apiKeys`;
 * - 400 invalid_request "run_id must be a valid UUID" — id not a hyphenated UUID (any case);
 * - 404 not_found "Run not found" — unknown run, or a run of the other environment than the
 *   key's prefix (nx_test_ keys see test runs only, nx_live_ keys live runs only);
 * - unknown path 404 not_found "Route not found", other method 405 method_not_allowed (Allow: GET).
 * Every key in `apiKeys` must start with nx_test_ or nx_live_ (the environment comes from it).
 */
export function startNexioServer(options: { apiKeys: string[] }): Promise<FakeProviderServer> {
  const keys = new Map<string, NexioEnvironment>();
  for (const key of options.apiKeys) {
    const environment = keyEnvironment(key);
    if (!environment) return Promise.reject(new TypeError(`nexio: API key ${JSON.stringify(key)} must start with nx_test_ or nx_live_`));
    keys.set(key, environment);
  }
  return startProviderServer<NexioEnvironment>({
    name: 'nexio',
    routePrefix: '/api/v1/runs/',
    basePath: '',
    noRoute: nexioError(404, 'not_found', 'Route not found'),
    noMethod: nexioError(405, 'method_not_allowed', 'Method not allowed', { allow: 'GET' }),
    authenticate(authorization) {
      const key = bearer(authorization);
      const environment = key === undefined ? undefined : keys.get(key);
      return environment === undefined
        ? { ok: false, reply: nexioError(401, 'unauthorized', 'Invalid API key', { 'www-authenticate': 'Bearer' }) }
        : { ok: true, value: environment };
    },
    parseId: (raw) =>
      UUID_HYPHENATED.test(raw) ? { ok: true, value: raw.toLowerCase() } : { ok: false, reply: nexioError(400, 'invalid_request', 'run_id must be a valid UUID') },
    notFound: nexioError(404, 'not_found', 'Run not found'),
    canSee: (job, environment) => job.environment === environment,
    prepare(job) {
      const first = job.steps[0];
      const fromBody = first && !('status' in first) ? first.body.environment : undefined;
      const environment = job.environment ?? (fromBody === 'live' || fromBody === 'test' ? fromBody : 'test');
      return { steps: job.steps, served: 0, owner: undefined, environment };
    },
  });
}
