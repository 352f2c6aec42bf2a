/**
 * Candidate pairs of one run, packed as i · 2^21 + j (i < j). Buckets find the same pair again
 * and again, so when the buffer fills it is first compacted — sorted, repeats dropped — and
 * grown only if that frees less than half of it.
 */
export class PairSet {
  private data = new Float64Array(1 << 16);
  size = 0;
  private sorted = 0;

  add(i: number, j: number): void {
    if (i === j) return;
    if (i >= MAX_ITEMS || j >= MAX_ITEMS) throw new Error(`consolidation handles at most ${MAX_ITEMS} insights per workspace in one run`);
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
