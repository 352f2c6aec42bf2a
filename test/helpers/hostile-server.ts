/**
 * Hostile servers for the remote client's tests (issue 20), Node built-ins only, on 127.0.0.1 port 0:
 *
 *   - startHostileServer(respond): a raw-socket HTTP/1.1 server. Each request is parsed (method,
 *     path, headers, body), recorded, and handed with its socket to `respond`, which writes whatever
 *     bytes the test wants: a normal answer, 100 Continue first, a body trickled byte by byte, a
 *     stall, a close or a reset. Keep-alive works when the answer is complete and the socket open.
 *   - startRefusingProxy(status): an HTTP proxy that answers every CONNECT (and any plain proxied
 *     request) with that status, and records the CONNECT targets: nothing leaves the machine.
 *   - startPlainHttpServer(): a TCP server that answers whatever arrives (a TLS ClientHello) with
 *     plain HTTP bytes, for a client pointed at https:// on a plain http port.
 *
 * Also what the hostile suites share: random API keys, assertNoKeyPiece, a timed run of the built
 * bin, and a clean environment for it. Every close() destroys every socket the server still holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after } from 'node:test';
import path from 'node:path';
import assert from 'node:assert/strict';
import { BIN, tempDir } from './cli.js';

// ---------------------------------------------------------------------------------------------
// The raw-socket HTTP/1.1 server

export interface HostileRequest {
  method: string;
  /** As sent on the request line (path and query). */
  path: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** 0 for the first request the server saw, then 1, 2, … across all connections. */
  index: number;
  at: number;
}

export type Responder = (request: HostileRequest, socket: net.Socket) => void | Promise<void>;

export interface HostileServer {
  port: number;
  /** http://127.0.0.1:<port> (no trailing slash). */
  url: string;
  requests: HostileRequest[];
  /** Resolves once `count` requests have arrived; rejects after timeoutMs. */
  waitForRequests: (count: number, timeoutMs?: number) => Promise<void>;
  close: () => Promise<void>;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;

export async function startHostileServer(respond: Responder): Promise<HostileServer> {
  const requests: HostileRequest[] = [];
  const sockets = new Set<net.Socket>();
  const waiters: Array<() => void> = [];

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let busy = false;

    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const end = buffer.indexOf(HEAD_END);
          if (end === -1) {
            if (buffer.length > MAX_HEAD) socket.destroy();
            return;
          }
          const head = buffer.subarray(0, end).toString('latin1');
          const [requestLine = '', ...headerLines] = head.split('\r\n');
          const [method = '', target = ''] = requestLine.split(' ');
          const headers: Record<string, string> = {};
          for (const line of headerLines) {
            const colon = line.indexOf(':');
            if (colon <= 0) continue;
            const name = line.slice(0, colon).trim().toLowerCase();
            const value = line.slice(colon + 1).trim();
            headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
          }
          const rest = buffer.subarray(end + HEAD_END.length);
          let body: Buffer;
          let consumed: number;
          if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
            const parsed = parseChunked(rest);
            if (!parsed) return; // wait for more bytes
            body = parsed.body;
            consumed = parsed.consumed;
          } else {
            const length = Number(headers['content-length'] ?? 0) || 0;
            if (rest.length < length) return;
            body = rest.subarray(0, length);
            consumed = length;
          }
          buffer = rest.subarray(consumed);
          const request: HostileRequest = { method, path: target, headers, body: body.toString('utf8'), index: requests.length, at: Date.now() };
          requests.push(request);
          for (const wake of waiters.splice(0)) wake();
          try {
            await respond(request, socket);
          } catch {
            socket.destroy();
          }
          if (socket.destroyed || socket.writableEnded) return;
        }
      } finally {
        busy = false;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      void pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    waitForRequests: (count, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the hostile server saw ${requests.length} of ${count} requests within ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (requests.length >= count) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
    close: () => closeAll(server, sockets),
  };
}

function parseChunked(data: Buffer): { body: Buffer; consumed: number } | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd === -1) return undefined;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return { body: Buffer.concat(parts), consumed: data.length };
    const start = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n', start);
      if (trailerEnd === -1) return undefined;
      return { body: Buffer.concat(parts), consumed: trailerEnd + 2 };
    }
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    offset = start + size + 2;
  }
}

async function closeAll(server: net.Server | http.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

// ---------------------------------------------------------------------------------------------
// What a responder writes

const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 202: 'Accepted', 302: 'Found', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
};

