/**
 * Fisher's exact test, one-sided for a positive association, on the 2×2 table of two item
 * sets A and C over N insights: the probability that A and C share at least `both` insights
 * if the supp(A) insights holding A were drawn at random (the hypergeometric upper tail).
 * Written here rather than taken from a statistics package: it is a dozen lines over a table
 * of log-factorials, and the packages on npm compute it through floating-point factorials
 * that overflow at a few thousand insights.
 */

/** log(k!) for k = 0..n. */
export function logFactorials(n: number): Float64Array {
  const table = new Float64Array(n + 1);
  for (let k = 2; k <= n; k++) table[k] = table[k - 1]! + Math.log(k);
  return table;
}

/** P(X ≥ both) for X ~ Hypergeometric(N = n, K = c, draws = a). */
export function fisherUpperTail(both: number, a: number, c: number, n: number, logFactorial: Float64Array): number {
  const top = Math.min(a, c);
  const low = Math.max(0, a + c - n);
  if (both <= low) return 1;
  const lf = (k: number) => logFactorial[k]!;
  const logTotal = lf(c) + lf(n - c) + lf(a) + lf(n - a) - lf(n);
  const logTerm = (x: number) => logTotal - lf(x) - lf(c - x) - lf(a - x) - lf(n - c - a + x);
  let sum = 0;
  for (let x = both; x <= top; x++) {
    const term = Math.exp(logTerm(x));
    sum += term;
    // Above the mean the terms only shrink: past a relative 1e-16 they no longer change the sum.
    if (term < sum * 1e-16) break;
  }
  return Math.min(1, sum);
}
