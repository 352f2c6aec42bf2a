/**
 * The remote backend: the Nex Developer API's POST /v1/compounding/trigger and
 * GET /v1/compounding/jobs/{job_run_id} (src/contract/openapi/nex-compounding.openapi.yaml),
 * and the status endpoint of each other job API it follows (src/backends/providers.ts).
 */
import { randomUUID } from 'node:crypto';
import { isLoopbackHost } from '../contract/parse.js';
import type { Dispatcher } from 'undici';
import {
  AuthError,
  KnownError,
  NotFoundError,
  ServiceError,
  TriggerOutcomeUnknownError,
  UsageError,
} from '../contract/errors.js';
import { redactSecrets } from '../contract/redact.js';
import { isUuid } from '../contract/parse.js';
import { JOB_TYPES, type AcceptedJob, type CallOptions, type JobBackend, type JobStatus, type JobType, type TriggerOptions, type TriggerRequest } from '../contract/jobs.js';
import { fullJitterBackoff } from '../contract/backoff.js';
import {
  OversizedBodyError,
  TransientError,
  describeNetworkError,
  headerValue,
  isNeverReached,
  isReachedTransient,
  parseRetryAfter,
  sendRequest,
  type HttpResponse,
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
  dispatcher: Dispatcher;
  retries: number;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  debug: (line: string) => void;
  warn: (line: string) => void;
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
        `retry with the same key, which a server honouring Idempotency-Key answers with the same job: nex-compound trigger ${request.job_type}${request.dry_run ? ' --dry-run' : ''} --idempotency-key ${idempotencyKey}`,
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
        if (isAbortError(error)) {
          if (attempt === 0) throw error;
          throw unknownOutcome('interrupted while a retry of the trigger was in flight', error);
        }
        if (isNeverReached(error)) {
          // Safe to resend: the server never saw this request.
          await this.backoffOrThrow(attempt, describeNetworkError(error), undefined, callOptions.signal, () =>
            new ServiceError(`could not reach ${url.origin}: ${describeNetworkError(error)} after ${attempt + 1} attempts`, 'check the network, --base-url and proxy settings (HTTPS_PROXY, NO_PROXY)', { cause: error }),
          );
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

      const parsed = parseJsonBody(response);
      if (parsed.kind === 'html') throw htmlError(response, this.provider);
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
        if (attempt >= retries) {
          // Still transient: a watch (retries 0) keeps polling through it.
          throw new TransientError(`${error.message} (${attempt + 1} attempt${attempt === 0 ? '' : 's'})`, error.neverReached, error.retryAfterMs, { cause: error });
        }
        await this.backoffOrThrow(attempt, error.message, error.retryAfterMs, callOptions.signal, () => error);
      }
    }
  }

  private async statusOnce(url: URL, jobRunId: string, signal?: AbortSignal): Promise<JobStatus> {
    let response: HttpResponse;
    try {
      response = await sendRequest({ method: 'GET', url, headers: this.headers(), ...(signal ? { signal } : {}) }, this.options);
    } catch (error) {
      if (error instanceof KnownError || isAbortError(error)) throw error;
      if (isNeverReached(error) || isReachedTransient(error)) {
        throw new TransientError(`could not read the job status from ${url.origin}: ${describeNetworkError(error)}`, isNeverReached(error), undefined, { cause: error });
      }
      throw new ServiceError(`request to ${url.origin} failed: ${describeNetworkError(error)}`, undefined, { cause: error });
    }
    const { status } = response;
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter = parseRetryAfter(headerValue(response.headers, 'retry-after'), this.options.now());
      throw new TransientError(this.errorFor(response, 'status', jobRunId).message, false, retryAfter);
    }
    if (status !== 200) throw this.errorFor(response, 'status', jobRunId);
    const parsed = parseJsonBody(response);
    if (parsed.kind === 'html') throw htmlError(response, this.provider);
    // A complete but unparsable JSON body is most often a truncated one: worth another read.
    if (parsed.kind === 'invalid') throw new TransientError(`the job status from ${url.origin} is not valid JSON (${parsed.reason})`, false);
    const value = parsed.value;
    const jobStatus = value && typeof value === 'object' && !Array.isArray(value) ? this.provider.toStatus(value as Record<string, unknown>, jobRunId, this.options.apiKey) : undefined;
    if (!jobStatus) {
      throw new ServiceError(`the answer from ${url.origin} is not a ${this.provider.title} job status`, `check --base-url${this.provider.name === 'nex' ? '' : ` and --provider (now ${this.provider.name})`}`);
    }
    return jobStatus;
  }

  private async backoffOrThrow(
    attempt: number,
    reason: string,
    retryAfterMs: number | undefined,
    signal: AbortSignal | undefined,
    finalError: () => Error,
  ): Promise<void> {
    if (attempt >= this.options.retries) throw finalError();
    const delay = retryAfterMs ?? fullJitterBackoff(attempt, this.options.random);
    this.options.warn(`${reason}; retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 2} of ${this.options.retries + 1})`);
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
    // A server may echo the Authorization header back; its words never carry our key out.
    const described = describeServerError(response);
    const serverMessage = described === undefined ? undefined : redactSecrets(described, [this.options.apiKey]);
    const prefix = `${response.url.origin} answered ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const message = serverMessage ? `${prefix}: ${serverMessage}` : prefix;
    const provider = this.provider;
    const setKey = `set ${provider.keyEnv}, or run \`nex-compound config set ${provider.keyConfig}\``;
    switch (status) {
      case 401:
        return new AuthError(message, provider.name === 'nex' ? `${setKey} (keys are created in the Nex web UI)` : `${setKey} with a valid ${provider.credential}`);
      case 403:
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
  } catch (error) {
    return { kind: 'invalid', reason: error instanceof Error ? error.message : 'parse error' };
  }
}

