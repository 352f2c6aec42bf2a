/**
 * The CI examples (examples/*.yml and the README's yaml blocks) stay runnable: each file parses as
 * YAML, and every nex-compound command line in them names a real command and only options that
 * command (or the program) accepts, with a value where one is needed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadCommands } from '../../../src/cli/program.js';
import { completionTree } from '../../../src/cli/commands/completion.js';
import { ROOT } from '../../helpers/cli.js';

// The tree completion is generated from: the commands' own declarations and the global flags.
const { root, globals } = completionTree(await loadCommands(undefined), 'nex-compound');
type Spec = typeof root;

/** Every nex-compound invocation in a shell script: GitHub expressions and redirections dropped. */
function invocations(script: string): string[][] {
  const commands: string[][] = [];
  for (const line of script.replace(/\$\{\{[^}]*\}\}/g, '').split('\n')) {
    for (const segment of line.split(/&&|\|\||;|\(|\)/)) {
      const words = segment.trim().split(/\s+/);
      const start = words.indexOf('nex-compound');
      if (start !== 0) continue;
      const end = words.findIndex((w) => w.startsWith('>') || w === '|');
      commands.push(words.slice(1, end === -1 ? undefined : end));
    }
  }
  return commands;
}

/** Walks argv the way commander does; returns a list of problems (empty when the line is valid). */
function check(argv: string[]): string[] {
  const problems: string[] = [];
  let command: Spec = root;
  let positionals = 0;
  const options = () => [...globals, ...root.options, ...(command === root ? [] : command.options)];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word.startsWith('-')) {
      const [flag] = word.split('=');
      const option = options().find((o) => o.flags.includes(flag!));
      if (!option) problems.push(`${argv.join(' ')}: unknown option ${flag} for ${command.path.join(' ') || 'nex-compound'}`);
      else if (option.takesValue && !word.includes('=')) {
        const value = argv[++i];
        if (value === undefined || value.startsWith('-')) problems.push(`${argv.join(' ')}: ${flag} needs a value`);
        else if (option.values && !value.split(',').every((v) => option.values!.includes(v))) problems.push(`${argv.join(' ')}: ${flag} ${value} is not one of ${option.values.join(', ')}`);
      }
      continue;
    }
    const sub = command.subcommands.find((c) => c.path.at(-1) === word);
    if (sub && positionals === 0) command = sub;
    else if (command === root) problems.push(`${argv.join(' ')}: unknown command ${word}`);
    else if (positionals++ === 0 && command.argumentValues && !command.argumentValues.includes(word)) problems.push(`${argv.join(' ')}: ${word} is not one of ${command.argumentValues.join(', ')}`);
  }
  if (command === root && problems.length === 0 && !argv.includes('--version')) problems.push(`${argv.join(' ')}: no command`);
  if (command.subcommands.length > 0 && command !== root) problems.push(`${argv.join(' ')}: ${command.path.join(' ')} needs a subcommand`);
  return problems;
}

/** Every string under a run/script/before_script key, however deep. */
function scripts(node: unknown, key = ''): string[] {
  if (typeof node === 'string') return ['run', 'script', 'before_script', 'after_script'].includes(key) ? [node] : [];
  if (Array.isArray(node)) return node.flatMap((item) => scripts(item, key));
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => scripts(v, k));
  return [];
}

/** Every step that uses the nex-compound action with a command: its command and args as one argv. */
function actionInvocations(node: unknown): string[][] {
  if (Array.isArray(node)) return node.flatMap(actionInvocations);
  if (!node || typeof node !== 'object') return [];
  const step = node as { uses?: unknown; with?: { command?: unknown; args?: unknown } };
  const own = typeof step.uses === 'string' && /\/nex-compound@/.test(step.uses) && typeof step.with?.command === 'string' && step.with.command !== '' ? [`nex-compound ${step.with.command} ${String(step.with.args ?? '')}`] : [];
  return [...own.flatMap(invocations), ...Object.values(node).flatMap(actionInvocations)];
}

test('the checker itself catches unknown commands, options, missing values and bad job types', () => {
  assert.deepEqual(check(['run', '--timeout', '45m', '--dry-run']), []);
  assert.deepEqual(check(['--json', 'trigger', 'consolidation', '--wait']), []);
  assert.equal(check(['runn']).length, 1);
  assert.equal(check(['run', '--dryrun']).length, 1);
  assert.equal(check(['run', '--timeout']).length, 1);
  assert.equal(check(['run', '--jobs', 'consolidation,metrix']).length, 1);
  assert.equal(check(['trigger', 'pattern-detection']).length, 1);
  assert.equal(check(['insights']).length, 1);
});

test('examples/*.yml parse, and every nex-compound command in them is valid', () => {
  const dir = path.join(ROOT, 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  assert.deepEqual(files.sort(), ['github-actions.yml', 'gitlab-ci.yml']);
  // The GitHub example uses the action rather than cloning and installing the tool in each job.
  const github = readFileSync(path.join(dir, 'github-actions.yml'), 'utf8');
  assert.match(github, /uses: your-org\/nex-compound@v1/);
  assert.doesNotMatch(github, /git clone|npm pack/);
  assert.deepEqual(actionInvocations(parseYaml(github))[0], ['run']);
  for (const file of files) {
    const doc = parseYaml(readFileSync(path.join(dir, file), 'utf8'));
    const commands = [...scripts(doc).flatMap(invocations), ...actionInvocations(doc)];
    assert.ok(commands.length >= 3, `${file}: only ${commands.length} nex-compound commands found`);
    assert.ok(commands.some((argv) => argv.includes('run')), `${file} runs the pipeline`);
    assert.deepEqual(commands.flatMap(check), [], file);
  }
});

test('the README\'s yaml and sh blocks: every nex-compound command in them is valid', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```(yaml|sh)\n([\s\S]*?)```/g)];
  assert.ok(blocks.length >= 5);
  let count = 0;
  for (const [, lang, body] of blocks) {
    const texts = lang === 'yaml' ? scripts(parseYaml(body!)) : [body!.replace(/#.*$/gm, '')];
    for (const argv of [...texts.flatMap(invocations), ...(lang === 'yaml' ? actionInvocations(parseYaml(body!)) : [])]) {
      // Placeholders such as <id> and "…" stand for values.
      const concrete = argv.map((w) => (/^<.*>$|…/.test(w) ? '550e8400-e29b-41d4-a716-446655440000' : w));
      assert.deepEqual(check(concrete), [], argv.join(' '));
      count++;
    }
  }
  assert.ok(count >= 10, `only ${count} commands checked`);
});
