/**
 * Small human views the renderer builds from data: how long ago a moment was, and a nested
 * object (a server's error_details) as field/value rows.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "42 s ago", "2 min ago", "3 h ago", "5 days ago", "4 months ago", "2 years ago"; "in 2 min" for a moment ahead. */
export function relativeTime(at: number, now: number): string {
  const ahead = at > now;
  const ms = Math.abs(now - at);
  if (ms < 5 * SECOND) return 'just now';
  const amount =
    ms < MINUTE ? `${Math.floor(ms / SECOND)} s`
    : ms < HOUR ? `${Math.floor(ms / MINUTE)} min`
    : ms < 2 * DAY ? `${Math.floor(ms / HOUR)} h`
    : ms < 60 * DAY ? `${Math.floor(ms / DAY)} days`
    : ms < 730 * DAY ? `${Math.floor(ms / (30 * DAY))} months`
    : `${Math.floor(ms / (365 * DAY))} years`;
  return ahead ? `in ${amount}` : `${amount} ago`;
}

/** An ISO-8601 moment as the store and the APIs write it (2026-12-03T17:30:00.000Z, offsets too). */
const ISO_MOMENT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A field named like a moment (created_at, triggered_at) holding one: the moment in ms, or undefined. */
export function momentOf(field: string, value: unknown): number | undefined {
  if (!field.endsWith('_at') || typeof value !== 'string' || !ISO_MOMENT.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

export interface DetailRow {
  field: string;
  value: unknown;
}

/** Beyond this many fields the rest are counted: --json shows every one. */
const MAX_DETAIL_ROWS = 40;
const MAX_DEPTH = 4;

/**
 * A nested object as one row per leaf: `message  boom`, `errors[0].code  E42`. Keys and values are
 * someone else's words: the renderer cleans every cell. Empty objects and arrays show as {} and [];
 * anything nested deeper than MAX_DEPTH, as compact JSON.
 */
export function detailRows(details: unknown, limit = MAX_DETAIL_ROWS): DetailRow[] {
  const rows: DetailRow[] = [];
  let total = 0;
  const visit = (value: unknown, path: string, depth: number) => {
    const nested = typeof value === 'object' && value !== null;
    const entries = nested ? (Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [k, v] as const)) : [];
    if (!nested || entries.length === 0 || depth >= MAX_DEPTH) {
      total++;
      if (rows.length < limit) rows.push({ field: path === '' ? '(value)' : path, value: nested ? JSON.stringify(value) : value === null ? 'null' : value });
      return;
    }
    for (const [key, child] of entries) visit(child, key.startsWith('[') || path === '' ? `${path}${key}` : `${path}.${key}`, depth + 1);
  };
  visit(details, '', 0);
  if (total > rows.length) rows.push({ field: '…', value: `${total - rows.length} more (--json shows every field)` });
  return rows;
}
