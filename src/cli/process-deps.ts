/** The real-world Deps for a process; tests build their own. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { sleep } from '../contract/abort.js';
import type { Deps } from './deps.js';

let cachedVersion: string | undefined;
export function packageVersion(): string {
  cachedVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

export function createProcessDeps(signal?: AbortSignal): Deps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // process.stdin is built on first access; most commands never read it.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    now: () => Date.now(),
    sleep,
    random: Math.random,
    ...(signal ? { signal } : {}),
    homedir: os.homedir(),
    version: packageVersion(),
  };
}
