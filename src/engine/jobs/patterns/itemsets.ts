/**
 * Frequent item sets by PrePost (Deng, Wang & Jiang 2012: N-lists over a PPC-tree), on typed
 * arrays; see mineFrequentItemsets.
 *
 * Transactions are lists of non-negative item ids. Items below the minimum support are dropped,
 * the rest ranked by descending frequency, and every transaction is inserted as a path of ranks
 * into a prefix tree whose nodes carry counts. Nodes and N-lists live in typed arrays rather than
 * objects: a million insights make a few million nodes, which as objects would cost ~10× the
 * memory, and nothing is allocated per item set mined. The tree is built while its paths are
 * sorted (see TreeBuilder), so that no child is ever looked up. Memory is time here: on this
 * project's machine a page costs ~10 µs the first time it is written, so arrays hold the smallest
 * type that fits and N-list entries only what the merges cannot read from the tree.
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
  /**
   * Int32s the pairs' counters (three arrays of this many) and their N-lists may take per scan of
   * the tree (default PAIR_COUNTERS, PAIR_ENTRIES): less memory, more scans. See PairScan.
   */
  pairBudget?: { counters: number; entries: number };
}

/** Arrays of small numbers in the smallest type that holds 0 .. max: fewer pages to touch. */
type SmallInts = Uint8Array | Uint16Array | Int32Array;
function smallInts(max: number, length: number): SmallInts {
  if (max < 1 << 8) return new Uint8Array(length);
  if (max < 1 << 16) return new Uint16Array(length);
  return new Int32Array(length);
}

/**
 * The transactions' frequent items as paths of ranks, each ascending (most frequent first),
 * packed as the sort reads them: `perWord` ranks to an Int32 word, each as rank + 1 in `bits`
 * bits, the first in the highest, 0 after the path's end (keys compare unsigned in path order).
 * Path k is words[starts[k] .. starts[k + 1]). A rank a byte where ranks are few, against four:
 * on this machine a fresh page costs ~10 µs the first time it is written, so memory is time.
 */
class Paths {
  readonly words: Int32Array;
  readonly starts: Int32Array;
  count = 0;
  readonly bits: number;
  readonly perWord: number;
  /** The most words a path takes. */
  longest = 0;

  private constructor(ranks: number, kept: number, transactions: number) {
    // Symbols 0 (the end) .. ranks, as many as fit in 32 bits.
    this.bits = Math.max(1, 32 - Math.clz32(ranks));
    this.perWord = Math.floor(32 / this.bits);
    // Each path wastes less than a word: sized up front, and the pages never written cost nothing.
    this.words = new Int32Array(Math.ceil(kept / this.perWord) + transactions);
    this.starts = new Int32Array(transactions + 1);
  }

  /**
   * Each transaction's frequent items as a path, ranks ascending without repeats: through a
   * bitset of the ranks where it has few words for the transaction's length (ranks come out in
   * order, repeats fall together), else by insertion (transactions are short).
   */
  static of(each: (visit: Visit) => void, rankOf: Int32Array, kept: number, transactions: number, ranks: number): Paths {
    const paths = new Paths(ranks, kept, transactions);
    const { words: packed, starts, bits, perWord } = paths;
    const bitsetWords = (ranks + 31) >>> 5;
    const bitset = new Int32Array(bitsetWords);
    const path = new Int32Array(ranks);
    let length = 0;
    let count = 0;
    let longest = 0;
    each((items, from, to) => {
      let size = 0;
      if (bitsetWords <= 2 * (to - from)) {
        for (let i = from; i < to; i++) {
          const r = rankOf[items[i]!]!;
          if (r !== -1) bitset[r >>> 5]! |= 1 << (r & 31);
        }
        for (let w = 0; w < bitsetWords; w++) {
          let word = bitset[w]!;
          if (word === 0) continue;
          bitset[w] = 0;
          while (word !== 0) {
            const lowest = word & -word;
            path[size++] = (w << 5) + 31 - Math.clz32(lowest);
            word ^= lowest;
          }
        }
      } else {
        for (let i = from; i < to; i++) {
          const r = rankOf[items[i]!]!;
          if (r === -1) continue;
          let at = size;
          while (at > 0 && path[at - 1]! > r) at--;
          if (at > 0 && path[at - 1] === r) continue;
          for (let m = size; m > at; m--) path[m] = path[m - 1]!;
          path[at] = r;
          size++;
        }
      }
      if (size === 0) return;
      const start = length;
      for (let i = 0; i < size; i += perWord) {
        let key = 0;
        for (let s = i; s < i + perWord; s++) key = (key << bits) | (s < size ? path[s]! + 1 : 0);
        packed[length++] = key;
      }
      if (length - start > longest) longest = length - start;
      starts[++count] = length;
    });
    paths.count = count;
    paths.longest = longest;
    return paths;
  }
}

