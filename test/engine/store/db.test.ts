/** The store's schema: migrations bring an older database's rows to this version's text identity. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Sqlite from 'better-sqlite3';
import { SCHEMA_VERSION, openDatabaseWith } from '../../../src/engine/store/db.js';
import { freshDb } from '../../helpers/engine-db.js';

test('a database from before names kept their "+"/"#" gets those rows re-keyed, and "C++" and "C" become two insights', () => {
  const { file, db } = freshDb();
  const insert = db.prepare(
    `INSERT INTO insights (workspace_id, text, normalized_text, source, tags, confidence, base_confidence, created_at, last_reinforced_at)
     VALUES (1, ?, ?, 'seed', '[]', 0.5, 0.5, 0, 0)`,
  );
  // As the previous schema keyed them: the closing "++" and "#" stripped with the full stop.
  insert.run("Initech's team writes C++.", "initech's team writes c");
  insert.run('Hooli is written in C#', 'hooli is written in c');
  insert.run('Acme wants SSO.', 'acme wants sso');
  db.pragma(`user_version = ${SCHEMA_VERSION - 1}`);
  db.close();

  const migrated = openDatabaseWith(Sqlite, file, { create: false });
  assert.equal(migrated.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const keys = migrated.prepare('SELECT normalized_text FROM insights ORDER BY id').pluck().all();
  assert.deepEqual(keys, ["initech's team writes c++", 'hooli is written in c#', 'acme wants sso']);
  // The identity the unique index enforces now tells the two languages apart.
  migrated
    .prepare(
      `INSERT INTO insights (workspace_id, text, normalized_text, source, tags, confidence, base_confidence, created_at, last_reinforced_at)
       VALUES (1, ?, ?, 'seed', '[]', 0.5, 0.5, 0, 0)`,
    )
    .run("Initech's team writes C.", "initech's team writes c");
  assert.equal(migrated.prepare('SELECT COUNT(*) FROM insights').pluck().get(), 4);
  migrated.close();
});
