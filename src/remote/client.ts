/**
 * The remote backend: the Nex Developer API's POST /v1/compounding/trigger and
 * GET /v1/compounding/jobs/{job_run_id} (src/contract/openapi/nex-compounding.openapi.yaml),
 * and the status endpoint of each other job API it follows (src/remote/providers.ts).
 *
 * Nothing a server says is trusted: an answer is taken for a job only when it is the Nex API's
 * JSON for the job that was asked; anything else (a web page, another job, a body that never
 * ends) is a clear failure with its exit code, never a success. The server's words are redacted
 * (every secret of the run) before anything is cut, and unparsable bodies are never quoted.
 */
import { randomUUID } from 'node:crypto';
import {
  AuthError,
  KnownError,
  NotFoundError,
  ServiceError,
  TriggerOutcomeUnknownError,
  UsageError,
} from '../contract/errors.js';
import { isLoopbackHost, isUuid } from '../contract/parse.js';
import { JOB_TYPES, type AcceptedJob, type CallOptions, type JobBackend, type JobStatus, type JobType, type TriggerOptions, type TriggerRequest } from '../contract/jobs.js';
import { fullJitterBackoff } from '../contract/backoff.js';
import {
  OversizedBodyError,
  TransientError,
  describeNetworkError,
  errorCode,
  headerValue,
  isNeverReached,
  isReachedTransient,
  parseRetryAfter,
  sendRequest,
  type HttpResponse,
  type Transport,
} from './http.js';
import { isAbortError } from '../contract/abort.js';
import { PROVIDERS, type ProviderSpec } from './providers.js';

export interface RemoteBackendOptions {
  /** Nex when absent. */
  provider?: ProviderSpec;
  baseUrl: URL;
  apiKey: string;
  allowInsecureHttp: boolean;
  userAgent: string;
  /** An undici Dispatcher, or the node:http transport (http.ts's createTransport picks). */
  dispatcher: Transport;
  retries: number;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  debug: (line: string) => void;
  warn: (line: string) => void;
  /** Every secret the run knows redacted (the CLI's Ui does it); applied before anything is cut. */
  redact: (text: string) => string;
  /** The deadline of one whole request; REQUEST_DEADLINE_MS when absent. */
  requestDeadlineMs?: number;
}

export class RemoteBackend implements JobBackend {
  readonly description: string;
  readonly kind = 'remote' as const;
  readonly pollIntervalMs: number | undefined;
  private readonly authorization: string;
  private readonly provider: ProviderSpec;

  constructor(private readonly options: RemoteBackendOptions) {
    const { baseUrl } = options;
    this.provider = options.provider ?? PROVIDERS.nex;
    this.pollIntervalMs = this.provider.pollIntervalMs;
    if (baseUrl.protocol === 'http:' && !isLoopbackHost(baseUrl.hostname) && !options.allowInsecureHttp) {
      throw new UsageError(
        `refusing to send the API key over plain http to ${baseUrl.host}`,
        'use an https:// base URL, or pass --allow-insecure-http if this network is trusted',
      );
    }
    this.authorization = this.provider.authorization(options.apiKey);
    // undici refuses such a header value before sending anything; say so before trying.
    if (/[^\t\x20-\x7e]/.test(this.authorization)) {
      throw new UsageError(
        `the ${this.provider.credential} holds a character an HTTP header cannot carry (a line break, a control or a non-ASCII character); nothing was sent`,
        `copy the key again into ${this.provider.keyEnv} or \`nex-compound config set ${this.provider.keyConfig}\``,
      );
    }
    this.description = `remote ${this.provider.title} at ${baseUrl.origin}${baseUrl.pathname.replace(/\/$/, '')}`;
  }

