/** `completion bash|zsh|fish`: generated from the command tree; bash really sources and completes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runBin, tempDir } from '../../helpers/cli.js';
import playbook from '../../../src/cli/commands/playbook.js';
import watch from '../../../src/cli/commands/watch.js';

const TOP_LEVEL = ['trigger', 'run', 'status', 'revert', 'watch', 'demo', 'insights', 'jobs', 'metrics', 'patterns', 'playbook', 'serve', 'keys', 'doctor', 'backup', 'restore', 'config', 'completion'];

/** Sources the script in a real bash and asks it to complete `words` (the last one is being typed). */
function complete(script: string, words: string[], cwd?: string): string[] {
  const file = path.join(tempDir('nex-compound-completion-'), 'nex-compound.bash');
  writeFileSync(file, script);
  const array = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `source ${JSON.stringify(file)} && COMP_WORDS=(${array}) && COMP_CWORD=${words.length - 1} && _nex_compound; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter(Boolean);
}

test('bash: the script sources without error and completes commands, options, job types, providers and subcommands', async () => {
  const r = await runBin(['completion', 'bash']);
  assert.equal(r.code, 0, r.stderr);
  const syntax = spawnSync('bash', ['-n'], { input: r.stdout, encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);

  assert.deepEqual(complete(r.stdout, ['nex-compound', '']).filter((w) => !w.startsWith('-')).sort(), [...TOP_LEVEL].sort());
  assert.deepEqual(complete(r.stdout, ['nex-compound', 'tr']), ['trigger']);
  // Global options before the command do not hide it.
  const trigger = complete(r.stdout, ['nex-compound', '--json', 'trigger', '']);
  for (const jobType of ['consolidation', 'pattern_detection', 'playbook_synthesis', 'decay_sweep', 'metrics']) assert.ok(trigger.includes(jobType), jobType);
  assert.ok(trigger.includes('--dry-run'));
  assert.deepEqual(complete(r.stdout, ['nex-compound', 'watch', '--provider', 'j']), ['julep', 'jobs']);
  assert.deepEqual(complete(r.stdout, ['nex-compound', 'status', '--ex']), ['--exit-status']);
  // An option's value is not taken for a command: `--profile insights` then a subcommand of nothing.
  assert.deepEqual(complete(r.stdout, ['nex-compound', 'insights', 'im']), ['import']);
  assert.ok(complete(r.stdout, ['nex-compound', 'config', 'set', 'julep.']).includes('julep.api-key'));
});

test('zsh and fish scripts cover every command and the job types', async () => {
  for (const shell of ['zsh', 'fish']) {
    const r = await runBin(['completion', shell]);
    assert.equal(r.code, 0, r.stderr);
    for (const command of TOP_LEVEL) assert.match(r.stdout, new RegExp(`\\b${command}\\b`), `${shell}: ${command}`);
    assert.match(r.stdout, /pattern_detection/);
    assert.match(r.stdout, /julep/);
  }
  const zsh = await runBin(['completion', 'zsh']);
  assert.match(zsh.stdout, /^#compdef nex-compound/);
  assert.match(zsh.stdout, /compdef _nex_compound nex-compound/);
  const fish = await runBin(['completion', 'fish']);
  assert.match(fish.stdout, /complete -c nex-compound -n '__fish_use_subcommand' -a trigger/);
  assert.match(fish.stdout, /-l provider -x -a 'nex julep nexio jobs'/);
});

test('an unknown shell is a usage error (exit 2) naming the shells', async () => {
  const r = await runBin(['completion', 'tcsh']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /no completion for shell "tcsh"/);
  assert.match(r.stderr, /bash, zsh, fish/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('bash: a flag offers exactly the values its command accepts (from the same declaration), global flags follow a subcommand, filenames only for paths', async () => {
  const { stdout: script } = await runBin(['completion', 'bash']);
  assert.doesNotMatch(script, /-o default/);
  assert.deepEqual(complete(script, ['nex-compound', 'playbook', '--format', '']), ['text', 'table', 'markdown', 'md']);
  assert.deepEqual(complete(script, ['nex-compound', 'playbook', '--format', '']), [...playbook.options!.format.values!]);
  assert.deepEqual(complete(script, ['nex-compound', 'insights', 'import', 'x.csv', '--format', '']), ['jsonl', 'csv']);
  assert.deepEqual(complete(script, ['nex-compound', 'jobs', '--status', '']), ['accepted', 'running', 'completed', 'failed']);
  assert.deepEqual(complete(script, ['nex-compound', 'insights', 'list', '--status', '']), ['active', 'merged', 'archived']);
  assert.deepEqual(complete(script, ['nex-compound', 'keys', 'create', '--scope', '']), ['record.read', 'record.write']);
  assert.deepEqual(complete(script, ['nex-compound', 'watch', '--provider', '']), [...watch.options!.provider.values!]);
  assert.deepEqual(complete(script, ['nex-compound', 'completion', '']).filter((w) => !w.startsWith('-')), ['bash', 'zsh', 'fish']);

  // Global flags after a subcommand, and after a subcommand of a group.
  assert.deepEqual(complete(script, ['nex-compound', 'watch', '--j']).sort(), ['--jq', '--json']);
  assert.ok(complete(script, ['nex-compound', 'insights', 'list', '--']).includes('--local'));
  assert.ok(complete(script, ['nex-compound', 'config', 'set', '--']).includes('--profile'));

  // In a directory with files: none offered for a duration, a count or a job id; offered for paths.
  const dir = tempDir('nex-compound-completion-cwd-');
  writeFileSync(path.join(dir, 'notes.jsonl'), '');
  writeFileSync(path.join(dir, 'engine.db'), '');
  for (const words of [
    ['watch', '--timeout', ''],
    ['trigger', 'metrics', '--retries', ''],
    ['status', '--retries', ''],
    ['run', '--interval', ''],
    ['jobs', '--since', ''],
    ['--base-url', ''],
    ['watch', ''],
    ['revert', ''],
  ]) {
    assert.deepEqual(complete(script, ['nex-compound', ...words], dir).filter((w) => !w.startsWith('-')), [], words.join(' '));
  }
  assert.deepEqual(complete(script, ['nex-compound', 'insights', 'import', 'no'], dir), ['notes.jsonl']);
  assert.deepEqual(complete(script, ['nex-compound', 'restore', 'en'], dir), ['engine.db']);
  assert.deepEqual(complete(script, ['nex-compound', 'insights', 'export', '--output', 'no'], dir), ['notes.jsonl']);
  assert.deepEqual(complete(script, ['nex-compound', '--db', 'en'], dir), ['engine.db']);
  assert.deepEqual(complete(script, ['nex-compound', 'jobs', '--db', 'en'], dir), ['engine.db']);
});

test('zsh and fish: the same values, no filenames for plain values, global flags under each command', async () => {
  const zsh = (await runBin(['completion', 'zsh'])).stdout;
  assert.match(zsh, /--format\[[^\]]*\]:value:\(text table markdown md\)/);
  assert.match(zsh, /--timeout\[[^\]]*\]:value: '/);
  assert.match(zsh, /--db\[[^\]]*\]:file:_files'/);
  assert.doesNotMatch(zsh, /--(timeout|retries|interval)\[[^\]]*\]:value:_files/);
  // Each command's _arguments carries the global flags.
  const watchLine = zsh.split('\n').find((line) => line.startsWith("    'watch')"))!;
  assert.match(watchLine, /--json\[/);
  assert.match(watchLine, /--provider\[[^\]]*\]:value:\(nex julep nexio jobs\)/);

  const fish = (await runBin(['completion', 'fish'])).stdout;
  assert.match(fish, /^complete -c nex-compound -f$/m);
  assert.match(fish, /-n '__fish_seen_subcommand_from playbook' -l format -x -a 'text table markdown md'/);
  assert.match(fish, /-l timeout -x -d/);
  assert.match(fish, /-l retries -x -d/);
  assert.match(fish, /^complete -c nex-compound -l db -r -F/m);
  assert.match(fish, /-n '__fish_seen_subcommand_from insights; and __fish_seen_subcommand_from import' -F$/m);
  assert.match(fish, /^complete -c nex-compound -l json -d/m);
  const bashSyntax = spawnSync('bash', ['-n'], { input: (await runBin(['completion', 'bash'])).stdout, encoding: 'utf8' });
  assert.equal(bashSyntax.status, 0, bashSyntax.stderr);
  for (const [shell, check] of [['zsh', ['zsh', '-n']], ['fish', ['fish', '--no-execute']]] as const) {
    if (spawnSync(check[0], ['--version']).status !== 0) continue;
    const r = spawnSync(check[0], check.slice(1), { input: shell === 'zsh' ? zsh : fish, encoding: 'utf8' });
    assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
  }
});
