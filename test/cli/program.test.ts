/** The command tree: which module a command line loads, typed declarations that match commander, hints in CLI terms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import * as commander from 'commander';
import { RefusedError, StorageError, UsageError } from '../../src/contract/errors.js';
import { defineCommand, switchOption, valueOption } from '../../src/cli/command.js';
import type { Deps } from '../../src/cli/deps.js';
import { ExitCode, exitCodeOf } from '../../src/cli/exit-codes.js';
import { COMMAND_MODULES, buildProgram, commandWord, loadCommands } from '../../src/cli/program.js';
import { hintOf } from '../../src/cli/entry.js';
import { createUi } from '../../src/cli/ui.js';

const deps = { version: '0.0.0-test', stdout: new PassThrough(), stderr: new PassThrough(), env: {} } as unknown as Deps;

test('the command word skips global flags and their values', () => {
  assert.equal(commandWord(['trigger', 'metrics']), 'trigger');
  assert.equal(commandWord(['--db', 'x.db', '--local', 'watch', 'id']), 'watch');
  assert.equal(commandWord(['--db=x.db', '-q', 'jobs']), 'jobs');
  assert.equal(commandWord(['--workspace', '2', '--profile', 'ci', 'status']), 'status');
  assert.equal(commandWord(['--json']), undefined);
  assert.equal(commandWord(['--', 'run']), 'run');
});

test('a command line loads only its own command; help, completion and typos load them all', async () => {
  assert.deepEqual((await loadCommands('trigger')).map((c) => c.name), ['trigger']);
  assert.deepEqual((await loadCommands('insights')).map((c) => c.name), ['insights']);
  const all = Object.keys(COMMAND_MODULES);
  for (const word of [undefined, 'completion', 'triger']) assert.deepEqual((await loadCommands(word)).map((c) => c.name), all, String(word));
});

test('every declared flag parses under the key its handler reads (buildProgram checks each one)', async () => {
  const program = buildProgram(deps, commander, createUi, await loadCommands(undefined));
  assert.deepEqual(program.commands.map((c) => c.name()), Object.keys(COMMAND_MODULES));
  const misnamed = defineCommand({ name: 'x', description: 'x', options: { dry: switchOption('--dry-run', 'x') }, run: async () => ({}) });
  assert.throws(() => buildProgram(deps, commander, createUi, [misnamed]), /declared as "dry" but parses as "dryRun"/);
});

test('the handler receives its arguments and typed options', async () => {
  let seen: unknown;
  const probe = defineCommand({
    name: 'probe',
    description: 'probe',
    arguments: [{ syntax: '<first>' }, { syntax: '[rest...]' }],
    options: { limit: valueOption('--limit <n>', 'n'), all: switchOption('--all', 'all') },
    run: async (_ctx, [first, rest], options) => {
      const limit: string | undefined = options.limit;
      const all: boolean | undefined = options.all;
      seen = { first, rest, limit, all };
      return {};
    },
  });
  await buildProgram(deps, commander, createUi, [probe]).parseAsync(['probe', 'a', 'b', 'c', '--limit', '5', '--all'], { from: 'user' });
  assert.deepEqual(seen, { first: 'a', rest: ['b', 'c'], limit: '5', all: true });
});

test('error kinds map to the documented exit codes; anything else is 70', () => {
  assert.equal(exitCodeOf(new UsageError('x')), ExitCode.Usage);
  assert.equal(exitCodeOf(new StorageError('x')), ExitCode.Storage);
  assert.equal(exitCodeOf(new RefusedError('x')), ExitCode.Refused);
  assert.equal(exitCodeOf(new Error('x')), ExitCode.Internal);
});

test('hints name this CLI\'s flags and commands where the floors below only say what would help', () => {
  assert.equal(hintOf(new StorageError('x', 'move it aside and start afresh', { otherPathHelps: true })), 'move it aside and start afresh, or pass another path with --db or NEX_COMPOUND_DB');
  assert.equal(hintOf(new StorageError('x', undefined, { otherPathHelps: true })), 'pass another path with --db or NEX_COMPOUND_DB');
  assert.equal(hintOf(new StorageError('x', 'free some space and retry')), 'free some space and retry');
  assert.equal(hintOf(new RefusedError('x', 'revert b first', { revertFirst: 'b' })), 'revert b first (`nex-compound revert b`)');
});