function grown(a: Int32Array, capacity: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a.subarray(0, Math.min(a.length, capacity)));
  return b;
}

/**
 * Builds the tree while it sorts the paths into lexicographic order (a path before its
 * extensions), by an MSD radix sort on packed keys: each level reads a path's next few ranks at
 * once, as one number (a rank + 1 per `bits`, 0 past the end), and sorts the range on it with LSD
 * byte passes over keys carried beside the indexes. Reading a path's next rank was a cache miss
 * per path per rank; this is one per path per word, and the passes read in order. Short ranges
 * sort by insertion.
 *
 * Once a range is sorted on its word, its runs of equal keys come in tree order: each run's ranks
 * become nodes (sharing those its key shares with the run before), numbered as they are made, and
 * the run's paths go on below them before the next run is read — so nodes are made in pre-order
 * from the keys already in hand. Building from the sorted paths afterwards read every path again
 * in sorted, that is random, order: a cache miss or three per path.
 */
class TreeBuilder {
  private order = new Int32Array(256);
  private scratch = new Int32Array(256);
  private keys = new Int32Array(256);
  private keyScratch = new Int32Array(256);
  private readonly digits = new Int32Array(256);
  private words: Int32Array = new Int32Array(0);
  private starts: Int32Array = new Int32Array(0);
  private bits = 1;
  private perWord = 1;
  /** The last symbol of a word: 0 when the path ends within it. */
  private lastSymbol = 1;
  private passes = 1;
  /** The nodes of the previous run's symbols, perWord per word (level of the recursion). */
  private chain = new Int32Array(0);
  private tree: PpcTree = PpcTree.empty(1, 1);
  private size = 1;

  /** The tree of the paths: each node's rank and depth, and each path's count at its last node. */
  build(paths: Paths, ranks: number): PpcTree {
    const n = paths.count;
    if (this.order.length < n) {
      this.order = new Int32Array(n);
      this.scratch = new Int32Array(n);
      this.keys = new Int32Array(n);
      this.keyScratch = new Int32Array(n);
    }
    for (let k = 0; k < n; k++) this.order[k] = k;
    this.words = paths.words;
    this.starts = paths.starts;
    this.bits = paths.bits;
    this.perWord = paths.perWord;
    this.lastSymbol = (1 << this.bits) - 1;
    this.passes = Math.ceil((this.bits * this.perWord) / 8);
    this.chain = new Int32Array(this.perWord * (paths.longest + 1));
    // At most a node per rank of the paths (pages never written cost nothing).
    this.tree = PpcTree.empty(ranks, paths.perWord * paths.starts[n]! + 1);
    this.size = 1;
    if (n > 0) this.range(0, n, 0, 0);
    this.tree.size = this.size;
    return this.tree;
  }

  /**
   * Sorts order[lo .. hi), whose paths share their first `word` words (ending at node `parent`)
   * and go on past them, and makes their nodes below `parent`.
   */
  private range(lo: number, hi: number, word: number, parent: number): void {
    // In phases of their own: optimised on the stack (OSR) in the first, long call, one function
    // held code for phases not yet run, and every later call that entered it bailed out there
    // (1,630 deoptimisations at 100k).
    this.loadKeys(lo, hi, word);
    if (hi - lo <= INSERTION_SORT) this.insertionSort(lo, hi);
    else this.byKeys(lo, hi);
    this.runs(lo, hi, word, parent);
  }

  /** keys[i] for order[lo .. hi): word `word` of each path, 0 past its end. */
  private loadKeys(lo: number, hi: number, word: number): void {
    const { order, keys, words, starts } = this;
    for (let i = lo; i < hi; i++) {
      const k = order[i]!;
      const at = starts[k]! + word;
      keys[i] = at < starts[k + 1]! ? words[at]! : 0;
    }
  }

  private insertionSort(lo: number, hi: number): void {
    const { order, keys } = this;
    for (let i = lo + 1; i < hi; i++) {
      const k = order[i]!;
      const key = keys[i]!;
      let j = i;
      for (; j > lo && keys[j - 1]! >>> 0 > key >>> 0; j--) {
        order[j] = order[j - 1]!;
        keys[j] = keys[j - 1]!;
      }
      order[j] = k;
      keys[j] = key;
    }
  }

