/**
 * Frequent item sets by FP-Growth (Han, Pei & Yin 2000), on typed arrays.
 *
 * Transactions are lists of non-negative item ids. Items below the minimum support are
 * dropped, the rest ranked by descending frequency, and every transaction is inserted as a
 * path of ranks into a prefix tree (the FP-tree) whose nodes carry counts. The item sets
 * ending in an item are mined from that item's conditional tree — the paths above its nodes —
 * recursively, to `maxSize` items. Nodes live in parallel Int32Arrays rather than objects:
 * a million insights make a few million nodes, which as objects would cost ~10× the memory.
 * A tree is built from its paths sorted (see PathSorter), so that no child is ever looked up.
 */

export interface FrequentItemset {
  /** Item ids, ascending. */
  items: number[];
  support: number;
}

/** Transactions packed in one array: transaction t is items[offsets[t] .. offsets[t + 1]). */
export interface TransactionPool {
  items: Int32Array;
  offsets: Int32Array;
}

export type Transactions = Iterable<ArrayLike<number>> | TransactionPool;

const isPool = (t: Transactions): t is TransactionPool => (t as TransactionPool).offsets instanceof Int32Array && (t as TransactionPool).items instanceof Int32Array;

/** Each transaction in turn (pool entries as views, not copies). */
export function* eachTransaction(transactions: Transactions): Generator<ArrayLike<number>> {
  if (!isPool(transactions)) {
    yield* transactions;
    return;
  }
  const { items, offsets } = transactions;
  for (let t = 0; t + 1 < offsets.length; t++) yield items.subarray(offsets[t]!, offsets[t + 1]!);
}

type Visit = (items: ArrayLike<number>, from: number, to: number) => void;

/**
 * The transactions' items as dense indexes 0 .. count − 1, to count them in typed arrays: the
 * job's item ids already are (read in place); sparse ids are numbered first (`original` maps an
 * index back). `each` visits transaction after transaction as items[from .. to).
 */
function denseItems(list: Transactions): { count: number; original?: number[]; each: (visit: Visit) => void } {
  let max = -1;
  let occurrences = 0;
  if (isPool(list)) {
    const { items, offsets } = list;
    occurrences = offsets[offsets.length - 1]!;
    for (let i = 0; i < occurrences; i++) if (items[i]! > max) max = items[i]!;
    if (max < 4 * occurrences + 65_536) {
      return { count: max + 1, each: (visit) => { for (let t = 0; t + 1 < offsets.length; t++) visit(items, offsets[t]!, offsets[t + 1]!); } };
    }
  } else {
    const all = list as Iterable<ArrayLike<number>>;
    for (const t of all) {
      for (let i = 0; i < t.length; i++) if (t[i]! > max) max = t[i]!;
      occurrences += t.length;
    }
    if (max < 4 * occurrences + 65_536) return { count: max + 1, each: (visit) => { for (const t of all) visit(t, 0, t.length); } };
  }
  const indexOf = new Map<number, number>();
  const original: number[] = [];
  const renumbered = Array.from(eachTransaction(list), (t) =>
    Int32Array.from(t, (item) => {
      let index = indexOf.get(item);
      if (index === undefined) indexOf.set(item, (index = original.push(item) - 1));
      return index;
    }),
  );
  return { count: original.length, original, each: (visit) => { for (const t of renumbered) visit(t, 0, t.length); } };
}

export interface MiningOptions {
  /** Absolute support: the least number of transactions an item set must occur in (≥ 1). */
  minSupport: number;
  /** The largest item set to report (default: no limit). */
  maxSize?: number;
}

/** Paths of ranks, each ascending (most frequent first), with a count each, packed in growable typed arrays. */
class Paths {
  ranks: Int32Array = new Int32Array(1 << 10);
  length = 0;
  starts: Int32Array = new Int32Array(1 << 8);
  counts: Int32Array = new Int32Array(1 << 8);
  count = 0;

  /** Appends one rank to the path being written. */
  push(rank: number): void {
    if (this.length === this.ranks.length) this.ranks = grown(this.ranks, this.length * 2);
    this.ranks[this.length++] = rank;
  }

  /** Ends the path being written (from `start`, the length before its first push), with its count. */
  end(start: number, count: number): void {
    if (this.count + 1 >= this.starts.length) {
      this.starts = grown(this.starts, this.starts.length * 2);
      this.counts = grown(this.counts, this.counts.length * 2);
    }
    this.starts[this.count] = start;
    this.counts[this.count++] = count;
    this.starts[this.count] = this.length;
  }

  clear(): void {
    this.length = 0;
    this.count = 0;
  }
}

function grown(a: Int32Array, capacity: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a.subarray(0, Math.min(a.length, capacity)));
  return b;
}

