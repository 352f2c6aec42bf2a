/**
 * The job picker on a real pseudo-terminal (util-linux `script`): `watch` and `status` with no id
 * offer the recent jobs newest first; j/k or the arrows move, Enter chooses and the chosen job is
 * the one watched or shown; Esc, q and Ctrl-C cancel with exit 130. Either way the cursor is shown
 * again and the terminal is back in its cooked mode (echo, line editing) after the run.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { BIN, runBin, tempDir } from '../helpers/cli.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
const TITLE = /Which job to (watch|show)\?/;
/** How the picker ends: its lines erased, the cursor shown. */
const PICKER_END = '\u001b[J\u001b[?25h';

/** What the terminal showed after the picker was erased. */
const afterPicker = (screen: string) => {
  const end = screen.indexOf(PICKER_END);
  assert.ok(end >= 0, `the picker did not end:\n${screen}`);
  return screen.slice(end + PICKER_END.length);
};

interface PtyRun {
  /** Everything the terminal showed (stdout and stderr share it), then the exit line and `stty -a`. */
  screen: string;
  code: number;
  stty: string;
}

/** Runs the bin on a pseudo-terminal; once the picker is drawn, types `keys`. */
function onPty(argv: string[], keys: string, env: Record<string, string>): Promise<PtyRun> {
  const command = `stty cols 100 rows 30; ${[process.execPath, BIN, ...argv].map(quote).join(' ')}; echo "exit=$?"; stty -a`;
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', TERM: 'xterm', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let typed = false;
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill();
      reject(new Error(`no exit; the terminal showed:\n${screen}`));
    }, 90_000);
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      // The picker draws its title only once raw mode is on: keys typed now are read one by one.
      if (!typed && TITLE.test(screen)) {
        typed = true;
        child.stdin.write(keys);
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(deadline);
      const exit = /exit=(\d+)/.exec(screen);
      if (!exit) return reject(new Error(`no exit line:\n${screen}`));
      resolve({ screen: screen.slice(0, exit.index), code: Number(exit[1]), stty: screen.slice(exit.index) });
    });
  });
}

/** Cooked again: echo and line editing on, the cursor's last word "show". */
function assertSane(run: PtyRun): void {
  assert.match(run.stty, /(^|\s)icanon(\s|$)/m, run.stty);
  assert.match(run.stty, /(^|\s)echo(\s|$)/m, run.stty);
  assert.ok(run.screen.lastIndexOf('\u001b[?25h') > run.screen.lastIndexOf('\u001b[?25l'), 'the cursor was left hidden');
}

describe('the job picker on a pseudo-terminal', { skip: hasScript ? false : 'util-linux `script` is not installed' }, () => {
  const dir = tempDir('nex-compound-picker-');
  const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir, XDG_DATA_HOME: dir, NO_COLOR: '1' };
  let older = '';
  let newer = '';

  before(async () => {
    const first = await runBin(['trigger', 'metrics', '--local', '--wait', '--json'], { env, timeoutMs: 60_000 });
    assert.equal(first.code, 0, first.stderr);
    older = (JSON.parse(first.stdout) as { job_run_id: string }).job_run_id;
    const second = await runBin(['trigger', 'decay_sweep', '--local', '--dry-run', '--wait', '--json'], { env, timeoutMs: 60_000 });
    assert.equal(second.code, 0, second.stderr);
    newer = (JSON.parse(second.stdout) as { job_run_id: string }).job_run_id;
  });

  test('watch: the list is newest first; j then Enter watches the second one', async () => {
    const run = await onPty(['watch', '--local', '--timeout', '60s'], 'j\r', env);
    assert.equal(run.code, 0, run.screen);
    const list = run.screen.slice(run.screen.search(TITLE));
    assert.ok(list.indexOf(newer) < list.indexOf(older), `not newest first:\n${list}`);
    assert.match(list, new RegExp(`${newer}\\s+decay_sweep\\s+completed\\s+(just now|\\d+ (s|min|h) ago)`));
    // After the picker is erased, the watch reports the chosen job.
    const after = afterPicker(run.screen);
    assert.ok(after.includes(older), `the chosen job was not watched:\n${after}`);
    assert.ok(!after.includes(newer), after);
    assert.equal(run.screen.match(/local engine at/g)?.length, 1, 'the database is named once');
    assertSane(run);
  });

  test('status: the arrow keys move too; Enter shows the chosen job', async () => {
    const run = await onPty(['status', '--local'], '\u001b[B\u001b[A\u001b[B\r', env);
    assert.equal(run.code, 0, run.screen);
    const after = afterPicker(run.screen);
    assert.ok(after.includes(older) && !after.includes(newer), after);
    assertSane(run);
  });

  for (const [label, key] of [['q', 'q'], ['Ctrl-C', '\u0003'], ['Esc', '\u001b']] as const) {
    test(`${label} cancels: exit 130, nothing watched, the terminal restored`, async () => {
      const run = await onPty(['watch', '--local'], key, env);
      assert.equal(run.code, 130, run.screen);
      assert.match(afterPicker(run.screen), /error: no job chosen/);
      assertSane(run);
    });
  }

  test('remote API: the jobs this machine triggered against that server, newest first; the chosen one is read from it', async () => {
    const jobs = new Map<string, string>();
    // A raw loopback API: a trigger creates a job, a status read answers it completed.
    const server = createServer((request, response) => {
      request.resume().on('end', () => {
        const id = /^\/v1\/compounding\/jobs\/([0-9a-f-]{36})$/.exec(request.url ?? '')?.[1];
        if (request.method === 'POST') {
          const job = { job_run_id: randomUUID(), job_type: 'metrics', workspace_id: 1, dry_run: false, status: 'accepted' };
          jobs.set(job.job_run_id, 'metrics');
          response.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify(job));
        } else if (id && jobs.has(id)) {
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ job_run_id: id, job_type: 'metrics', status: 'completed', dry_run: false, insights_scanned: 7, insights_affected: 0, candidates_created: 0, errors: 0 }));
        } else response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const home = tempDir('nex-compound-picker-remote-');
      const remote = { NEX_API_KEY: 'nex_test_key_0123456789', NEX_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, HOME: home, XDG_DATA_HOME: home, NEX_COMPOUND_CONFIG_DIR: home, NO_COLOR: '1' };
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await runBin(['trigger', 'metrics', '--json'], { env: remote });
        assert.equal(r.code, 0, r.stderr);
        ids.push((JSON.parse(r.stdout) as { job_run_id: string }).job_run_id);
      }
      const run = await onPty(['status'], 'j\r', remote);
      assert.equal(run.code, 0, run.screen);
      const list = run.screen.slice(run.screen.search(TITLE));
      assert.ok(list.indexOf(ids[1]!) < list.indexOf(ids[0]!), `not newest first:\n${list}`);
      assert.match(list, new RegExp(`${ids[1]}\\s+metrics\\s+triggered\\s+(just now|\\d+ (s|min|h) ago)`));
      const after = afterPicker(run.screen);
      assert.ok(after.includes(ids[0]!) && !after.includes(ids[1]!), after);
      assert.match(after, /completed/);
      assertSane(run);
    } finally {
      server.close();
    }
  });
});