  /** Makes the nodes of each run of equal keys in order[lo .. hi) in turn, and the paths' below them. */
  private runs(lo: number, hi: number, word: number, parent: number): void {
    const { order, keys, bits, perWord } = this;
    const { lastSymbol, chain } = this;
    const base = word * perWord;
    const top = bits * (perWord - 1);
    let previous = 0;
    for (let i = lo; i < hi; ) {
      const key = keys[i]!;
      let j = i + 1;
      while (j < hi && keys[j] === key) j++;
      // Symbols this run shares with the one before are its nodes already; the rest are made here.
      let node = parent;
      let s = 0;
      let shift = top;
      if (i > lo) {
        for (; s < perWord; s++, shift -= bits) {
          const symbol = (key >>> shift) & lastSymbol;
          if (symbol === 0 || symbol !== ((previous >>> shift) & lastSymbol)) break;
          node = chain[base + s]!;
        }
      }
      for (; s < perWord; s++, shift -= bits) {
        const symbol = (key >>> shift) & lastSymbol;
        if (symbol === 0) break;
        node = this.node(symbol - 1, base + s + 1);
        chain[base + s] = node;
      }
      if ((key & lastSymbol) === 0) this.tree.count[node]! += j - i;
      else if (j - i === 1) this.tail(order[i]!, word + 1, node);
      else this.range(i, j, word + 1, node);
      previous = key;
      i = j;
    }
  }

  /** A new node of `rank` at `depth`, numbered next: below the last node made at depth − 1. */
  private node(rank: number, depth: number): number {
    const { tree } = this;
    const node = this.size++;
    tree.rank[node] = rank;
    tree.depth[node] = depth;
    return node;
  }

  /** The rest of path k, from word `word` on, alone below `node`: a chain of new nodes. */
  private tail(k: number, word: number, node: number): void {
    const { words, starts, bits, perWord, lastSymbol } = this;
    let depth = word * perWord;
    for (let at = starts[k]! + word, end = starts[k + 1]!; at < end; at++) {
      const key = words[at]!;
      for (let shift = bits * (perWord - 1); shift >= 0; shift -= bits) {
        const symbol = (key >>> shift) & lastSymbol;
        if (symbol === 0) break;
        node = this.node(symbol - 1, ++depth);
      }
    }
    this.tree.count[node]! += 1;
  }

  /** LSD radix sort of order[lo .. hi) on keys[lo .. hi), a byte a pass (skipping bytes all alike). */
  private byKeys(lo: number, hi: number): void {
    const { order, keys, scratch, keyScratch, digits } = this;
    for (let pass = 0, shift = 0; pass < this.passes; pass++, shift += 8) {
      digits.fill(0);
      for (let i = lo; i < hi; i++) digits[(keys[i]! >>> shift) & 255]!++;
      if (digits[(keys[lo]! >>> shift) & 255] === hi - lo) continue;
      let sum = lo;
      for (let d = 0; d < 256; d++) {
        const c = digits[d]!;
        digits[d] = sum;
        sum += c;
      }
      for (let i = lo; i < hi; i++) {
        const key = keys[i]!;
        const to = digits[(key >>> shift) & 255]!++;
        scratch[to] = order[i]!;
        keyScratch[to] = key;
      }
      order.set(scratch.subarray(lo, hi), lo);
      keys.set(keyScratch.subarray(lo, hi), lo);
    }
  }
}

const INSERTION_SORT = 24;

/**
 * The prefix tree of the transactions' rank paths (a PPC-tree: an FP-tree whose nodes carry
 * pre-order codes), in typed arrays. Its nodes are numbered in pre-order as they are made (see
 * TreeBuilder), so a node's code is its index and `last[node]`, the highest index in its
 * subtree, is all an ancestor test needs: a is an ancestor of b exactly when a < b ≤ last[a].
 */
class PpcTree {
  /** Each node's rank; the root's is unused. */
  readonly rank: SmallInts;
  /** Each node's depth (the root's is 0): a node's parent is the last node before it one level up. */
  readonly depth: SmallInts;
  readonly count: Int32Array;
  last: Int32Array = new Int32Array(0);
  size = 1;

  private constructor(ranks: number, capacity: number) {
    this.rank = smallInts(ranks, capacity);
    this.depth = smallInts(ranks, capacity);
    this.count = new Int32Array(capacity);
  }

