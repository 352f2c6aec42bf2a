/**
 * The normalized form of an insight's text: what makes two insights "the same text"
 * for reinforcement. NFKC, lower case, whitespace collapsed, surrounding punctuation
 * and quotes stripped.
 */
const EDGE_PUNCTUATION = /^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu;
const WHITESPACE = /\s+/g;

export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(WHITESPACE, ' ').replace(EDGE_PUNCTUATION, '');
}