/**
 * Puts paths' indexes in lexicographic order (a path before its extensions) by an MSD radix sort
 * on the ranks — a comparison sort of 100k paths took as long as the rest of the tree — with
 * insertion sort for short ranges. Its buffers serve tree after tree (a small store's mining
 * builds thousands of small conditional trees).
 */
class PathSorter {
  private order = new Int32Array(256);
  private scratch = new Int32Array(256);
  /** Per depth, the bounds of each bucket and where the next index goes in it. */
  private bounds = new Int32Array(1024);
  private fills = new Int32Array(1024);
  private data: Int32Array = new Int32Array(0);
  private starts: Int32Array = new Int32Array(0);
  /** Bucket 0: paths that end at the depth; bucket q + 1: rank q next. */
  private buckets = 0;

  /** The indexes of the paths in order, valid until the next call. */
  sort(paths: Paths, ranks: number): Int32Array {
    const n = paths.count;
    if (this.order.length < n) {
      this.order = new Int32Array(n);
      this.scratch = new Int32Array(n);
    }
    for (let k = 0; k < n; k++) this.order[k] = k;
    this.data = paths.ranks;
    this.starts = paths.starts;
    this.buckets = ranks + 2;
    if (n > INSERTION_SORT) {
      let longest = 0;
      for (let k = 0; k < n; k++) longest = Math.max(longest, this.starts[k + 1]! - this.starts[k]!);
      const need = this.buckets * (longest + 1);
      if (this.bounds.length < need) {
        this.bounds = new Int32Array(need);
        this.fills = new Int32Array(need);
      }
    }
    this.range(0, n, 0);
    return this.order.subarray(0, n);
  }

  private key(k: number, depth: number): number {
    const at = this.starts[k]! + depth;
    return at < this.starts[k + 1]! ? this.data[at]! + 1 : 0;
  }

  private compare(a: number, b: number, depth: number): number {
    const { data, starts } = this;
    const la = starts[a + 1]! - starts[a]!;
    const lb = starts[b + 1]! - starts[b]!;
    for (let i = starts[a]! + depth, j = starts[b]! + depth, end = starts[a]! + Math.min(la, lb); i < end; i++, j++) if (data[i] !== data[j]) return data[i]! - data[j]!;
    return la - lb;
  }

  /** Sorts order[lo .. hi), whose paths share their first `depth` ranks. */
  private range(lo: number, hi: number, depth: number): void {
    const { order, scratch, bounds, fills, buckets } = this;
    if (hi - lo <= INSERTION_SORT) {
      for (let i = lo + 1; i < hi; i++) {
        const k = order[i]!;
        let j = i;
        for (; j > lo && this.compare(order[j - 1]!, k, depth) > 0; j--) order[j] = order[j - 1]!;
        order[j] = k;
      }
      return;
    }
    const base = depth * buckets;
    bounds.fill(0, base, base + buckets);
    for (let i = lo; i < hi; i++) bounds[base + this.key(order[i]!, depth) + 1]!++;
    bounds[base] = lo;
    for (let b = 1; b < buckets; b++) bounds[base + b]! += bounds[base + b - 1]!;
    fills.set(bounds.subarray(base, base + buckets), base);
    for (let i = lo; i < hi; i++) {
      const k = order[i]!;
      scratch[fills[base + this.key(k, depth)]!++] = k;
    }
    order.set(scratch.subarray(lo, hi), lo);
    // Bucket b spans bounds[b] .. bounds[b + 1]; deeper ranges use deeper regions, so these stay.
    for (let b = 1; b < buckets - 1; b++) if (bounds[base + b + 1]! - bounds[base + b]! > 1) this.range(bounds[base + b]!, bounds[base + b + 1]!, depth + 1);
  }
}

const INSERTION_SORT = 16;

/** A prefix tree of ranks with counts, node links per rank, in typed arrays. */
class FpTree {
  rank: Int32Array;
  count: Int32Array;
  parent: Int32Array;
  /** The next node of the same rank (node links), -1 at the end. */
  next: Int32Array;
  /** First node of each rank, -1 if none. */
  readonly head: Int32Array;
  readonly rankSupport: Int32Array;
  size = 1;

  private constructor(readonly ranks: number, capacity: number) {
    this.rank = new Int32Array(capacity);
    this.count = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.head = new Int32Array(ranks).fill(-1);
    this.rankSupport = new Int32Array(ranks);
    // Node 0 is the root.
    this.rank[0] = -1;
    this.parent[0] = -1;
  }

