/** Parsing and validation of user input, separate from running anything. */
import { UsageError } from './errors.js';
import { JOB_TYPES, type JobType } from './jobs.js';
import { PROVIDER_NAMES, type ProviderName } from './lifecycle.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseJobType(input: string): JobType {
  const normalized = input.trim().toLowerCase().replace(/-/g, '_');
  if ((JOB_TYPES as readonly string[]).includes(normalized)) return normalized as JobType;
  const suggestion = closest(normalized, JOB_TYPES);
  throw new UsageError(
    `unknown job type "${input}"${suggestion ? ` — did you mean "${suggestion}"?` : ''}`,
    `valid job types: ${JOB_TYPES.join(', ')}`,
  );
}

export function parseJobRunId(input: string): string {
  const trimmed = input.trim();
  if (!UUID_RE.test(trimmed)) {
    throw new UsageError(
      `"${input}" is not a job_run_id: expected a UUID such as 550e8400-e29b-41d4-a716-446655440000`,
      'copy the job_run_id printed by `nex-compound trigger`',
    );
  }
  return trimmed.toLowerCase();
}

export function parseProvider(input: string, what = '--provider'): ProviderName {
  const name = input.trim().toLowerCase();
  if ((PROVIDER_NAMES as readonly string[]).includes(name)) return name as ProviderName;
  throw new UsageError(`${what} "${input}" is not a provider nex-compound follows`, `use one of: ${PROVIDER_NAMES.join(', ')}`);
}

/**
 * A job id for another provider's API. Those APIs are the authority on their own id format
 * (Julep also reads 32 hex digits, for one) and answer a malformed one with a readable 400 or
 * 422, so only what could never be an id, or could escape the path, is refused here.
 */
export function parseProviderJobId(input: string): string {
  const trimmed = input.trim();
  if (trimmed === '' || trimmed.length > 256 || /[\s\u0000-\u001f\u007f]/.test(trimmed) || trimmed === '.' || trimmed === '..') {
    throw new UsageError(`"${input.slice(0, 80)}" is not a job id`, 'pass the id the provider returned when the job was created');
  }
  return trimmed;
}

export function isUuid(input: string): boolean {
  return UUID_RE.test(input);
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "5m", "1h", "30d", "250ms", or a bare number of seconds. Returns milliseconds. */
export function parseDuration(input: string, what: string, { allowZero = true } = {}): number {
  const match = DURATION_RE.exec(input.trim().toLowerCase());
  if (!match) {
    throw new UsageError(`${what} "${input}" is not a duration`, 'use a number with a unit, e.g. 90s, 5m, 1h (a bare number is seconds)');
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
  if (!allowZero && ms <= 0) throw new UsageError(`${what} must be greater than zero`, 'e.g. 2s or 500ms');
  return ms;
}

export function parseNonNegativeInt(input: string, what: string): number {
  // Beyond 2^53 a number is no longer a whole number SQLite accepts as a LIMIT or an id (exit 70 before).
  if (!/^\d+$/.test(input.trim()) || !Number.isSafeInteger(Number(input.trim()))) throw new UsageError(`${what} must be 0 or a positive whole number, got "${input}"`);
  return Number(input.trim());
}

export function parseBaseUrl(input: string, what = 'base URL'): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new UsageError(`${what} "${input}" is not a URL`, 'e.g. https://app.nex.ai/api/developers');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${what} "${input}" must use https (or http on loopback)`);
  }
  if (url.username || url.password) {
    throw new UsageError(`${what} must not carry credentials`, 'set the key with NEX_API_KEY or `nex-compound config set api-key`');
  }
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Damerau-free Levenshtein; good enough for a few dozen short names. The likeliest meant name, if any is close. */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(input, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  const prefixMatch = candidates.find((c) => input.length >= 3 && (c.startsWith(input) || input.startsWith(c)));
  if (prefixMatch) return prefixMatch;
  return bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** Loopback names and addresses: plain http and binding are safe there. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Whether the first bytes of a file are a binary file's (an archive, an image, a database), not
 * text with a stray control character: a NUL, and control bytes (other than tab, line breaks and
 * form feed) making up at least 5 % of them. A PNG's first 16 bytes are 25 % controls; a JSONL
 * file with one NUL typed into a line is well under 1 %, and is read line by line instead.
 */
export function looksBinary(head: Uint8Array): boolean {
  if (!head.includes(0)) return false;
  let controls = 0;
  for (const byte of head) if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) controls++;
  return controls >= head.length * 0.05;
}
