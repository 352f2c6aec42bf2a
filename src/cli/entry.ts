/**
 * Runs main and turns whatever it threw into one clear line on stderr and an exit code.
 * bin/ calls this and is the only place that sets process.exitCode; tests call it in-process.
 */
import type { Deps } from './deps.js';
import { KnownError, RefusedError, StorageError } from '../contract/errors.js';
import { ExitCode, exitCodeOf } from './exit-codes.js';
import { main } from './main.js';
import { redactSecrets } from '../contract/redact.js';

export async function runCli(argv: readonly string[], deps: Deps): Promise<number> {
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
  const secrets = [deps.env.NEX_API_KEY, deps.env.JULEP_API_KEY, deps.env.NEXIO_API_KEY, deps.env.JOBS_API_TOKEN, apiKeyFlag(argv), configSetSecret(argv)];
  const redact = (text: string) => redactSecrets(text, secrets);
  const color = !deps.env.NO_COLOR && Boolean(deps.stderr.isTTY);
  const red = (text: string) => (color ? `\u001b[31m${text}\u001b[39m` : text);
  const dim = (text: string) => (color ? `\u001b[2m${text}\u001b[22m` : text);
  if (error instanceof KnownError) {
    deps.stderr.write(redact(`${red('error:')} ${error.message}\n`));
    const hint = hintOf(error);
    if (hint) deps.stderr.write(redact(`${dim(`hint: ${hint}`)}\n`));
  } else {
    const message = error instanceof Error ? error.message : String(error);
    deps.stderr.write(redact(`${red('error:')} internal error: ${message}\n`));
    if (!debug) deps.stderr.write(dim('hint: rerun with --debug for the stack trace, and report it\n'));
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
