/**
 * pattern_detection: the closed frequent item sets of the workspace's active insights
 * (items: see patterns/items.ts), mined by PrePost (itemsets.ts). Patterns are upserted by a canonical
 * key — a re-run updates support, members and last_seen and never duplicates — and a
 * pattern a re-run no longer finds is marked stale, never deleted.
 */
import { closedItemsets, type FrequentItemset, type TransactionPool } from './itemsets.js';
import { insightItems, itemLabel, itemsetKey, type SurfaceCounts } from './items.js';
import { conceptItems, type ConceptRow } from './concepts.js';
import { decodeIds, encodeIds } from './idlist.js';
import type { Database } from '../../store/db.js';
import { jobParams, type ItemMode, type PatternParams, type PatternSelect } from '../../../contract/job-params.js';
import { krimp } from './krimp.js';
import type { JobContext, JobOutcome, StageCount } from '../job.js';


function minimumSupport(p: PatternParams, insights: number): number {
  if (p.minSupport && 'count' in p.minSupport) return p.minSupport.count;
  if (p.minSupport && 'fraction' in p.minSupport) return Math.max(1, Math.ceil(p.minSupport.fraction * insights));
  return Math.max(3, Math.ceil(0.01 * insights));
}

/** Active insights as item transactions: ids, item names, and per insight its item ids. */
export interface ItemTransactions {
  insightIds: number[];
  itemNames: string[];
  /** Each insight's item ids, ascending, in one pool (see TransactionPool). */
  transactions: TransactionPool;
  /** Per item, the ascending indexes (into insightIds) of the insights that have it. */
  postings: Int32Array[];
  /** How each item reads (see itemLabel). */
  label: (item: string) => string;
}

/** How insights become items: Porter stems (`closed`, today's exact mode) or concept items (see concepts.ts). */
export type Vocabulary = 'terms' | 'concepts';

export function loadTransactions(
  db: Database,
  workspaceId: number,
  mode: ItemMode,
  maxItemShare = 1,
  vocabulary: Vocabulary = 'terms',
  minCount: (insights: number) => number = () => 3,
  onRead?: (count: StageCount) => void,
): ItemTransactions {
  const { statement, active } = activeInsights(db, workspaceId);
  const read = <T>(rows: Iterable<T>): Iterable<T> => (onRead ? counting(rows, active, onRead) : rows);
  if (vocabulary === 'concepts') {
    // Rows as arrays: no object per insight.
    const concepts = conceptItems(read(statement.raw(true).iterate(workspaceId) as Iterable<ConceptRow>), mode, minCount);
    const pool = { items: concepts.items, used: concepts.items.length, offsets: concepts.offsets };
    return compact(concepts.insightIds, concepts.itemNames, pool, maxItemShare, concepts.label);
  }
  const rows = read(statement.iterate(workspaceId) as Iterable<{ id: number; text: string; tags: string; source: string | null }>);
  const insightIds: number[] = [];
  const names = new ItemNames();
  // One pool for all transactions: a million insights as a million arrays cost ~400 MB more.
  const pool = new ItemPool();
  const surfaces: SurfaceCounts = new Map();
  for (const row of rows) {
    insightIds.push(row.id);
    pool.add(insightItems(row, mode, surfaces).map((name) => names.id(name)));
  }
  return compact(insightIds, names.names, pool, maxItemShare, (item) => itemLabel(item, surfaces));
}

/**
 * The workspace's active insights in id order. When they are most of the table, a scan of the
 * table in rowid order (`+workspace_id` keeps SQLite off the index) reads each page once: through
 * the index each row is a look-up into the table and the rows are then sorted, which at 100k
 * insights takes twice as long. A workspace that is a small part of the store is read through the index.
 */
function activeInsights(db: Database, workspaceId: number) {
  const active = db.prepare(`SELECT count(*) FROM insights WHERE workspace_id = ? AND status = 'active'`).pluck().get(workspaceId) as number;
  const rows = (db.prepare(`SELECT max(id) FROM insights`).pluck().get() as number | null) ?? 0;
  const workspace = active * 2 >= rows ? '+workspace_id' : 'workspace_id';
  return { statement: db.prepare(`SELECT id, text, tags, source FROM insights WHERE ${workspace} = ? AND status = 'active' ORDER BY id`), active };
}