  /** Room for `capacity` nodes, the root (node 0) made. */
  static empty(ranks: number, capacity: number): PpcTree {
    return new PpcTree(ranks, Math.max(1, capacity));
  }

  static build(ranks: number, paths: Paths): PpcTree {
    const tree = new TreeBuilder().build(paths, ranks);
    const { depth, count, size } = tree;
    const last = (tree.last = new Int32Array(size));
    // In pre-order, with the path from the root on a stack: a node one level up or more ends the
    // subtrees above it, whose ends and counts are then carried to their parents.
    const stack = new Int32Array(ranks + 2);
    let top = 1;
    for (let node = 1; node <= size; node++) {
      const d = node < size ? depth[node]! : 0;
      while (top > d) {
        const done = stack[--top]!;
        last[done] = node - 1;
        if (top > 0) count[stack[top - 1]!]! += count[done]!;
      }
      stack[top++] = node;
    }
    return tree;
  }
}

/**
 * A class of item sets sharing all but their most frequent item, per depth: each member's rank
 * and the start of its N-list in `lists` (member m's entries, a node and a count each, are lists[starts[m] .. starts[m + 1])).
 * One per depth, reused by every class mined at that depth.
 */
class Level {
  lists: Int32Array = new Int32Array(1 << 12);
  members: Int32Array;
  starts: Int32Array;
  /** Each member's support (the sum of its list's counts). */
  supports: Int32Array;
  size = 0;

  constructor(ranks: number) {
    this.members = new Int32Array(ranks);
    this.supports = new Int32Array(ranks);
    this.starts = new Int32Array(ranks + 1);
  }

  /** Room for `entries` more Int32s after the first `used`. */
  reserve(used: number, entries: number): Int32Array {
    if (used + entries > this.lists.length) this.lists = grown(this.lists, Math.max(used + entries, this.lists.length * 2));
    return this.lists;
  }
}

