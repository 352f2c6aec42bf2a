/**
 * Candidate pairs without comparing all pairs: MinHash signatures over shingles of each
 * insight, banded for locality-sensitive hashing. Two insights whose shingle sets have
 * Jaccard similarity s share at least one band with probability 1 − (1 − s^r)^b.
 * Everything is seeded and ordered, so the same input always yields the same pairs.
 */

export type ShingleMode = 'char4' | 'word';

export interface LshOptions {
  bands: number;
  rows: number;
  seed: number;
  shingles: ShingleMode;
  /** Buckets larger than this are not expanded to all pairs (see candidatePairs). */
  maxBucket: number;
  /** In an oversized bucket, each member is paired with this many neighbours. */
  window: number;
}

export const DEFAULT_LSH: LshOptions = { bands: 20, rows: 4, seed: 0x5eed, shingles: 'word', maxBucket: 64, window: 12 };

/** 32-bit FNV-1a of a string. */
function fnv1a(text: string, start = 0, end = text.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finalizer: a fast, well-mixed 32-bit permutation. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Shingle hashes: the tokens themselves, or character 4-grams of each token padded with
 * boundary marks. A token of weight w contributes w copies of each of its shingles, so the
 * MinHash estimates the weighted (generalized) Jaccard similarity Σ min / Σ max.
 */
function shingleHashes(tokens: string[], mode: ShingleMode, weights?: number[]): number[] {
  const out: number[] = [];
  tokens.forEach((token, t) => {
    const copies = weights?.[t] ?? 1;
    const push = (h: number) => {
      out.push(h);
      for (let c = 1; c < copies; c++) out.push(mix(h + Math.imul(c, 0x9e3779b9)));
    };
    if (mode === 'word') {
      push(fnv1a(token));
      return;
    }
    const padded = `\u0002${token}\u0003`;
    if (padded.length <= 4) push(fnv1a(padded));
    else for (let i = 0; i + 4 <= padded.length; i++) push(fnv1a(padded, i, i + 4));
  });
  return out;
}

/** The k = bands × rows seeds, derived from one seed. */
export function hashSeeds(options: LshOptions): Uint32Array {
  const seeds = new Uint32Array(options.bands * options.rows);
  let s = options.seed >>> 0;
  for (let i = 0; i < seeds.length; i++) {
    s = mix(s + 0x9e3779b9);
    seeds[i] = s;
  }
  return seeds;
}

/** Writes one insight's MinHash signature into `out` at `offset`. */
function minhash(shingles: number[], seeds: Uint32Array, out: Uint32Array, offset: number): void {
  const k = seeds.length;
  for (let i = 0; i < k; i++) out[offset + i] = 0xffffffff;
  for (const x of shingles) {
    // Shingle hashes are already well mixed, so each of the k permutations is one xor and
    // one odd multiply (whose high bits depend on every bit below): a quarter of mix()'s cost.
    for (let i = 0; i < k; i++) {
      const h = Math.imul(x ^ seeds[i]!, 0x9e3779b1) >>> 0;
      if (h < out[offset + i]!) out[offset + i] = h;
    }
  }
}

/**
 * One token's contribution to a signature: the k minima over its (weighted) shingles. A
 * signature is the element-wise minimum of its tokens' contributions, so a token that
 * recurs across a store is hashed once, not once per insight (see minInto).
 */
export function tokenMinhash(token: string, weight: number, mode: ShingleMode, seeds: Uint32Array, out: Uint32Array, offset: number): void {
  minhash(shingleHashes([token], mode, [weight]), seeds, out, offset);
}

/** signature[i] = min(signature[i], contribution[offset + i]) for the k positions. */
export function minInto(signature: Uint32Array, contribution: Uint32Array, offset: number): void {
  for (let i = 0; i < signature.length; i++) {
    const v = contribution[offset + i]!;
    if (v < signature[i]!) signature[i] = v;
  }
}

/**
 * Collects unique pairs (i < j) packed as i · 2^21 + j. Bands find the same pair again and
 * again (a million insights: ~3 finds per unique pair), so when the buffer fills it is first
 * compacted — sorted, repeats dropped — and grown only if that frees less than half of it.
 */
export class PairSet {
  private data = new Float64Array(1 << 16);
  size = 0;
  private sorted = 0;

  add(i: number, j: number): void {
    if (i === j) return;
    if (this.size === this.data.length) this.makeRoom();
    this.data[this.size++] = i < j ? i * 2 ** 21 + j : j * 2 ** 21 + i;
  }

  private makeRoom(): void {
    this.compact();
    if (this.size > this.data.length / 2) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data.subarray(0, this.size));
      this.data = grown;
    }
  }

  private compact(): void {
    if (this.sorted === this.size) return;
    const sorted = this.data.subarray(0, this.size).sort();
    let w = 0;
    for (let r = 0; r < sorted.length; r++) if (r === 0 || sorted[r] !== sorted[w - 1]) sorted[w++] = sorted[r]!;
    this.size = this.sorted = w;
  }

  /** Sorted, without repeats. */
  unique(): Float64Array {
    this.compact();
    return this.data.subarray(0, this.size);
  }
}

const MAX_ITEMS = 2 ** 21;
export const unpackPair = (packed: number): [number, number] => [Math.floor(packed / 2 ** 21), packed % 2 ** 21];

/** Folds one insight's signature (k = bands × rows values) into its band keys, written at `offset`. */
export function bandKeys(signature: Uint32Array, options: LshOptions, out: Uint32Array, offset: number): void {
  for (let band = 0; band < options.bands; band++) {
    let h = mix(band + 1);
    for (let r = 0; r < options.rows; r++) h = mix(h ^ signature[band * options.rows + r]!);
    out[offset + band] = h;
  }
}

/**
 * Pairs of items that share a band key (keys: n × bands, from bandKeys). A bucket of up to
 * maxBucket items yields all its pairs; a larger one (templated text: thousands of "X asked
 * about pricing") is ordered by the items' keys in the next bands and each member paired
 * with its next `window` neighbours, so near-identical signatures still meet while the pair
 * count stays linear.
 */
export function candidatePairs(keysByItem: Uint32Array, n: number, options: LshOptions, pairs: PairSet, onBand?: (band: number) => void): void {
  if (n > MAX_ITEMS) throw new Error(`consolidation handles at most ${MAX_ITEMS} insights per workspace in one run`);
  const bands = options.bands;
  const keys = new Float64Array(n);
  for (let band = 0; band < bands; band++) {
    for (let item = 0; item < n; item++) keys[item] = keysByItem[item * bands + band]! * 2 ** 21 + item;
    keys.sort();
    let start = 0;
    while (start < n) {
      const bucket = Math.floor(keys[start]! / 2 ** 21);
      let end = start + 1;
      while (end < n && Math.floor(keys[end]! / 2 ** 21) === bucket) end++;
      const size = end - start;
      if (size > 1) {
        const members: number[] = [];
        for (let i = start; i < end; i++) members.push(keys[i]! % 2 ** 21);
        if (size <= options.maxBucket) {
          for (let x = 0; x < size; x++) for (let y = x + 1; y < size; y++) pairs.add(members[x]!, members[y]!);
        } else {
          const next = (item: number, d: number) => keysByItem[item * bands + ((band + d) % bands)]!;
          members.sort((p, q) => next(p, 1) - next(q, 1) || next(p, 2) - next(q, 2) || p - q);
          for (let x = 0; x < size; x++) for (let y = x + 1; y < Math.min(size, x + 1 + options.window); y++) pairs.add(members[x]!, members[y]!);
        }
      }
      start = end;
    }
    onBand?.(band);
  }
}