/** The rows as they are, reporting every 1,024th one read. */
function* counting<T>(rows: Iterable<T>, total: number, onRead: (count: StageCount) => void): Generator<T> {
  let done = 0;
  for (const row of rows) {
    if ((done & 1023) === 0) onRead({ done, total });
    done++;
    yield row;
  }
}

class ItemNames {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }
}

class ItemPool {
  items = new Int32Array(1 << 16);
  used = 0;
  readonly offsets: number[] = [0];
  add(items: readonly number[]): void {
    if (this.used + items.length > this.items.length) {
      const grown = new Int32Array(Math.max(this.items.length * 2, this.used + items.length));
      grown.set(this.items.subarray(0, this.used));
      this.items = grown;
    }
    for (const id of items) this.items[this.used++] = id;
    this.offsets.push(this.used);
  }
}

/** Drops the too-common items, sorts each transaction and builds the postings. */
function compact(insightIds: number[], itemNames: string[], raw: { items: Int32Array; used: number; offsets: ArrayLike<number> }, maxItemShare: number, label: (item: string) => string): ItemTransactions {
  const { items: pool, used, offsets } = raw;
  const n = insightIds.length;
  const frequency = new Int32Array(itemNames.length);
  for (let i = 0; i < used; i++) frequency[pool[i]!]!++;
  const keep = (item: number) => frequency[item]! <= maxItemShare * n;
  // Compacting the pool in place.
  const compactOffsets = new Int32Array(n + 1);
  let write = 0;
  for (let t = 0; t < n; t++) {
    const start = write;
    for (let i = offsets[t]!; i < offsets[t + 1]!; i++) if (keep(pool[i]!)) pool[write++] = pool[i]!;
    if (write - start > 32) {
      pool.subarray(start, write).sort();
    } else {
      // Insertion sort: most transactions hold a dozen items, and a sort call per insight costs more.
      for (let i = start + 1; i < write; i++) {
        const item = pool[i]!;
        let at = i;
        for (; at > start && pool[at - 1]! > item; at--) pool[at] = pool[at - 1]!;
        pool[at] = item;
      }
    }
    compactOffsets[t + 1] = write;
  }
  const transactions: TransactionPool = { items: pool.slice(0, write), offsets: compactOffsets };
  const postings = Array.from(frequency, (f, item) => new Int32Array(keep(item) ? f : 0));
  const filled = new Int32Array(itemNames.length);
  for (let t = 0; t < n; t++) {
    for (let i = compactOffsets[t]!; i < compactOffsets[t + 1]!; i++) {
      const item = transactions.items[i]!;
      postings[item]![filled[item]!++] = t;
    }
  }
  return { insightIds, itemNames, transactions, postings, label };
}

/** The ascending indexes of the insights having every one of the items. */
export function intersectPostings(postings: Int32Array[], items: readonly number[]): Int32Array {
  const lists = items.map((i) => postings[i]!).sort((a, b) => a.length - b.length);
  let current = lists[0] ?? new Int32Array(0);
  for (const list of lists.slice(1)) {
    const out = new Int32Array(current.length);
    let n = 0;
    let j = 0;
    // The shorter list drives: a list of a like length is merged, a much longer one galloped through.
    if (list.length <= 8 * current.length) {
      for (let i = 0; i < current.length; i++) {
        const v = current[i]!;
        while (j < list.length && list[j]! < v) j++;
        if (j < list.length && list[j] === v) out[n++] = v;
      }
    } else {
      for (let i = 0; i < current.length; i++) {
        const v = current[i]!;
        j = gallop(list, j, v);
        if (j < list.length && list[j] === v) out[n++] = v;
      }
    }
    current = out.subarray(0, n);
  }
  return current;
}