/**
 * Calls `emit` for every item set of up to maxSize items that occurs in at least minSupport
 * transactions, with its support. `items` is a reused buffer of item ids, unsorted: copy it to
 * keep it.
 *
 * PrePost (Deng, Wang & Jiang 2012): the transactions go into a PPC-tree with the most frequent
 * items nearest the root, and an item set is represented by its N-list — the nodes of its most
 * frequent item that lie above nodes of all its other items, each with the count of transactions
 * through it that hold the set. Its support is the sum of those counts. Sets are grown by adding
 * a more frequent item x to a set S ∪ {y}: the N-list of {x, y} ∪ S pairs each node of S ∪ {y}'s
 * list with its ancestor among x's (one merge, both lists in pre-order). The lists are far
 * shorter than tid-lists — a frequent item has a handful of nodes, however many transactions hold
 * it — and pairs come straight from the tree: walking up from each node of y finds every x above it.
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
  // Ranks: descending frequency, ties by item id, so the tree is deterministic.
  const frequent: number[] = [];
  for (let index = 0; index < frequency.length; index++) if (frequency[index]! >= minSupport) frequent.push(index);
  frequent.sort((a, b) => frequency[b]! - frequency[a]! || itemOf(a) - itemOf(b));
  const ranks = frequent.length;
  const itemOfRank = Int32Array.from(frequent, itemOf);
  const rankOf = new Int32Array(count).fill(-1);
  frequent.forEach((index, r) => (rankOf[index] = r));
  let kept = 0;
  for (const index of frequent) kept += frequency[index]!;
  const paths = Paths.of(each, rankOf, kept, tid, ranks);
  const tree = PpcTree.build(ranks, paths);
  const treeLast = tree.last;

  const suffix: number[] = [];
  const levels: Level[] = [];
  const level = (depth: number) => (levels[depth] ??= new Level(ranks));

  /**
   * Mines the class at `depth` (its sets have depth + 2 items): emits each member and, below
   * maxSize, the class of its extensions by the members before it (the more frequent ones).
   */
  const mineClass = (depth: number) => {
    const here = levels[depth]!;
    const { members, supports } = here;
    for (let k = 0; k < here.size; k++) {
      const support = supports[k]!;
      suffix.push(itemOfRank[members[k]!]!);
      emit(suffix, support);
      if (k > 0 && depth + 3 <= maxSize && extend(here, k, support, level(depth + 1))) mineClass(depth + 1);
      suffix.pop();
    }
  };

  /** Fills `next` with the frequent sets {x} ∪ member k for members x before k; whether there are any. */
  const extend = (here: Level, k: number, support: number, next: Level): boolean => {
    const { members, starts } = here;
    const bFrom = starts[k]!;
    const bTo = starts[k + 1]!;
    let room = 0;
    for (let j = 0; j < k; j++) room += Math.min(starts[j + 1]! - starts[j]!, bTo - bFrom);
    const out = next.reserve(0, room);
    const lists = here.lists;
    let written = 0;
    let size = 0;
    next.starts[0] = 0;
    for (let j = 0; j < k; j++) {
      const start = written;
      let found = 0;
      // Counts of this member's nodes with no ancestor among x's: once they make the set infrequent, stop.
      let lost = 0;
      // Member j's list is never empty; its current node's code and subtree end (from the tree) are kept in locals.
      let a = starts[j]!;
      const aTo = starts[j + 1]!;
      let aCode = lists[a]!;
      let aLast = treeLast[aCode]!;
      let writtenFor = -1;
      let b = bFrom;
      while (b < bTo) {
        const code = lists[b]!;
        if (code > aLast) {
          a += 2;
          if (a >= aTo) break;
          aCode = lists[a]!;
          aLast = treeLast[aCode]!;
        } else if (code < aCode) {
          lost += lists[b + 1]!;
          if (support - lost < minSupport) break;
          b += 2;
        } else {
          const c = lists[b + 1]!;
          found += c;
          if (writtenFor === a) out[written - 1]! += c;
          else {
            writtenFor = a;
            out[written] = aCode;
            out[written + 1] = c;
            written += 2;
          }
          b += 2;
        }
      }
      if (found >= minSupport) {
        next.members[size] = members[j]!;
        next.supports[size] = found;
        next.starts[++size] = written;
      } else written = start;
    }
    next.size = size;
    return size > 0;
  };

  // Single items, and the pairs {x, y} (x more frequent): their N-lists come from scans of the
  // tree (see PairScan); each y's pairs are the class mined under it.
  const top = level(0);
  const pairs = new PairScan(tree, ranks, minSupport, options.pairBudget ?? { counters: PAIR_COUNTERS, entries: PAIR_ENTRIES });
  for (let y0 = 0; y0 < ranks; ) {
    const y1 = maxSize >= 2 ? pairs.scan(y0) : ranks;
    for (let y = y0; y < y1; y++) {
      suffix.push(itemOfRank[y]!);
      emit(suffix, frequency[frequent[y]!]!);
      if (maxSize >= 2 && pairs.classOf(y, top)) mineClass(0);
      suffix.pop();
    }
    y0 = y1;
  }
}

/** Pair counters per scan (Int32s, three arrays) and N-list entries per scan (Int32s): ~12 MB and ~24 MB at most. */
const PAIR_COUNTERS = 1 << 20;
const PAIR_ENTRIES = 6 << 20;

/**
 * The N-lists of the frequent pairs {x, y}, x more frequent, straight from the tree: a node of y
 * has its ancestors in x's list with its count. Nodes are numbered in pre-order, so one pass over
 * them in order keeps the path to the root on a stack — reading the tree's arrays in order rather
 * than walking up from each node (a cache miss a step: it took a third of the mining). One scan
 * counts pairs' supports and list lengths for as many y as the counters hold; later ones write
 * the frequent lists for as many y as fit in the entries' budget.
 */
class PairScan {
  private readonly support: Int32Array;
  private readonly length: Int32Array;
  private readonly lastAbove: Int32Array;
  private readonly stackNode: Int32Array;
  private readonly stackRank: Int32Array;
  /** The counted range [from, to) and, of it, the written range [from, written). */
  private from = 0;
  private to = 0;
  private written = 0;
  /** Where pair (x, y)'s list starts in `lists`, -1 when infrequent, by (y − from) · ranks + x. */
  private readonly at: Int32Array;
  private lists: Int32Array = new Int32Array(0);

  constructor(
    private readonly tree: PpcTree,
    private readonly ranks: number,
    private readonly minSupport: number,
    private readonly budget: { counters: number; entries: number },
  ) {
    const span = Math.max(1, ranks * Math.min(ranks, Math.max(1, Math.floor(budget.counters / Math.max(1, ranks)))));
    this.support = new Int32Array(span);
    this.length = new Int32Array(span);
    this.lastAbove = new Int32Array(span);
    this.at = new Int32Array(span);
    this.stackNode = new Int32Array(ranks + 1);
    this.stackRank = new Int32Array(ranks + 1);
  }

