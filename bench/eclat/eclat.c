/*
 * A plain Eclat (Zaki 2000): the anchor the pattern miner is measured against
 * (bench/patterns-bench.ts compiles it with `gcc -O2`).
 *
 *   eclat FILE MINSUP
 *
 * FILE holds one transaction per line as item ids (non-negative integers) separated by spaces.
 * Every item set occurring in at least MINSUP transactions is found: each frequent item gets its
 * tid-set as a bitset (bit t: transaction t has it), and each prefix's class of extensions is
 * mined depth first, a set's tid-set being the AND of two of its parent class's and its support
 * the bits' count. On 100k transactions bitsets beat sorted tid-lists merged pairwise ~10×
 * (0.3 s against 3 s): a merge mispredicts a branch per element, an AND takes 64 tids at once.
 * Prints one JSON line: the number of item sets, their support total, an order-independent hash
 * (the same as bench/patterns-runner.mjs computes) and the seconds spent mining, wall and CPU
 * (after reading the file, including counting and building the bitsets).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int item;
  uint64_t *bits;
  int count;
} Member;

static int min_support;
/* Words per bitset. */
static size_t words;
static long itemsets;
static long long support_total;
static uint32_t hash;
static int prefix[1024];

static void *checked(void *p) {
  if (!p) {
    fprintf(stderr, "eclat: out of memory\n");
    exit(1);
  }
  return p;
}

static int ascending(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Counts the set prefix[0 .. size) with its support into the totals and the hash. */
static void report(int size, int support) {
  int sorted[1024];
  memcpy(sorted, prefix, size * sizeof(int));
  qsort(sorted, size, sizeof(int), ascending);
  uint32_t h = 0x811c9dc5u ^ (uint32_t)support;
  for (int i = 0; i < size; i++) h = (h ^ (uint32_t)sorted[i]) * 0x01000193u;
  hash += h;
  itemsets++;
  support_total += support;
}

/* Mines the class: every member extends prefix[0 .. depth) by one item and is frequent. */
static void mine(const Member *class, int size, int depth) {
  for (int i = 0; i < size; i++) {
    prefix[depth] = class[i].item;
    report(depth + 1, class[i].count);
    Member *next = checked(malloc((size_t)(size - i) * sizeof(Member)));
    uint64_t *bits = checked(malloc((size_t)(size - i) * words * sizeof(uint64_t)));
    int members = 0;
    for (int j = i + 1; j < size; j++) {
      uint64_t *out = bits + (size_t)members * words;
      const uint64_t *a = class[i].bits, *b = class[j].bits;
      int count = 0;
      for (size_t w = 0; w < words; w++) count += __builtin_popcountll(out[w] = a[w] & b[w]);
      if (count >= min_support) next[members++] = (Member){class[j].item, out, count};
    }
    mine(next, members, depth + 1);
    free(bits);
    free(next);
  }
}

static int by_support(const void *a, const void *b) {
  const Member *x = a, *y = b;
  return x->count != y->count ? x->count - y->count : x->item - y->item;
}

static double seconds_of(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: eclat FILE MINSUP\n");
    return 2;
  }
  FILE *in = fopen(argv[1], "r");
  if (!in) {
    perror(argv[1]);
    return 1;
  }
  min_support = atoi(argv[2]);
  /* The transactions, packed: transaction t is items[offsets[t] .. offsets[t + 1]). */
  size_t capacity = 1 << 20, used = 0, transactions = 0, offsets_capacity = 1 << 16;
  int *items = checked(malloc(capacity * sizeof(int)));
  size_t *offsets = checked(malloc(offsets_capacity * sizeof(size_t)));
  offsets[0] = 0;
  int value = -1, max_item = -1, c;
  size_t line_length = 0;
  do {
    c = getc(in);
    if (c >= '0' && c <= '9') {
      value = (value < 0 ? 0 : value * 10) + (c - '0');
      line_length++;
      continue;
    }
    if (value >= 0) {
      if (used == capacity) items = checked(realloc(items, (capacity *= 2) * sizeof(int)));
      items[used++] = value;
      if (value > max_item) max_item = value;
      value = -1;
    }
    /* A line ends a transaction; so does the end of a last line without a newline. */
    if (c == '\n' || (c == EOF && line_length > 0)) {
      if (transactions + 2 > offsets_capacity) offsets = checked(realloc(offsets, (offsets_capacity *= 2) * sizeof(size_t)));
      offsets[++transactions] = used;
      line_length = 0;
    } else if (c != EOF) {
      line_length++;
    }
  } while (c != EOF);
  fclose(in);

  double start = seconds_of(CLOCK_MONOTONIC), cpu_start = seconds_of(CLOCK_PROCESS_CPUTIME_ID);
  /* Supports of single items (an item repeated in a transaction counts once). */
  int *support = checked(calloc((size_t)max_item + 1, sizeof(int)));
  int *last = checked(malloc(((size_t)max_item + 1) * sizeof(int)));
  memset(last, 0xff, ((size_t)max_item + 1) * sizeof(int));
  for (size_t t = 0; t < transactions; t++)
    for (size_t k = offsets[t]; k < offsets[t + 1]; k++)
      if (last[items[k]] != (int)t) {
        last[items[k]] = (int)t;
        support[items[k]]++;
      }
  /* Frequent items with their bitsets, least frequent first (smaller classes deeper down). */
  words = (transactions + 63) / 64;
  int frequent = 0;
  for (int item = 0; item <= max_item; item++) frequent += support[item] >= min_support;
  Member *top = checked(malloc((size_t)(frequent > 0 ? frequent : 1) * sizeof(Member)));
  int *slot = checked(malloc(((size_t)max_item + 1) * sizeof(int)));
  for (int item = 0, m = 0; item <= max_item; item++) {
    slot[item] = -1;
    if (support[item] < min_support) continue;
    top[m] = (Member){item, checked(calloc(words > 0 ? words : 1, sizeof(uint64_t))), support[item]};
    slot[item] = m++;
  }
  for (size_t t = 0; t < transactions; t++)
    for (size_t k = offsets[t]; k < offsets[t + 1]; k++)
      if (slot[items[k]] >= 0) top[slot[items[k]]].bits[t / 64] |= (uint64_t)1 << (t % 64);
  qsort(top, frequent, sizeof(Member), by_support);
  mine(top, frequent, 0);
  double seconds = seconds_of(CLOCK_MONOTONIC) - start, cpu_seconds = seconds_of(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;

  printf("{\"transactions\":%zu,\"itemsets\":%ld,\"support_total\":%lld,\"hash\":%u,\"seconds\":%.6f,\"cpu_seconds\":%.6f}\n", transactions, itemsets, support_total, hash, seconds, cpu_seconds);
  for (int m = 0; m < frequent; m++) free(top[m].bits);
  free(top);
  free(slot);
  free(last);
  free(support);
  free(items);
  free(offsets);
  return 0;
}
