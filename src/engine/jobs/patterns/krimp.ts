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

/**
 * The least saving, in bits, that counts: below it a difference is the rounding of the running
 * sums (a candidate no transaction ends up using changes nothing, but the sums may wobble).
 */
const SAVING = 1e-6;

/** Running sums over code usages: L(D | CT) + L(CT | D) in O(1) after each usage change. */
class CodeLengths {
  total = 0;
  private sumULogU = 0;
  private sumLogU = 0;
  private used = 0;
  private sumStandard = 0;

  /** log2(u) for every usage u a code can have (at most one use per transaction). */
  private readonly log2: Float64Array;

  constructor(maxUsage: number) {
    this.log2 = Float64Array.from({ length: maxUsage + 2 }, (_, u) => (u > 0 ? Math.log2(u) : 0));
  }

  /** Usage u → u + delta of a code whose items cost `standard` bits in the standard code table. */
  change(before: number, delta: number, standard: number): void {
    const after = before + delta;
    if (before > 0) {
      this.sumULogU -= before * this.log2[before]!;
      this.sumLogU -= this.log2[before]!;
      this.used--;
      this.sumStandard -= standard;
    }
    if (after > 0) {
      this.sumULogU += after * this.log2[after]!;
      this.sumLogU += this.log2[after]!;
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
  const lengths = new CodeLengths(n);
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

  // Standard Cover Order, as a position per candidate.
  const coverOrder = candidates.map((_, k) => k).sort((a, b) => {
    const x = candidates[a]!;
    const y = candidates[b]!;
    if (x.items.length !== y.items.length) return y.items.length - x.items.length;
    if (x.support !== y.support) return y.support - x.support;
    for (let i = 0; i < x.items.length; i++) if (x.items[i] !== y.items[i]) return x.items[i]! - y.items[i]!;
    return 0;
  });
  const coverPosition = new Int32Array(candidates.length);
  coverOrder.forEach((k, position) => (coverPosition[k] = position));
  /** The chosen candidates. */
  let table: number[] = [];
  /**
   * Per transaction, the chosen candidates it contains, in cover order: its cover only ever
   * looks at these, not at the whole table.
   */
  const fits: number[][] = Array.from({ length: n }, () => []);
  /** Per transaction, the candidates its cover uses (its singletons follow from them). */
  const none = new Int32Array(0);
  const covers: Int32Array[] = Array.from({ length: n }, () => none);
  const stamp = new Int32Array(itemCount).fill(-1);

  const enter = (k: number) => {
    for (const t of candidates[k]!.tids) {
      const list = fits[t]!;
      let at = list.length;
      while (at > 0 && coverPosition[list[at - 1]!]! > coverPosition[k]!) at--;
      list.splice(at, 0, k);
    }
  };
  const leave = (k: number) => {
    for (const t of candidates[k]!.tids) {
      const list = fits[t]!;
      list.splice(list.indexOf(k), 1);
    }
  };

  /** The last cover computed: candidates used[0 .. usedCount). */
  let used = new Int32Array(64);
  let usedCount = 0;
  /** Uses candidate k in transaction t's cover if its items are all still free there. */
  const tryCode = (k: number, t: number) => {
    const items = candidates[k]!.items;
    for (let i = 0; i < items.length; i++) if (stamp[items[i]!] !== t) return;
    if (usedCount === used.length) {
      const grown = new Int32Array(used.length * 2);
      grown.set(used);
      used = grown;
    }
    used[usedCount++] = k;
    for (let i = 0; i < items.length; i++) stamp[items[i]!] = -1;
  };
  /**
   * Covers transaction t with the table (without `dropped`, if ≥ 0) and, if ≥ 0, the candidate
   * on trial, into `used`; returns whether the trial is used. A trial that finds its items
   * taken is not used, and the rest of that cover is not worked out (it is the one t has).
   */
  const cover = (t: number, trial: number, dropped: number): boolean => {
    const from = transactions.offsets[t]!;
    const to = transactions.offsets[t + 1]!;
    for (let i = from; i < to; i++) stamp[transactions.items[i]!] = t;
    usedCount = 0;
    let pending = trial >= 0;
    for (const k of fits[t]!) {
      if (k === dropped) continue;
      if (pending && coverPosition[trial]! < coverPosition[k]!) {
        tryCode(trial, t);
        if (usedCount === 0 || used[usedCount - 1] !== trial) return false;
        pending = false;
      }
      tryCode(k, t);
    }
    if (pending) {
      tryCode(trial, t);
      return usedCount > 0 && used[usedCount - 1] === trial;
    }
    return trial >= 0;
  };
  const before = new Int32Array(itemCount);
  const after = new Int32Array(itemCount);
  let round = 0;
  /**
   * Moves transaction t from cover `from` to cover `to`, changing only the usages that differ:
   * most of a transaction is coded the same way before and after, and each usage change costs
   * a few logarithms.
   */
  const move = (t: number, from: Int32Array, to: Int32Array) => {
    round++;
    for (const k of from) {
      if (!to.includes(k)) use(itemCount + k, -1);
      for (const item of candidates[k]!.items) before[item] = round;
    }
    for (const k of to) {
      if (!from.includes(k)) use(itemCount + k, 1);
      for (const item of candidates[k]!.items) after[item] = round;
    }
    for (let i = transactions.offsets[t]!; i < transactions.offsets[t + 1]!; i++) {
      const item = transactions.items[i]!;
      const was = before[item] === round;
      const is = after[item] === round;
      if (was && !is) use(item, 1);
      else if (is && !was) use(item, -1);
    }
  };
  /**
   * Re-covers the transactions after `trial` joined the table or `dropped` left it (one is -1;
   * either is entered in or left out of `fits` only once it is kept); returns their previous
   * covers, to undo. A transaction whose cover does not use the trial, or did not use the
   * dropped one, keeps its cover: the greedy pass would go the same way.
   */
  const recover = (tids: Int32Array, trial: number, dropped: number): Int32Array[] => {
    const previous: Int32Array[] = [];
    for (const t of tids) {
      const old = covers[t]!;
      previous.push(old);
      if (dropped >= 0 && !old.includes(dropped)) continue;
      // Unused, the trial leaves the cover as it was: nothing to keep.
      if (!cover(t, trial, dropped) && trial >= 0) continue;
      const now = used.slice(0, usedCount);
      move(t, old, now);
      covers[t] = now;
    }
    return previous;
  };
  const undo = (tids: Int32Array, previous: readonly Int32Array[]) => {
    tids.forEach((t, i) => {
      if (covers[t] === previous[i]) return;
      move(t, covers[t]!, previous[i]!);
      covers[t] = previous[i]!;
    });
  };

  const order = candidates.map((_, k) => k).sort((a, b) => {
    const x = candidates[a]!;
    const y = candidates[b]!;
    return y.support - x.support || y.items.length - x.items.length || coverPosition[a]! - coverPosition[b]!;
  });
  let best = lengths.bits();
  /** The usage of each chosen candidate before the latest trial. */
  const usageBefore = new Int32Array(candidates.length);
  for (const k of order) {
    if (candidates[k]!.tids.length < 2 || n === 0) continue;
    for (const x of table) usageBefore[x] = usage[itemCount + x]!;
    const previous = recover(candidates[k]!.tids, k, -1);
    const bits = lengths.bits();
    if (bits < best - SAVING) {
      enter(k);
      table.push(k);
      best = prune(bits, k);
    } else {
      undo(candidates[k]!.tids, previous);
    }
  }
  return table.filter((k) => usage[itemCount + k]! > 0);

  /**
   * Post-acceptance pruning: try dropping each chosen set (but the one just accepted) whose usage
   * fell (least used first), keep a drop that saves bits.
   */
  function prune(bits: number, accepted: number): number {
    let current = bits;
    const tried = new Set<number>();
    for (;;) {
      const shrunk = table.filter((k) => !tried.has(k) && k !== accepted && usage[itemCount + k]! < usageBefore[k]!).sort((a, b) => usage[itemCount + a]! - usage[itemCount + b]! || a - b);
      const k = shrunk[0];
      if (k === undefined) return current;
      tried.add(k);
      const previous = recover(candidates[k]!.tids, -1, k);
      const bits = lengths.bits();
      if (bits < current - SAVING) {
        current = bits;
        leave(k);
        table = table.filter((x) => x !== k);
      } else {
        undo(candidates[k]!.tids, previous);
      }
    }
  }
}
