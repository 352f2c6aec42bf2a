/** Kept apart from http.ts so that code handling transient failures does not load undici. */
import { ServiceError } from '../contract/errors.js';

/** A failure worth retrying for an idempotent request. */
export class TransientError extends ServiceError {
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
}
