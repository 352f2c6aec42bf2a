/** Kept apart from http.ts so that code handling transient failures does not load undici. */
import { ServiceError, type KnownError } from '../contract/errors.js';

/** A failure worth retrying for an idempotent request. */
export class TransientError extends ServiceError {
  /** Retries this failure is worth at most (a name that does not resolve: one). */
  maxRetries: number | undefined;
  /** What to report when the retries are used up, instead of this message. */
  final: KnownError | undefined;

  constructor(
    message: string,
    /** True when the request provably never reached the server (safe to resend a POST). */
    readonly neverReached: boolean,
    /** From Retry-After, already capped. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, options);
  }

  withLimit(maxRetries: number, final: KnownError): this {
    this.maxRetries = maxRetries;
    this.final = final;
    return this;
  }
}
