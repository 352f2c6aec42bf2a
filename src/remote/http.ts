/**
 * One HTTP exchange with a JSON API over undici, and the classification of what
 * went wrong: which failures may be retried, and whether a request provably
 * never reached the server (the only case where a non-idempotent POST may be resent).
 */
import type { Dispatcher } from 'undici';
import { undiciCore } from './undici-core.js';
import { ServiceError } from '../contract/errors.js';
import { BODY_TIMEOUT_MS, CONNECT_TIMEOUT_MS, HEADERS_TIMEOUT_MS, type Transport, type TransportResponse } from './transport.js';
import { NodeHttpTransport } from './node-http.js';

export { BODY_TIMEOUT_MS, CONNECT_TIMEOUT_MS, HEADERS_TIMEOUT_MS, type Transport } from './transport.js';
/**
 * One request's whole life — connect, headers and the complete body — at most this long (the
 * timeouts above measure gaps, so a body trickled a byte at a time would pass them all).
 */
export const REQUEST_DEADLINE_MS = 30_000;
/** Status bodies are small; anything larger is a misrouted request, not a job. */
export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_REDIRECTS = 5;
export const RETRY_AFTER_CAP_MS = 60_000;

export { TransientError } from './transient.js';

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  url: URL;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface HttpClientOptions {
  dispatcher: Transport;
  debug: (line: string) => void;
  now: () => number;
  /** The deadline of one whole request (REQUEST_DEADLINE_MS unless configured). */
  requestDeadlineMs?: number;
}

/** The whole request took longer than its deadline: the server was reached, the answer never completed. */
export class RequestDeadlineError extends Error {
  readonly code = 'NEX_REQUEST_DEADLINE';
  constructor(readonly ms: number) {
    super(`no complete answer within ${ms / 1000}s`);
  }
}

/** Errors thrown before a single byte of the request could have been processed. */
const NEVER_REACHED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const REACHED_TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'NEX_REQUEST_DEADLINE',
]);

const DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'DNS lookup failed',
  EAI_NONAME: 'host not found (DNS)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: `connect timeout (${CONNECT_TIMEOUT_MS / 1000}s)`,
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: `no response within ${HEADERS_TIMEOUT_MS / 1000}s`,
  UND_ERR_BODY_TIMEOUT: `response body stalled for ${BODY_TIMEOUT_MS / 1000}s`,
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'response body cut short',
};

export function errorCode(error: unknown): string | undefined {
  if (error instanceof RequestDeadlineError) return error.code;
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (NEVER_REACHED_CODES.has(code) || REACHED_TRANSIENT_CODES.has(code))) return code;
    current = (current as { cause?: unknown }).cause;
  }
  const top = (error as { code?: unknown } | undefined)?.code;
  return typeof top === 'string' ? top : undefined;
}

