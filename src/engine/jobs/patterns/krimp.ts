/**
 * KRIMP (Vreeken, van Leeuwen & Siebes 2011): the item sets that compress the data best,
 * chosen by the Minimum Description Length principle. Candidates (here: the closed frequent
 * item sets) are tried one at a time in Standard Candidate Order — support descending, size
 * descending, items ascending — and a candidate stays in the code table only if covering the
 * transactions with it makes the data plus the code table shorter in bits. A set that only
 * repeats what the chosen ones already say saves nothing and is left out, so the result is a
 * small set that describes the data without repeating itself. Pruning after each acceptance
 * (the paper's post-acceptance pruning) drops a chosen set that a later one made useless.
 *
 * The cover of a transaction is greedy in Standard Cover Order (size descending, support
 * descending, items ascending); items no chosen set covers are coded as singletons. Adding a
 * candidate only changes the covers of the transactions that contain it, so each try
 * re-covers just its tid-list, and the code lengths are kept as running sums.
 */

export interface Candidate {
  /** Item ids, ascending. */
  items: number[];
  support: number;
  /** Indexes (ascending) of the transactions that contain it. */
  tids: Int32Array;
}

/** Running sums over code usages: L(D | CT) + L(CT | D) in O(1) after each usage change. */
class CodeLengths {
  total = 0;
  private sumULogU = 0;
  private sumLogU = 0;
  private used = 0;
  private sumStandard = 0;

  constructor(private readonly standard: Float64Array) {}

  /** Usage u → u + delta of a code whose items cost `standard` bits in the standard code table. */
  change(before: number, delta: number, standard: number): void {
    const after = before + delta;
    if (before > 0) {
      this.sumULogU -= before * Math.log2(before);
      this.sumLogU -= Math.log2(before);
      this.used--;
      this.sumStandard -= standard;
    }
    if (after > 0) {
      this.sumULogU += after * Math.log2(after);
      this.sumLogU += Math.log2(after);
      this.used++;
      this.sumStandard += standard;
    }
    this.total += delta;
  }

  /** Bits: the data coded with the table, plus the used codes (each as its items in the standard table, then its own code). */
  bits(): number {
    if (this.total === 0) return 0;
    const logTotal = Math.log2(this.total);
    const data = this.total * logTotal - this.sumULogU;
    const table = this.sumStandard + this.used * logTotal - this.sumLogU;
    return data + table;
  }

  standardOf(item: number): number {
    return this.standard[item]!;
  }
}

/**
 * The candidates KRIMP keeps (their indexes, in the order they were accepted), on the
 * transactions given (items ascending within each, as in a TransactionPool).
 */