function htmlTitle(text: string): string | undefined {
  const match = /<title[^>]*>([^<]{1,120})<\/title>/i.exec(text);
  return match?.[1]?.trim().replace(/\s+/g, ' ');
}

function htmlError(response: HttpResponse, provider: ProviderSpec): ServiceError {
  const title = htmlTitle(response.text);
  return new ServiceError(
    `${response.url.origin} answered ${response.status} with an HTML page${title ? ` ("${title}")` : ''} instead of JSON`,
    `check --base-url: it should point at the ${provider.title}${provider.defaultBaseUrl ? ` (default ${provider.defaultBaseUrl})` : ''}`,
  );
}

function describeServerError(response: HttpResponse): string | undefined {
  const parsed = parseJsonBody(response);
  if (parsed.kind === 'html') {
    const title = htmlTitle(response.text);
    return `an HTML error page${title ? ` ("${title}")` : ''}`;
  }
  if (parsed.kind === 'json' && parsed.value && typeof parsed.value === 'object') {
    const { message, error, detail } = parsed.value as { message?: unknown; error?: unknown; detail?: unknown };
    if (typeof message === 'string' && message) return oneLine(message);
    if (typeof error === 'string' && error) return oneLine(error);
    // Nexio: {"error": {"code", "message"}}.
    if (error && typeof error === 'object') {
      const { code, message: inner } = error as { code?: unknown; message?: unknown };
      if (typeof inner === 'string' && inner) return oneLine(typeof code === 'string' && code ? `${inner} (${code})` : inner);
    }
    // FastAPI (Julep): {"detail": "…"} or a 422's [{loc, msg, type}, …].
    if (typeof detail === 'string' && detail) return oneLine(detail);
    if (Array.isArray(detail)) {
      const problems = detail
        .filter((d): d is { loc?: unknown; msg?: unknown } => Boolean(d) && typeof d === 'object')
        .map((d) => {
          const where = Array.isArray(d.loc) ? d.loc.map(String).join('.') : '';
          return `${where ? `${where}: ` : ''}${typeof d.msg === 'string' ? d.msg : 'invalid'}`;
        });
      if (problems.length > 0) return oneLine(problems.slice(0, 5).join('; ')).slice(0, 400);
    }
    return undefined;
  }
  const text = response.text.trim();
  return text ? oneLine(text).slice(0, 200) : undefined;
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
