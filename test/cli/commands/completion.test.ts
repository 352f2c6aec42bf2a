/** `completion bash|zsh|fish`: generated from the command tree; bash really sources and completes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runBin, tempDir } from '../../helpers/cli.js';

const TOP_LEVEL = ['trigger', 'run', 'status', 'revert', 'watch', 'demo', 'insights', 'jobs', 'metrics', 'patterns', 'playbook', 'serve', 'keys', 'doctor', 'backup', 'restore', 'config', 'completion'];

/** Sources the script in a real bash and asks it to complete `words` (the last one is being typed). */
function complete(script: string, words: string[]): string[] {
  const file = path.join(tempDir('nex-compound-completion-'), 'nex-compound.bash');
  writeFileSync(file, script);
  const array = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `source ${JSON.stringify(file)} && COMP_WORDS=(${array}) && COMP_CWORD=${words.length - 1} && _nex_compound && printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
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