/** The status line and headers, with Content-Length for `bodyLength` unless a header sets framing. */
function head(status: number, headers: Record<string, string>, bodyLength?: number): string {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}`];
  const names = Object.keys(headers).map((h) => h.toLowerCase());
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (bodyLength !== undefined && !names.includes('content-length') && !names.includes('transfer-encoding')) lines.push(`Content-Length: ${bodyLength}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** One complete answer; the connection stays open for the next request unless close is set. */
export function reply(socket: net.Socket, status: number, body: string | Buffer, headers: Record<string, string> = {}, options: { close?: boolean } = {}): void {
  if (socket.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const all = options.close ? { ...headers, Connection: 'close' } : headers;
  socket.write(Buffer.concat([Buffer.from(head(status, all, bytes.length), 'latin1'), bytes]));
  if (options.close) socket.end();
}

export function replyJson(socket: net.Socket, status: number, value: unknown, options: { close?: boolean } = {}): void {
  reply(socket, status, JSON.stringify(value), { 'Content-Type': 'application/json' }, options);
}

export function replyHtml(socket: net.Socket, status: number, html: string, options: { close?: boolean } = {}): void {
  reply(socket, status, html, { 'Content-Type': 'text/html; charset=utf-8' }, options);
}

/**
 * The head at once (with the full Content-Length), then the body one byte every `everyMs`; stops
 * when the client goes away. With headToo, the head itself is trickled as well.
 */
export async function trickle(socket: net.Socket, status: number, body: string, everyMs: number, options: { headToo?: boolean; headers?: Record<string, string> } = {}): Promise<void> {
  const headBytes = head(status, { 'Content-Type': 'application/json', ...options.headers }, Buffer.byteLength(body));
  const bytes = Buffer.from(body, 'utf8');
  const steps: Buffer[] = [];
  if (options.headToo) for (const c of Buffer.from(headBytes, 'latin1')) steps.push(Buffer.from([c]));
  else socket.write(headBytes);
  for (const c of bytes) steps.push(Buffer.from([c]));
  for (const step of steps) {
    if (socket.destroyed) return;
    await new Promise((r) => setTimeout(r, everyMs));
    if (socket.destroyed) return;
    socket.write(step);
  }
}

/** Says nothing, ever: the request is left hanging until the client or close() ends the socket. */
export function stall(): void {}

// ---------------------------------------------------------------------------------------------
// A proxy that refuses CONNECT

export interface RefusingProxy {
  url: string;
  /** CONNECT targets ("host:port") and the absolute URLs of plain proxied requests. */
  targets: string[];
  close: () => Promise<void>;
}

export async function startRefusingProxy(status: number): Promise<RefusingProxy> {
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    targets.push(req.url ?? '');
    res.writeHead(status, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end(`proxy says ${status}\n`);
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    targets.push(req.url ?? '');
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Refused'}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, targets, close: () => closeAll(server, sockets) };
}

// ---------------------------------------------------------------------------------------------
// A plain HTTP server that a TLS client talks to

export interface PlainHttpServer {
  port: number;
  /** How many connections opened with a TLS handshake record (0x16). */
  tlsHellos: () => number;
  close: () => Promise<void>;
}

export async function startPlainHttpServer(): Promise<PlainHttpServer> {
  const sockets = new Set<net.Socket>();
  let hellos = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      if (chunk[0] === 0x16) hellos++;
      const body = '<html><head><title>400 Bad Request</title></head><body>plain http here</body></html>\n';
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, tlsHellos: () => hellos, close: () => closeAll(server, sockets) };
}

// ---------------------------------------------------------------------------------------------
// Keys and the no-leak check

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `nexsk_live_` and 40 random base64url characters. */
export function randomKey(): string {
  return `nexsk_live_${[...randomBytes(40)].map((b) => BASE64URL[b % 64]).join('')}`;
}

/**
 * A key with characters that JSON and URLs escape differently ("/", "+", "="), spread so that
 * no 12 characters in a row of it survive URL-encoding or JSON's "\/" unchanged.
 */
export function awkwardKey(): string {
  const chars = [...randomBytes(40)].map((b) => BASE64URL[b % 62]!);
  const specials = ['/', '+', '=', '/', '+', '=', '/', '+'];
  specials.forEach((c, i) => (chars[3 + i * 5] = c));
  return `nexsk_live_${chars.join('')}`;
}

/** The key as servers echo it back escaped: URL-encoded, JSON with "\/", JSON with \u escapes. */
function escapedForms(key: string): string[] {
  const unicode = key.replace(/[/+=]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [...new Set([key, encodeURIComponent(key), key.replace(/\//g, '\\/'), unicode])];
}

/** No 12 characters in a row of the key (nor of its escaped forms) anywhere in the text. */
export function assertNoKeyPiece(text: string, key: string, where = 'output'): void {
  for (const form of escapedForms(key)) {
    for (let i = 0; i + 12 <= form.length; i++) {
      const piece = form.slice(i, i + 12);
      const at = text.indexOf(piece);
      if (at !== -1) {
        assert.fail(`a piece of the API key (${JSON.stringify(piece)}, offset ${i} of ${form === key ? 'the key' : 'an escaped form'}) appears in ${where}: …${JSON.stringify(text.slice(Math.max(0, at - 60), at + 72))}…`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running the built bin

export interface TimedResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A fresh HOME, config dir and data dir; no color. Add NEX_API_KEY and the rest per case. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const dir = tempDir('nex-compound-hostile-');
  const home = path.join(dir, 'home');
  mkdirSync(home);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config'),
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    XDG_DATA_HOME: path.join(dir, 'xdg-data'),
    NO_COLOR: '1',
    // NEX_COMPOUND_HTTP_CLIENT=undici runs these suites through undici instead of node:http.
    ...(process.env.NEX_COMPOUND_HTTP_CLIENT ? { NEX_COMPOUND_HTTP_CLIENT: process.env.NEX_COMPOUND_HTTP_CLIENT } : {}),
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * Spawns `node bin/nex-compound.js …` with exactly this environment; SIGKILLs it after killAfterMs
 * (so a hang shows as signal SIGKILL, code null). onSpawn gets the child (for SIGINT cases).
 */
export function runTimed(
  argv: string[],
  env: Record<string, string>,
  options: { killAfterMs: number; input?: string; onSpawn?: (child: ChildProcess) => void },
): Promise<TimedResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    options.onSpawn?.(child);
  });
}

/** What every hostile case checks: the exit code, a bounded wall time, and no piece of any key. */
export function assertRun(result: TimedResult, expect: { code: number | number[]; maxMs: number; keys?: Array<string | undefined>; debug?: boolean }): void {
  const codes = Array.isArray(expect.code) ? expect.code : [expect.code];
  const shown = `exit ${result.code}${result.signal ? ` (${result.signal})` : ''} after ${result.ms} ms\n--- stderr ---\n${result.stderr.slice(0, 3000)}\n--- stdout ---\n${result.stdout.slice(0, 1500)}`;
  assert.ok(result.signal !== 'SIGKILL', `the run was still going after its kill timeout: ${shown}`);
  assert.ok(codes.includes(result.code ?? -1), `expected exit ${codes.join(' or ')}, got ${shown}`);
  assert.ok(result.ms < expect.maxMs, `expected to end within ${expect.maxMs} ms, took ${result.ms} ms: ${shown}`);
  for (const key of expect.keys ?? []) {
    if (!key) continue;
    assertNoKeyPiece(result.stdout, key, 'stdout');
    assertNoKeyPiece(result.stderr, key, 'stderr');
  }
  if (!expect.debug) assert.doesNotMatch(result.stderr, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace without --debug: ${shown}`);
}

export const JOB_A = '550e8400-e29b-41d4-a716-446655440000';
export const JOB_B = '6ba7b810-9dad-41d1-80b4-00c04fd430c8';

/** Kills a process's run after this long: every case is far quicker, so a hang shows as a failure. */
export const FAST = { killAfterMs: 15_000 };

/** The flags that point the CLI at a hostile server. */
export const remote = (server: { url: string }): string[] => ['--remote', '--base-url', server.url];

/**
 * The servers (and proxies) one test file starts, closed after it: `serve` starts a hostile
 * server, `track` adds anything else with a close().
 */
export function serverPool(): { serve: (respond: Responder) => Promise<HostileServer>; track: <T extends { close: () => Promise<void> }>(server: T) => T } {
  const servers: Array<{ close: () => Promise<void> }> = [];
  after(async () => {
    for (const server of servers) await server.close();
  });
  const track = <T extends { close: () => Promise<void> }>(server: T): T => {
    servers.push(server);
    return server;
  };
  return { serve: async (respond) => track(await startHostileServer(respond)), track };
}
