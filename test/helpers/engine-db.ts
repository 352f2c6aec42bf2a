/** A real engine database in a temp dir, seeded directly (the import path is tested elsewhere). */
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { openDatabaseWith } from '../../src/engine/store/db.js';
import { tempDir } from './cli.js';

export const DAY = 86_400_000;
export const NOW = Date.parse('2026-11-01T00:00:00Z');

export function freshDb(): { file: string; db: Sqlite.Database } {
  const file = path.join(tempDir('nex-compound-engine-'), 'engine.db');
  return { file, db: openDatabaseWith(Sqlite, file, { create: true }) };
}

/** Seeds n insights with varied ages and confidences, directly (the import path is tested elsewhere). */
export function seed(db: Sqlite.Database, n: number, workspaceId = 1): void {
  const insert = db.prepare(
    `INSERT INTO insights (workspace_id, text, normalized_text, source, tags, confidence, base_confidence, created_at, last_reinforced_at)
     VALUES (?, ?, ?, 'seed', '[]', ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const base = 0.2 + ((i * 7919) % 80) / 100;
      const age = ((i * 104729) % 400) * DAY;
      insert.run(workspaceId, `insight number ${i}`, `insight number ${i}`, base, base, NOW - age - DAY, NOW - age);
    }
  })();
}

export function snapshotInsights(db: Sqlite.Database) {
  return db.prepare('SELECT id, confidence, base_confidence, status FROM insights ORDER BY id').all();
}
