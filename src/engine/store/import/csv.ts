/**
 * CSV (RFC 4180, with a header row) → rows, in memory bounded by MAX_RECORD_CHARS. Quoted fields
 * may span lines; the reading is strict wherever a lenient one would silently merge records:
 *
 * - a quote inside an unquoted field, or text after a closing quote other than a comma or the end
 *   of the line, makes the record bad;
 * - a record whose quoted field spans lines is accepted only if it closes cleanly within
 *   MAX_RECORD_CHARS and, when the header has two or more columns, none of its later lines would
 *   import on its own as a record of the header's width. Otherwise a quote is more likely missing
 *   than that text holding whole records: its opening line is reported and the lines after it are
 *   read again as records of their own. Only the record's lines (at most MAX_RECORD_CHARS) are held
 *   for that. Lines a quoted field ran through hold only doubled quotes, which cannot open a field
 *   that runs on, so only the closing line can start a new multi-line record: no line is read more
 *   than three times.
 *
 * A bad record is reported at the line it starts on.
 */
import { UsageError } from '../../../contract/errors.js';
import { BadLine, LineSplitter, MAX_RECORD_CHARS, NOT_UTF8, TOO_LONG, toRow, type LineFault, type Row } from './rows.js';

interface PhysicalLine {
  no: number;
  text: string;
  fault: LineFault | undefined;
}

/** How a line's fields end: a whole record, a bad one, or inside a quoted field (its text so far). */
type Scan = { kind: 'record' } | { kind: 'bad'; message: string } | { kind: 'open'; field: string };

const QUOTE = 34;
const COMMA = 44;
const LIMIT = MAX_RECORD_CHARS.toLocaleString('en-US');

const quoteInField = (n: number) => `field ${n} holds a quote but does not start with one: quote the whole field and double each quote inside it ("say ""hi""")`;
const textAfterQuote = (n: number) => `field ${n} goes on after its closing quote: a quote inside a quoted field is written twice ("")`;
const UNTERMINATED_AT_END = 'unterminated quoted field: the quote opened here never closes';
const UNTERMINATED_AT_LIMIT = `unterminated quoted field: no closing quote within ${LIMIT} characters`;
const misquoted = (closing: number) => `a quoted field opened here closes at line ${closing} across lines that look like records; a quote is probably missing`;

/**
 * Reads a quoted field's text from `from` (just past its opening quote, or the start of a line it
 * continues on): the text and the index after the closing quote, or `next: -1` if the line ends first.
 */
function readQuoted(text: string, from: number, before: string): { field: string; next: number } {
  let field = before;
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return { field: field + text.slice(at), next: -1 };
    if (text.charCodeAt(quote + 1) === QUOTE) {
      field += text.slice(at, quote + 1);
      at = quote + 2;
      continue;
    }
    return { field: field + text.slice(at, quote), next: quote + 1 };
  }
}

/**
 * Appends one line's fields to `fields`. `open` is the text so far of a quoted field an earlier
 * line ended inside of; this line then continues it.
 */
function scanLine(text: string, fields: string[], open: string | undefined): Scan {
  let at = 0;
  if (open !== undefined) {
    const quoted = readQuoted(text, 0, `${open}\n`);
    if (quoted.next === -1) return { kind: 'open', field: quoted.field };
    fields.push(quoted.field);
    if (quoted.next === text.length) return { kind: 'record' };
    if (text.charCodeAt(quoted.next) !== COMMA) return { kind: 'bad', message: textAfterQuote(fields.length) };
    at = quoted.next + 1;
  }
  let nextQuote = text.indexOf('"', at);
  for (;;) {
    if (text.charCodeAt(at) === QUOTE) {
      const quoted = readQuoted(text, at + 1, '');
      if (quoted.next === -1) return { kind: 'open', field: quoted.field };
      fields.push(quoted.field);
      if (quoted.next === text.length) return { kind: 'record' };
      if (text.charCodeAt(quoted.next) !== COMMA) return { kind: 'bad', message: textAfterQuote(fields.length) };
      at = quoted.next + 1;
      nextQuote = text.indexOf('"', at);
      continue;
    }
    const comma = text.indexOf(',', at);
    const end = comma === -1 ? text.length : comma;
    if (nextQuote !== -1 && nextQuote < end) return { kind: 'bad', message: quoteInField(fields.length + 1) };
    fields.push(text.slice(at, end));
    if (comma === -1) return { kind: 'record' };
    at = comma + 1;
  }
}

