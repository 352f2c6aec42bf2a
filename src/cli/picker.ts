/**
 * A one-of-n picker on the terminal, as `gh run watch` offers when no run is named: drawn on
 * stderr, moved with the arrow keys or j/k, Enter chooses, Esc, q or Ctrl-C cancels. The
 * terminal is put back (raw mode off, cursor shown, the list erased) however the pick ends.
 */
import { emitKeypressEvents } from 'node:readline';
import type { Deps, InputStream, OutputStream } from './deps.js';
import { isCi } from './ui.js';
import { textWidth, type TextWidth } from './render/width.js';

/** What readline's keypress events carry. */
export interface Key {
  name?: string;
  ctrl?: boolean;
  sequence?: string;
}

export type PickStep = { kind: 'move'; index: number } | { kind: 'chosen'; index: number } | { kind: 'cancelled' } | { kind: 'ignored' };

/** What one key does to a list of `count` items with `index` selected. */
export function pickStep(index: number, count: number, key: Key): PickStep {
  const name = key.name ?? key.sequence;
  if (key.ctrl && (name === 'c' || name === 'd')) return { kind: 'cancelled' };
  switch (name) {
    case 'up':
    case 'k':
      return { kind: 'move', index: Math.max(0, index - 1) };
    case 'down':
    case 'j':
      return { kind: 'move', index: Math.min(count - 1, index + 1) };
    case 'home':
      return { kind: 'move', index: 0 };
    case 'end':
      return { kind: 'move', index: count - 1 };
    case 'return':
    case 'enter':
      return { kind: 'chosen', index };
    case 'escape':
    case 'q':
      return { kind: 'cancelled' };
    default:
      return { kind: 'ignored' };
  }
}

/** The lines of the picker: a title, then one line per item, the selected one marked; none wider than the terminal. */
export function pickerFrame(title: string, items: readonly string[], index: number, columns: number, measure: TextWidth): string[] {
  const fit = (line: string) => measure.cut(line, Math.max(columns - 1, 10));
  return [fit(title), ...items.map((item, i) => fit(`${i === index ? '> ' : '  '}${item}`))];
}

/** The parts of a terminal's input stream the picker drives (process.stdin on a terminal). */
interface RawInput extends NodeJS.EventEmitter {
  isTTY?: boolean;
  setRawMode(raw: boolean): unknown;
  resume(): unknown;
  pause(): unknown;
}

const isRawInput = (stdin: InputStream): stdin is InputStream & RawInput => Boolean(stdin.isTTY) && typeof (stdin as Partial<RawInput>).setRawMode === 'function';

/** A picker can be offered: someone at a terminal can answer it (stdin and stderr are terminals, not CI). */
export function canPick(deps: Pick<Deps, 'stdin' | 'stderr' | 'env'>): boolean {
  return isRawInput(deps.stdin) && Boolean(deps.stderr.isTTY) && !isCi(deps.env);
}

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
/** To the start of a frame of `lines` lines drawn from column 0, then erase to the end of the screen. */
const eraseFrame = (lines: number) => `\r${lines > 1 ? `\u001b[${lines - 1}A` : ''}\u001b[J`;

/**
 * Asks which of `items` (already plain, sanitised text): the index chosen, or undefined when
 * cancelled (a key, or `signal`). Only call it when canPick(deps).
 */
export async function pick(deps: Pick<Deps, 'stdin' | 'stderr' | 'signal'>, title: string, items: readonly string[]): Promise<number | undefined> {
  const { stdin, stderr } = deps;
  if (!isRawInput(stdin)) throw new Error('pick needs a terminal on stdin');
  if (items.length === 0) return undefined;
  const columns = (stderr as OutputStream).columns || 80;
  const measure = await textWidth([title, ...items]);
  let index = 0;
  let drawn = 0;
  const draw = () => {
    const frame = pickerFrame(title, items, index, columns, measure);
    stderr.write(`${drawn > 0 ? eraseFrame(drawn) : ''}${frame.join('\n')}`);
    drawn = frame.length;
  };

  return new Promise<number | undefined>((resolve, reject) => {
    let done = false;
    /** Puts the terminal back: raw mode off, the list erased, the cursor shown. Once, however the pick ends. */
    const restore = () => {
      if (done) return;
      done = true;
      stdin.removeListener('keypress', onKey);
      deps.signal?.removeEventListener('abort', onAbort);
      try {
        stdin.setRawMode(false);
      } finally {
        stdin.pause();
        stderr.write(`${drawn > 0 ? eraseFrame(drawn) : ''}${SHOW_CURSOR}`);
      }
    };
    const finish = (chosen: number | undefined) => {
      try {
        restore();
        resolve(chosen);
      } catch (error) {
        reject(error);
      }
    };
    const fail = (error: unknown) => {
      try {
        restore();
      } finally {
        reject(error);
      }
    };
    const onKey = (_text: string | undefined, key: Key | undefined) => {
      try {
        const step = pickStep(index, items.length, key ?? {});
        if (step.kind === 'move') {
          index = step.index;
          draw();
        } else if (step.kind === 'chosen') finish(step.index);
        else if (step.kind === 'cancelled') finish(undefined);
      } catch (error) {
        fail(error);
      }
    };
    const onAbort = () => finish(undefined);
    if (deps.signal?.aborted) return resolve(undefined);
    emitKeypressEvents(stdin as unknown as NodeJS.ReadableStream);
    stdin.setRawMode(true);
    try {
      stderr.write(HIDE_CURSOR);
      draw();
      stdin.on('keypress', onKey);
      deps.signal?.addEventListener('abort', onAbort, { once: true });
      stdin.resume();
    } catch (error) {
      fail(error);
    }
  });
}
