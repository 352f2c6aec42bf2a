/** Delays between polls and between retries. Randomness is injected so tests can pin it. */

const RETRY_BASE_MS = 500;
const RETRY_CAP_MS = 10_000;
const FIRST_POLL_MS = 1_000;
const POLL_GROWTH = 1.5;
const POLL_CAP_MS = 10_000;

/** "Full jitter": uniform in [0, min(cap, base·2^attempt)], so clients retrying together spread out. */
export function fullJitterBackoff(attempt: number, random: () => number, baseMs = RETRY_BASE_MS, capMs = RETRY_CAP_MS): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}

/** The n-th adaptive poll delay (n = 0 is the first poll after an accept): 1 s, ×1.5 up to 10 s, ±15 % jitter. */
export function pollDelay(n: number, random: () => number): number {
  const nominal = Math.min(POLL_CAP_MS, FIRST_POLL_MS * POLL_GROWTH ** Math.min(n, 30));
  return Math.round(nominal * (0.85 + 0.3 * random()));
}