/** The first index from j on where the ascending list holds v or more (its length if none): doubling steps, then halving. */
function gallop(list: Int32Array, j: number, v: number): number {
  if (j >= list.length || list[j]! >= v) return j;
  let low = j;
  let step = 1;
  while (low + step < list.length && list[low + step]! < v) {
    low += step;
    step *= 2;
  }
  // list[low] < v ≤ list[high] (or high is the end).
  let high = Math.min(low + step, list.length);
  while (low + 1 < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]! < v) low = mid;
    else high = mid;
  }
  return high;
}

export interface DetectedPattern {
  items: string[];
  /** The items as they read (stems as their commonest word). */
  labels: string[];
  support: number;
  change: 'new' | 'updated' | 'unchanged';
  newly_linked: number;
}

export interface PatternResult {
  min_support: number;
  items_mode: ItemMode;
  select: PatternSelect;
  /** Closed frequent item sets mined (the candidates the selection chose from). */
  closed_sets: number;
  sizes: [number, number];
  max_item_share: number;
  found: number;
  added: number;
  updated: number;
  unchanged: number;
  staled: number;
  /** Found patterns, largest support first (at most 1,000 listed). */
  patterns: DetectedPattern[];
  stale: Array<{ id: number; items: string[] }>;
}

const LISTED = 1_000;
/** Where each stage starts, in percent (measured at 57k package summaries: reading them takes ~65 % of the run). */
const PERCENT = { mining: 60, selecting: 69, linking: 88, writing: 98 } as const;

export function runPatternDetection(ctx: JobContext): JobOutcome {
  const { db, job } = ctx;
  const p = jobParams('pattern_detection', ctx.params);
  ctx.progress(1, 'reading insights');
  const vocabulary: Vocabulary = p.select === 'closed' ? 'terms' : 'concepts';
  const data = loadTransactions(db, job.workspace_id, p.items, p.maxItemShare, vocabulary, (insights) => minimumSupport(p, insights), (count) =>
    ctx.progress(1 + ((PERCENT.mining - 1) * count.done) / Math.max(1, count.total), 'reading insights', count),
  );
  const n = data.insightIds.length;
  const minSupport = minimumSupport(p, n);
  ctx.progress(PERCENT.mining, 'mining');
  const closed = closedItemsets(data.transactions, { minSupport, minSize: p.minSize, maxSize: p.maxSize });
  ctx.progress(PERCENT.selecting, p.select === 'closed' ? 'linking members' : 'selecting');
  const sets = p.select === 'closed' ? closed : compressingSets(closed, data);
  const linking = p.select === 'closed' ? PERCENT.selecting : PERCENT.linking;

  const existing = new Map(
    (db.prepare(`SELECT id, pattern_key, support, status FROM patterns WHERE workspace_id = ?`).all(job.workspace_id) as Array<{ id: number; pattern_key: string; support: number; status: string }>).map((row) => [
      row.pattern_key,
      row,
    ]),
  );
  const storedMembers = db.prepare(`SELECT members FROM patterns WHERE id = ?`).pluck();
  const newlyLinked = new Uint8Array(n);
  let newlyLinkedCount = 0;
  // Members are kept encoded (one or two bytes each): 4,000 patterns over a million insights
  // have tens of millions of memberships, which as arrays of numbers would take gigabytes.
  const found: Array<DetectedPattern & { key: string; members: Buffer }> = [];
  for (const [index, set] of sets.entries()) {
    if ((index & 255) === 0) ctx.progress(linking + ((PERCENT.writing - linking) * index) / sets.length, 'linking members', { done: index, total: sets.length });
    const items = set.items.map((i) => data.itemNames[i]!).sort();
    const key = itemsetKey(items);
    const indexes = intersectPostings(data.postings, set.items);
    const ids = new Int32Array(indexes.length);
    for (let i = 0; i < indexes.length; i++) ids[i] = data.insightIds[indexes[i]!]!;
    const before = existing.get(key);
    const old = before ? decodeIds(storedMembers.get(before.id) as Buffer) : [];
    // Both ascending: a merge finds the members not linked before.
    let linked = 0;
    let j = 0;
    for (let i = 0; i < ids.length; i++) {
      while (j < old.length && old[j]! < ids[i]!) j++;
      if (j < old.length && old[j] === ids[i]) continue;
      linked++;
      if (!newlyLinked[indexes[i]!]) {
        newlyLinked[indexes[i]!] = 1;
        newlyLinkedCount++;
      }
    }
    // Members decide: the stored support is their count.
    const change = !before ? 'new' : linked > 0 || old.length !== ids.length || before.status !== 'active' ? 'updated' : 'unchanged';
    found.push({ key, items, labels: items.map(data.label), support: set.support, change, newly_linked: linked, members: encodeIds(ids) });
  }
  const foundKeys = new Set(found.map((f) => f.key));
  const stale = [...existing.values()].filter((row) => row.status === 'active' && !foundKeys.has(row.pattern_key));
  found.sort((a, b) => b.support - a.support || a.key.localeCompare(b.key));

  const result: PatternResult = {
    min_support: minSupport,
    items_mode: p.items,
    select: p.select,
    closed_sets: closed.length,
    sizes: [p.minSize, p.maxSize],
    max_item_share: p.maxItemShare,
    found: found.length,
    added: found.filter((f) => f.change === 'new').length,
    updated: found.filter((f) => f.change === 'updated').length,
    unchanged: found.filter((f) => f.change === 'unchanged').length,
    staled: stale.length,
    patterns: found.slice(0, LISTED).map(({ items, labels, support, change, newly_linked }) => ({ items, labels, support, change, newly_linked })),
    stale: stale.slice(0, LISTED).map((row) => ({ id: row.id, items: row.pattern_key.split('\u001f') })),
  };
  ctx.progress(PERCENT.writing, 'writing');
  return {
    counts: { insights_scanned: n, insights_affected: newlyLinkedCount, candidates_created: result.added, errors: 0 },
    result,
    apply: () => {
      const upsert = db.prepare(
        `INSERT INTO patterns (workspace_id, pattern_key, items, labels, size, support, members, status, first_seen, last_seen, created_by, updated_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)
         ON CONFLICT (workspace_id, pattern_key) DO UPDATE SET support = excluded.support, members = excluded.members, labels = excluded.labels,
           status = 'active', last_seen = excluded.last_seen, updated_by = excluded.updated_by`,
      );
      for (const f of found) {
        upsert.run(job.workspace_id, f.key, JSON.stringify(f.items), JSON.stringify(f.labels), f.items.length, f.support, f.members, ctx.now, ctx.now, job.job_run_id, job.job_run_id);
      }
      const markStale = db.prepare(`UPDATE patterns SET status = 'stale', updated_by = ? WHERE id = ?`);
      for (const row of stale) markStale.run(job.job_run_id, row.id);
    },
  };
}

