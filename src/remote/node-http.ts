/**
 * The same exchange as undici's request API, over node:http and node:https, for runs without a
 * proxy: a one-shot `status` then loads none of undici's ~40 modules nor compiles its WebAssembly
 * HTTP parser (about half of such a run's start-up). It keeps undici's behaviour where the client
 * looks: the same three timeouts (connect, headers, a stalled body), the same error codes for the
 * same failures (so retries, "never reached" and messages do not depend on the path), headers in
 * undici's shape, and an abort that rejects with the signal's reason.
 */
import type { Agent, IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { BODY_TIMEOUT_MS, CONNECT_TIMEOUT_MS, HEADERS_TIMEOUT_MS, type Transport, type TransportRequest, type TransportResponse } from './transport.js';

export interface NodeHttpTimeouts {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

const DEFAULT_TIMEOUTS: NodeHttpTimeouts = { connectMs: CONNECT_TIMEOUT_MS, headersMs: HEADERS_TIMEOUT_MS, bodyMs: BODY_TIMEOUT_MS };

/** An error carrying the code undici gives the same failure. */
function codedError(code: string, message: string, cause?: unknown): Error {
  const error = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: string };
  error.code = code;
  return error;
}

/** What undici reports for a failure node:http names its own way, once the connection was made. */
function asUndiciError(error: unknown): unknown {
  const { code, syscall, reason } = (error ?? {}) as { code?: unknown; syscall?: unknown; reason?: unknown };
  if (typeof code !== 'string') return error;
  // "socket hang up": the server closed the connection (no system call failed), undici's "other side closed".
  if (code === 'ECONNRESET' && syscall === undefined) return codedError('UND_ERR_SOCKET', 'other side closed', error);
  // The same llhttp parser underneath: undici words its complaint this way, and gives it no code.
  if (code.startsWith('HPE_')) return new Error(`Response does not match the HTTP/1.1 protocol (${typeof reason === 'string' ? reason : code})`, { cause: error });
  return error;
}

export class NodeHttpTransport implements Transport {
  private readonly agents = new Map<string, Agent>();

  constructor(private readonly timeouts: NodeHttpTimeouts = DEFAULT_TIMEOUTS) {}

  async request(req: TransportRequest): Promise<TransportResponse> {
    const url = new URL(req.path, req.origin);
    const secure = url.protocol === 'https:';
    const http = secure ? await import('node:https') : await import('node:http');
    req.signal?.throwIfAborted();
    const agent = this.agentFor(url.protocol, http.Agent);
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const options: RequestOptions = { method: req.method, headers, agent };
    return new Promise<TransportResponse>((resolve, reject) => {
      const request = http.request(url, options);
      let settled = false;
      let connected = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = (ms: number, error: () => Error) => {
        clearTimeout(timer);
        timer = setTimeout(() => request.destroy(error()), ms);
        timer.unref();
      };
      const fail = (error: unknown) => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (req.signal?.aborted) reject(req.signal.reason);
        else reject(connected ? asUndiciError(error) : error);
      };
      const onAbort = () => request.destroy(req.signal?.reason as Error);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', fail);
      request.on('socket', (socket: Socket) => {
        const onConnected = () => {
          connected = true;
          arm(this.timeouts.headersMs, () => codedError('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error'));
        };
        // A kept-alive socket is connected already; a new one has the connect timeout.
        if (!socket.connecting) return onConnected();
        arm(this.timeouts.connectMs, () => codedError('UND_ERR_CONNECT_TIMEOUT', `Connect Timeout Error (attempted address: ${url.host}, timeout: ${this.timeouts.connectMs}ms)`));
        socket.once(secure ? 'secureConnect' : 'connect', onConnected);
      });
      request.on('response', (response: IncomingMessage) => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        resolve({ statusCode: response.statusCode ?? 0, headers: undiciHeaders(response), body: bodyOf(response, this.timeouts.bodyMs, req.signal) });
      });
      request.end(req.body);
    });
  }

  /** Idle kept-alive sockets closed, so that nothing holds the process after its output. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentFor(protocol: string, AgentClass: typeof Agent): Agent {
    let agent = this.agents.get(protocol);
    if (!agent) this.agents.set(protocol, (agent = new AgentClass({ keepAlive: true, maxSockets: 1 })));
    return agent;
  }
}

/** undici's shape: lower-case names, a header sent once a string, one sent more often an array. */
function undiciHeaders(response: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(response.headersDistinct)) {
    if (values) headers[name] = values.length === 1 ? values[0]! : values;
  }
  return headers;
}

/** The response body with undici's stall timeout (between two reads) and its error codes. */
function bodyOf(response: IncomingMessage, stallMs: number, signal: AbortSignal | undefined): TransportResponse['body'] {
  let timer: NodeJS.Timeout | undefined;
  const stalled = () => {
    clearTimeout(timer);
    timer = setTimeout(() => response.destroy(codedError('UND_ERR_BODY_TIMEOUT', 'Body Timeout Error')), stallMs);
    timer.unref();
  };
  const onAbort = () => response.destroy(signal?.reason as Error);
  // node:http reports a body cut short the same way whether the server closed or reset the connection; undici does not.
  let reset: Error | undefined;
  const onSocketError = (error: Error) => (reset = error);
  const socket = response.socket;
  socket?.on('error', onSocketError);
  const done = () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    socket?.off('error', onSocketError);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  stalled();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const chunk of response) {
          stalled();
          yield chunk as Buffer;
        }
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw cutShort(response, error, reset);
      } finally {
        done();
      }
    },
    async dump() {
      done();
      response.destroy();
    },
    destroy() {
      done();
      response.destroy();
    },
  };
}

/**
 * A body that ended early, as undici names it: on a connection announced as closing, a body
 * shorter than its Content-Length; otherwise the reset, or the server's close.
 */
function cutShort(response: IncomingMessage, error: unknown, reset: Error | undefined): unknown {
  if ((error as { code?: unknown }).code !== 'ECONNRESET') return asUndiciError(error);
  const closing = /\bclose\b/i.test(String(response.headers.connection ?? ''));
  if (closing && response.headers['content-length'] !== undefined) return codedError('UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'Response body bytes do not match content-length', error);
  return reset ?? codedError('UND_ERR_SOCKET', 'other side closed', error);
}
