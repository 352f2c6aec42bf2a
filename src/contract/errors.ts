/**
 * The kinds of failure nex-compound anticipates. Every floor throws these; none of them knows
 * exit codes — the CLI maps each kind to one in a single table (src/cli/exit-codes.ts).
 * Anything else thrown is a bug in nex-compound.
 */

export const ERROR_KINDS = [
  'usage',
  'auth',
  'not_found',
  'unavailable',
  'outcome_unknown',
  'store_unusable',
  'import_incomplete',
  'conflict',
  'job_failed',
  'deadline',
  'interrupted',
  'not_set',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** A failure nex-compound anticipates: a kind, one line of message and what to do next. */
export class KnownError extends Error {
  readonly kind: ErrorKind;
  /** One line telling the user what to do next; printed under the message. */
  readonly hint: string | undefined;
  constructor(kind: ErrorKind, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
    this.hint = hint;
  }
}

/** Bad input: an unknown command, job type or option, a malformed id or value. */
export class UsageError extends KnownError {
  constructor(message: string, hint?: string) {
    super('usage', message, hint);
  }
}

/** A missing key, 401 or 403. */
export class AuthError extends KnownError {
  constructor(message: string, hint?: string) {
    super('auth', message, hint);
  }
}

export class NotFoundError extends KnownError {
  constructor(message: string, hint?: string) {
    super('not_found', message, hint);
  }
}

/** The service could not be reached or kept answering with errors. */
export class ServiceError extends KnownError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super('unavailable', message, hint, options);
  }
}

/**
 * The local engine's database cannot be used. `otherPathHelps`: pointing the tool at another
 * database file is a way out (the CLI names its own flag for that). `notWritable`: it could not
 * be opened for writing, which a command that only reads can live with.
 */
export class StorageError extends KnownError {
  readonly otherPathHelps: boolean;
  readonly notWritable: boolean;
  constructor(message: string, hint?: string, options: { otherPathHelps?: boolean; notWritable?: boolean } = {}) {
    super('store_unusable', message, hint);
    this.otherPathHelps = options.otherPathHelps ?? false;
    this.notWritable = options.notWritable ?? false;
  }
}

/** An import met bad lines: the good ones were imported (or, with --strict, nothing was). */
export class ImportIncompleteError extends KnownError {
  constructor(message: string, hint?: string) {
    super('import_incomplete', message, hint);
  }
}

/** A change refused because it would overwrite later changes (a revert). */
export class RefusedError extends KnownError {
  /** A later run that must be reverted first, when that is the way out. */
  readonly revertFirst: string | undefined;
  constructor(message: string, hint?: string, options: { revertFirst?: string } = {}) {
    super('conflict', message, hint);
    this.revertFirst = options.revertFirst;
  }
}

export class TriggerOutcomeUnknownError extends KnownError {
  readonly idempotencyKey: string;
  constructor(message: string, idempotencyKey: string, hint?: string, options?: { cause?: unknown }) {
    super('outcome_unknown', message, hint, options);
    this.idempotencyKey = idempotencyKey;
  }
}

/** A job reached "failed" (or was cancelled). */
export class JobFailedError extends KnownError {
  constructor(message: string, hint?: string) {
    super('job_failed', message, hint);
  }
}

export class DeadlinePassedError extends KnownError {
  constructor(message: string, hint?: string) {
    super('deadline', message, hint);
  }
}

export class InterruptedError extends KnownError {
  constructor(message: string, hint?: string) {
    super('interrupted', message, hint);
  }
}

/** A value asked for is not set (`config get` of an unset key), as `git config` reports it. */
export class NotSetError extends KnownError {
  constructor(message: string, hint?: string) {
    super('not_set', message, hint);
  }
}