/** KRIMP's selection is run on at most this many insights (every k-th): its cost grows with each candidate's tid-list. */
const SELECTION_SAMPLE = 5_000;

/** The closed sets KRIMP keeps (see krimp.ts), chosen on an evenly spaced sample of the insights. */
function compressingSets(closed: readonly FrequentItemset[], data: ItemTransactions): FrequentItemset[] {
  const n = data.insightIds.length;
  const step = Math.max(1, Math.ceil(n / SELECTION_SAMPLE));
  const { items, offsets } = data.transactions;
  const sampleItems: number[] = [];
  const sampleOffsets: number[] = [0];
  // The sample's postings, from its own transactions (in order, so ascending).
  const postingLists: number[][] = data.postings.map(() => []);
  for (let t = 0; t < n; t += step) {
    for (let i = offsets[t]!; i < offsets[t + 1]!; i++) {
      sampleItems.push(items[i]!);
      postingLists[items[i]!]!.push(t / step);
    }
    sampleOffsets.push(sampleItems.length);
  }
  const samplePostings = postingLists.map((list) => Int32Array.from(list));
  const candidates = closed.map((set) => ({ items: set.items, support: set.support, tids: intersectPostings(samplePostings, set.items) }));
  const chosen = krimp(candidates, { items: Int32Array.from(sampleItems), offsets: Int32Array.from(sampleOffsets) }, data.itemNames.length);
  return chosen.map((k) => closed[k]!);
}