  /** Makes the pairs of y from y0 on ready; returns the end of the range that is. */
  scan(y0: number): number {
    if (y0 >= this.to) this.count(y0);
    this.write(y0);
    return this.written;
  }

  /** Fills `level` with y's frequent pairs' members and lists; whether there are any. */
  classOf(y: number, level: Level): boolean {
    const { ranks, at, length } = this;
    const row = (y - this.from) * ranks;
    let size = 0;
    level.lists = this.lists;
    for (let x = 0; x < y; x++) {
      const start = at[row + x]!;
      if (start < 0) continue;
      level.members[size] = x;
      level.supports[size] = this.support[row + x]!;
      level.starts[size] = start;
      level.starts[++size] = start + 2 * length[row + x]!;
    }
    level.size = size;
    return size > 0;
  }

  /** Supports and list lengths of the pairs of y0 .. y0 + as many as the counters hold. */
  private count(y0: number): void {
    const { ranks, support, length, lastAbove } = this;
    const rows = Math.max(1, Math.floor(support.length / Math.max(1, ranks)));
    this.from = y0;
    this.to = Math.min(ranks, y0 + rows);
    support.fill(0);
    length.fill(0);
    lastAbove.fill(0);
    // Written out here and in write(): a callback per ancestor cost as much as the rest of the scan.
    const { stackNode, stackRank, from, to } = this;
    const { depth: depthOf, rank, count, size } = this.tree;
    for (let node = 1; node < size; node++) {
      // The stack holds the node's ancestors below the root, a level each.
      const depth = depthOf[node]! - 1;
      const y = rank[node]!;
      if (y >= from && y < to) {
        const row = (y - from) * ranks;
        const c = count[node]!;
        for (let s = 0; s < depth; s++) {
          const index = row + stackRank[s]!;
          const ancestor = stackNode[s]!;
          support[index]! += c;
          if (lastAbove[index] !== ancestor) {
            lastAbove[index] = ancestor;
            length[index]!++;
          }
        }
      }
      stackNode[depth] = node;
      stackRank[depth] = y;
    }
    this.written = y0;
  }

  /** Writes the frequent lists of y0 .. (as many as fit) in pre-order, each pair's run of entries together. */
  private write(y0: number): void {
    const { ranks, support, length, at, lastAbove, minSupport, tree } = this;
    let used = 0;
    let y1 = y0;
    for (; y1 < this.to; y1++) {
      const row = (y1 - this.from) * ranks;
      let need = 0;
      for (let x = 0; x < y1; x++) if (support[row + x]! >= minSupport) need += 2 * length[row + x]!;
      if (y1 > y0 && used + need > this.budget.entries) break;
      for (let x = 0; x < ranks; x++) {
        if (x < y1 && support[row + x]! >= minSupport) {
          at[row + x] = used;
          used += 2 * length[row + x]!;
        } else at[row + x] = -1;
      }
    }
    if (this.lists.length < used) this.lists = new Int32Array(Math.max(used, this.lists.length * 2));
    const lists = this.lists;
    // `at` advances as entries are written; it is reset to each list's start afterwards.
    lastAbove.fill(0, (y0 - this.from) * ranks, (y1 - this.from) * ranks);
    const { stackNode, stackRank, from } = this;
    const { depth: depthOf, rank, count, size } = tree;
    for (let node = 1; node < size; node++) {
      // The stack holds the node's ancestors below the root, a level each.
      const depth = depthOf[node]! - 1;
      const y = rank[node]!;
      if (y >= y0 && y < y1) {
        const row = (y - from) * ranks;
        const c = count[node]!;
        for (let s = 0; s < depth; s++) {
          const index = row + stackRank[s]!;
          const next = at[index]!;
          if (next < 0) continue;
          const ancestor = stackNode[s]!;
          if (lastAbove[index] === ancestor) lists[next - 1]! += c;
          else {
            lastAbove[index] = ancestor;
            lists[next] = ancestor;
            lists[next + 1] = c;
            at[index] = next + 2;
          }
        }
      }
      stackNode[depth] = node;
      stackRank[depth] = y;
    }
    for (let y = y0; y < y1; y++) {
      const row = (y - this.from) * ranks;
      for (let x = 0; x < y; x++) if (at[row + x]! >= 0) at[row + x]! -= 2 * length[row + x]!;
    }
    this.written = y1;
  }
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