  /**
   * The tree of the paths, inserted in lexicographic order: each path shares its prefix with
   * the one before it, so no child is ever looked up (a hash look-up per item was most of the
   * time), and each subtree's nodes are numbered together.
   */
  static build(ranks: number, paths: Paths, sorter: PathSorter): FpTree {
    const { ranks: data, starts, counts } = paths;
    const order = sorter.sort(paths, ranks);
    // A tree has at most a node per rank of its paths: small trees (most conditional ones) get no more.
    const tree = new FpTree(ranks, Math.min(paths.length + 1, 1 << 16));
    const stack: number[] = [];
    let previous = -1;
    let previousLength = 0;
    for (const k of order) {
      const from = starts[k]!;
      const length = starts[k + 1]! - from;
      const c = counts[k]!;
      let shared = 0;
      if (previous >= 0) {
        const before = starts[previous]!;
        while (shared < length && shared < previousLength && data[from + shared] === data[before + shared]) shared++;
      }
      for (let d = 0; d < shared; d++) tree.count[stack[d]!]! += c;
      let node = shared === 0 ? 0 : stack[shared - 1]!;
      for (let d = shared; d < length; d++) {
        node = tree.child(node, data[from + d]!);
        tree.count[node] = c;
        stack[d] = node;
      }
      for (let d = 0; d < length; d++) tree.rankSupport[data[from + d]!]! += c;
      previous = k;
      previousLength = length;
    }
    return tree;
  }

  /** A new child of the node, of rank r. */
  private child(node: number, r: number): number {
    if (this.size === this.rank.length) {
      const capacity = this.size * 2;
      this.rank = grown(this.rank, capacity);
      this.count = grown(this.count, capacity);
      this.parent = grown(this.parent, capacity);
      this.next = grown(this.next, capacity);
    }
    const child = this.size++;
    this.rank[child] = r;
    this.parent[child] = node;
    this.next[child] = this.head[r]!;
    this.head[r] = child;
    return child;
  }

  /**
   * Whether the tree is one chain (every combination of its nodes is then an item set).
   * Nodes are numbered in creation order, so a chain is exactly parent[k] = k − 1 throughout.
   */
  singlePath(): boolean {
    for (let k = 2; k < this.size; k++) if (this.parent[k] !== k - 1) return false;
    return true;
  }
}

/**
 * Calls `emit` for every item set of up to maxSize items that occurs in at least minSupport
 * transactions, with its support. `items` is a reused buffer of ranks' item ids, unsorted:
 * copy it to keep it.
 */
export function mineFrequentItemsets(
  transactions: Transactions,
  options: MiningOptions,
  emit: (items: readonly number[], support: number) => void,
): void {
  const minSupport = Math.max(1, Math.ceil(options.minSupport));
  const maxSize = options.maxSize ?? Number.POSITIVE_INFINITY;
  if (maxSize < 1) return;
  // Read twice (frequencies, then the tree): a one-shot iterable is materialized first.
  const list: Transactions = Array.isArray(transactions) || isPool(transactions) ? transactions : [...transactions];
  const { count, original, each } = denseItems(list);
  const itemOf = (index: number) => (original ? original[index]! : index);

  // Item frequencies (each item once per transaction), by dense index.
  const frequency = new Int32Array(count);
  const lastSeen = new Int32Array(count).fill(-1);
  let tid = 0;
  each((items, from, to) => {
    for (let i = from; i < to; i++) {
      const item = items[i]!;
      if (lastSeen[item] === tid) continue;
      lastSeen[item] = tid;
      frequency[item]!++;
    }
    tid++;
  });
  // Ranks: descending frequency, ties by item id, so the tree (and the output order) is deterministic.
  const frequent: number[] = [];
  for (let index = 0; index < frequency.length; index++) if (frequency[index]! >= minSupport) frequent.push(index);
  frequent.sort((a, b) => frequency[b]! - frequency[a]! || itemOf(a) - itemOf(b));
  const itemOfRank = frequent.map(itemOf);
  const rankOf = new Int32Array(count).fill(-1);
  frequent.forEach((index, r) => (rankOf[index] = r));
  const paths = new Paths();
  each((items, from, to) => {
    const start = paths.length;
    for (let i = from; i < to; i++) {
      const r = rankOf[items[i]!]!;
      if (r === -1) continue;
      // Insertion into the sorted path (transactions are short), dropping a repeat.
      let at = paths.length;
      while (at > start && paths.ranks[at - 1]! > r) at--;
      if (at > start && paths.ranks[at - 1] === r) continue;
      paths.push(r);
      paths.ranks.copyWithin(at + 1, at, paths.length - 1);
      paths.ranks[at] = r;
    }
    if (paths.length > start) paths.end(start, 1);
  });
  const sorter = new PathSorter();
  const tree = FpTree.build(itemOfRank.length, paths, sorter);
  paths.clear();

  const suffix: number[] = [];
  const mine = (t: FpTree) => {
    if (t.singlePath()) {
      emitCombinations(t);
      return;
    }
    // Least frequent rank first, as in the paper; any order gives the same sets.
    for (let r = t.ranks - 1; r >= 0; r--) {
      const support = t.rankSupport[r]!;
      if (support < minSupport || t.head[r] === -1) continue;
      suffix.push(itemOfRank[r]!);
      emit(suffix, support);
      if (suffix.length < maxSize) {
        const conditional = conditionalTree(t, r);
        if (conditional) mine(conditional);
      }
      suffix.pop();
    }
  };

  /** A chain: each non-empty subset of its nodes; a subset's support is its deepest node's count. */
  const emitCombinations = (t: FpTree) => {
    const pick = (from: number) => {
      // Nodes 1..size-1 run root to leaf, counts never increasing.
      for (let node = from; node < t.size; node++) {
        const count = t.count[node]!;
        if (count < minSupport) return;
        suffix.push(itemOfRank[t.rank[node]!]!);
        emit(suffix, count);
        if (suffix.length < maxSize) pick(node + 1);
        suffix.pop();
      }
    };
    pick(1);
  };

  /**
   * The tree of the paths above rank r's nodes, each with that node's count, keeping only
   * frequent ranks. Each path is walked once (the walks up the tree are most of the mining):
   * its ranks are kept, root last, then the frequent ones written root first.
   */
  const above = new Paths();
  const conditionalTree = (t: FpTree, r: number): FpTree | undefined => {
    const counts = new Int32Array(r);
    above.clear();
    for (let node = t.head[r]!; node !== -1; node = t.next[node]!) {
      const c = t.count[node]!;
      const start = above.length;
      for (let p = t.parent[node]!; p > 0; p = t.parent[p]!) {
        const q = t.rank[p]!;
        counts[q]! += c;
        above.push(q);
      }
      above.end(start, c);
    }
    let any = false;
    for (let q = 0; q < r; q++) if (counts[q]! >= minSupport) any = true;
    if (!any) return undefined;
    paths.clear();
    for (let k = 0; k < above.count; k++) {
      const start = paths.length;
      for (let i = above.starts[k + 1]! - 1; i >= above.starts[k]!; i--) if (counts[above.ranks[i]!]! >= minSupport) paths.push(above.ranks[i]!);
      if (paths.length > start) paths.end(start, above.counts[k]!);
    }
    return FpTree.build(r, paths, sorter);
  };

  mine(tree);
}

