/**
 * Display width, cutting and wrapping of terminal text. A line is read as tokens that are never
 * split: our own color codes (zero columns), an escape that sanitize() wrote as text (`\x1b`,
 * `\u202e`, `\n`: as many columns as characters) and grapheme clusters (a surrogate pair, an emoji
 * with its modifiers, a letter with its accents; CJK and emoji take two columns). Cutting happens
 * after sanitizing and only between tokens. Only this module loads string-width, and it does so
 * only for text beyond printable ASCII (its emoji tables cost ~90 ms to load).
 */

/** A color code of ours (chalk's SGR) or an escape sanitize() wrote out: one token each. */
const ATOM = /\u001b\[[0-9;]*m|\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[nrt])/g;
const SGR_PATTERN = /^\u001b\[([0-9;]*)m$/;
const ASCII = /^[\u0020-\u007e]*$/;
/** Codes that end a style (reset, normal intensity, no italic/underline/inverse/strike, default colors). */
const CLOSING = new Set(['', '0', '22', '23', '24', '27', '28', '29', '39', '49']);

type Measure = (grapheme: string) => number;

interface Token {
  text: string;
  width: number;
  ansi: boolean;
}

export interface TextWidth {
  /** Columns a line takes on a terminal. */
  width(text: string): number;
  /** The line cut to at most max columns, ending with "…" when cut. */
  cut(text: string, max: number): string;
  /** The line broken into lines of at most max columns, at spaces where it can. */
  wrap(text: string, max: number): string[];
}

/** A measurer for these texts: string-width is loaded only when one of them is not printable ASCII. */
export async function textWidth(texts: Iterable<string>): Promise<TextWidth> {
  let ascii = true;
  for (const text of texts) {
    if (!ASCII.test(text.replace(ATOM, ''))) {
      ascii = false;
      break;
    }
  }
  if (ascii) return measurer((g) => g.length);
  const { default: stringWidth } = await import('string-width');
  return measurer((g) => (ASCII.test(g) ? g.length : stringWidth(g)));
}

function measurer(measure: Measure): TextWidth {
  const segmenter = new Intl.Segmenter();
  const tokens = (text: string): Token[] => {
    const out: Token[] = [];
    const plain = (part: string) => {
      if (part === '') return;
      if (ASCII.test(part)) for (const char of part) out.push({ text: char, width: 1, ansi: false });
      else for (const { segment } of segmenter.segment(part)) out.push({ text: segment, width: measure(segment), ansi: false });
    };
    let last = 0;
    for (const match of text.matchAll(ATOM)) {
      plain(text.slice(last, match.index));
      const ansi = match[0].startsWith('\u001b');
      out.push({ text: match[0], width: ansi ? 0 : match[0].length, ansi });
      last = match.index + match[0].length;
    }
    plain(text.slice(last));
    return out;
  };
  const width = (text: string) => tokens(text).reduce((sum, t) => sum + t.width, 0);
  return {
    width,
    cut(text, max) {
      const all = tokens(text);
      if (all.reduce((sum, t) => sum + t.width, 0) <= max) return text;
      if (max <= 0) return '';
      let used = 0;
      let out = '';
      let styled = false;
      for (const token of all) {
        if (token.ansi) {
          out += token.text;
          styled = true;
          continue;
        }
        if (used + token.width > max - 1) break;
        out += token.text;
        used += token.width;
      }
      return `${out}…${styled ? '\u001b[0m' : ''}`;
    },
    wrap(text, max) {
      if (max <= 0 || width(text) <= max) return [text];
      const lines: string[] = [];
      let line = '';
      let used = 0;
      let open: string[] = [];
      const track = (code: string) => {
        const params = SGR_PATTERN.exec(code)?.[1] ?? '';
        open = CLOSING.has(params) ? [] : [...open, code];
      };
      const breakLine = () => {
        lines.push(open.length > 0 ? `${line}\u001b[0m` : line);
        line = open.join('');
        used = 0;
      };
      // Words are runs of tokens between spaces; a word longer than a line is broken between tokens.
      const words: Token[][] = [[]];
      for (const token of tokens(text)) {
        if (token.text === ' ') words.push([token], []);
        else words.at(-1)!.push(token);
      }
      for (const word of words) {
        const wordWidth = word.reduce((sum, t) => sum + t.width, 0);
        if (word.length === 1 && word[0]!.text === ' ') {
          if (used > 0 && used < max) {
            line += ' ';
            used += 1;
          }
          continue;
        }
        if (used > 0 && used + wordWidth > max) {
          line = line.trimEnd();
          breakLine();
        }
        for (const token of word) {
          if (token.ansi) {
            line += token.text;
            track(token.text);
            continue;
          }
          if (used > 0 && used + token.width > max) breakLine();
          line += token.text;
          used += token.width;
        }
      }
      lines.push(line);
      return lines;
    },
  };
}
