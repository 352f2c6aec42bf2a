/** Help text wrapped to the terminal: paragraphs re-flowed, term/description lines hang under the description. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helpWidth, wrapHelp } from '../../../src/cli/render/help.js';
import { runInProcess } from '../../helpers/cli.js';

test('wrapHelp keeps lines that fit, re-flows a paragraph with a long line, hangs continuations under the description', () => {
  assert.equal(wrapHelp('short\nlines', 60), 'short\nlines');
  const paragraph = 'Each job is triggered when the one before it has completed; the first failure stops the\npipeline with its exit code.';
  const wrapped = wrapHelp(paragraph, 40).split('\n');
  assert.ok(wrapped.every((line) => line.length <= 40), wrapped.join('\n'));
  assert.equal(wrapped.join(' '), paragraph.replace('\n', ' '));
  const env = wrapHelp('  NEX_BASE_URL           base URL of the Nex Developer API (default https://app.nex.ai/api/developers)', 60).split('\n');
  assert.equal(env[0], '  NEX_BASE_URL           base URL of the Nex Developer API');
  assert.ok(env.every((line) => line.length <= 60), env.join('\n'));
  assert.match(env[1]!, /^ {25}\(default$/);
  // An example continues four columns in.
  assert.deepEqual(wrapHelp('  $ nex-compound run --jobs consolidation,metrics --timeout 20m', 40).split('\n'), ['  $ nex-compound run --jobs', '      consolidation,metrics --timeout', '      20m']);
  assert.equal(helpWidth({ isTTY: true, columns: 60 }), 60);
  assert.equal(helpWidth({ isTTY: false, columns: 60 }), 80);
  assert.equal(helpWidth({ isTTY: true, columns: 0 }), 80);
});

test('--no-headers leaves the header line out of plain lines', async () => {
  const dir = (await import('../../helpers/cli.js')).tempDir();
  const add = await runInProcess(['insights', 'add', 'Acme asked for SSO', '--db', `${dir}/e.db`]);
  assert.equal(add.code, 0, add.stderr);
  const withHeaders = await runInProcess(['insights', 'list', '--db', `${dir}/e.db`]);
  assert.match(withHeaders.stdout, /^ID +STATUS/);
  const bare = await runInProcess(['insights', 'list', '--db', `${dir}/e.db`, '--no-headers']);
  assert.equal(bare.code, 0, bare.stderr);
  assert.doesNotMatch(bare.stdout, /STATUS/);
  assert.match(bare.stdout, /^1 +active .*Acme asked for SSO\n$/);
});
