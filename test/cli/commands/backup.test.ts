/** `backup` on real stores: a copy taken while a consolidation writes restores to a whole store, and a re-backup replaces the old file whole. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { generateLabelledCorpus } from '../../../bench/lib/labelled-insights.js';
import { runBin, tempDir } from '../../helpers/cli.js';

async function corpusStore(facts: number) {
  const dir = tempDir('nex-compound-backup-');
  const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir };
  const corpus = generateLabelledCorpus({ facts, seed: 11 });
  const file = path.join(dir, 'corpus.jsonl');
  writeFileSync(file, corpus.insights.map((i) => JSON.stringify({ text: i.text, source: 'crm', created_at: i.created_at })).join('\n'));
  const imported = await runBin(['insights', 'import', file], { env });
  assert.equal(imported.code, 0, imported.stderr);
  return { dir, env };
}

const jobOf = (file: string, id: string) => {
  const db = new Sqlite(file, { readonly: true });
  try {
    return db.prepare('SELECT status, stage FROM jobs WHERE job_run_id = ?').get(id) as { status: string; stage: string | null };
  } finally {
    db.close();
  }
};

test('backups taken while a consolidation runs each restore to a store that passes doctor; the run caught unfinished completes after the restore', async () => {
  const { dir, env } = await corpusStore(600);
  // Each progress report of the worker waits, so the run is surely under way while the backups are taken.
  // A short lease: the run a backup caught unfinished is taken up again soon after its restore.
  const slow = { ...env, NEX_COMPOUND_JOB_SLOWDOWN_MS: '150', NEX_COMPOUND_LEASE_MS: '1000' };
  const trigger = await runBin(['trigger', 'consolidation', '--local', '--json'], { env: slow });
  assert.equal(trigger.code, 0, trigger.stderr);
  const id = (JSON.parse(trigger.stdout) as { job_run_id: string }).job_run_id;
  const backups: Array<{ file: string; jobWas: string }> = [];
  for (let i = 0; i < 12; i++) {
    const state = jobOf(env.NEX_COMPOUND_DB, id).status;
    if (state === 'completed' || state === 'failed') break;
    const file = path.join(dir, `during-${i}.db`);
    const r = await runBin(['backup', file, '--json'], { env: slow });
    assert.equal(r.code, 0, r.stderr);
    backups.push({ file, jobWas: state });
  }
  const running = backups.filter((b) => b.jobWas === 'running');
  assert.ok(running.length > 0, `a backup was taken while the run was running (${backups.map((b) => b.jobWas).join(', ')})`);
  const finished = await runBin(['watch', id, '--local', '--json', '--timeout', '120s'], { env: { ...env, NEX_COMPOUND_LEASE_MS: '1000' }, timeoutMs: 150_000 });
  assert.equal(finished.code, 0, finished.stderr);

  for (const backup of [running[0]!, backups.at(-1)!]) {
    const target = { ...env, NEX_COMPOUND_LEASE_MS: '1000', NEX_COMPOUND_DB: path.join(dir, `restored-${path.basename(backup.file)}`) };
    const restored = await runBin(['restore', backup.file, '--json'], { env: target });
    assert.equal(restored.code, 0, restored.stderr);
    const doctor = await runBin(['doctor', '--json'], { env: target });
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.equal((JSON.parse(doctor.stdout) as { ok: boolean }).ok, true);
    // The copy holds the run as it was: unfinished, so it runs again in the restored store, and completes.
    const again = await runBin(['watch', id, '--local', '--json', '--timeout', '120s'], { env: target, timeoutMs: 150_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { status: string }).status, 'completed');
  }
  const afterAll = await runBin(['doctor'], { env });
  assert.equal(afterAll.code, 0, afterAll.stderr);
});

test('a backup is one self-contained file, replaced whole; every workspace comes back; bad targets are usage errors', async () => {
  const { dir, env } = await corpusStore(40);
  assert.equal((await runBin(['insights', 'add', 'a note in workspace 2', '--workspace', '2'], { env })).code, 0);
  const file = path.join(dir, 'copy.db');
  writeFileSync(file, 'an older backup');
  const r = await runBin(['backup', file, '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { backup: string; insights: number; jobs: number };
  assert.equal(summary.backup, file);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('copy.db') || f.startsWith('.copy.db')), ['copy.db'], 'no -wal, -shm or temporary file beside it');
  assert.notEqual(readFileSync(file, 'utf8'), 'an older backup');

  const target = { ...env, NEX_COMPOUND_DB: path.join(dir, 'restored.db') };
  assert.equal((await runBin(['restore', file], { env: target })).code, 0);
  for (const workspace of ['1', '2']) {
    const original = await runBin(['insights', 'export', '--workspace', workspace], { env });
    const copy = await runBin(['insights', 'export', '--workspace', workspace], { env: target });
    assert.equal(copy.stdout, original.stdout, `workspace ${workspace}`);
    assert.ok(original.stdout.length > 0);
  }

  const intoDirectory = await runBin(['backup', dir], { env });
  assert.equal(intoDirectory.code, 2);
  assert.match(intoDirectory.stderr, /^error: .* is a directory$/m);
  const nowhere = await runBin(['backup', path.join(dir, 'missing', 'copy.db')], { env });
  assert.equal(nowhere.code, 2);
  assert.match(nowhere.stderr, /^error: the directory .*missing does not exist$/m);
  const itself = await runBin(['backup', env.NEX_COMPOUND_DB], { env });
  assert.equal(itself.code, 2);
  const remote = await runBin(['backup', file, '--remote'], { env });
  assert.equal(remote.code, 2);
});
