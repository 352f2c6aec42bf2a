/** The text identity of an insight (normalized text) and the features consolidation compares. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeText, normalizeTextSlowly } from '../../../src/engine/text/normalize.js';
import { NEGATIONS, STOP_WORDS, textFeatures } from '../../../src/engine/text/features.js';

test('normalizeText folds case, whitespace, edge punctuation and compatibility forms, and equals its plain definition', () => {
  const cases = ['  Acme wants SSO.  ', 'ACME\twants\n\nSSO', 'ﬁle ｆｏｒｍａｔ', '"quoted"!', 'Ünïcödé  text'];
  for (const text of cases) assert.equal(normalizeText(text), normalizeTextSlowly(text), text);
  assert.equal(normalizeText('  Acme wants SSO.  '), normalizeText('acme   wants sso'));
});

test('textFeatures: numbers, dates, negation and names are kept apart from the content words', () => {
  const f = textFeatures('Acme did not renew on Monday: 3 seats left');
  assert.equal(f.negated, true);
  assert.deepEqual(f.numbers, ['3']);
  assert.ok(f.dates.includes('monday'), JSON.stringify(f.dates));
  assert.ok(f.entities.has('acme'), [...f.entities].join(','));
  for (const word of f.content) assert.ok(!STOP_WORDS.has(word) && !NEGATIONS.has(word), word);
});