export class CsvParser {
  private readonly splitter = new LineSplitter();
  /** Physical lines read. */
  lines = 0;
  private header: string[] | undefined;
  /** The lines of a record whose quoted field runs over lines, while it is open. */
  private span: PhysicalLine[] = [];
  private spanChars = 0;
  private spanFields: string[] = [];
  private openField = '';
  /** Lines to read again, the next one last. */
  private readonly again: PhysicalLine[] = [];

  constructor(
    private readonly now: number,
    private readonly onRow: (row: Row) => void,
    private readonly onBad: (line: number, message: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    this.splitter.push(chunk, this.handle);
  }

  end(): void {
    this.splitter.end(this.handle);
    while (this.span.length > 0) {
      this.rejectSpan(UNTERMINATED_AT_END);
      this.readAgain();
    }
  }

  private readonly handle = (text: string, fault: LineFault | undefined): void => {
    this.lines++;
    this.take({ no: this.lines, text, fault });
    this.readAgain();
  };

  private readAgain(): void {
    for (let line = this.again.pop(); line; line = this.again.pop()) this.take(line);
  }

  private take(line: PhysicalLine): void {
    if (this.span.length > 0) {
      this.continueSpan(line);
      return;
    }
    if (line.fault === TOO_LONG) {
      this.onBad(line.no, TOO_LONG);
      return;
    }
    // A blank line separates nothing and is no record.
    if (line.text.trim() === '') return;
    const fields: string[] = [];
    const scan = scanLine(line.text, fields, undefined);
    if (scan.kind === 'open') {
      this.span = [line];
      this.spanChars = line.text.length;
      this.spanFields = fields;
      this.openField = scan.field;
    } else if (scan.kind === 'bad') this.onBad(line.no, line.fault ?? scan.message);
    else this.record(line.no, fields, line.fault);
  }

  private continueSpan(line: PhysicalLine): void {
    this.span.push(line);
    this.spanChars += line.text.length + 1;
    if (line.fault === TOO_LONG || this.spanChars > MAX_RECORD_CHARS) {
      this.rejectSpan(UNTERMINATED_AT_LIMIT);
      return;
    }
    const scan = scanLine(line.text, this.spanFields, this.openField);
    if (scan.kind === 'open') {
      this.openField = scan.field;
      return;
    }
    if (this.holdsRecords()) this.rejectSpan(misquoted(line.no));
    else if (scan.kind === 'bad') this.rejectSpan(`the record opened here breaks at line ${line.no}: ${scan.message}`);
    else {
      const opening = this.span[0]!;
      const faulty = this.span.find((l) => l.fault !== undefined);
      const fields = this.spanFields;
      this.clearSpan();
      this.record(opening.no, fields, faulty === undefined ? undefined : faulty === opening ? NOT_UTF8 : `${NOT_UTF8} (line ${faulty.no})`);
    }
  }

  /** Whether a line after the span's first would import on its own as a record of the header's width. */
  private holdsRecords(): boolean {
    const header = this.header;
    if (!header || header.length < 2) return false;
    return this.span.slice(1).some((line) => {
      if (line.fault !== undefined) return false;
      const fields: string[] = [];
      if (scanLine(line.text, fields, undefined).kind !== 'record' || fields.length !== header.length) return false;
      try {
        toRow(this.object(header, fields), this.now);
        return true;
      } catch (error) {
        if (error instanceof BadLine) return false;
        throw error;
      }
    });
  }

  /** Reports the span's opening line and queues the lines after it to be read as records of their own. */
  private rejectSpan(message: string): void {
    const [opening, ...rest] = this.span;
    this.clearSpan();
    this.onBad(opening!.no, message);
    for (let i = rest.length - 1; i >= 0; i--) this.again.push(rest[i]!);
  }

  private clearSpan(): void {
    this.span = [];
    this.spanChars = 0;
    this.spanFields = [];
    this.openField = '';
  }

  /** The first record is the header, whatever its bytes: its names only pick the columns. */
  private record(line: number, fields: string[], fault: string | undefined): void {
    if (!this.header) {
      this.header = fields.map((h) => h.trim().toLowerCase());
      if (!this.header.includes('text')) throw new UsageError('the CSV header has no "text" column', `found: ${this.header.join(', ')}`);
      return;
    }
    if (fields.length === 1 && fields[0]!.trim() === '') return;
    try {
      if (fault !== undefined) throw new BadLine(fault);
      if (fields.length !== this.header.length) throw new BadLine(`expected ${this.header.length} fields, found ${fields.length}`);
      this.onRow(toRow(this.object(this.header, fields), this.now));
    } catch (error) {
      if (!(error instanceof BadLine)) throw error;
      this.onBad(line, error.message);
    }
  }

  private object(header: string[], fields: string[]): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    header.forEach((name, i) => (object[name] = fields[i]));
    return object;
  }
}
