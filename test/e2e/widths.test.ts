/**
 * Widths on a real pseudo-terminal (util-linux `script`, the window sized with stty): jobs,
 * insights list, status, the run summary and help print no line wider than the terminal at 80
 * and 60 columns, and the ids in them stay whole.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import stringWidth from 'string-width';
import { BIN, runBin, tempDir } from '../helpers/cli.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** The command's stdout as a terminal of cols × 100 shows it (stderr kept apart), and its exit code. */
function onTerminal(cols: number, argv: string[], env: Record<string, string>): { stdout: string; stderr: string; code: number | null } {
  const dir = tempDir('nex-compound-pty-');
  const errFile = path.join(dir, 'stderr');
  const command = `stty cols ${cols} rows 100; exec ${[process.execPath, BIN, ...argv].map(quote).join(' ')} 2>${quote(errFile)}`;
  const r = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dir, TERM: 'xterm', ...env }, timeout: 60_000 });
  return { stdout: r.stdout.replace(/\r/g, ''), stderr: readFileSync(errFile, 'utf8'), code: r.status };
}

const widths = (text: string) => text.split('\n').map((line) => stringWidth(line));

describe('widths on a pseudo-terminal', { skip: hasScript ? false : 'util-linux `script` is not installed' }, () => {
  const dir = tempDir();
  const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, XDG_DATA_HOME: dir, NO_COLOR: '' };
  let jobId = '';

  before(async () => {
    const demo = await runBin(['demo'], { env, timeoutMs: 120_000 });
    assert.equal(demo.code, 0, demo.stderr);
    const jobs = await runBin(['jobs', '--jq', '.[0].job_run_id'], { env });
    jobId = jobs.stdout.trim();
    assert.match(jobId, UUID);
  });

  for (const cols of [80, 60]) {
    test(`${cols} columns: jobs, insights list, status and the run summary fit, ids whole`, () => {
      const cases: Array<[string, string[]]> = [
        ['jobs', ['jobs']],
        ['insights list', ['insights', 'list', '--limit', '20']],
        ['status', ['status', jobId, '--local']],
        ['run', ['run', '--local', '--dry-run']],
      ];
      for (const [label, argv] of cases) {
        const r = onTerminal(cols, argv, env);
        assert.equal(r.code, 0, `${label}: ${r.stderr}`);
        const lines = r.stdout.split('\n').filter((line) => line !== '');
        assert.ok(lines.length > 3, `${label} printed too little:\n${r.stdout}`);
        const widest = Math.max(...widths(r.stdout));
        assert.ok(widest <= cols, `${label} at ${cols} columns has a line of ${widest}:\n${r.stdout}`);
        // A terminal, not a pipe: no upper-case header line of the plain layout.
        assert.doesNotMatch(r.stdout, /^JOB_RUN_ID|^ID +STATUS/m, `${label} rendered as for a pipe`);
        for (const id of r.stdout.match(/[0-9a-f]{8}-[0-9a-f-]*/g) ?? []) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `${label}: an id was cut: ${id}`);
      }
      const status = onTerminal(cols, ['status', jobId, '--local'], env);
      assert.ok(status.stdout.includes(jobId), status.stdout);
      const jobs = onTerminal(cols, ['jobs'], env);
      assert.ok(jobs.stdout.includes(jobId), jobs.stdout);
    });

    test(`${cols} columns: help and help topics are wrapped to the terminal`, () => {
      for (const argv of [['--help'], ['help', 'run'], ['help', 'environment'], ['insights', 'list', '--help']]) {
        const r = onTerminal(cols, argv, env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /\S/);
        const widest = Math.max(...widths(r.stdout));
        assert.ok(widest <= cols, `${argv.join(' ')} at ${cols} columns has a line of ${widest}:\n${r.stdout}`);
      }
    });
  }

  test('the terminal really is a terminal: a status is a table at 100 columns; jobs, too wide for a table there, is one block per job', () => {
    const table = onTerminal(100, ['status', jobId, '--local'], { ...env, NO_COLOR: '1' });
    assert.match(table.stdout, /^┌/m);
    assert.match(table.stdout, new RegExp(`│ job_run_id +│ ${jobId} +│`));
    const narrow = onTerminal(100, ['jobs', '--limit', '2'], env);
    assert.match(narrow.stdout, /^job_run_id +[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/m);
    assert.doesNotMatch(narrow.stdout, /┌/);
  });
});
