/**
 * A store on read-only media (here: a directory and file nobody may write, read as an unprivileged
 * user) can be read by every command that only reads; a command that writes says so in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync } from 'node:fs';
import os from 'node:os';
import Sqlite from 'better-sqlite3';
import path from 'node:path';
import { processAlive, runBin, runBinAsUnprivileged, tempDir } from '../helpers/cli.js';

/** The background worker exits soon after its last job; until then it holds the database open. */
async function workersGone(file: string): Promise<void> {
  const db = new Sqlite(file, { readonly: true });
  const pids = db.prepare('SELECT pid FROM workers').pluck().all() as number[];
  db.close();
  for (let i = 0; i < 600 && pids.some(processAlive); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(!pids.some(processAlive), 'the worker exited');
}

test('a WAL store in a read-only directory: list, show, export, jobs, doctor, patterns and backup read it; add exits 8', async (t) => {
  const dir = tempDir('nex-compound-read-only-');
  const db = path.join(dir, 'engine.db');
  const env = { HOME: os.tmpdir(), NEX_COMPOUND_DB: db, NEX_COMPOUND_CONFIG_DIR: tempDir('nex-compound-read-only-config-') };
  chmodSync(env.NEX_COMPOUND_CONFIG_DIR, 0o777);
  for (const text of ['Acme renews in Q3', 'Globex asked for SSO', 'Initech pays by wire']) assert.equal((await runBin(['insights', 'add', text], { env })).code, 0);
  assert.equal((await runBin(['trigger', 'metrics', '--local', '--wait', '-q'], { env, timeoutMs: 60_000 })).code, 0);
  const exported = await runBin(['insights', 'export'], { env });
  await workersGone(db);
  const beside = () => readdirSync(dir).filter((f) => !f.endsWith('.worker.log')).join(',');
  // The last connection to close removes the -wal and -shm files; a worker may be closing just now.
  for (let i = 0; i < 200 && beside() !== 'engine.db'; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.equal(beside(), 'engine.db', 'a clean close leaves no -wal or -shm beside it: SQLite cannot create them here');
  chmodSync(db, 0o444);
  chmodSync(dir, 0o555);
  const backupDir = tempDir('nex-compound-read-only-backup-');
  chmodSync(backupDir, 0o777);
  try {
    const probe = runBinAsUnprivileged(['--version'], env);
    if (!probe || probe.code !== 0) {
      t.skip('running as root, and the user nobody cannot run this Node or read this checkout');
      return;
    }
    const read = (...argv: string[]) => {
      const r = runBinAsUnprivileged(argv, env)!;
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /\(workspace 1, read-only here\)/, argv.join(' '));
      return r.stdout;
    };
    assert.equal(read('insights', 'export'), exported.stdout);
    assert.equal((JSON.parse(read('insights', 'list', '--json')) as unknown[]).length, 3);
    assert.match(read('insights', 'show', '1'), /Acme renews in Q3/);
    assert.equal((JSON.parse(read('jobs', '--local', '--json')) as Array<{ job_type: string }>)[0]!.job_type, 'metrics');
    assert.equal((JSON.parse(read('doctor', '--json')) as { ok: boolean }).ok, true);
    read('patterns');
    read('metrics');
    read('backup', path.join(backupDir, 'copy.db'));
    const write = runBinAsUnprivileged(['insights', 'add', 'one more'], env)!;
    assert.equal(write.code, 8, write.stderr);
    assert.match(write.stderr, /^error: the database .*engine\.db is not writable$/m);
    assert.doesNotMatch(write.stderr, /\n\s+at /);
    assert.equal(beside(), 'engine.db', 'reading left nothing beside it');
  } finally {
    chmodSync(dir, 0o755);
  }
  const restored = { ...env, NEX_COMPOUND_DB: path.join(tempDir('nex-compound-read-only-restored-'), 'engine.db') };
  assert.equal((await runBin(['restore', path.join(backupDir, 'copy.db')], { env: restored })).code, 0);
  assert.equal((await runBin(['insights', 'export'], { env: restored })).stdout, exported.stdout);
});
