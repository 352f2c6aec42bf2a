/** The picker: what each key does, the frame it draws, and that the terminal is put back on every path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import stringWidth from 'string-width';
import { canPick, pick, pickerFrame, pickStep } from '../../src/cli/picker.js';
import { textWidth } from '../../src/cli/render/width.js';
import { FakeTerminal } from '../helpers/cli.js';

test('keys: arrows and j/k move within the list, Home/End jump, Enter chooses, Esc, q, Ctrl-C and Ctrl-D cancel, others do nothing', () => {
  assert.deepEqual(pickStep(0, 3, { name: 'down' }), { kind: 'move', index: 1 });
  assert.deepEqual(pickStep(2, 3, { name: 'j' }), { kind: 'move', index: 2 });
  assert.deepEqual(pickStep(1, 3, { name: 'k' }), { kind: 'move', index: 0 });
  assert.deepEqual(pickStep(0, 3, { name: 'up' }), { kind: 'move', index: 0 });
  assert.deepEqual(pickStep(0, 3, { name: 'end' }), { kind: 'move', index: 2 });
  assert.deepEqual(pickStep(2, 3, { name: 'home' }), { kind: 'move', index: 0 });
  assert.deepEqual(pickStep(1, 3, { name: 'return' }), { kind: 'chosen', index: 1 });
  for (const key of [{ name: 'escape' }, { name: 'q' }, { name: 'c', ctrl: true }, { name: 'd', ctrl: true }]) assert.deepEqual(pickStep(1, 3, key), { kind: 'cancelled' }, JSON.stringify(key));
  assert.deepEqual(pickStep(1, 3, { name: 'x' }), { kind: 'ignored' });
  assert.deepEqual(pickStep(1, 3, {}), { kind: 'ignored' });
});

test('the frame marks the selected line and cuts lines wider than the terminal', async () => {
  const frame = pickerFrame('Which one?', ['a'.repeat(50), 'b'], 1, 30, await textWidth(['a', 'b']));
  assert.deepEqual(frame.slice(1).map((line) => line.slice(0, 2)), ['  ', '> ']);
  assert.ok(frame.every((line) => stringWidth(line) < 30), frame.join('\n'));
  assert.match(frame[1]!, /…$/);
});

/** A terminal's input: readable keys, and a record of the raw-mode switches. */
class FakeKeyboard extends PassThrough {
  isTTY = true;
  rawModes: boolean[] = [];
  setRawMode(raw: boolean) {
    this.rawModes.push(raw);
    return this;
  }
}

test('a picker is offered only when stdin and stderr are terminals, outside CI', () => {
  const tty = new FakeTerminal(true);
  assert.equal(canPick({ stdin: new FakeKeyboard(), stderr: tty, env: {} }), true);
  assert.equal(canPick({ stdin: new FakeKeyboard(), stderr: tty, env: { CI: 'true' } }), false);
  assert.equal(canPick({ stdin: new FakeKeyboard(), stderr: new FakeTerminal(false), env: {} }), false);
  assert.equal(canPick({ stdin: Object.assign(new FakeKeyboard(), { isTTY: false }), stderr: tty, env: {} }), false);
});

for (const [label, keys, expected] of [
  ['j j k Enter chooses the second', 'jjk\r', 1],
  ['q cancels', 'q', undefined],
  ['Ctrl-C cancels', '\u0003', undefined],
] as const) {
  test(`${label}; raw mode goes off and the cursor comes back`, async () => {
    const stdin = new FakeKeyboard();
    const stderr = new FakeTerminal(true);
    const chosen = pick({ stdin, stderr }, 'Which one?', ['first', 'second', 'third']);
    stdin.write(keys);
    assert.equal(await chosen, expected);
    assert.deepEqual(stdin.rawModes, [true, false]);
    assert.ok(stderr.text.startsWith('\u001b[?25l'));
    assert.ok(stderr.text.endsWith('\u001b[J\u001b[?25h'), JSON.stringify(stderr.text.slice(-40)));
    assert.equal(stdin.listenerCount('keypress'), 0);
  });
}

test('an abort (SIGTERM) cancels the pick and restores the terminal too', async () => {
  const stdin = new FakeKeyboard();
  const stderr = new FakeTerminal(true);
  const abort = new AbortController();
  const chosen = pick({ stdin, stderr, signal: abort.signal }, 'Which one?', ['first']);
  // Once the list is drawn (the measurer is ready a turn later).
  while (stdin.rawModes.length === 0) await new Promise((resolve) => setImmediate(resolve));
  abort.abort();
  assert.equal(await chosen, undefined);
  assert.deepEqual(stdin.rawModes, [true, false]);
  assert.ok(stderr.text.endsWith('\u001b[?25h'));
});

test('a terminal that fails while the list is drawn: the error comes out, and raw mode is off again', async () => {
  const stdin = new FakeKeyboard();
  const stderr = new FakeTerminal(true);
  let writes = 0;
  const write = stderr.write.bind(stderr);
  stderr.write = ((chunk: string) => {
    if (++writes === 3) throw new Error('EIO');
    return write(chunk);
  }) as typeof stderr.write;
  const chosen = pick({ stdin, stderr }, 'Which one?', ['first', 'second']);
  stdin.write('j');
  await assert.rejects(chosen, /EIO/);
  assert.deepEqual(stdin.rawModes, [true, false]);
  assert.equal(stdin.listenerCount('keypress'), 0);
  assert.ok(stderr.text.endsWith('\u001b[?25h'));
});
