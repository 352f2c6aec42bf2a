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

test('textFeatures: symbols that make a name, compounds written apart, directed relations, quantities apart from names with digits', () => {
  assert.deepEqual(textFeatures('Initech writes C++, C# and .NET').content, ['initech', 'write', 'cplusplus', 'csharp', 'dotnet']);
  assert.ok(textFeatures('Woodgrove uses three.js').content.includes('threejs'), 'a dot inside a name joins it');
  assert.deepEqual(textFeatures('a date picker').joins, [['date', 'picker']]);
  assert.deepEqual(textFeatures('export from Salesforce to HubSpot').edges, [['salesforce', 'hubspot']]);
  assert.deepEqual(textFeatures('Proseware churned after the price increase').edges, [['price', 'churned']]);
  assert.deepEqual(textFeatures('If SSO ships before then, Acme renews').edges, [], 'a relation does not reach across a clause');
  assert.deepEqual(textFeatures('boto3 stubs for S3 1.43.0, v2 and Q3').numbers, ['1.43.0', 'q3', 'v2']);
  assert.equal(textFeatures('Microsoft Azure Storage Client Library').titleCase, true);
  assert.equal(textFeatures("Soylent hasn't logged in").negated, true);
  assert.ok(!textFeatures("Soylent hasn't logged in").content.includes('hasn'));
});

test('normalizeText keeps a "+" or "#" run that closes the last word: C++ and C# are not C', () => {
  const cases = ["writes C++.", 'written in C#!', 'in F# ', 'x++', '++', 'a + b', '#tag', 'plain.'];
  for (const text of cases) assert.equal(normalizeText(text), normalizeTextSlowly(text), text);
  assert.equal(normalizeText("Initech's team writes C++."), "initech's team writes c++");
  assert.notEqual(normalizeText('written in C#.'), normalizeText('written in C.'));
  assert.equal(normalizeText('"C++"'), 'c++');
  assert.equal(normalizeText('++'), '', 'symbols alone are still nothing');
  assert.equal(normalizeText('#tag'), 'tag', 'a leading "#" is still an edge');
});
