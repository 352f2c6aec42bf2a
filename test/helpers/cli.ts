/** Runs the CLI in-process with fake terminals, or as a real process from the built bin. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Agent } from 'undici';
import { NodeHttpTransport } from '../../src/remote/node-http.js';
import type { Transport } from '../../src/remote/transport.js';
import { fileURLToPath } from 'node:url';
import type { Deps } from '../../src/cli/deps.js';
import { runCli } from '../../src/cli/entry.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'nex-compound.js');

/** A writable that records everything; with tty it also answers the cursor calls ora makes. */
export class FakeTerminal extends Writable {
  chunks: string[] = [];
  isTTY: boolean;
  columns = 100;
  rows = 40;
  constructor(tty = false) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void) {
    this.chunks.push(chunk.toString());
    cb();
  }
  override write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }
  cursorTo(x: number) {
    this.write(`\u001b[${x + 1}G`);
    return true;
  }
  moveCursor(dx: number, dy: number) {
    if (dy < 0) this.write(`\u001b[${-dy}A`);
    void dx;
    return true;
  }
  clearLine() {
    this.write('\u001b[2K');
    return true;
  }
  get text() {
    return this.chunks.join('');
  }
}

export interface InProcessOptions {
  env?: Record<string, string | undefined>;
  stdoutTty?: boolean;
  stderrTty?: boolean;
  /** A pseudo-terminal may report no width (0). */
  stderrColumns?: number;
  stdin?: string;
  /** Fake clock: sleep advances it instantly. Defaults to real time. */
  fakeClock?: boolean;
  random?: () => number;
  signal?: AbortSignal;
  dispatcher?: Deps['dispatcher'];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  sleeps: number[];
}

export function tempDir(prefix = 'nex-compound-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A client with short timeouts so stalls fail fast in tests: undici's, or with
 * NEX_COMPOUND_HTTP_CLIENT=node the node:http transport a run without a proxy uses.
 */
export function testDispatcher(timeouts: { headers?: number; body?: number; connect?: number } = {}): Transport {
  if (process.env.NEX_COMPOUND_HTTP_CLIENT === 'node') return new NodeHttpTransport({ connectMs: timeouts.connect ?? 2000, headersMs: timeouts.headers ?? 2000, bodyMs: timeouts.body ?? 2000 });
  return new Agent({
    connect: { timeout: timeouts.connect ?? 2000 },
    headersTimeout: timeouts.headers ?? 2000,
    bodyTimeout: timeouts.body ?? 2000,
  });
}

export async function runInProcess(argv: string[], options: InProcessOptions = {}): Promise<CliResult> {
  const stdout = new FakeTerminal(options.stdoutTty ?? false);
  const stderr = new FakeTerminal(options.stderrTty ?? false);
  if (options.stderrColumns !== undefined) stderr.columns = options.stderrColumns;
  const sleeps: number[] = [];
  let clock = Date.parse('2026-11-23T12:00:00Z');
  const fake = options.fakeClock ?? false;
  const deps: Deps = {
    stdout,
    stderr,
    stdin: (async function* () {
      if (options.stdin !== undefined) yield options.stdin;
    })() as Deps['stdin'],
    env: { HOME: '/nonexistent', NEX_COMPOUND_CONFIG_DIR: tempDir('nex-compound-config-'), ...options.env },
    now: fake ? () => clock : () => Date.now(),
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      if (fake) {
        clock += ms;
        await new Promise((r) => setImmediate(r));
      } else await new Promise((r) => setTimeout(r, ms));
    },
    random: options.random ?? (() => 0.5),
    ...(options.signal ? { signal: options.signal } : {}),
    // An explicit `dispatcher: undefined` means: build it from the environment, as a real run does.
    ...('dispatcher' in options ? (options.dispatcher ? { dispatcher: options.dispatcher } : {}) : { dispatcher: testDispatcher() }),
    homedir: '/nonexistent',
    version: '0.0.0-test',
  };
  const code = await runCli(argv, deps);
  return { code, stdout: stdout.text, stderr: stderr.text, sleeps };
}

export interface SpawnResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the built bin as a real process. */
export function runBin(
  argv: string[],
  options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; onSpawn?: (child: ReturnType<typeof spawn>) => void } = {},
): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: tempDir('nex-compound-home-'), ...options.env })) {
      if (v !== undefined) env[k] = v;
    }
    const child = spawn(process.execPath, [BIN, ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
    options.onSpawn?.(child);
  });
}

/**
 * Permission tests need a user that file modes apply to; root reads and writes through any mode.
 * As root this runs the bin as nobody (runuser) — possible only where nobody can run this Node and
 * read this checkout (not when either sits in another user's private directory, as in CI's second
 * pass); `undefined` then, and the caller skips saying why. As any other user it runs the bin as is.
 */
export function runBinAsUnprivileged(argv: string[], env: Record<string, string>): { code: number | null; stdout: string; stderr: string } | undefined {
  if (process.getuid?.() !== 0) {
    const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }
  const asNobody = (args: string[]) => spawnSync('runuser', ['-u', 'nobody', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...args], { encoding: 'utf8' });
  if (asNobody([process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(BIN)}, require('fs').constants.R_OK)`]).status !== 0) return undefined;
  const r = asNobody([process.execPath, BIN, ...argv]);
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export const ANSI_RE = /\u001b\[/;

/** Whether a process with this pid is still running (signal 0 tests without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
