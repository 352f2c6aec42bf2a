/**
 * The engine's one front door, on a real SQLite file: workspaces, triggers with an
 * Idempotency-Key, keys verified and revoked, the store's version, and failures as the contract's error kinds
 * with no CLI flag in them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { NotFoundError, StorageError } from '../../src/contract/errors.js';
import Sqlite from 'better-sqlite3';
import { openEngine } from '../../src/engine/index.js';
import { openDatabaseWith } from '../../src/engine/store/db.js';
import { tempDir } from '../helpers/cli.js';

// No worker is wanted here: a lease far in the future keeps an accepted job waiting.
const options = { create: true, env: { NEX_COMPOUND_LEASE_MS: '600000' }, now: () => Date.parse('2026-12-01T00:00:00Z') };

test('workspaces see only their own insights and jobs', async () => {
  const engine = await openEngine(path.join(tempDir('nex-compound-index-'), 'engine.db'), options);
  try {
    const one = engine.workspace(1);
    const two = engine.workspace(2);
    await one.insights.add({ text: 'Acme wants SSO' });
    assert.equal((await one.insights.list({})).length, 1);
    assert.equal((await two.insights.list({})).length, 0);
    assert.equal(await engine.unusedWorkspaceId(), 2);
    const first = await one.jobs.trigger({ jobType: 'metrics', dryRun: true });
    assert.ok(!('conflict' in first));
    assert.equal(one.jobs.find(first.job.job_run_id)?.status, 'accepted');
    assert.equal(two.jobs.find(first.job.job_run_id), undefined, "another workspace's job is not found");
    await assert.rejects(two.backend().status(first.job.job_run_id), NotFoundError);
    assert.deepEqual(one.jobs.list(10).map((s) => s.job_run_id), [first.job.job_run_id]);
  } finally {
    engine.close();
  }
});

test('a trigger with an Idempotency-Key is recorded once; the same key with another request is a conflict', async () => {
  const engine = await openEngine(path.join(tempDir('nex-compound-index-'), 'engine.db'), options);
  try {
    const jobs = engine.workspace(1).jobs;
    const a = await jobs.trigger({ jobType: 'decay_sweep', dryRun: true, idempotencyKey: 'key-12345678' });
    const b = await jobs.trigger({ jobType: 'decay_sweep', dryRun: true, idempotencyKey: 'key-12345678' });
    assert.ok(!('conflict' in a) && !('conflict' in b));
    assert.equal(a.replay, false);
    assert.equal(b.replay, true);
    assert.equal(b.job.job_run_id, a.job.job_run_id);
    assert.deepEqual(await jobs.trigger({ jobType: 'metrics', dryRun: true, idempotencyKey: 'key-12345678' }), { conflict: true });
    assert.equal(jobs.list(10).length, 1);
    // Keys are per workspace.
    const other = await engine.workspace(2).jobs.trigger({ jobType: 'metrics', dryRun: true, idempotencyKey: 'key-12345678' });
    assert.ok(!('conflict' in other) && !other.replay);
  } finally {
    engine.close();
  }
});

/** Lets the event loop turn once: what a server's next request would see. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('keys: created once, verified by hash, and a revocation from another connection is seen from the next event-loop turn', async () => {
  const file = path.join(tempDir('nex-compound-index-'), 'engine.db');
  const server = await openEngine(file, options);
  const admin = await openEngine(file, options);
  try {
    const { key, row } = await admin.keys.create(1, ['record.read', 'record.write']);
    assert.match(key, /^nxk_/);
    const verify = await server.keys.verifier();
    assert.equal(verify(key)?.key_id, row.key_id);
    assert.equal(verify(`${key}x`), undefined);
    assert.ok((await admin.keys.revoke(row.key_id))?.revoked_at);
    await nextTurn();
    assert.equal(verify(key), undefined, 'the cached verification was dropped when the other connection committed');
    assert.equal(await admin.keys.revoke('key_000000000000'), undefined, 'no such key');
    assert.ok(!JSON.stringify(await admin.keys.list()).includes(key), 'the key itself is never listed');

    // A revocation through the server's own connection counts too (SQLite's data_version alone would miss it).
    const own = await server.keys.create(1, ['record.read']);
    await nextTurn();
    assert.equal(verify(own.key)?.key_id, own.row.key_id);
    await server.keys.revoke(own.row.key_id);
    await nextTurn();
    assert.equal(verify(own.key), undefined);
  } finally {
    server.close();
    admin.close();
  }
});

test('the store version: changes move with any commit, replacements only with a restore; both read once per turn', async () => {
  const dir = tempDir('nex-compound-index-');
  const file = path.join(dir, 'engine.db');
  const server = await openEngine(file, options);
  const other = await openEngine(file, options);
  try {
    const version = await server.versionReader();
    const raw = openDatabaseWith(Sqlite, file, { create: false });
    try {
      // Synchronous, so no turn passes between the two reads.
      const start = version();
      raw.prepare(`INSERT INTO jobs (job_run_id, workspace_id, job_type, status, created_at) VALUES ('00000000-0000-4000-8000-000000000001', 1, 'metrics', 'completed', 0)`).run();
      assert.deepEqual(version(), start, 'within one turn the version is read once');
    } finally {
      raw.close();
    }
    await nextTurn();
    const afterCommit = version();
    assert.equal(afterCommit.changes, 1, "another connection's commit moves changes");
    assert.equal(afterCommit.replacements, 0, 'an ordinary commit replaces nothing');

    await server.workspace(1).insights.add({ text: 'Globex renews in March' });
    await nextTurn();
    const afterOwn = version();
    assert.ok(afterOwn.changes > afterCommit.changes, "the server's own change moves it too");
    await nextTurn();
    assert.deepEqual(version(), afterOwn, 'nothing moved, nothing changes');

    const backup = path.join(dir, 'backup.db');
    await other.backup(backup);
    await other.restore(backup);
    await nextTurn();
    assert.ok(version().replacements > afterOwn.replacements, 'a restore (by another connection) moves replacements');
  } finally {
    server.close();
    other.close();
  }
});

test('revert of an unknown job is not-found; a missing directory is a store error that names no CLI flag', async () => {
  const engine = await openEngine(path.join(tempDir('nex-compound-index-'), 'engine.db'), options);
  try {
    await assert.rejects(engine.workspace(1).revert('00000000-0000-4000-8000-000000000000'), NotFoundError);
  } finally {
    engine.close();
  }
  const missing = path.join(tempDir('nex-compound-index-'), 'no-such-dir', 'engine.db');
  await assert.rejects(openEngine(missing, options), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.equal(error.kind, 'store_unusable');
    assert.equal(error.otherPathHelps, true);
    assert.doesNotMatch(`${error.message} ${error.hint ?? ''}`, /--db|NEX_COMPOUND_DB|nex-compound /);
    return true;
  });
});
