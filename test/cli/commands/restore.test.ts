/** `restore` on real stores: the store as it was is kept, a file that is no backup changes nothing, a running job blocks it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { runBin, tempDir } from '../../helpers/cli.js';

function store() {
  const dir = tempDir('nex-compound-restore-');
  return { dir, env: { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir } };
}
const exportOf = async (env: Record<string, string>) => (await runBin(['insights', 'export'], { env })).stdout;

test('restore replaces the store and keeps the one it replaced, which restores back', async () => {
  const { dir, env } = store();
  assert.equal((await runBin(['insights', 'add', 'Acme renews in Q3'], { env })).code, 0);
  const backup = path.join(dir, 'monday.db');
  assert.equal((await runBin(['backup', backup], { env })).code, 0);
  const monday = await exportOf(env);
  assert.equal((await runBin(['insights', 'add', 'Globex asked for SSO'], { env })).code, 0);
  const tuesday = await exportOf(env);

  const r = await runBin(['restore', backup, '--json'], { env, timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { kept_at: string; insights: number };
  assert.equal(result.insights, 1);
  assert.match(path.basename(result.kept_at), /^engine\.db\.before-restore-\d{8}T\d{6}Z$/);
  assert.equal(await exportOf(env), monday);
  assert.match(r.stderr, /^the database as it was is kept at /m);

  // The kept copy is itself a backup: the restore is undone by restoring it (within the same second, too).
  const undo = await runBin(['restore', result.kept_at, '--json'], { env });
  assert.equal(undo.code, 0, undo.stderr);
  assert.notEqual((JSON.parse(undo.stdout) as { kept_at: string }).kept_at, result.kept_at, 'the first copy is not overwritten by the second');
  assert.equal(await exportOf(env), tuesday);
});

test('a file that is no backup, a damaged one or one from a newer version: exit 8, one line, the store untouched and no copy left', async () => {
  const { dir, env } = store();
  assert.equal((await runBin(['insights', 'add', 'Acme renews in Q3'], { env })).code, 0);
  const before = await exportOf(env);
  const text = path.join(dir, 'notes.txt');
  writeFileSync(text, 'not a database at all, just some text that is long enough to look like a header'.repeat(100));
  const other = path.join(dir, 'other.db');
  const db = new Sqlite(other);
  db.exec('CREATE TABLE t (x)');
  db.close();
  const newer = path.join(dir, 'newer.db');
  assert.equal((await runBin(['backup', newer], { env })).code, 0);
  const future = new Sqlite(newer);
  future.pragma('user_version = 999');
  future.close();
  for (const [file, message] of [
    [text, /^error: .*notes\.txt is not a nex-compound backup/m],
    [other, /^error: .*other\.db is not a nex-compound backup$/m],
    [newer, /^error: the backup .*newer\.db was written by a newer nex-compound \(schema 999/m],
  ] as const) {
    const r = await runBin(['restore', file], { env });
    assert.equal(r.code, 8, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(await exportOf(env), before);
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('before-restore')), []);
  const missing = await runBin(['restore', path.join(dir, 'nope.db')], { env });
  assert.equal(missing.code, 2);
});

test('a queued or running job blocks a restore (exit 10, naming it); nothing is replaced', async () => {
  const { dir, env } = store();
  for (let i = 0; i < 30; i++) assert.equal((await runBin(['insights', 'add', `note number ${i} about the renewal`], { env })).code, 0);
  const backup = path.join(dir, 'b.db');
  assert.equal((await runBin(['backup', backup], { env })).code, 0);
  const slow = { ...env, NEX_COMPOUND_JOB_SLOWDOWN_MS: '1000' };
  const trigger = await runBin(['trigger', 'decay_sweep', '--local', '--json'], { env: slow });
  const id = (JSON.parse(trigger.stdout) as { job_run_id: string }).job_run_id;
  const r = await runBin(['restore', backup], { env: slow });
  assert.equal(r.code, 10, r.stderr);
  assert.match(r.stderr, new RegExp(`^error: cannot restore while decay_sweep job ${id} is (queued|running): the restore would drop it$`, 'm'));
  assert.match(r.stderr, new RegExp(`^hint: wait for it: nex-compound watch ${id}$`, 'm'));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('before-restore')), []);
  assert.ok(existsSync(env.NEX_COMPOUND_DB));
  assert.equal((await runBin(['watch', id, '--local', '-q', '--timeout', '120s'], { env, timeoutMs: 150_000 })).code, 0);
});
