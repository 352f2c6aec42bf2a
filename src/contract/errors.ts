/**
 * The error classes and the one table that maps them to exit codes.
 * Commands throw these; only bin/ turns them into a process exit code.
 */

export const ExitCode = {
  Completed: 0,
  JobFailed: 1,
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

/** Rendered by `nex-compound help exit-codes` and copied into the README. */
export const EXIT_CODE_TABLE: ReadonlyArray<readonly [number, string]> = [
  [0, 'the job (every job watched) completed (also a success with warnings, e.g. Nexio degraded, unless --strict)'],
  [1, 'a job failed or was cancelled (error_details are printed); with --strict also a success with warnings'],
  [2, 'usage error: unknown command or job type, malformed job_run_id, bad option or config value'],
  [3, 'authentication or permission: missing API key, 401, 403'],
  [4, 'job not found (404)'],
  [5, 'the --timeout deadline passed while a job was still running (it may still be running)'],
  [6, 'service unreachable, or a server error, after retries'],
  [7, 'trigger outcome unknown: the request may or may not have created a job'],
  [8, 'local database unusable: missing directory, corrupt, unreadable or unwritable file, or a newer schema'],
  [9, 'import: some lines were bad (skipped, or with --strict nothing was written); each is reported with its line number'],
  [10, 'refused: a revert would overwrite later changes to the same insights (the message names what changed them)'],
  [70, 'internal error: a bug in nex-compound; rerun with --debug and report the stack trace'],
  [130, 'interrupted (Ctrl-C); the job keeps running on the server'],
];

export class CliError extends Error {
  readonly exitCode: ExitCodeValue;
  /** One line telling the user what to do next; printed under the message. */
  readonly hint: string | undefined;
  constructor(message: string, exitCode: ExitCodeValue, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.Usage, hint);
  }
}

export class AuthError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.Auth, hint);
  }
}

export class NotFoundError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.NotFound, hint);
  }
}

/** The service could not be reached or kept answering with errors. */
export class ServiceError extends CliError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Unreachable, hint, options);
  }
}

/** The local engine's database cannot be used. */
export class StorageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.Storage, hint);
  }
}

/** An import met bad lines: the good ones were imported (or, with --strict, nothing was). */
export class ImportIncompleteError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.ImportIncomplete, hint);
  }
}

export class RefusedError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.Refused, hint);
  }
}

export class TriggerOutcomeUnknownError extends CliError {
  readonly idempotencyKey: string;
  constructor(message: string, idempotencyKey: string, hint?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.TriggerOutcomeUnknown, hint, options);
    this.idempotencyKey = idempotencyKey;
  }
}

/** A job reached "failed". The job's final state has already been rendered to stdout. */
export class JobFailedError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.JobFailed, hint);
  }
}

export class DeadlinePassedError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.DeadlinePassed, hint);
  }
}

export class InterruptedError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.Interrupted, hint);
  }
}

export function exitCodeOf(error: unknown): ExitCodeValue {
  return error instanceof CliError ? error.exitCode : ExitCode.Internal;
}
