/**
 * Workflow-command escaping, and the `::error::` a failing exit adds in GitHub Actions. No
 * imports: entry.ts loads it on every run (its error report is synchronous), unlike github.ts.
 */

/** The toolkit's escaping: a message may not break out of its line or its command. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * The error messages already annotated in a run — a failed job's, by its watch's report — so the
 * exit that follows does not annotate the same failure twice. Keyed by the run's env object,
 * which everything of one run shares (in-process tests run many CLIs in one process).
 */
const annotatedByRun = new WeakMap<object, Set<string>>();

export function noteAnnotated(run: object, message: string): void {
  let messages = annotatedByRun.get(run);
  if (!messages) annotatedByRun.set(run, (messages = new Set()));
  messages.add(message);
}

/**
 * The annotation for a failing exit, or undefined when the run already annotated this message.
 * `line` is the message as the error report prints it: one line, secrets redacted.
 */
export function exitAnnotation(run: object, message: string, line: string): string | undefined {
  if (annotatedByRun.get(run)?.has(message)) return undefined;
  return `::error title=nex-compound::${escapeData(line)}`;
}