/** Every frequent item set (items ascending), sorted by size, then items. */
export function frequentItemsets(transactions: Transactions, options: MiningOptions): FrequentItemset[] {
  const out: FrequentItemset[] = [];
  mineFrequentItemsets(transactions, options, (items, support) => out.push({ items: [...items].sort((a, b) => a - b), support }));
  return out.sort(compareItemsets);
}

function compareItemsets(a: FrequentItemset, b: FrequentItemset): number {
  if (a.items.length !== b.items.length) return a.items.length - b.items.length;
  for (let i = 0; i < a.items.length; i++) if (a.items[i] !== b.items[i]) return a.items[i]! - b.items[i]!;
  return 0;
}

export interface ClosedOptions extends MiningOptions {
  minSize?: number;
}

/**
 * The closed frequent item sets of minSize..maxSize items: those no superset has the same
 * support of. A superset with equal support is itself frequent and, if one exists, so does
 * one with a single item more — so mining one size further and discarding every set that an
 * equally supported one-item-larger set contains is exact.
 */
export function closedItemsets(transactions: Transactions, options: ClosedOptions): FrequentItemset[] {
  const minSize = options.minSize ?? 1;
  const maxSize = options.maxSize ?? Number.POSITIVE_INFINITY;
  const supports = new Map<string, number>();
  const bySize: FrequentItemset[][] = [];
  mineFrequentItemsets(transactions, { minSupport: options.minSupport, maxSize: maxSize + 1 }, (items, support) => {
    if (items.length < minSize) return;
    const sorted = [...items].sort((a, b) => a - b);
    supports.set(sorted.join(','), support);
    (bySize[sorted.length] ??= []).push({ items: sorted, support });
  });
  const notClosed = new Set<string>();
  for (let size = minSize + 1; size < bySize.length; size++) {
    for (const superset of bySize[size] ?? []) {
      for (let drop = 0; drop < superset.items.length; drop++) {
        const key = superset.items.filter((_, i) => i !== drop).join(',');
        if (supports.get(key) === superset.support) notClosed.add(key);
      }
    }
  }
  const out: FrequentItemset[] = [];
  for (let size = minSize; size <= Math.min(maxSize, bySize.length - 1); size++) {
    for (const set of bySize[size] ?? []) if (!notClosed.has(set.items.join(','))) out.push(set);
  }
  return out.sort(compareItemsets);
}
