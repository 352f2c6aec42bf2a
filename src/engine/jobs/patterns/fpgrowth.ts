/**
 * Frequent item sets by FP-Growth (Han, Pei & Yin 2000), on typed arrays.
 *
 * Transactions are lists of non-negative item ids. Items below the minimum support are
 * dropped, the rest ranked by descending frequency, and every transaction is inserted as a
 * path of ranks into a prefix tree (the FP-tree) whose nodes carry counts. The item sets
 * ending in an item are mined from that item's conditional tree — the paths above its nodes —
 * recursively, to `maxSize` items. Nodes live in parallel Int32Arrays rather than objects:
 * a million insights make a few million nodes, which as objects would cost ~10× the memory.
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

export interface MiningOptions {
  /** Absolute support: the least number of transactions an item set must occur in (≥ 1). */
  minSupport: number;
  /** The largest item set to report (default: no limit). */
  maxSize?: number;
}

/** A prefix tree of ranks with counts, node links per rank, in growable typed arrays. */
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
  private readonly children = new Map<number, number>();

  constructor(readonly ranks: number, capacity = 1024) {
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

  /** Inserts a path of ranks (ascending: most frequent first) with a count. */
  insert(path: ArrayLike<number>, length: number, count: number): void {
    let node = 0;
    for (let i = 0; i < length; i++) {
      const r = path[i]!;
      const key = node * this.ranks + r;
      let child = this.children.get(key);
      if (child === undefined) {
        child = this.size++;
        if (child === this.rank.length) this.grow();
        this.rank[child] = r;
        this.parent[child] = node;
        this.next[child] = this.head[r]!;
        this.head[r] = child;
        this.children.set(key, child);
      }
      this.count[child]! += count;
      this.rankSupport[r]! += count;
      node = child;
    }
  }

  private grow(): void {
    const capacity = this.rank.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(capacity);
      b.set(a);
      return b;
    };
    this.rank = grow(this.rank);
    this.count = grow(this.count);
    this.parent = grow(this.parent);
    this.next = grow(this.next);
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

  // Item frequencies (each item once per transaction).
  const frequency = new Map<number, number>();
  const seen = new Set<number>();
  for (const t of eachTransaction(list)) {
    seen.clear();
    for (let i = 0; i < t.length; i++) {
      const item = t[i]!;
      if (seen.has(item)) continue;
      seen.add(item);
      frequency.set(item, (frequency.get(item) ?? 0) + 1);
    }
  }
  // Ranks: descending frequency, ties by item id, so the tree (and the output order) is deterministic.
  const frequent = [...frequency].filter(([, f]) => f >= minSupport).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const itemOfRank = frequent.map(([item]) => item);
  const rankOf = new Map(frequent.map(([item], r) => [item, r]));
  const tree = new FpTree(itemOfRank.length, 1 << 12);
  let path = new Int32Array(64);
  for (const t of eachTransaction(list)) {
    if (path.length < t.length) path = new Int32Array(t.length * 2);
    let n = 0;
    for (let i = 0; i < t.length; i++) {
      const r = rankOf.get(t[i]!);
      if (r !== undefined) path[n++] = r;
    }
    const sorted = path.subarray(0, n).sort();
    let unique = 0;
    for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[unique - 1]) sorted[unique++] = sorted[i]!;
    if (unique > 0) tree.insert(sorted, unique, 1);
  }

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

  /** The tree of the paths above rank r's nodes, each with that node's count, keeping only frequent ranks. */
  const conditionalTree = (t: FpTree, r: number): FpTree | undefined => {
    const counts = new Int32Array(r);
    for (let node = t.head[r]!; node !== -1; node = t.next[node]!) {
      const c = t.count[node]!;
      for (let p = t.parent[node]!; p > 0; p = t.parent[p]!) counts[t.rank[p]!]! += c;
    }
    let any = false;
    for (let q = 0; q < r; q++) if (counts[q]! >= minSupport) any = true;
    if (!any) return undefined;
    const conditional = new FpTree(r, 256);
    const buffer = new Int32Array(r);
    for (let node = t.head[r]!; node !== -1; node = t.next[node]!) {
      let n = 0;
      for (let p = t.parent[node]!; p > 0; p = t.parent[p]!) if (counts[t.rank[p]!]! >= minSupport) buffer[n++] = t.rank[p]!;
      if (n === 0) continue;
      // Collected leaf-to-root: reverse into root-first order.
      buffer.subarray(0, n).reverse();
      conditional.insert(buffer, n, t.count[node]!);
    }
    return conditional;
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
