/**
 * Help text to the terminal's width. Commander lays out the option and command lists itself (told
 * the width, and to put a description under its term when there is no room beside it); the text
 * around them — paragraphs, examples, help topics — is wrapped here. Help is our own ASCII-ish
 * text (→, ·, … take one column), so a character is a column and no width table is loaded.
 */

/** Commander's and the cache's width: 80 columns unless the stream is a terminal that says otherwise. */
export const DEFAULT_HELP_WIDTH = 80;

export function helpWidth(stream: { isTTY?: boolean; columns?: number }): number {
  return stream.isTTY && stream.columns !== undefined && stream.columns > 0 ? stream.columns : DEFAULT_HELP_WIDTH;
}

/**
 * Wraps each line longer than width at spaces. Unindented lines that follow one another are one
 * paragraph, joined before wrapping when one of them is too long; an indented `term  description`
 * line continues under its description, any other indented line (an example) four columns in.
 */
export function wrapHelp(text: string, width: number): string {
  const prose = (line: string) => line !== '' && !/^\s/.test(line) && !line.endsWith(':');
  const groups: string[][] = [];
  for (const line of text.split('\n')) {
    const last = groups.at(-1);
    if (last && prose(line) && prose(last.at(-1)!)) last.push(line);
    else groups.push([line]);
  }
  return groups
    .flatMap((group) => (group.length > 1 && group.some((line) => line.length > width) ? [group.join(' ')] : group))
    .flatMap((line) => wrapLine(line, width))
    .join('\n');
}

function wrapLine(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const leading = /^ */.exec(line)![0].length;
  const term = leading > 0 ? /^ +\S+(?: \S+)* {2,}/.exec(line) : null;
  let hang = term ? term[0].length : leading > 0 ? leading + 4 : 0;
  if (hang > width / 2) hang = Math.min(leading + 4, Math.floor(width / 2));
  const prefix = term ? term[0] : line.slice(0, leading);
  const out: string[] = [];
  let current = prefix;
  let empty = true;
  for (const word of line.slice(prefix.length).split(' ').filter((w) => w !== '')) {
    if (!empty && current.length + 1 + word.length > width) {
      out.push(current);
      // A word too long for the hanging indent (a path, a URL) starts further left.
      current = ' '.repeat(hang + word.length <= width ? hang : Math.max(0, Math.min(leading + 4, width - word.length))) + word;
      continue;
    }
    current += (empty ? '' : ' ') + word;
    empty = false;
  }
  out.push(current);
  return out;
}