  async trigger(request: TriggerRequest, callOptions: TriggerOptions = {}): Promise<AcceptedJob> {
    if (this.provider.name !== 'nex') {
      throw new UsageError(`nex-compound triggers Nex jobs only; ${this.provider.title} jobs are started with that API`, 'follow them with `nex-compound watch --provider ' + this.provider.name + ' <id>`');
    }
    const idempotencyKey = callOptions.idempotencyKey ?? randomUUID();
    const url = this.endpoint('v1/compounding/trigger');
    const body = JSON.stringify({ job_type: request.job_type, dry_run: request.dry_run });
    const unknownOutcome = (what: string, cause?: unknown) =>
      new TriggerOutcomeUnknownError(
        `${what}: the job may or may not have been created (Idempotency-Key ${idempotencyKey})`,
        idempotencyKey,
        // The command to resend it is the caller's to name (it knows the flags that chose this server).
        'retry with the same key, which a server honouring Idempotency-Key answers with the same job',
        { cause },
      );

    for (let attempt = 0; ; attempt++) {
      let response: HttpResponse;
      try {
        response = await sendRequest(
          {
            method: 'POST',
            url,
            headers: { ...this.headers(), 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
            body,
            ...(callOptions.signal ? { signal: callOptions.signal } : {}),
          },
          this.options,
        );
      } catch (error) {
        // An oversized success, or a server error's oversized page: the job may exist all the same.
        if (error instanceof OversizedBodyError && (isSuccess(error.status) || mayHaveActed(error.status))) {
          throw unknownOutcome(error.message, error);
        }
        if (error instanceof KnownError) throw error;
        const refusal = connectionRefusal(error, url);
        if (refusal) throw refusal;
        if (callOptions.signal?.aborted) {
          if (attempt === 0) throw error;
          throw unknownOutcome('interrupted while a retry of the trigger was in flight', error);
        }
        if (isNeverReached(error)) {
          // Safe to resend: the server never saw this request.
          await this.backoffOrThrow(attempt, describeNetworkError(error), undefined, callOptions.signal, () => unreachable(url, error, attempt + 1), retriesFor(error, this.options.retries));
          continue;
        }
        throw unknownOutcome(`the trigger request was sent but no answer arrived (${describeNetworkError(error)})`, error);
      }

      const { status } = response;
      if (status === 429 || status === 503) {
        const retryAfter = parseRetryAfter(headerValue(response.headers, 'retry-after'), this.options.now());
        await this.backoffOrThrow(attempt, `${status} ${response.statusText}`, retryAfter, callOptions.signal, () =>
          this.errorFor(response, 'trigger'),
        );
        continue;
      }
      if (status === 502 || status === 504) {
        // A gateway answered: the origin may have created the job before the gateway gave up.
        throw unknownOutcome(`${url.origin} answered ${status} ${response.statusText} from a gateway`);
      }
      if (mayHaveActed(status)) {
        // The server failed while handling the request: it may have created the job first.
        throw unknownOutcome(this.errorFor(response, 'trigger').message);
      }
      if (status < 200 || status >= 300) throw this.errorFor(response, 'trigger');

      // A success the client cannot read may still have created the job.
      const parsed = parseJsonBody(response);
      if (parsed.kind === 'html') throw unknownOutcome(`${url.origin} answered ${status} with an HTML page, not the Nex API's JSON`);
      if (parsed.kind === 'invalid') throw unknownOutcome(`the server accepted the trigger (${status}) but its answer is not valid JSON`);
      const accepted = parsed.value as Partial<AcceptedJob>;
      if (typeof accepted.job_run_id !== 'string' || !isUuid(accepted.job_run_id)) {
        throw unknownOutcome(`the server answered ${status} without a job_run_id`);
      }
      return {
        job_run_id: accepted.job_run_id,
        // Only a job type the contract knows: this answer is written to the local history file, and
        // a server echoing the Authorization header back into it must not put the key on disk.
        job_type: typeof accepted.job_type === 'string' && (JOB_TYPES as readonly string[]).includes(accepted.job_type) ? (accepted.job_type as JobType) : request.job_type,
        ...(typeof accepted.workspace_id === 'number' ? { workspace_id: accepted.workspace_id } : {}),
        dry_run: typeof accepted.dry_run === 'boolean' ? accepted.dry_run : request.dry_run,
        status: 'accepted',
        ...(typeof accepted.success === 'boolean' ? { success: accepted.success } : {}),
        replayed: headerValue(response.headers, 'idempotent-replayed')?.trim().toLowerCase() === 'true',
      };
    }
  }

  async status(jobRunId: string, callOptions: CallOptions & { retries?: number } = {}): Promise<JobStatus> {
    const retries = callOptions.retries ?? this.options.retries;
    const url = this.endpoint(this.provider.statusPath(jobRunId));
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.statusOnce(url, jobRunId, callOptions.signal);
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        if (attempt >= Math.min(retries, error.maxRetries ?? retries)) {
          // With retries used up, the failure is what it is; a watch (which asks for retries: 0
          // and polls again itself) gets it still transient, up to its own limits.
          if (error.final && (retries > 0 || callOptions.retries === undefined)) throw error.final;
          const still = new TransientError(`${error.message} (${attempt + 1} attempt${attempt === 0 ? '' : 's'})`, error.neverReached, error.retryAfterMs, { cause: error });
          throw error.final ? still.withLimit(error.maxRetries ?? Number.POSITIVE_INFINITY, error.final) : still;
        }
        await this.backoffOrThrow(attempt, error.message, error.retryAfterMs, callOptions.signal, () => error, retries);
      }
    }
  }

  private async statusOnce(url: URL, jobRunId: string, signal?: AbortSignal): Promise<JobStatus> {
    let response: HttpResponse;
    try {
      response = await sendRequest({ method: 'GET', url, headers: this.headers(), ...(signal ? { signal } : {}) }, this.options);
    } catch (error) {
      if (error instanceof KnownError) throw error;
      const refusal = connectionRefusal(error, url);
      if (refusal) throw refusal;
      if (isAbortError(error) && signal?.aborted) throw error;
      if (isNeverReached(error) || isReachedTransient(error)) {
        const transient = new TransientError(`could not read the job status from ${url.origin}: ${describeNetworkError(error)}`, isNeverReached(error), undefined, { cause: error });
        // A name that does not resolve is worth one more try, not minutes of them.
        if (isUnresolvable(error)) throw transient.withLimit(1, unreachable(url, error, 2));
        throw transient;
      }
      throw new ServiceError(`request to ${url.origin} failed: ${describeNetworkError(error)}`, undefined, { cause: error });
    }
    const { status } = response;
    const parsed = parseJsonBody(response);
    const transient = status === 408 || status === 429 || status >= 500;
    if (parsed.kind === 'html') {
      // A web page is not the API, whatever its status code: a wrong --base-url, a proxy's page.
      // A gateway's page (502, 503…) may pass, so it is polled through; if it stays, that is the answer.
      const page = notTheApi(response, this.provider, 'an HTML page', htmlTitle(response.text));
      if (!transient) throw page;
      throw new TransientError(this.errorFor(response, 'status', jobRunId).message, false).withLimit(Number.POSITIVE_INFINITY, page);
    }
    if (transient) {
      const retryAfter = parseRetryAfter(headerValue(response.headers, 'retry-after'), this.options.now());
      throw new TransientError(this.errorFor(response, 'status', jobRunId).message, false, retryAfter);
    }
    if (status !== 200 && parsed.kind === 'invalid' && parsed.reason !== 'empty body') throw notTheApi(response, this.provider, 'an answer that is not JSON');
    if (status !== 200) throw this.errorFor(response, 'status', jobRunId);
    // A complete but unparsable JSON body is most often a truncated one: worth another read.
    if (parsed.kind === 'invalid') throw new TransientError(`the job status from ${url.origin} is not valid JSON${parsed.reason === 'empty body' ? ' (an empty body)' : ''}`, false);
    const value = parsed.value;
    const jobStatus = value && typeof value === 'object' && !Array.isArray(value) ? this.provider.toStatus(value as Record<string, unknown>, jobRunId, this.options.apiKey) : undefined;
    if (!jobStatus) {
      throw new ServiceError(`the answer from ${url.origin} is not a ${this.provider.title} job status`, `check --base-url${this.provider.name === 'nex' ? '' : ` and --provider (now ${this.provider.name})`}`);
    }
    // The status of another job is no answer about this one: never taken for its outcome.
    if (String(jobStatus.job_run_id).toLowerCase() !== jobRunId.toLowerCase()) {
      throw new TransientError(`${url.origin} answered with the status of another job (${String(jobStatus.job_run_id).slice(0, 64)}) when asked for ${jobRunId}`, false);
    }
    return jobStatus;
  }

  private async backoffOrThrow(
    attempt: number,
    reason: string,
    retryAfterMs: number | undefined,
    signal: AbortSignal | undefined,
    finalError: () => Error,
    retries = this.options.retries,
  ): Promise<void> {
    if (attempt >= retries) throw finalError();
    const delay = retryAfterMs ?? fullJitterBackoff(attempt, this.options.random);
    this.options.warn(`${reason}; retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 2} of ${retries + 1})`);
    await this.options.sleep(delay, signal);
  }

  private endpoint(path: string): URL {
    return new URL(path, this.options.baseUrl);
  }

  private headers(): Record<string, string> {
    return { authorization: this.authorization, accept: 'application/json', 'user-agent': this.options.userAgent };
  }

  /** The server's {code, message}, the HTTP status, and what to do next. */
  private errorFor(response: HttpResponse, operation: 'trigger' | 'status', jobRunId?: string): KnownError {
    const { status } = response;
    // A server may echo the Authorization header back: its words are redacted whole, then cut.
    const described = describeServerError(response, this.options.redact);
    const prefix = `${response.url.origin} answered ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const message = described ? `${prefix}: ${described}` : prefix;
    const provider = this.provider;
    const setKey = `set ${provider.keyEnv}, or run \`nex-compound config set ${provider.keyConfig}\``;
    // `nex-compound serve` says who it is; its keys come from `keys create`, not the Nex web UI.
    const fromServe = /^nex-compound\//.test(headerValue(response.headers, 'server') ?? '');
    switch (status) {
      case 401:
        if (fromServe) return new AuthError(message, `${setKey} with a key of that server's \`nex-compound keys create\` (on the machine running serve)`);
        return new AuthError(message, provider.name === 'nex' ? `${setKey} (keys are created in the Nex web UI)` : `${setKey} with a valid ${provider.credential}`);
      case 403:
        if (fromServe && operation === 'trigger') return new AuthError(message, 'the key needs the record.write scope: `nex-compound keys create --scope record.write` on the machine running serve');
        return new AuthError(message, operation === 'trigger' ? 'the API key needs the record.write scope to trigger jobs: create a key with it in the Nex web UI' : `the ${provider.credential} is not allowed to read this job`);
      case 404:
        return operation === 'status'
          ? new NotFoundError(`job ${jobRunId} not found (${message})`, provider.notFoundHint)
          : new ServiceError(`${message} — the trigger endpoint was not found`, 'check --base-url (default https://app.nex.ai/api/developers)');
      case 400:
      case 422:
        return operation === 'status'
          ? new UsageError(`${provider.title} rejected job id "${jobRunId}": ${message}`, 'pass the id exactly as the API returned it')
          : new UsageError(`the server rejected the request: ${message}`);
      default:
        if (status >= 500 || status === 429 || status === 408) return new ServiceError(message, 'the service is having trouble; try again later');
        return new ServiceError(message);
    }
  }
}

