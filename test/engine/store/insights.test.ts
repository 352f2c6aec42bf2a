/** The insight store on a real SQLite file: add or reinforce, list, history, export, workspaces. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/contract/errors.js';
import { addInsight, exportInsights, getInsight, listInsights, unusedWorkspaceId } from '../../../src/engine/store/insights.js';
import { freshDb, NOW } from '../../helpers/engine-db.js';

test('the same normalized text reinforces the active insight instead of adding one; confidence rises to the higher', () => {
  const { db } = freshDb();
  const first = addInsight(db, { workspaceId: 1, text: 'Acme wants SSO', confidence: 0.4, now: NOW });
  const again = addInsight(db, { workspaceId: 1, text: '  acme WANTS sso ', confidence: 0.7, now: NOW + 1000 });
  assert.equal(first.reinforced, false);
  assert.equal(again.reinforced, true);
  assert.equal(again.insight.id, first.insight.id);
  assert.equal(again.insight.reinforcement_count, 2);
  assert.equal(again.insight.base_confidence, 0.7);
  assert.equal(getInsight(db, 1, first.insight.id)?.text, 'Acme wants SSO', 'the first wording is kept');
  db.close();
});

test('a name closed by "+" or "#" is another text: "writes C++." does not reinforce "writes C."', () => {
  const { db } = freshDb();
  const c = addInsight(db, { workspaceId: 1, text: "Initech's team writes C.", now: NOW });
  const cpp = addInsight(db, { workspaceId: 1, text: "Initech's team writes C++.", now: NOW });
  const csharp = addInsight(db, { workspaceId: 1, text: "Initech's team writes C#", now: NOW });
  assert.deepEqual([c.reinforced, cpp.reinforced, csharp.reinforced], [false, false, false]);
  assert.equal(addInsight(db, { workspaceId: 1, text: "initech's team writes c++", now: NOW }).insight.id, cpp.insight.id);
  assert.equal(listInsights(db, { workspaceId: 1 }).length, 3);
  db.close();
});

test('workspaces are separate; an unused workspace is one past the highest in use', () => {
  const { db } = freshDb();
  assert.equal(unusedWorkspaceId(db), 1);
  addInsight(db, { workspaceId: 1, text: 'one', now: NOW });
  addInsight(db, { workspaceId: 3, text: 'one', now: NOW });
  assert.equal(unusedWorkspaceId(db), 4);
  assert.equal(listInsights(db, { workspaceId: 1 }).length, 1);
  assert.equal(listInsights(db, { workspaceId: 2 }).length, 0);
  assert.deepEqual([...exportInsights(db, 3)].map((r) => r.text), ['one']);
  db.close();
});

test('bad input is a usage error: empty text, confidence outside [0, 1], tags that are not strings', () => {
  const { db } = freshDb();
  assert.throws(() => addInsight(db, { workspaceId: 1, text: '   ', now: NOW }), UsageError);
  assert.throws(() => addInsight(db, { workspaceId: 1, text: 'x', confidence: 1.5, now: NOW }), UsageError);
  assert.throws(() => addInsight(db, { workspaceId: 1, text: 'x', tags: [1 as unknown as string], now: NOW }), UsageError);
  assert.equal(listInsights(db, { workspaceId: 1 }).length, 0, 'nothing was written');
  db.close();
});
