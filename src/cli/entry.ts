/**
 * Runs main and turns whatever it threw into one clear line on stderr and an exit code.
 * bin/ calls this and is the only place that sets process.exitCode; tests call it in-process.
 */
import type { Deps } from './deps.js';
import { KnownError, RefusedError, StorageError } from '../contract/errors.js';
import { ExitCode, exitCodeOf } from './exit-codes.js';
import { main } from './main.js';
import { Secrets } from '../contract/redact.js';
import { defuseWorkflowCommand, sanitize } from '../contract/sanitize.js';
import { isGithubActions } from './ci/detect.js';
import { exitAnnotation } from './ci/annotate.js';

export async function runCli(argv: readonly string[], deps: Deps): Promise<number> {
  // One set of the run's secrets, shared by the Ui and by the report below.
  deps.secrets ??= new Secrets();
  try {
    await main(argv, deps);
    return ExitCode.Completed;
  } catch (error) {
    reportError(error, deps, argv);
    return exitCodeOf(error);
  }
}

export function reportError(error: unknown, deps: Deps, argv: readonly string[]): void {
  const debug = argv.includes('--debug');
  // Whatever the run learnt (a key from the config profile, say), and what it may not have got
  // to before it failed: the environment's keys and a key on the command line.
  const secrets = deps.secrets ?? new Secrets();
  for (const secret of [deps.env.NEX_API_KEY, deps.env.JULEP_API_KEY, deps.env.NEXIO_API_KEY, deps.env.JOBS_API_TOKEN, apiKeyFlag(argv), configSetSecret(argv)]) secrets.add(secret);
  const redact = (text: string) => secrets.redact(text);
  // A message may carry a server's words: one line, escapes shown, no workflow command.
  const line = (text: string) => defuseWorkflowCommand(sanitize(redact(text)));
  const color = !deps.env.NO_COLOR && Boolean(deps.stderr.isTTY);
  const red = (text: string) => (color ? `\u001b[31m${text}\u001b[39m` : text);
  const dim = (text: string) => (color ? `\u001b[2m${text}\u001b[22m` : text);
  if (error instanceof KnownError) {
    deps.stderr.write(`${red('error:')} ${line(error.message)}\n`);
    const hint = hintOf(error);
    if (hint) deps.stderr.write(`${dim(`hint: ${line(hint)}`)}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    deps.stderr.write(`${red('error:')} internal error: ${line(message)}\n`);
    if (!debug) deps.stderr.write(dim('hint: rerun with --debug for the stack trace, and report it\n'));
  }
  // In a runner every failing exit also lands on the run's page; once, if a job's report already put it there.
  if (isGithubActions(deps.env)) {
    const message = error instanceof KnownError ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
    const annotation = exitAnnotation(deps.env, message, line(message));
    if (annotation) deps.stderr.write(`${annotation}\n`);
  }
  if (debug && error instanceof Error && error.stack) {
    let current: unknown = error;
    while (current instanceof Error) {
      deps.stderr.write(redact(`${current.stack ?? current.message}\n`));
      current = current.cause;
      if (current instanceof Error) deps.stderr.write('caused by: ');
    }
  }
}

/**
 * What to do next, in this CLI's terms: the floors below say what is wrong and what would help
 * (another database file, reverting a later run first); the flags and commands are named here.
 */
export function hintOf(error: KnownError): string | undefined {
  if (error instanceof StorageError && error.otherPathHelps) {
    return [error.hint, 'pass another path with --db or NEX_COMPOUND_DB'].filter(Boolean).join(', or ');
  }
  if (error instanceof RefusedError && error.revertFirst) return `revert ${error.revertFirst} first (\`nex-compound revert ${error.revertFirst}\`)`;
  return error.hint;
}

/**
 * `config set api-key <key>` (or julep./nexio./jobs.api-key): a key that starts with "-" is read
 * as an unknown option, and that error would print it.
 */
function configSetSecret(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('set');
  const key = i === -1 ? undefined : argv[i + 1]?.trim().toLowerCase().replace(/_/g, '-');
  return key !== undefined && /^(?:(?:julep|nexio|jobs)[.-])?api-key$/.test(key) ? argv[i + 2] : undefined;
}

/** Secrets given on the command line must be scrubbed from errors as well. */
function apiKeyFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--api-key') return argv[i + 1];
    if (arg.startsWith('--api-key=')) return arg.slice('--api-key='.length);
  }
  return undefined;
}
