/** quickAnswer: --version and the cached top-level --help, or nothing (the full CLI answers). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quickAnswer } from '../../src/cli/quick.js';
import type { Deps } from '../../src/cli/deps.js';

function fakeDeps(env: Record<string, string> = {}, columns?: number): { deps: Deps; out: () => string } {
  let text = '';
  const stdout = { write: (chunk: string) => ((text += chunk), true), isTTY: columns !== undefined, ...(columns !== undefined ? { columns } : {}) };
  const deps = { stdout, stderr: stdout, env, version: '9.8.7' } as unknown as Deps;
  return { deps, out: () => text };
}

test('--version and -V print the version, alone on the line', () => {
  for (const flag of ['--version', '-V']) {
    const { deps, out } = fakeDeps();
    assert.equal(quickAnswer([flag], deps), true);
    assert.equal(out(), '9.8.7\n');
  }
});

test('anything else is left to the full CLI', () => {
  for (const argv of [[], ['status'], ['--version', '--json'], ['help'], ['-h', 'x']]) {
    const { deps, out } = fakeDeps();
    assert.equal(quickAnswer(argv, deps), false, argv.join(' '));
    assert.equal(out(), '');
  }
});

test('--help: the cached text when it fits, never when the cache is off or the terminal is narrow', () => {
  const off = fakeDeps({ NEX_COMPOUND_HELP_CACHE: 'off' });
  assert.equal(quickAnswer(['--help'], off.deps), false);
  const narrow = fakeDeps({}, 40);
  assert.equal(quickAnswer(['-h'], narrow.deps), false);
  assert.equal(narrow.out(), '');
});
