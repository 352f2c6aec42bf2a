/** Secret redaction, the same for every floor that writes text a person or a log may see. */

/** A run of this many characters of a secret is redacted wherever it appears, not only the whole. */
const PIECE = 12;
/** Forms shorter than this are not secrets worth matching (they would redact ordinary words). */
const MIN_FORM = 4;

/**
 * The ways a key can show up in what a server echoes back: as given; without a "Bearer " prefix
 * the user included (only the rest is sent); with its spaces collapsed, as error messages are put
 * on one line; and each as JSON escapes it (--json) and as a URL encodes it (a redirect's path).
 */
function secretForms(secret: string): string[] {
  const bare = secret.replace(/^Bearer\s+/i, '');
  const plain = [secret, bare, secret.replace(/\s+/g, ' ').trim(), bare.replace(/\s+/g, ' ').trim()];
  const encoded = plain.flatMap((form) => [JSON.stringify(form).slice(1, -1), encodeURIComponent(form), encodeURI(form)]);
  return [...new Set([...plain, ...encoded])].filter((form) => form.length >= MIN_FORM);
}

/** What to look for: the whole of a short form, every PIECE-long run of a longer one. */
function piecesOf(form: string): string[] {
  if (form.length <= PIECE) return [form];
  const pieces: string[] = [];
  for (let i = 0; i + PIECE <= form.length; i++) pieces.push(form.slice(i, i + PIECE));
  return pieces;
}

/**
 * The secrets one run knows — from the environment, flags, the config profile, every provider —
 * shared by everything that writes, so a server echoing any of them, whole, cut, escaped or
 * URL-encoded, never gets one printed. Redact the whole text before cutting it.
 */
export class Secrets {
  private readonly pieces = new Set<string>();

  add(secret: string | undefined): void {
    if (!secret) return;
    for (const form of secretForms(secret)) for (const piece of piecesOf(form)) this.pieces.add(piece);
  }

  redact(text: string): string {
    if (this.pieces.size === 0 || text.length < MIN_FORM) return text;
    const spans: Array<[number, number]> = [];
    for (const piece of this.pieces) {
      for (let at = text.indexOf(piece); at !== -1; at = text.indexOf(piece, at + 1)) spans.push([at, at + piece.length]);
    }
    if (spans.length === 0) return text;
    spans.sort((a, b) => a[0] - b[0]);
    let result = '';
    let cursor = 0;
    let end = -1;
    for (const [start, stop] of spans) {
      if (start > end) {
        if (end !== -1) result += '[redacted]';
        result += text.slice(cursor, start);
      }
      end = Math.max(end, stop);
      cursor = end;
    }
    return `${result}[redacted]${text.slice(cursor)}`;
  }
}
