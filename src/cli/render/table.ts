/**
 * Tables on a terminal, fitted to its width. Rows: columns keep their natural width when the table
 * fits; otherwise headers give way first, then the widest values, cut with "…", none below
 * MIN_COLUMN columns and ids never; when even that does not fit, each row becomes a block of
 * `key  value` lines. Records (key/value): the value column wraps at spaces to what is left beside
 * the keys, or, when that is too narrow for a table or for an id, becomes `key  value` lines that
 * wrap (ids never do).
 * Cells arrive sanitized (render.ts cell()); every width is a display width (see width.ts).
 */
import type { ChalkInstance } from 'chalk';
import { textWidth, type TextWidth } from './width.js';

/** Columns whose values are never cut: a cut id cannot be pasted into the next command. */
const isIdColumn = (name: string): boolean => /(^|_)id$/.test(name);

/** No other column of a fitted table is cut below this (or its natural width, if smaller). */
export const MIN_COLUMN = 8;
/** A record keeps its table while the value column has at least this much room. */
const MIN_RECORD_VALUE = 16;

export interface TableOptions {
  /** The terminal's width; without one the table takes its natural width. */
  columns?: number | undefined;
  headers: boolean;
}

/**
 * The content width of each column of a bordered table at most total columns wide, or undefined
 * when there is no usable fit. Headers give way first (a column keeps the width of its values),
 * then the widest values; ids never do, and no other column goes below MIN_COLUMN.
 */
export function fitColumns(names: readonly string[], headers: readonly number[], values: readonly number[], total: number | undefined): number[] | undefined {
  const natural = headers.map((h, i) => Math.max(h, values[i]!));
  const border = 3 * natural.length + 1;
  const sum = (list: readonly number[]) => list.reduce((a, b) => a + b, 0);
  if (total === undefined || total <= 0 || sum(natural) + border <= total) return natural;
  const flex = natural.map((_, i) => i).filter((i) => !isIdColumn(names[i]!));
  const room = total - border;
  const floor = (i: number) => Math.min(natural[i]!, MIN_COLUMN);
  const lowest = natural.map((n, i) => (flex.includes(i) ? floor(i) : n));
  if (sum(lowest) > room) return undefined;
  const trimmed = natural.map((n, i) => (flex.includes(i) ? Math.max(values[i]!, floor(i)) : n));
  let widths = trimmed;
  if (sum(trimmed) > room) {
    // The widest values give way: the largest cap under which everything fits.
    const at = (cap: number) => trimmed.map((n, i) => (flex.includes(i) ? Math.min(n, Math.max(cap, floor(i))) : n));
    let cap = Math.max(...flex.map((i) => trimmed[i]!));
    while (sum(at(cap)) > room) cap--;
    widths = at(cap);
  }
  // What is left goes back, a column at a time, to the columns that were cut.
  let left = room - sum(widths);
  for (let more = true; left > 0 && more; ) {
    more = false;
    for (const i of flex) {
      if (left > 0 && widths[i]! < natural[i]!) {
        widths[i]! += 1;
        left -= 1;
        more = true;
      }
    }
  }
  return widths;
}

/** Rows of already-cleaned cells as a table fitted to the terminal, or as blocks of `key  value` lines. */
export async function rowsTable(names: readonly string[], rows: ReadonlyArray<readonly string[]>, options: TableOptions): Promise<string> {
  const tw = await textWidth([...names, ...rows.flat()]);
  const lines = rows.map((row) => row.map((value) => value.split('\n')));
  const headers = names.map((name) => (options.headers ? tw.width(name) : 0));
  const values = names.map((_, i) => Math.max(0, ...lines.map((row) => Math.max(...row[i]!.map(tw.width)))));
  const widths = fitColumns(names, headers, values, options.columns);
  if (!widths) return blocks(tw, names, rows, options.columns!);
  const all = options.headers ? [names.map((name) => [name]), ...lines] : lines;
  return await draw(tw, widths, all);
}

/** One block of `key  value` lines per row, values cut to the width (ids kept whole). */
function blocks(tw: TextWidth, names: readonly string[], rows: ReadonlyArray<readonly string[]>, total: number): string {
  const keyWidth = Math.max(...names.map(tw.width));
  const room = total - keyWidth - 2;
  return rows
    .map((row) =>
      names
        .flatMap((name, i) => {
          const value = row[i]!.split('\n')[0]!;
          if (value === '') return [];
          return [`${name.padEnd(keyWidth)}  ${isIdColumn(name) ? value : tw.cut(value, room)}`];
        })
        .join('\n'),
    )
    .join('\n\n');
}

/** A key/value record: a two-column table whose values wrap to the terminal, or wrapped `key  value` lines. */
export async function recordTable(entries: ReadonlyArray<readonly [string, string]>, chalk: ChalkInstance, total: number | undefined): Promise<string> {
  const tw = await textWidth(entries.flat());
  const keyWidth = Math.max(...entries.map(([key]) => tw.width(key)));
  const valueLines = entries.map(([, value]) => value.split('\n'));
  const natural = Math.max(0, ...valueLines.flat().map(tw.width));
  if (total === undefined || total <= 0 || keyWidth + natural + 7 <= total) {
    return await draw(tw, [keyWidth, natural], entries.map(([key], i) => [[chalk.bold(key)], valueLines[i]!]));
  }
  const room = total - keyWidth - 7;
  // An id is never wrapped: when one does not fit the value column, the lines below hold it whole.
  const fits = (space: number) => entries.every(([key], i) => !isIdColumn(key) || valueLines[i]!.every((line) => tw.width(line) <= space));
  if (room >= MIN_RECORD_VALUE && fits(room)) {
    return await draw(tw, [keyWidth, room], entries.map(([key], i) => [[chalk.bold(key)], valueLines[i]!.flatMap((line) => tw.wrap(line, room))]));
  }
  const lineRoom = total - keyWidth - 2;
  const indent = ' '.repeat(keyWidth + 2);
  return entries
    .map(([key], i) => {
      const wrapped = valueLines[i]!.flatMap((line) => (lineRoom >= MIN_COLUMN && !isIdColumn(key) ? tw.wrap(line, lineRoom) : [line]));
      return `${key.padEnd(keyWidth)}  ${wrapped.join(`\n${indent}`)}`;
    })
    .join('\n');
}

/**
 * A bordered table drawn by cli-table3, each cell already cut to its column's width here (cli-table3
 * would cut by its own count of columns, and would not keep an id whole).
 */
async function draw(tw: TextWidth, widths: readonly number[], rows: ReadonlyArray<ReadonlyArray<readonly string[]>>): Promise<string> {
  const { default: Table } = await import('cli-table3');
  const table = new Table({ colWidths: widths.map((w) => w + 2), wordWrap: false, style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 } });
  for (const row of rows) table.push(row.map((cell, i) => (cell.length === 0 ? [''] : cell).map((line) => tw.cut(line, widths[i]!)).join('\n')));
  return table.toString();
}
