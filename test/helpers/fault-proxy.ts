/**
 * A fault-injecting HTTP proxy for the remote client's tests: it sits between the CLI and an
 * upstream (the fake Nex server, or a real `serve`), forwards requests, and applies a queue of
 * programmable faults to the requests that match — by method and path prefix, or simply the
 * next N requests. Node built-ins only (node:http, node:net); listens on 127.0.0.1, port 0.
 *
 * Faults that reach the upstream (latency, reset-after, reset-mid-body, truncated-body,
 * stall-body) really forward the request first, so its side effects (a job created, a status
 * step taken) happen exactly as they would behind a flaky gateway. Faults that answer by
 * themselves (reset-before, status, rate-limit, html, oversized, redirect) never forward.
 *
 * Every request is recorded (method, path, headers, body, the fault applied, whether the
 * upstream saw it and what it answered), and a second listener on another port stands for
 * "another origin": it records whether a redirected client sent it an Authorization header.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyFault =
  /** Wait ms, then forward normally (skipped if the client went away meanwhile). */
  | { kind: 'latency'; ms: number }
  /** Forward unchanged: a placeholder to script a sequence (fault, pass, fault, …). */
  | { kind: 'pass' }
  /** Reset (RST) the client's connection as soon as the request arrived; the upstream never sees it. */
  | { kind: 'reset-before' }
  /** Forward, read the upstream's whole answer, then reset the client's connection instead of replying. */
  | { kind: 'reset-after' }
  /** Forward; send the answer's headers with its full Content-Length and half its body, then reset. */
  | { kind: 'reset-mid-body' }
  /** Forward; send the headers with the full Content-Length and part of the body, then close (FIN) cleanly. */
  | { kind: 'truncated-body' }
  /** Forward; send the headers, then nothing for ms; then the rest of the body (or reset, with then: 'reset'). */
  | { kind: 'stall-body'; ms: number; then?: 'finish' | 'reset' }
  /** Answer this status with the contract's JSON error {code, message}, without forwarding. */
  | { kind: 'status'; status: number; message?: string; retryAfter?: RetryAfter }
  /** Answer 429 with this Retry-After (seconds, an HTTP-date, anything), without forwarding. */
  | { kind: 'rate-limit'; retryAfter: RetryAfter }
  /** Answer an HTML error page as nginx or Cloudflare would, without forwarding. */
  | { kind: 'html'; status: number; flavor?: 'nginx' | 'cloudflare' }
  /**
   * Answer a 200 with a huge JSON-ish body, without forwarding: 'content-length' declares
   * `bytes` (default 50 MB) and streams padding; 'endless' streams chunks until the client leaves.
   */
  | { kind: 'oversized'; mode: 'content-length' | 'endless'; bytes?: number }
  /** Answer a redirect to the proxy's second listener (another origin), same path; without forwarding. */
  | { kind: 'redirect'; status?: 301 | 302 | 303 | 307 | 308 };

export type FaultKind = ProxyFault['kind'];

/** A Retry-After value, or a function computing it when the answer is sent (for HTTP-dates). */
export type RetryAfter = string | (() => string);
const retryAfterValue = (value: RetryAfter): string => (typeof value === 'function' ? value() : value);

export interface FaultMatch {
  /** e.g. 'POST'; any method when absent */
  method?: string;
  /** e.g. '/v1/compounding/trigger'; any path when absent */
  pathPrefix?: string;
}

export interface ProxiedRequest {
  /** ms since the epoch, when the request (head and body) had arrived */
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** the fault applied, if any ('pass' counts as none) */
  fault?: FaultKind;
  /** whether the upstream received the request */
  forwarded: boolean;
  /** what the upstream answered (also when the fault kept it from the client) */
  upstream?: { status: number; headers: http.IncomingHttpHeaders; body: string };
  /** bytes of body the proxy wrote to the client (oversized, truncated and reset faults) */
  bytesSent?: number;
}

export interface OtherOriginRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT, no trailing slash */
  url: string;
  port: number;
  /** The second listener a redirect points at. */
  otherOrigin: { url: string; requests: OtherOriginRequest[] };
  requests: ProxiedRequest[];
  /** Faults applied so far ('pass' not counted). */
  faultsInjected(): number;
  /** Queue a fault for the next `times` (default 1; Infinity = always) requests that match, FIFO. */
  inject(fault: ProxyFault, options?: FaultMatch & { times?: number }): void;
  /** Queue several faults in order, each for one matching request. */
  script(faults: readonly ProxyFault[], match?: FaultMatch): void;
  /** Drop the faults not yet applied. */
  clearFaults(): void;
  close(): Promise<void>;
}