type ParsedBody = { kind: 'json'; value: unknown } | { kind: 'html' } | { kind: 'invalid'; reason: string };

function parseJsonBody(response: HttpResponse): ParsedBody {
  const contentType = headerValue(response.headers, 'content-type') ?? '';
  const text = response.text.trim();
  if (/text\/html/i.test(contentType) || /^<(!doctype|html|head|body)/i.test(text)) return { kind: 'html' };
  if (text === '') return { kind: 'invalid', reason: 'empty body' };
  try {
    return { kind: 'json', value: JSON.parse(text) };
  } catch {
    // Never the parser's message: it quotes the body.
    return { kind: 'invalid', reason: 'not JSON' };
  }
}

function htmlTitle(text: string): string | undefined {
  const match = /<title[^>]*>([^<]{1,120})<\/title>/i.exec(text);
  return match?.[1]?.trim().replace(/\s+/g, ' ');
}

/** Most of a server's message shown: the whole, redacted, then cut (never cut first: a cut secret is no longer found). */
const MESSAGE_CHARS = 400;

/**
 * The server's own words about a failure, redacted and on one line; a body that is not JSON is
 * described, never quoted (it could be anything, a secret included).
 */
function describeServerError(response: HttpResponse, redact: (text: string) => string): string | undefined {
  const parsed = parseJsonBody(response);
  const shown = (text: string) => {
    const clean = oneLine(redact(text));
    return clean.length > MESSAGE_CHARS ? `${clean.slice(0, MESSAGE_CHARS - 1)}…` : clean;
  };
  if (parsed.kind === 'html') {
    const title = htmlTitle(response.text);
    return `an HTML error page${title ? ` ("${shown(title)}")` : ''}`;
  }
  if (parsed.kind === 'json' && parsed.value && typeof parsed.value === 'object') {
    const { message, error, detail } = parsed.value as { message?: unknown; error?: unknown; detail?: unknown };
    if (typeof message === 'string' && message) return shown(message);
    if (typeof error === 'string' && error) return shown(error);
    // Nexio: {"error": {"code", "message"}}.
    if (error && typeof error === 'object') {
      const { code, message: inner } = error as { code?: unknown; message?: unknown };
      if (typeof inner === 'string' && inner) return shown(typeof code === 'string' && code ? `${inner} (${code})` : inner);
    }
    // FastAPI (Julep): {"detail": "…"} or a 422's [{loc, msg, type}, …].
    if (typeof detail === 'string' && detail) return shown(detail);
    if (Array.isArray(detail)) {
      const problems = detail
        .filter((d): d is { loc?: unknown; msg?: unknown } => Boolean(d) && typeof d === 'object')
        .map((d) => {
          const where = Array.isArray(d.loc) ? d.loc.map(String).join('.') : '';
          return `${where ? `${where}: ` : ''}${typeof d.msg === 'string' ? d.msg : 'invalid'}`;
        });
      if (problems.length > 0) return shown(problems.slice(0, 5).join('; '));
    }
    return undefined;
  }
  const bytes = Buffer.byteLength(response.text);
  return bytes > 0 ? `a body that is not JSON (${bytes} bytes)` : undefined;
}

