/**
 * The one table from error kinds to exit codes. Only the CLI knows exit codes; every floor
 * below throws kinds (src/contract/errors.ts), and bin/ sets the process's code from here.
 */
import { KnownError, type ErrorKind } from '../contract/errors.js';

export const ExitCode = {
  Completed: 0,
  JobFailed: 1,
  /** `config get` of a key that is not set: 1, as `git config` answers. */
  NotSet: 1,
  Usage: 2,
  Auth: 3,
  NotFound: 4,
  DeadlinePassed: 5,
  Unreachable: 6,
  TriggerOutcomeUnknown: 7,
  Storage: 8,
  ImportIncomplete: 9,
  Refused: 10,
  Internal: 70,
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const EXIT_CODE_OF_KIND: Readonly<Record<ErrorKind, ExitCodeValue>> = {
  job_failed: ExitCode.JobFailed,
  usage: ExitCode.Usage,
  auth: ExitCode.Auth,
  not_found: ExitCode.NotFound,
  deadline: ExitCode.DeadlinePassed,
  unavailable: ExitCode.Unreachable,
  outcome_unknown: ExitCode.TriggerOutcomeUnknown,
  store_unusable: ExitCode.Storage,
  import_incomplete: ExitCode.ImportIncomplete,
  conflict: ExitCode.Refused,
  interrupted: ExitCode.Interrupted,
  not_set: ExitCode.NotSet,
};

/** Rendered by `nex-compound help exit-codes` and copied into the README. */
export const EXIT_CODE_TABLE: ReadonlyArray<readonly [number, string]> = [
  [0, 'the job (every job watched) completed (also a success with warnings, e.g. Nexio degraded, unless --strict)'],
  [1, 'a job failed or was cancelled (error_details are printed); with --strict also a success with warnings; `config get` of a key that is not set'],
  [2, 'usage error: unknown command or job type, malformed job_run_id, bad option or config value'],
  [3, 'authentication or permission: missing API key, 401, 403'],
  [4, 'job not found (404)'],
  [5, 'the --timeout deadline passed while a job was still running (it may still be running)'],
  [6, "service unreachable, an answer that is not the API's (a web page, another job, no TLS, a proxy's refusal), or a server error, after retries"],
  [7, 'trigger outcome unknown: the request may or may not have created a job'],
  [8, 'local database unusable: missing directory, corrupt, unreadable or unwritable file, or a newer schema'],
  [9, 'import: some lines were bad (skipped, or with --strict nothing was written); each is reported with its line number'],
  [10, 'refused: a revert would overwrite later changes to the same insights (the message names what changed them)'],
  [70, 'internal error: a bug in nex-compound; rerun with --debug and report the stack trace'],
  [130, 'interrupted (Ctrl-C or SIGTERM); a job already started keeps running (on the server, or in the local worker)'],
];

export function exitCodeOf(error: unknown): ExitCodeValue {
  return error instanceof KnownError ? EXIT_CODE_OF_KIND[error.kind] : ExitCode.Internal;
}