interface Queued {
  match: FaultMatch;
  fault: ProxyFault;
  remaining: number;
}

interface UpstreamReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const REASONS: Record<number, string> = { 200: 'OK', 202: 'Accepted', 307: 'Temporary Redirect', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length']);

function nginxPage(status: number): string {
  const title = `${status} ${REASONS[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n`;
}

function cloudflarePage(status: number): string {
  return `<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->\n<html lang="en-US">\n<head>\n<title>app.nex.ai | ${status}: ${REASONS[status] ?? 'Error'}</title>\n<meta charset="UTF-8" />\n</head>\n<body>\n<div id="cf-wrapper"><h1>Web server is returning an unknown error</h1><span>Error code ${status}</span>\n<p>Cloudflare Ray ID: 8a1b2c3d4e5f6789</p></div>\n</body>\n</html>\n`;
}

function rawHead(status: number, headers: Record<string, string>): string {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
  return lines.join('\r\n');
}

function forwardableHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export async function startFaultProxy(upstreamBase: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamBase);
  const queue: Queued[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let injected = 0;
  let closed = false;

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) fn();
    }, ms);
    timers.add(timer);
  };

  const take = (method: string, path: string): ProxyFault | undefined => {
    const index = queue.findIndex((q) => (q.match.method === undefined || q.match.method === method) && (q.match.pathPrefix === undefined || path.startsWith(q.match.pathPrefix)));
    if (index === -1) return undefined;
    const entry = queue[index]!;
    entry.remaining--;
    if (entry.remaining <= 0) queue.splice(index, 1);
    return entry.fault;
  };

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<UpstreamReply> =>
    new Promise((resolve, reject) => {
      const headers = { ...forwardableHeaders(req.headers), host: upstream.host, 'content-length': String(body.length) };
      const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });

  /** The upstream's answer as the client would have had it (framing headers rewritten). */
  const replyHeaders = (reply: UpstreamReply, extra: Record<string, string> = {}): Record<string, string> => ({
    ...forwardableHeaders(reply.headers),
    'content-length': String(reply.body.length),
    ...extra,
  });

  const sendJson = (res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };

  /** Streams padding until `total` bytes (or forever) while the client keeps reading; resolves with bytes written. */
  const streamPadding = (socket: Socket, total: number | undefined, chunked: boolean): Promise<number> =>
    new Promise((resolve) => {
      const piece = Buffer.from(`{"padding":"${'x'.repeat(64 * 1024 - 16)}"},\n`);
      let sent = 0;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        resolve(sent);
      };
      socket.once('close', finish);
      socket.once('error', finish);
      const pump = () => {
        while (!finished && !socket.destroyed && !closed) {
          if (total !== undefined && sent >= total) {
            socket.end();
            return;
          }
          let data = total === undefined ? piece : piece.subarray(0, Math.min(piece.length, total - sent));
          const length = data.length;
          if (chunked) data = Buffer.concat([Buffer.from(`${length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
          sent += length;
          if (!socket.write(data)) {
            socket.once('drain', pump);
            return;
          }
        }
        finish();
      };
      pump();
    });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks)).catch((error: unknown) => {
        // The proxy itself must never die on a broken connection; answer 502 when still possible.
        if (!res.headersSent && !res.destroyed) sendJson(res, 502, { code: 502, message: `fault proxy: ${error instanceof Error ? error.message : String(error)}` });
        else req.socket.destroy();
      });
    });
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    const method = req.method ?? '';
    const path = new URL(req.url ?? '/', 'http://proxy.invalid').pathname;
    const fault = take(method, path);
    const record: ProxiedRequest = { at: Date.now(), method, path, headers: req.headers, body: body.toString('utf8'), forwarded: false };
    if (fault && fault.kind !== 'pass') {
      record.fault = fault.kind;
      injected++;
    }
    requests.push(record);
    const socket = req.socket;

    const forwardRecorded = async (): Promise<UpstreamReply> => {
      record.forwarded = true;
      const reply = await forward(req, body);
      record.upstream = { status: reply.status, headers: reply.headers, body: reply.body.toString('utf8') };
      return reply;
    };
    const relay = (reply: UpstreamReply) => {
      if (res.destroyed || socket.destroyed) return;
      res.writeHead(reply.status, replyHeaders(reply));
      res.end(reply.body);
    };

    switch (fault?.kind) {
      case undefined:
      case 'pass':
        return relay(await forwardRecorded());
      case 'latency': {
        await new Promise<void>((resolve) => later(fault.ms, resolve));
        if (closed || socket.destroyed) return; // the client gave up: a real proxy would not forward either
        return relay(await forwardRecorded());
      }
      case 'reset-before':
        socket.resetAndDestroy();
        return;
      case 'reset-after':
        await forwardRecorded();
        socket.resetAndDestroy();
        return;
      case 'reset-mid-body': {
        const reply = await forwardRecorded();
        const half = reply.body.subarray(0, Math.floor(reply.body.length / 2));
        record.bytesSent = half.length;
        socket.write(rawHead(reply.status, replyHeaders(reply)));
        socket.write(half, () => later(20, () => socket.resetAndDestroy()));
        return;
      }
      case 'truncated-body': {
        const reply = await forwardRecorded();
        const part = reply.body.subarray(0, Math.max(1, Math.floor((reply.body.length * 2) / 3)));
        record.bytesSent = part.length;
        socket.write(rawHead(reply.status, replyHeaders(reply, { connection: 'close' })));
        socket.end(part);
        return;
      }
      case 'stall-body': {
        const reply = await forwardRecorded();
        // connection: close — the ServerResponse is bypassed, so this socket must not carry another request.
        socket.write(rawHead(reply.status, replyHeaders(reply, { connection: 'close' })));
        record.bytesSent = 0;
        later(fault.ms, () => {
          if (socket.destroyed) return;
          if (fault.then === 'reset') return socket.resetAndDestroy();
          record.bytesSent = reply.body.length;
          socket.end(reply.body);
        });
        return;
      }
      case 'status':
        return sendJson(res, fault.status, { code: fault.status, message: fault.message ?? `${REASONS[fault.status] ?? 'Error'} - injected by the fault proxy` }, fault.retryAfter !== undefined ? { 'retry-after': retryAfterValue(fault.retryAfter) } : {});
      case 'rate-limit':
        return sendJson(res, 429, { code: 429, message: 'Too Many Requests - rate limit exceeded' }, { 'retry-after': retryAfterValue(fault.retryAfter) });
      case 'html': {
        const page = (fault.flavor ?? 'nginx') === 'nginx' ? nginxPage(fault.status) : cloudflarePage(fault.status);
        res.writeHead(fault.status, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(page)), ...(fault.flavor === 'cloudflare' ? { server: 'cloudflare', 'cf-ray': '8a1b2c3d4e5f6789-AMS' } : { server: 'nginx/1.25.3' }) });
        res.end(page);
        return;
      }
      case 'oversized': {
        const total = fault.mode === 'endless' ? undefined : (fault.bytes ?? 50 * 1000 * 1000);
        const framing: Record<string, string> = total === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(total) };
        socket.write(rawHead(200, { 'content-type': 'application/json', connection: 'close', ...framing }));
        record.bytesSent = await streamPadding(socket, total, total === undefined);
        return;
      }
      case 'redirect': {
        const status = fault.status ?? 307;
        res.writeHead(status, { location: `${otherUrl}${req.url ?? '/'}`, 'content-length': '0' });
        res.end();
        return;
      }
    }
  };

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A client resetting a connection we are still writing to is expected here, not a crash.
    socket.on('error', () => undefined);
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  const otherRequests: OtherOriginRequest[] = [];
  const other = http.createServer((req, res) => {
    otherRequests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => sendJson(res, 404, { code: 404, message: 'another origin: nothing here' }));
  });

  const listen = (s: http.Server) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        s.off('error', reject);
        resolve((s.address() as AddressInfo).port);
      });
    });
  const [port, otherPort] = await Promise.all([listen(server), listen(other)]);
  const otherUrl = `http://127.0.0.1:${otherPort}`;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    otherOrigin: { url: otherUrl, requests: otherRequests },
    requests,
    faultsInjected: () => injected,
    inject(fault, options = {}) {
      const { times = 1, ...match } = options;
      queue.push({ match, fault, remaining: times });
    },
    script(faults, match = {}) {
      for (const fault of faults) queue.push({ match, fault, remaining: 1 });
    },
    clearFaults() {
      queue.length = 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      other.closeAllConnections();
      await Promise.all([new Promise<void>((r) => server.close(() => r())), new Promise<void>((r) => other.close(() => r()))]);
    },
  };
}