/** Why a connection could not carry the request, when no retry will change it. */
function connectionRefusal(error: unknown, url: URL): KnownError | undefined {
  const messages: string[] = [];
  const codes: string[] = [];
  for (let current: unknown = error, depth = 0; depth < 5 && current instanceof Error; depth++, current = (current as { cause?: unknown }).cause) {
    messages.push(current.message);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  const text = messages.join(' | ');
  const proxy = /Proxy response \((\d{3})\)/.exec(text);
  if (proxy) return new ServiceError(`the proxy refused CONNECT (${proxy[1]}) to ${url.host}`, 'check HTTPS_PROXY, HTTP_PROXY and NO_PROXY');
  if (codes.includes('ERR_SSL_WRONG_VERSION_NUMBER') || /wrong version number|packet length too long|ssl3_get_record/i.test(text)) {
    return new ServiceError(
      `the server at ${url.host} does not speak TLS — did you mean http://${url.host}${url.pathname}?`,
      'a plain-http server needs an http:// base URL (the API key goes over plain http only to loopback, or with --allow-insecure-http)',
    );
  }
  if (codes.includes('UND_ERR_INVALID_ARG') && /header/i.test(text)) return new UsageError('a request header holds a character HTTP cannot carry; nothing was sent', 'check the API key for line breaks or non-ASCII characters');
  return undefined;
}

/** A host name that does not resolve: another try may help (a DNS blip), minutes of them will not. */
function isUnresolvable(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOTFOUND' || code === 'EAI_NONAME';
}

function retriesFor(error: unknown, retries: number): number {
  return isUnresolvable(error) ? Math.min(1, retries) : retries;
}

function unreachable(url: URL, error: unknown, attempts: number): ServiceError {
  if (isUnresolvable(error)) return new ServiceError(`cannot resolve ${url.hostname}`, 'check --base-url and this machine\'s DNS', { cause: error });
  return new ServiceError(`could not reach ${url.origin}: ${describeNetworkError(error)} after ${attempts} attempt${attempts === 1 ? '' : 's'}`, 'check the network, --base-url and proxy settings (HTTPS_PROXY, NO_PROXY)', { cause: error });
}

/** What a web page (or another non-JSON answer) tells the user: a wrong URL, not a missing job. */
function notTheApi(response: HttpResponse, provider: ProviderSpec, what: string, title?: string): ServiceError {
  return new ServiceError(
    `this is not the ${provider.title} (got ${what}${title ? ` ("${title}")` : ''} from ${response.url.host}, status ${response.status})`,
    `check --base-url: it should point at the ${provider.title}${provider.defaultBaseUrl ? ` (default ${provider.defaultBaseUrl})` : ''}`,
  );
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const isSuccess = (status: number) => status >= 200 && status < 300;

/**
 * A 5xx other than 503 (unavailable: turned away before any work) and 501 (nothing to act on)
 * comes from a server that may have failed after creating the job.
 */
const mayHaveActed = (status: number) => status >= 500 && status !== 501 && status !== 503;
