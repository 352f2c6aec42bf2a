/**
 * Everything a command needs from the outside world, built in one place.
 * Tests build their own Deps with fake terminals, a fake clock and a loopback dispatcher.
 */
import type { Transport } from '../remote/transport.js';
import type { Secrets } from '../contract/redact.js';

export interface OutputStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface InputStream extends AsyncIterable<string | Buffer> {
  isTTY?: boolean;
}

export interface Deps {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after ms; rejects with an AbortError when signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform in [0, 1); jitter comes from here so tests can pin it. */
  random(): number;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  /** Overrides the HTTP client built from the environment (tests use short timeouts): an undici Dispatcher or the node:http transport. */
  dispatcher?: Transport;
  homedir: string;
  version: string;
  /** The secrets this run knows; runCli makes the set when a caller brings none. */
  secrets?: Secrets;
}
