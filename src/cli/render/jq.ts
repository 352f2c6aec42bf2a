/**
 * --jq: the --json document through a jq filter, evaluated by jq itself (jq 1.7 compiled to
 * WebAssembly: the jq-web package; no install step, no native code). Loaded only when --jq is
 * given: compiling the module costs ~250 ms. Output as gh prints it: strings raw (jq -r), other
 * values as JSON, indented on a terminal and one per line otherwise. A filter that does not
 * compile, or fails on the document (even after some output), is a usage error of one line.
 */
import { UsageError } from '../../contract/errors.js';
import { safeJson, sanitize } from '../../contract/sanitize.js';

/** jq's own words, on one line: `jq: error (at <stdin>:0): Cannot index array with "x"` → `Cannot index array with "x"`. */
export function jqMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text
    .split('\n')
    .filter((line) => !/^Non-zero exit code: \d+$/.test(line))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^jq: \d+ compile errors?$/.test(line));
  const first = lines[0] ?? 'jq failed';
  return sanitize(
    first
      .replace(/^jq: error(?: \(at [^)]*\))?: /, '')
      .replace(/ \(Unix shell quoting issues\?\)/, '')
      .replace(/:$/, ''),
  );
}

/**
 * Runs jq once: its output, and what it wrote on stderr (debug, stderr) when it succeeded. The
 * wasm runtime sets process.exitCode to jq's exit status and reports a successful run's stderr
 * with console.warn; both are jq's business, not this process's, so both are taken back.
 */
async function runJq(input: string, filter: string, flags: string[]): Promise<{ output: string; stderr: string[] }> {
  const jq = await (await import('jq-web')).default;
  const exitCode = process.exitCode;
  const warn = console.warn;
  const stderr: string[] = [];
  console.warn = (...parts: unknown[]) => void stderr.push(String(parts.at(-1)));
  try {
    // jq's output less its last newline, or undefined when it wrote nothing: put the newline back.
    const output = jq.raw(input, filter, flags) as string | undefined;
    return { output: output === undefined ? '' : `${output}\n`, stderr };
  } finally {
    console.warn = warn;
    process.exitCode = exitCode;
  }
}

/** Refuses a filter that does not compile before the command does anything (a trigger, say). */
export async function checkJq(filter: string): Promise<void> {
  try {
    await runJq('null', filter, ['-r']);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Only compile errors: a filter may well fail on null and work on the real document.
    if (/compile error/.test(message)) throw new UsageError(`--jq: ${jqMessage(error)}`);
  }
}

/**
 * The document through the filter: each result on its own line, strings raw. On a terminal every
 * line is sanitized (a raw string could otherwise carry escape sequences to it); a pipe gets jq's
 * output as jq -r would write it.
 */
export async function applyJq(document: unknown, filter: string, terminal: boolean): Promise<{ output: string; stderr: string[] }> {
  let result: { output: string; stderr: string[] };
  try {
    result = await runJq(safeJson(document ?? null), filter, terminal ? ['-r'] : ['-r', '-c']);
  } catch (error) {
    throw new UsageError(`--jq: ${jqMessage(error)}`);
  }
  return { output: terminal ? result.output.split('\n').map(sanitize).join('\n') : result.output, stderr: result.stderr };
}
