/** main's own answers before the command tree: help topics, and a typo after `help`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBin } from '../helpers/cli.js';

test('help with an unknown word exits 2 with one line and the likeliest meant name; known topics and commands print their help', async () => {
  for (const [word, hint] of [
    ['triger', /^hint: did you mean `nex-compound help trigger`\?$/m],
    ['exit-code', /^hint: did you mean `nex-compound help exit-codes`\?$/m],
    ['zzzzzzzz', /^hint: run `nex-compound --help` for the commands$/m],
  ] as const) {
    const r = await runBin(['help', word]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^error: no command or help topic "${word}"$`, 'm'));
    assert.match(r.stderr, hint);
  }
  const topic = await runBin(['help', 'exit-codes']);
  assert.equal(topic.code, 0);
  assert.match(topic.stdout, /\b70\b/);
  const command = await runBin(['help', 'watch']);
  assert.equal(command.code, 0);
  assert.match(command.stdout, /^Usage: nex-compound watch/m);
});
