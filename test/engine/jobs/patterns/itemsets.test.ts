/**
 * The item set miner (itemsets.ts) on the input the job gives it — a TransactionPool — against a
 * brute-force count of every subset (property test): each frequent set is emitted exactly once,
 * with its support, and nothing else; with budgets small enough that the pairs' lists take many
 * scans of the tree. patterns.test.ts checks frequentItemsets and closedItemsets on arrays and
 * against node-fpgrowth.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mineFrequentItemsets, type TransactionPool } from '../../../../src/engine/jobs/patterns/itemsets.js';

/** Every item set of the transactions with support ≥ 1, keyed "a,b,c" (items ascending). */
function bruteForce(transactions: number[][]): Map<string, number> {
  const universe = [...new Set(transactions.flat())].sort((a, b) => a - b);
  const sets = transactions.map((t) => new Set(t));
  const out = new Map<string, number>();
  for (let mask = 1; mask < 1 << universe.length; mask++) {
    const items = universe.filter((_, i) => mask & (1 << i));
    const support = sets.filter((s) => items.every((i) => s.has(i))).length;
    if (support > 0) out.set(items.join(','), support);
  }
  return out;
}

function pool(transactions: number[][]): TransactionPool {
  const offsets = [0];
  for (const t of transactions) offsets.push(offsets.at(-1)! + t.length);
  return { items: Int32Array.from(transactions.flat()), offsets: Int32Array.from(offsets) };
}

describe('mineFrequentItemsets', () => {
  test('emits each frequent item set of a transaction pool once, with its support (property)', () => {
    const arbitrary = fc.record({
      // Up to 12 items (4,096 subsets to count), skewed so that some sets of 4–6 items are frequent.
      rows: fc.array(fc.uniqueArray(fc.oneof({ weight: 3, arbitrary: fc.nat(4) }, { weight: 1, arbitrary: fc.nat(11) }), { maxLength: 9 }), { maxLength: 40 }),
      minSupport: fc.integer({ min: 1, max: 8 }),
      maxSize: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      // From one pair row per scan and a few entries (many scans) to the defaults.
      pairBudget: fc.option(fc.record({ counters: fc.integer({ min: 1, max: 200 }), entries: fc.integer({ min: 1, max: 200 }) }), { nil: undefined }),
    });
    fc.assert(
      fc.property(arbitrary, ({ rows, minSupport, maxSize, pairBudget }) => {
        // The job's transactions are sorted; the pool is read as it is, so sort half of them only.
        const transactions = rows.map((row, i) => (i % 2 ? [...row].sort((a, b) => a - b) : row));
        const expected = new Map([...bruteForce(transactions)].filter(([key, support]) => support >= minSupport && key.split(',').length <= (maxSize ?? Infinity)));
        const found = new Map<string, number>();
        mineFrequentItemsets(pool(transactions), { minSupport, ...(maxSize === undefined ? {} : { maxSize }), ...(pairBudget ? { pairBudget } : {}) }, (items, support) => {
          const key = [...items].sort((a, b) => a - b).join(',');
          assert.ok(!found.has(key), `${key} emitted twice`);
          found.set(key, support);
        });
        assert.deepEqual(found, expected);
      }),
      { numRuns: 300, seed: 20261203 },
    );
  });

  test('many items and long transactions (paths over several packed sort keys, radix passes) match a direct count of sets up to 3 items (property)', () => {
    const arbitrary = fc.record({
      // Up to 400 items (9 bits a rank: 3 ranks a sort key; past 255 frequent ones, 16-bit rank arrays) and 30 a
      // transaction, most of them among the first 20.
      rows: fc.array(fc.array(fc.oneof({ weight: 4, arbitrary: fc.nat(19) }, { weight: 1, arbitrary: fc.nat(399) }), { maxLength: 30 }), { minLength: 30, maxLength: 160 }),
      minSupport: fc.integer({ min: 1, max: 6 }),
    });
    fc.assert(
      fc.property(arbitrary, ({ rows, minSupport }) => {
        const expected = new Map<string, number>();
        const bump = (key: string) => expected.set(key, (expected.get(key) ?? 0) + 1);
        for (const row of rows) {
          const t = [...new Set(row)].sort((a, b) => a - b);
          for (let i = 0; i < t.length; i++) {
            bump(`${t[i]}`);
            for (let j = i + 1; j < t.length; j++) {
              bump(`${t[i]},${t[j]}`);
              for (let k = j + 1; k < t.length; k++) bump(`${t[i]},${t[j]},${t[k]}`);
            }
          }
        }
        for (const [key, support] of expected) if (support < minSupport) expected.delete(key);
        const found = new Map<string, number>();
        mineFrequentItemsets(pool(rows), { minSupport, maxSize: 3 }, (items, support) => found.set([...items].sort((a, b) => a - b).join(','), support));
        assert.deepEqual(found, expected);
      }),
      { numRuns: 60, seed: 20261203 },
    );
  });

  test('a minimum support above every count finds nothing; maxSize 0 finds nothing', () => {
    const transactions = pool([[1, 2], [2, 3], [1, 2, 3]]);
    let emitted = 0;
    mineFrequentItemsets(transactions, { minSupport: 4 }, () => emitted++);
    mineFrequentItemsets(transactions, { minSupport: 1, maxSize: 0 }, () => emitted++);
    assert.equal(emitted, 0);
  });
});
