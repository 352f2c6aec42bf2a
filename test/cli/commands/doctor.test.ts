/** `doctor` on real stores: a whole one, one whose invariants were broken behind its back, a damaged file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, writeSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { ROOT, runBin, tempDir } from '../../helpers/cli.js';

async function demoStore() {
  const dir = tempDir('nex-compound-doctor-');
  const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir };
  assert.equal((await runBin(['insights', 'import', path.join(ROOT, 'data', 'demo-insights.jsonl')], { env })).code, 0);
  const run = await runBin(['trigger', 'consolidation', '--local', '--wait', '--json'], { env, timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  return { dir, env, file: env.NEX_COMPOUND_DB };
}

test('a whole store: exit 0, ok, the counts', async () => {
  const { env } = await demoStore();
  const r = await runBin(['doctor', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { ok: boolean; insights: number; problems: unknown[] };
  assert.deepEqual([report.ok, report.problems], [true, []]);
  assert.ok(report.insights >= 300);
});

test('invariants broken behind its back: each is named, exit 8', async () => {
  const { env, file } = await demoStore();
  const db = new Sqlite(file);
  try {
    db.pragma('foreign_keys = OFF');
    const merged = db.prepare(`SELECT id FROM insights WHERE status = 'merged' LIMIT 1`).pluck().get() as number;
    const active = db.prepare(`SELECT id FROM insights WHERE status = 'active' LIMIT 1`).pluck().get() as number;
    db.prepare('UPDATE insights SET merged_into = 999999 WHERE id = ?').run(merged);
    db.prepare('UPDATE insights SET merged_into = ? WHERE id = ?').run(merged, active);
  } finally {
    db.close();
  }
  const r = await runBin(['doctor'], { env });
  assert.equal(r.code, 8, r.stderr);
  assert.match(r.stderr, /^error: the store at .* has 3 problems \(listed above\)$/m);
  for (const check of ['foreign keys', 'merged insights', 'merged_into']) assert.match(r.stdout, new RegExp(`^${check}\\s`, 'm'));
});

test('a damaged file: exit 8 with one clear line, never 70', async () => {
  const { env, file } = await demoStore();
  // Everything into the main file first (a WAL would hide the damage), then scribble over pages in
  // its middle (the header stays: SQLite opens it, then finds the damage).
  const db = new Sqlite(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const fd = openSync(file, 'r+');
  try {
    const size = statSync(file).size;
    writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, Math.floor(size / 2 / 4096) * 4096);
  } finally {
    closeSync(fd);
  }
  const r = await runBin(['doctor'], { env });
  assert.equal(r.code, 8, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
});