export function describeNetworkError(error: unknown): string {
  if (error instanceof RequestDeadlineError) return error.message;
  const code = errorCode(error);
  if (code && DESCRIPTIONS[code]) return `${DESCRIPTIONS[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

export function isNeverReached(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && NEVER_REACHED_CODES.has(code);
}

export function isReachedTransient(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && REACHED_TRANSIENT_CODES.has(code);
}

/** Which HTTP client a run without a test's dispatcher uses. */
export type HttpClientKind = 'node' | 'undici';

/**
 * node:http when no proxy is set (much less to load for a one-shot request; the same timeouts,
 * errors and answers), undici through a proxy. NEX_COMPOUND_HTTP_CLIENT=undici picks undici always.
 */
export function httpClientFor(env: Readonly<Record<string, string | undefined>>): HttpClientKind {
  const { httpProxy, httpsProxy } = proxiesOf(env);
  return httpProxy || httpsProxy || env.NEX_COMPOUND_HTTP_CLIENT === 'undici' ? 'undici' : 'node';
}

/** The proxies the environment sets, read one way for choosing the client and for undici's agent (an upper-case name wins, even empty). */
function proxiesOf(env: Readonly<Record<string, string | undefined>>): { httpProxy: string | undefined; httpsProxy: string | undefined } {
  return { httpProxy: env.HTTP_PROXY ?? env.http_proxy, httpsProxy: env.HTTPS_PROXY ?? env.https_proxy };
}

/** The transport for real runs, closed by its owner when the run ends. */
export function createTransport(env: Readonly<Record<string, string | undefined>>): Transport & { close(): Promise<void> | void } {
  if (httpClientFor(env) === 'node') return new NodeHttpTransport();
  const dispatcher = createDispatcher(env);
  return { request: (request) => dispatcher.request(request), close: () => dispatcher.destroy() };
}

/**
 * The dispatcher for real runs: per-request timeouts, and HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY honoured when set. The environment is passed explicitly so tests in-process
 * can set it without touching process.env.
 */
export function createDispatcher(env: Readonly<Record<string, string | undefined>>): Dispatcher {
  const timeouts = {
    connect: { timeout: CONNECT_TIMEOUT_MS },
    headersTimeout: HEADERS_TIMEOUT_MS,
    bodyTimeout: BODY_TIMEOUT_MS,
  };
  const { httpProxy, httpsProxy } = proxiesOf(env);
  const { Agent, EnvHttpProxyAgent, buildConnector } = undiciCore();
  if (!httpProxy && !httpsProxy) {
    const connector = buildConnector({ timeout: CONNECT_TIMEOUT_MS });
    const connect: typeof connector = (options, callback) =>
      connector(options, (error, socket) => {
        if (!error && socket) skipInterimContinue(socket as unknown as import('node:net').Socket);
        (callback as (error: Error | null, socket: unknown) => void)(error, socket);
      });
    return new Agent({ headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: BODY_TIMEOUT_MS, connect });
  }
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  return new EnvHttpProxyAgent({
    ...timeouts,
    ...(httpProxy ? { httpProxy } : {}),
    ...(httpsProxy ? { httpsProxy } : {}),
    ...(noProxy !== undefined ? { noProxy } : {}),
  });
}

const CONTINUE_RE = /^HTTP\/1\.[01] 100 [^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n/;

/**
 * An interim `100 Continue` answer is dropped before undici's parser sees it: undici takes one it
 * did not ask for (we never send Expect) for a broken connection, though HTTP says a client must
 * skip it. A response starts with the first bytes read after a request was written (one request
 * at a time on a connection), and only there is a 100 looked for.
 */
function skipInterimContinue(socket: import('node:net').Socket): void {
  let atResponseStart = false;
  let pending: Buffer | undefined;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((...args: unknown[]) => {
    atResponseStart = true;
    return write(...args);
  }) as typeof socket.write;
  const read = socket.read.bind(socket);
  socket.read = ((size?: number) => {
    let chunk = read(size) as Buffer | null;
    if (!atResponseStart || chunk === null) return chunk;
    if (pending) {
      chunk = Buffer.concat([pending, chunk]);
      pending = undefined;
    }
    for (;;) {
      const head = chunk.subarray(0, 1024).toString('latin1');
      // Too short to tell yet ("HTTP/1.1 10"): wait for more before deciding.
      const undecided = head.length < 13 && ['HTTP/1.1 100 ', 'HTTP/1.0 100 '].some((start) => start.startsWith(head));
      if (!undecided && !/^HTTP\/1\.[01] 100 /.test(head)) break;
      const match = undecided ? null : CONTINUE_RE.exec(head);
      // Half a 100 so far: wait for the rest before deciding.
      if (!match) {
        pending = chunk;
        return null;
      }
      chunk = chunk.subarray(match[0].length);
      if (chunk.length === 0) return null;
    }
    atResponseStart = false;
    return chunk;
  }) as typeof socket.read;
}

/**
 * Sends one request, following same-origin redirects only: the Authorization header
 * must never travel to another origin.
 */
export async function sendRequest(req: HttpRequest, options: HttpClientOptions): Promise<HttpResponse> {
  const ms = options.requestDeadlineMs ?? REQUEST_DEADLINE_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new RequestDeadlineError(ms)), ms);
  timer.unref?.();
  const signal = req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal;
  try {
    return await exchange({ ...req, signal }, options);
  } catch (error) {
    // The caller's own abort (Ctrl-C, a watch's deadline) wins over ours.
    if (deadline.signal.aborted && !req.signal?.aborted) throw deadline.signal.reason as RequestDeadlineError;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function exchange(req: HttpRequest, options: HttpClientOptions): Promise<HttpResponse> {
  let url = req.url;
  const method = req.method;
  const body = req.body;
  for (let hop = 0; ; hop++) {
    const started = options.now();
    options.debug(`→ ${method} ${url.href}${describeHeaders(req.headers)}`);
    const response = await options.dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers: req.headers,
      body,
      signal: req.signal,
    });
    const status = response.statusCode;
    if (status >= 300 && status < 400 && status !== 304) {
      await response.body.dump().catch(() => undefined);
      const location = headerValue(response.headers, 'location');
      options.debug(`← ${status} ${location ? `Location: ${location}` : ''} (${options.now() - started} ms)`);
      if (!location) throw new ServiceError(`${url.origin} answered ${status} ${statusText(status)} without a Location`);
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        throw new ServiceError(
          `${url.origin} redirected to another origin (${next.origin}); not following, so the API key is never sent there`,
          `if ${next.origin} is the right server, pass it with --base-url`,
        );
      }
      if (hop >= MAX_REDIRECTS) throw new ServiceError(`too many redirects from ${req.url.href}`);
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        // A POST turned into a GET would drop the trigger; refuse instead of guessing.
        if (method === 'POST') throw new ServiceError(`${url.href} answered ${status} to a POST; check --base-url`);
      }
      url = next;
      continue;
    }
    const text = await readBody(response.body, url, status);
    options.debug(`← ${status} ${statusText(status)} ${Buffer.byteLength(text)}B (${options.now() - started} ms)`);
    return { status, statusText: statusText(status), headers: response.headers, text, url };
  }
}

/** An answer over the size cap; its status tells a trigger whether the job may exist. */
export class OversizedBodyError extends ServiceError {
  constructor(url: URL, readonly status: number) {
    super(`the answer from ${url.origin} (${status}) is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB; this is not a Nex API response`, 'check --base-url');
  }
}

async function readBody(body: TransportResponse['body'], url: URL, status: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      throw new OversizedBodyError(url, status);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeHeaders(headers: Record<string, string>): string {
  const shown = Object.entries(headers)
    .filter(([name]) => name.toLowerCase() !== 'user-agent')
    .map(([name, value]) => `${name}: ${name.toLowerCase() === 'authorization' ? (/^Bearer\s/i.test(value) ? 'Bearer [redacted]' : '[redacted]') : value}`);
  return shown.length ? ` {${shown.join(', ')}}` : '';
}

export function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After in seconds or as an HTTP-date; capped, never negative. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, Math.round(ms)));
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 409: 'Conflict', 413: 'Payload Too Large', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}