export function krimp(candidates: readonly Candidate[], transactions: { items: Int32Array; offsets: Int32Array }, itemCount: number): number[] {
  const n = transactions.offsets.length - 1;
  const frequency = new Float64Array(itemCount);
  for (let i = 0; i < transactions.items.length; i++) frequency[transactions.items[i]!]!++;
  let all = 0;
  for (const f of frequency) all += f;
  const standard = Float64Array.from(frequency, (f) => (f > 0 ? -Math.log2(f / all) : 0));
  const lengths = new CodeLengths(standard);
  const candidateStandard = candidates.map((c) => c.items.reduce((sum, item) => sum + standard[item]!, 0));

  // Codes: 0..itemCount-1 are the singletons, itemCount + k is candidate k.
  const usage = new Int32Array(itemCount + candidates.length);
  const standardOfCode = (code: number) => (code < itemCount ? standard[code]! : candidateStandard[code - itemCount]!);
  const use = (code: number, delta: number) => {
    lengths.change(usage[code]!, delta, standardOfCode(code));
    usage[code]! += delta;
  };
  // At the start every transaction is covered by its singletons.
  for (let i = 0; i < transactions.items.length; i++) use(transactions.items[i]!, 1);

  /** The chosen candidates in Standard Cover Order. */
  let table: number[] = [];
  const coverRank = (a: number, b: number) => {
    const x = candidates[a]!;
    const y = candidates[b]!;
    if (x.items.length !== y.items.length) return y.items.length - x.items.length;
    if (x.support !== y.support) return y.support - x.support;
    for (let i = 0; i < x.items.length; i++) if (x.items[i] !== y.items[i]) return x.items[i]! - y.items[i]!;
    return 0;
  };
  /** Per transaction, the candidates its cover uses (absent: singletons only). */
  const covers = new Map<number, number[]>();
  const stamp = new Int32Array(itemCount).fill(-1);

  /** Covers transaction t with the table; returns the candidates used (its singletons follow from them). */
  const cover = (t: number): number[] => {
    const from = transactions.offsets[t]!;
    const to = transactions.offsets[t + 1]!;
    for (let i = from; i < to; i++) stamp[transactions.items[i]!] = t;
    const used: number[] = [];
    for (const k of table) {
      const items = candidates[k]!.items;
      if (items.every((item) => stamp[item] === t)) {
        used.push(k);
        for (const item of items) stamp[item] = -1;
      }
    }
    return used;
  };
  const covered = new Int32Array(itemCount);
  let round = 0;
  const applyCover = (t: number, used: readonly number[], sign: 1 | -1) => {
    round++;
    for (const k of used) {
      use(itemCount + k, sign);
      for (const item of candidates[k]!.items) covered[item] = round;
    }
    for (let i = transactions.offsets[t]!; i < transactions.offsets[t + 1]!; i++) if (covered[transactions.items[i]!] !== round) use(transactions.items[i]!, sign);
  };
  /** Re-covers the transactions with the current table; returns their previous covers, to undo. */
  const recover = (tids: Int32Array): Array<number[] | undefined> => {
    const previous: Array<number[] | undefined> = [];
    for (const t of tids) {
      const old = covers.get(t);
      previous.push(old);
      applyCover(t, old ?? [], -1);
      const now = cover(t);
      applyCover(t, now, 1);
      if (now.length > 0) covers.set(t, now);
      else covers.delete(t);
    }
    return previous;
  };
  const undo = (tids: Int32Array, previous: ReadonlyArray<number[] | undefined>) => {
    tids.forEach((t, i) => {
      applyCover(t, covers.get(t) ?? [], -1);
      const old = previous[i];
      applyCover(t, old ?? [], 1);
      if (old && old.length > 0) covers.set(t, old);
      else covers.delete(t);
    });
  };

  const order = candidates.map((_, k) => k).sort((a, b) => {
    const x = candidates[a]!;
    const y = candidates[b]!;
    return y.support - x.support || y.items.length - x.items.length || coverRank(a, b);
  });
  let best = lengths.bits();
  for (const k of order) {
    if (candidates[k]!.tids.length < 2 || n === 0) continue;
    const before = table;
    const usageBefore = new Map(table.map((x) => [x, usage[itemCount + x]!]));
    table = [...table, k].sort(coverRank);
    const previous = recover(candidates[k]!.tids);
    const bits = lengths.bits();
    if (bits < best) {
      best = prune(bits, usageBefore);
    } else {
      undo(candidates[k]!.tids, previous);
      table = before;
    }
  }
  return table.filter((k) => usage[itemCount + k]! > 0);

  /** Post-acceptance pruning: try dropping each chosen set whose usage fell (least used first), keep a drop that saves bits. */
  function prune(bits: number, usageBefore: ReadonlyMap<number, number>): number {
    let current = bits;
    const tried = new Set<number>();
    for (;;) {
      const shrunk = table.filter((k) => !tried.has(k) && usageBefore.has(k) && usage[itemCount + k]! < usageBefore.get(k)!).sort((a, b) => usage[itemCount + a]! - usage[itemCount + b]! || a - b);
      const k = shrunk[0];
      if (k === undefined) return current;
      tried.add(k);
      const before = table;
      table = table.filter((x) => x !== k);
      const previous = recover(candidates[k]!.tids);
      const bits = lengths.bits();
      if (bits < current) current = bits;
      else {
        undo(candidates[k]!.tids, previous);
        table = before;
      }
    }
  }
}
