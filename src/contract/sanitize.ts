/**
 * Text nex-compound did not write — server fields, error bodies, insight text, tags, sources — on
 * its way to a terminal or a CI log. Every control character (C0, DEL, C1), escape sequence,
 * line or paragraph separator, bidirectional override and lone surrogate is shown escaped, the way
 * gh shows them, so such text can neither move the cursor, retitle the window, clear the screen,
 * reorder what follows, nor break a line: it stays one visible line. Redact secrets first: a
 * secret is matched in its raw form.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escaped(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line, every character that could act on a terminal shown escaped (`\x1b`, `\n`, `\u202e`). */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, escaped);
}

/**
 * A line a CI runner would read as a workflow command (`::error::`, `::add-mask::`,
 * `::stop-commands::`) gets its colons escaped; only the CI module writes real ones.
 */
export function defuseWorkflowCommand(line: string): string {
  return line.replace(/^(\s*)::/, '$1\\:\\:');
}

/** Characters valid in a JSON string that a terminal would still act on (C1 controls, separators, bidi). */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** JSON.stringify, with what a terminal would act on written as \u escapes: the same data, safe to print. */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
