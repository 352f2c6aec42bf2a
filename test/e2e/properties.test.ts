/**
 * Property tests (fast-check) for issue 10, item 5:
 *   - the local engine's job state machine, model-based, on a real SQLite file with a controlled clock;
 *   - the provider lifecycle mapping (mapState / normalized) against the README's table;
 *   - decay: multi-step sweeps through the real runner equal one sweep, and a sweep never
 *     raises confidence, never un-archives, keeps confidence within [floor, base];
 *   - import → export → import → export round trips (JSONL and CSV), in-process and through the bin;
 *   - config precedence (flag > env > config profile > default), directly and through `config set` + `status`;
 *   - random API keys never appear in stdout, stderr, or any file under HOME but the 0600 config file.
 *
 * Sizes: the default run takes a few seconds per property. NEX_COMPOUND_SOAK=1 multiplies every
 * numRuns by SOAK_FACTOR (20) for a long soak: `NEX_COMPOUND_SOAK=1 node --import tsx --test test/properties.test.ts`.
 * The figures (each property and its runs) are printed at the end by an after() hook.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import Sqlite from 'better-sqlite3';
import { runBin, runInProcess, tempDir } from '../helpers/cli.js';
import { startFakeNexServer, type FakeNexServer } from '../helpers/fake-nex-server.js';
import { openDatabaseWith, type Database } from '../../src/engine/store/db.js';
import {
  LeaseLostError,
  MAX_ATTEMPTS,
  claimNextJob,
  completeJob,
  createJob,
  failJob,
  hasRunnableJobs,
  heartbeat,
  type JobRow,
} from '../../src/engine/queue/queue.js';
import { runNextJob } from '../../src/engine/queue/runner.js';
import { normalizeText, normalizeTextSlowly } from '../../src/engine/text/normalize.js';
import { CONFIDENCE_EPSILON, decayedConfidence, shouldArchive } from '../../src/engine/jobs/decay/job.js';
import type { DecayParams } from '../../src/contract/job-params.js';
import { LIFECYCLE_STATES, NEX_STATES, mapState, normalized, type LifecycleState, type ProviderName } from '../../src/contract/lifecycle.js';
import { PROVIDERS } from '../../src/remote/providers.js';
import { lifecycleOf } from '../../src/contract/jobs.js';
import type { ExportRecord } from '../../src/engine/store/insights.js';
import { resolveSettings } from '../../src/cli/settings/settings.js';
import type { GlobalOptions } from '../../src/cli/program.js';
import type { ConfigKey } from '../../src/cli/settings/config-keys.js';

const SOAK_FACTOR = 20;
const SOAK = process.env.NEX_COMPOUND_SOAK === '1';
const runs = (n: number) => (SOAK ? n * SOAK_FACTOR : n);

/** property name → [numRuns asked, runs executed]; printed by after(). */
const figures = new Map<string, { numRuns: number; executed: number; extra?: string }>();
function counter(name: string, numRuns: number) {
  const entry = { numRuns, executed: 0 } as { numRuns: number; executed: number; extra?: string };
  figures.set(name, entry);
  return entry;
}

after(() => {
  const lines = [...figures].map(([name, f]) => `  ${name}: numRuns ${f.numRuns}, executed ${f.executed}${f.extra ? ` (${f.extra})` : ''}`);
  console.log(`properties.test.ts figures${SOAK ? ' (SOAK)' : ''}:\n${lines.join('\n')}`);
});

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function freshDb(prefix = 'nex-compound-prop-'): { file: string; db: Database } {
  const file = path.join(tempDir(prefix), 'engine.db');
  return { file, db: openDatabaseWith(Sqlite, file, { create: true }) };
}

// ---------------------------------------------------------------------------------------------
// 1. The job state machine

describe('job state machine (model-based, real SQLite file, controlled clock)', () => {
  const LEASE = 30_000;
  const WORKERS = ['w0', 'w1', 'w2'];
  type Status = JobRow['status'];

  type Op =
    | { kind: 'trigger'; ws: number; dry: boolean; type: 'metrics' | 'decay_sweep' }
    | { kind: 'claim' | 'heartbeat' | 'complete' | 'fail' | 'runNext' | 'claimAndDie'; w: number }
    | { kind: 'advance'; ms: number };

  const worker = fc.nat(WORKERS.length - 1);
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('trigger' as const), ws: fc.constantFrom(1, 2), dry: fc.boolean(), type: fc.constantFrom('metrics' as const, 'decay_sweep' as const) }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('claim' as const), w: worker }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), w: worker }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete' as const), w: worker }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), w: worker }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('runNext' as const), w: worker }) },
    // A worker killed right after its claim: the lease lapses and the job waits for a re-claim.
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('claimAndDie' as const), w: worker }) },
    // Lease expiry (a killed worker) is the interesting case: most clock steps cross a lease.
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(1, 1_000, LEASE - 1, LEASE, LEASE + 1, LEASE + 1, 3 * LEASE, 3 * LEASE) }) },
  );

  interface ModelJob {
    id: string;
    seq: number;
    ws: number;
    dry: boolean;
    status: Status;
    attempts: number;
    owner: string | null;
    expires: number | null;
  }

  /** The specification of a claim: per workspace only its oldest open job may run, and not while a live lease holds it. */
  function modelClaim(jobs: ModelJob[], workerId: string, now: number): ModelJob | undefined {
    const open = jobs.filter((j) => j.status === 'accepted' || j.status === 'running').sort((a, b) => a.seq - b.seq);
    const seen = new Set<number>();
    const candidates: ModelJob[] = [];
    for (const job of open) {
      if (seen.has(job.ws)) continue;
      seen.add(job.ws);
      if (job.status === 'running' && job.expires! >= now) continue;
      candidates.push(job);
    }
    for (const job of candidates) {
      if (job.attempts >= MAX_ATTEMPTS) {
        Object.assign(job, { status: 'failed', owner: null, expires: null });
        continue;
      }
      Object.assign(job, { status: 'running', attempts: job.attempts + 1, owner: workerId, expires: now + LEASE });
      return job;
    }
    return undefined;
  }

  const ALLOWED: Record<Status, readonly Status[]> = {
    accepted: ['accepted', 'running'],
    running: ['running', 'completed', 'failed'],
    completed: ['completed'],
    failed: ['failed'],
  };
  const EVENTS = /^accepted(?: claimed(?: lease_expired claimed)*(?: completed| failed)?)?$/;

  const stats = counter('job state machine: random op sequences (trigger/claim/heartbeat/complete/fail/runNext/claim-and-die/lease expiry)', runs(100));
  let opsRun = 0;
  let reclaims = 0;
  let exhausted = 0;

  test('status moves only along allowed transitions; attempts ≤ 3; terminal jobs never change; one lease holder; one running job per workspace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 50, size: 'large' }), async (ops) => {
        stats.executed++;
        const { db } = freshDb('nex-compound-sm-');
        try {
          let now = T0;
          const model: ModelJob[] = [];
          const held: Array<JobRow | undefined> = WORKERS.map(() => undefined);
          const snapshot = () => new Map((db.prepare('SELECT * FROM jobs').all() as JobRow[]).map((r) => [r.job_run_id, r]));
          let before = snapshot();
          for (const op of ops) {
            opsRun++;
            const where = () => `after ${JSON.stringify(op)} in ${JSON.stringify(ops)}`;
            switch (op.kind) {
              case 'trigger': {
                const row = createJob(db, { workspaceId: op.ws, jobType: op.type, dryRun: op.dry, now });
                model.push({ id: row.job_run_id, seq: row.seq, ws: op.ws, dry: op.dry, status: 'accepted', attempts: 0, owner: null, expires: null });
                break;
              }
              case 'claimAndDie':
              case 'claim': {
                const wasRunning = new Set(model.filter((j) => j.status === 'running').map((j) => j.id));
                const expected = modelClaim(model, WORKERS[op.w]!, now);
                const got = claimNextJob(db, WORKERS[op.w]!, now, LEASE);
                assert.equal(got?.job_run_id, expected?.id, `claimed the wrong job ${where()}`);
                if (got) {
                  held[op.w] = got;
                  if (wasRunning.has(got.job_run_id)) reclaims++;
                }
                if (op.kind === 'claimAndDie') {
                  held[op.w] = undefined;
                  now += LEASE + 1;
                }
                break;
              }
              case 'heartbeat': {
                const job = held[op.w];
                if (!job) break;
                const m = model.find((j) => j.id === job.job_run_id)!;
                const expected = m.status === 'running' && m.owner === WORKERS[op.w];
                const ok = heartbeat(db, job, WORKERS[op.w]!, now, LEASE, { progress: 50, stage: 'working' });
                assert.equal(ok, expected, `heartbeat ${where()}`);
                if (ok) m.expires = now + LEASE;
                break;
              }
              case 'complete': {
                const job = held[op.w];
                if (!job) break;
                const m = model.find((j) => j.id === job.job_run_id)!;
                const expected = m.status === 'running' && m.owner === WORKERS[op.w];
                const marker = `marker ${job.job_run_id} ${WORKERS[op.w]} ${opsRun}`;
                const counts = { insights_scanned: 1, insights_affected: 1, candidates_created: 0, errors: 0 };
                let ok = true;
                try {
                  completeJob(db, job, WORKERS[op.w]!, now, counts, () => {
                    db.prepare(`INSERT INTO insights (text, normalized_text, tags, confidence, base_confidence, created_at, last_reinforced_at) VALUES (?, ?, '[]', 0.5, 0.5, ?, ?)`).run(marker, marker, now, now);
                  });
                } catch (error) {
                  assert.ok(error instanceof LeaseLostError, `completeJob threw ${String(error)} ${where()}`);
                  ok = false;
                }
                assert.equal(ok, expected, `complete ${where()}`);
                const applied = (db.prepare('SELECT count(*) AS n FROM insights WHERE text = ?').get(marker) as { n: number }).n;
                assert.equal(applied, ok && !m.dry ? 1 : 0, `a job's changes commit with its completion, and only then (dry runs: never) ${where()}`);
                if (ok) Object.assign(m, { status: 'completed', owner: null, expires: null });
                break;
              }
              case 'fail': {
                const job = held[op.w];
                if (!job) break;
                const m = model.find((j) => j.id === job.job_run_id)!;
                const expected = m.status === 'running' && m.owner === WORKERS[op.w];
                failJob(db, job, WORKERS[op.w]!, now, { message: 'injected failure' });
                if (expected) Object.assign(m, { status: 'failed', owner: null, expires: null });
                break;
              }
              case 'runNext': {
                const expected = modelClaim(model, WORKERS[op.w]!, now);
                const ran = await runNextJob({ db, workerId: WORKERS[op.w]!, leaseMs: LEASE, now: () => now });
                assert.equal(ran?.job_run_id, expected?.id, `the runner ran the wrong job ${where()}`);
                if (expected) Object.assign(expected, { status: 'completed', owner: null, expires: null });
                break;
              }
              case 'advance':
                now += op.ms;
                break;
            }

            // The database equals the model.
            const after = snapshot();
            for (const m of model) {
              const row = after.get(m.id)!;
              assert.deepEqual(
                { status: row.status, attempts: row.attempts, owner: row.lease_owner, expires: row.lease_expires_at },
                { status: m.status, attempts: m.attempts, owner: m.owner, expires: m.expires },
                `job ${m.seq} differs from the model ${where()}`,
              );
            }
            // Invariants, independent of the model.
            for (const [id, row] of after) {
              const prev = before.get(id);
              assert.ok(row.attempts <= MAX_ATTEMPTS, `attempts ${row.attempts} > ${MAX_ATTEMPTS}`);
              assert.equal(row.lease_owner !== null, row.status === 'running', `a lease is held exactly while running ${where()}`);
              if (prev) {
                // runNext claims and finishes in one step: accepted → running → completed, seen as one move.
                const allowed = op.kind === 'runNext' ? [...new Set(ALLOWED[prev.status].flatMap((s) => ALLOWED[s]))] : ALLOWED[prev.status];
                assert.ok(allowed.includes(row.status), `${prev.status} → ${row.status} is not an allowed transition ${where()}`);
                assert.ok(row.attempts >= prev.attempts && row.attempts <= prev.attempts + 1, `attempts ${prev.attempts} → ${row.attempts} ${where()}`);
                if (prev.status === 'completed' || prev.status === 'failed') assert.deepEqual(row, prev, `a terminal job changed ${where()}`);
                if (row.status === 'running' && prev.status === 'running' && row.lease_owner !== prev.lease_owner) {
                  assert.ok(prev.lease_expires_at! < now, `a live lease was taken over ${where()}`);
                }
              }
            }
            for (const ws of [1, 2]) {
              const open = [...after.values()].filter((r) => r.workspace_id === ws && (r.status === 'accepted' || r.status === 'running')).sort((a, b) => a.seq - b.seq);
              const running = open.filter((r) => r.status === 'running');
              assert.ok(running.length <= 1, `workspace ${ws} runs ${running.length} jobs at once ${where()}`);
              if (running[0]) assert.equal(running[0].seq, open[0]!.seq, `workspace ${ws} runs a job before an older one ${where()}`);
            }
            const runnable = model.some((j) => j.status === 'accepted' || (j.status === 'running' && j.expires! < now));
            assert.equal(hasRunnableJobs(db, now, LEASE), runnable, `hasRunnableJobs ${where()}`);
            before = after;
          }
          // Each job's event log tells the same story: claims = attempts, re-claims only after an expired lease.
          for (const m of model) {
            const kinds = (db.prepare('SELECT kind FROM job_events WHERE job_run_id = ? ORDER BY id').all(m.id) as Array<{ kind: string }>).map((e) => e.kind).join(' ');
            assert.match(kinds, EVENTS, `events of job ${m.seq}`);
            assert.equal(kinds.split(' ').filter((k) => k === 'claimed').length, m.attempts);
            const details = (db.prepare('SELECT error_details FROM jobs WHERE job_run_id = ?').get(m.id) as { error_details: string | null }).error_details;
            if (m.status === 'failed' && details?.includes('giving up')) {
              assert.equal(m.attempts, MAX_ATTEMPTS, 'a job is given up only after its last attempt');
              exhausted++;
            }
          }
        } finally {
          db.close();
        }
      }),
      { numRuns: stats.numRuns },
    );
    stats.extra = `${opsRun} operations, ${reclaims} re-claims after lease expiry, ${exhausted} jobs failed after ${MAX_ATTEMPTS} attempts`;
    assert.ok(reclaims > 0 && exhausted > 0, `the generator reaches re-claims (${reclaims}) and exhausted attempts (${exhausted})`);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. The provider lifecycle

describe('lifecycle mapping across providers (model: the README table)', () => {
  /** The README's "its states → lifecycle" column, written out independently of src. */
  const TABLE: Record<ProviderName, Record<string, LifecycleState>> = {
    nex: { accepted: 'queued', running: 'running', completed: 'succeeded', failed: 'failed' },
    julep: { pending: 'queued', in_progress: 'running', retrying: 'retrying', succeeded: 'succeeded', aborted: 'cancelled', failed: 'failed', unknown: 'unknown' },
    jobs: { PENDING: 'queued', PROCESSING: 'running', COMPLETED: 'succeeded', FAILED: 'failed' },
    nexio: { queued: 'queued', processing: 'running', completed: 'succeeded', degraded: 'succeeded_with_warnings', failed: 'failed' },
  };
  const TERMINAL = new Set<LifecycleState>(['succeeded', 'succeeded_with_warnings', 'failed', 'cancelled']);

  const providerArb = fc.constantFrom(...(Object.keys(TABLE) as ProviderName[]));
  const randomCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((flags) => [...s].map((c, i) => (flags[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
  const space = fc.constantFrom('', ' ', '\t', '  \n');
  /** A state string: a known one (any case, surrounding space), or anything else. */
  const stateArb = (provider: ProviderName) =>
    fc.oneof(
      fc.constantFrom(...Object.keys(TABLE[provider])).chain((s) => fc.tuple(space, randomCase(s), space).map(([a, b, c]) => a + b + c)),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.constantFrom('', 'toString', '__proto__', 'constructor', 'hasOwnProperty', 'completed ', 'SUCCEEDED', 'cancelled', 'in progress'),
    );
  const expectedState = (provider: ProviderName, raw: string): LifecycleState => {
    const key = raw.trim().toLowerCase();
    const entry = Object.entries(TABLE[provider]).find(([k]) => k.toLowerCase() === key);
    return entry ? entry[1] : 'unknown';
  };
  const bodyFor = (provider: ProviderName, state: string, attempts: number | undefined): Record<string, unknown> => {
    switch (provider) {
      case 'nex':
        return { job_run_id: randomUUID(), job_type: 'metrics', status: state };
      case 'julep':
        return { id: randomUUID(), state };
      case 'jobs':
        return { id: 'job-1', status: state, ...(attempts !== undefined ? { attempts } : {}) };
      case 'nexio':
        return { run_id: 'run-1', status: state };
    }
  };

  const stats = counter('lifecycle: every provider state maps to exactly one lifecycle state; terminal ⇔ outcome', runs(400));
  test('every provider state maps to exactly one lifecycle state; terminal ones (only) have an outcome; unknown never guesses', () => {
    fc.assert(
      fc.property(
        providerArb.chain((p) => fc.tuple(fc.constant(p), stateArb(p), fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }))),
        ([provider, state, attempts]) => {
          stats.executed++;
          const status = PROVIDERS[provider].toStatus(bodyFor(provider, state, attempts), 'id', 'nx_test_key');
          assert.ok(status, `${provider} reads a body with a string state`);
          const n = lifecycleOf(status);
          let expected = expectedState(provider, state);
          // The jobs API: back in PENDING/PROCESSING after a failed attempt is a retry.
          if (provider === 'jobs' && (expected === 'queued' || expected === 'running') && attempts !== undefined && attempts > 1) expected = 'retrying';
          assert.equal(n.state, expected, `${provider} ${JSON.stringify(state)}`);
          assert.ok((LIFECYCLE_STATES as readonly string[]).includes(n.state));
          assert.equal(n.terminal, TERMINAL.has(n.state));
          assert.equal(n.outcome, n.terminal ? n.state : null);
          if (provider !== 'nex') assert.equal(n.provider, provider);
          // normalized() and mapState() agree with the provider's answer.
          assert.deepEqual(normalized(n.provider, n.state), n);
          if (provider === 'nex') assert.equal(mapState(NEX_STATES, state), expected);
        },
      ),
      { numRuns: stats.numRuns },
    );
  });

  const anyStats = counter('lifecycle: mapState of any non-string value is unknown', runs(100));
  test('mapState: non-strings are unknown; every lifecycle state is exactly one of terminal or not', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        anyStats.executed++;
        if (typeof value !== 'string') assert.equal(mapState(NEX_STATES, value), 'unknown');
      }),
      { numRuns: anyStats.numRuns },
    );
    for (const state of LIFECYCLE_STATES) {
      const n = normalized('x', state);
      assert.equal(n.terminal, n.outcome !== null);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Decay through the real runner

describe('text normalization: the fast path equals the definition', () => {
  // Strings biased towards the cases each shortcut decides on: ASCII letters and digits at the
  // edges, runs of spaces, tabs and newlines, punctuation, symbols and characters NFKC changes.
  const pieces = ['a', 'Z', '7', ' ', '  ', '\t', '\n', '\r\n', '.', '!', '"', '(', ')', '$', '+', '\u00a0', '\u2003', '\u3000', 'ﬁ', 'Ⅻ', 'é', 'e\u0301', 'Å', 'ß', 'İ', '①', '🚀', '—', '«', '»', '\ufeff'];
  const textArb = fc.oneof(
    fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((p) => p.join('')),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
  );
  const stats = counter('normalize: normalizeText (with shortcuts) equals NFKC → lower → collapse → strip', runs(2000));
  test('normalizeText equals the plain definition for ASCII, whitespace runs, edge punctuation and NFKC-changed text', () => {
    fc.assert(
      fc.property(textArb, (text) => {
        stats.executed++;
        assert.equal(normalizeText(text), normalizeTextSlowly(text), JSON.stringify(text));
      }),
      { numRuns: stats.numRuns },
    );
  });
});

describe('decay sweeps through the real runner (extends the two-sweep property in test/engine/jobs/decay/decay.test.ts)', () => {
  interface Seed {
    base: number;
    ageMs: number;
    reinforcedAfterMs: number;
    count: number;
    ws: number;
    status: 'active' | 'archived' | 'merged';
  }
  const seedArb: fc.Arbitrary<Seed> = fc.record({
    base: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 0.05, 0.1, 0.5)),
    ageMs: fc.oneof(fc.integer({ min: 0, max: 800 * DAY }), fc.constantFrom(0, 7 * DAY, 7 * DAY + 1)),
    reinforcedAfterMs: fc.integer({ min: 0, max: 100 * DAY }),
    count: fc.integer({ min: 1, max: 20 }),
    ws: fc.constantFrom(1, 1, 1, 2),
    status: fc.constantFrom('active' as const, 'active' as const, 'active' as const, 'archived' as const, 'merged' as const),
  });
  const paramsArb: fc.Arbitrary<DecayParams> = fc.record({
    halfLifeMs: fc.integer({ min: 3_600_000, max: 400 * DAY }),
    graceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 * DAY })),
    floor: fc.oneof(fc.double({ min: 0, max: 0.5, noNaN: true }), fc.constantFrom(0, 0.05, 0.3)),
    archiveBelow: fc.oneof(fc.double({ min: 0, max: 0.6, noNaN: true }), fc.constantFrom(0, 0.1)),
  });

  type Row = { id: number; workspace_id: number; confidence: number; base_confidence: number; status: string; last_reinforced_at: number; created_at: number; reinforcement_count: number; merged_into: number | null; text: string };

  function seedDb(db: Database, seeds: Seed[]): void {
    const insert = db.prepare(
      `INSERT INTO insights (workspace_id, text, normalized_text, tags, confidence, base_confidence, reinforcement_count, created_at, last_reinforced_at, status)
       VALUES (?, ?, ?, '[]', ?, ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      seeds.forEach((s, i) => {
        const last = T0 - s.ageMs;
        insert.run(s.ws, `insight ${i}`, `insight ${i}`, s.base, s.base, s.count, last - s.reinforcedAfterMs, last, s.status);
      });
    })();
  }
  const rows = (db: Database) => db.prepare('SELECT id, workspace_id, text, confidence, base_confidence, status, last_reinforced_at, created_at, reinforcement_count, merged_into FROM insights ORDER BY id').all() as Row[];

  async function sweep(db: Database, at: number, params: DecayParams, dryRun = false) {
    const job = createJob(db, { workspaceId: 1, jobType: 'decay_sweep', dryRun, params: { ...params }, now: at });
    const ran = await runNextJob({ db, workerId: 'decay-test', leaseMs: 30_000, now: () => at });
    assert.equal(ran?.job_run_id, job.job_run_id);
    const done = db.prepare('SELECT status, insights_scanned, insights_affected, error_details FROM jobs WHERE job_run_id = ?').get(job.job_run_id) as { status: string; insights_scanned: number; insights_affected: number; error_details: string | null };
    assert.equal(done.status, 'completed', `the sweep at ${new Date(at).toISOString()} completed: ${done.error_details}`);
    return done;
  }

  const stats = counter('decay: n sweeps at t1 ≤ … ≤ tn equal one sweep at tn; monotone; bounds; counts; dry run', runs(60));
  let sweeps = 0;
  let archivedSeen = 0;
  test('n sweeps at t1 ≤ … ≤ tn equal one sweep at tn; no sweep raises confidence or un-archives; confidence stays in [floor, base]; counts match the formula; a dry run writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(seedArb, { minLength: 1, maxLength: 25 }),
        paramsArb,
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200 * DAY })), { minLength: 1, maxLength: 6 }),
        async (seeds, params, steps) => {
          stats.executed++;
          const many = freshDb('nex-compound-decay-');
          const once = freshDb('nex-compound-decay-');
          const dry = freshDb('nex-compound-decay-');
          try {
            for (const { db } of [many, once, dry]) seedDb(db, seeds);
            const initial = rows(many.db);
            const times: number[] = [];
            steps.reduce((t, d) => (times.push(t + d), t + d), T0);

            let previous = initial;
            for (const t of times) {
              await sweep(many.db, t, params);
              sweeps++;
              const current = rows(many.db);
              current.forEach((row, i) => {
                const prev = previous[i]!;
                const first = initial[i]!;
                const what = `insight ${i} ${JSON.stringify(seeds[i])} at ${new Date(t).toISOString()} with ${JSON.stringify(params)}`;
                if (row.workspace_id !== 1 || first.status === 'merged') {
                  assert.deepEqual(row, first, `another workspace's or a merged insight is never touched: ${what}`);
                  return;
                }
                assert.deepEqual(
                  { ...row, confidence: 0, status: '' },
                  { ...first, confidence: 0, status: '' },
                  `a sweep changes confidence and status only: ${what}`,
                );
                assert.ok(row.confidence <= prev.confidence + 1e-15, `a later sweep raised confidence ${prev.confidence} → ${row.confidence}: ${what}`);
                if (prev.status === 'archived') assert.equal(row.status, 'archived', `un-archived: ${what}`);
                const base = row.base_confidence;
                if (base <= params.floor) assert.equal(row.confidence, base, `at or below the floor nothing moves: ${what}`);
                else assert.ok(row.confidence >= params.floor - 1e-12 && row.confidence <= base + 1e-12, `${row.confidence} outside [${params.floor}, ${base}]: ${what}`);
                assert.ok(row.confidence >= 0 && row.confidence <= 1);
              });
              previous = current;
            }
            const tn = times[times.length - 1]!;
            const expectedCounts = (() => {
              let scanned = 0;
              let affected = 0;
              for (const r of initial) {
                if (r.workspace_id !== 1 || r.status !== 'active') continue;
                scanned++;
                const c = decayedConfidence(r.base_confidence, r.last_reinforced_at, tn, params);
                if (shouldArchive(c, r.last_reinforced_at, tn, params) || Math.abs(c - r.confidence) > CONFIDENCE_EPSILON) affected++;
              }
              return { scanned, affected };
            })();
            const single = await sweep(once.db, tn, params);
            sweeps++;
            assert.deepEqual(rows(many.db), rows(once.db), `${times.length} sweeps at ${times.map((t) => new Date(t).toISOString())} differ from one at the last`);
            assert.deepEqual({ scanned: single.insights_scanned, affected: single.insights_affected }, expectedCounts, 'counts match the formula');
            archivedSeen += rows(once.db).filter((r, i) => r.status === 'archived' && initial[i]!.status === 'active').length;

            const preview = await sweep(dry.db, tn, params, true);
            assert.deepEqual(rows(dry.db), initial, 'a dry run writes nothing');
            assert.deepEqual({ scanned: preview.insights_scanned, affected: preview.insights_affected }, expectedCounts, 'a dry run reports the counts a real run produces');
          } finally {
            many.db.close();
            once.db.close();
            dry.db.close();
          }
        },
      ),
      { numRuns: stats.numRuns },
    );
    stats.extra = `${sweeps} sweeps, ${archivedSeen} archivals`;
    assert.ok(archivedSeen > 0, 'the generator reaches archivals');
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Import / export round trip

interface InputInsight {
  text: string;
  source?: string | null;
  confidence?: number;
  tags?: string[] | string;
  created_at?: string | number;
  last_reinforced_at?: string | number;
  reinforcement_count?: number;
}

/** What `insights export` writes per line: the engine's own record type. */
type Exported = ExportRecord;

describe('import / export round trip', () => {
  // Text that CSV and JSON find hostile: quotes, commas, semicolons, newlines, CRs, tabs, emoji, RTL, combining marks, BOMs.
  const hostile = fc.constantFrom('"', '""', ',', ';', '\n', '\r\n', '\t', ' ', '\\', '😀', '👩‍👩‍👧', 'e\u0301', '\u202e', '\ufeff', '\u2028', '\u00a0', "'", '{"x":1}', '=cmd|', '\u0000');
  const textArb = fc
    .array(fc.oneof({ weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) }, { weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) }), { minLength: 1, maxLength: 8 })
    .map((parts) => parts.join(''))
    .filter((t) => t.trim() !== '' && t.length <= 10_000);
  const dateMs = fc.integer({ min: Date.parse('1970-01-01T00:00:00Z'), max: Date.parse('2099-12-31T23:59:59Z') });
  const dateArb = fc.oneof(dateMs.map((ms) => new Date(ms).toISOString()), dateMs);
  const tagArb = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('Renewal', ' churn ', 'a,b', 'x;y', '😀', 'ÄÖ', ''));

  const insightArb: fc.Arbitrary<InputInsight> = fc.record(
    {
      text: textArb,
      source: fc.oneof(fc.constant(null), fc.string({ unit: 'grapheme', maxLength: 15 }), hostile),
      confidence: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 0.5)),
      tags: fc.oneof(fc.array(tagArb, { maxLength: 5 }), tagArb),
      created_at: dateArb,
      last_reinforced_at: dateArb,
      reinforcement_count: fc.integer({ min: 1, max: 50 }),
    },
    { requiredKeys: ['text'] },
  );
  /** Distinct normalized texts: a duplicate is a reinforcement, a different (documented) story. */
  const insightsArb = fc.uniqueArray(insightArb, { minLength: 1, maxLength: 20, selector: (i) => normalizeText(i.text.trim()) });

  const NOW = Date.parse('2026-11-23T12:00:00Z'); // runInProcess's fake clock
  const toMs = (d: string | number | undefined) => (d === undefined ? undefined : typeof d === 'number' ? d : Date.parse(d));
  const tagsOf = (t: string[] | string | undefined) => {
    const list = t === undefined ? [] : typeof t === 'string' ? (t === '' ? [] : t.split(/[;,]/)) : t;
    return [...new Set(list.map((x) => x.trim().toLowerCase()).filter(Boolean))];
  };

  /** The README's import rules, written out: what an export shows for an input line. */
  function expected(input: InputInsight, id: number, csv: boolean): Exported {
    const text = (csv ? input.text.replace(/\r\n/g, '\n') : input.text).trim();
    const created = toMs(input.created_at) ?? toMs(input.last_reinforced_at) ?? NOW;
    const last = Math.max(toMs(input.last_reinforced_at) ?? created, created);
    const source = typeof input.source === 'string' ? (csv ? input.source.replace(/\r\n/g, '\n') : input.source).trim() || null : null;
    return {
      id,
      text,
      source,
      tags: tagsOf(input.tags),
      confidence: input.confidence ?? 0.5,
      base_confidence: input.confidence ?? 0.5,
      reinforcement_count: csv ? 1 : (input.reinforcement_count ?? 1),
      status: 'active',
      merged_into: null,
      created_at: new Date(created).toISOString(),
      last_reinforced_at: new Date(last).toISOString(),
    };
  }

  const csvField = (v: string) => `"${v.replace(/"/g, '""')}"`;
  function toCsv(insights: InputInsight[]): string {
    const header = 'text,source,confidence,tags,created_at,last_reinforced_at';
    const lines = insights.map((i) =>
      [
        i.text,
        i.source ?? '',
        i.confidence === undefined ? '' : String(i.confidence),
        tagsOf(i.tags).join(','),
        i.created_at === undefined ? '' : String(i.created_at),
        i.last_reinforced_at === undefined ? '' : String(i.last_reinforced_at),
      ]
        .map(csvField)
        .join(','),
    );
    return `${[header, ...lines].join('\r\n')}\r\n`;
  }
  /** CSV carries tags as one comma-separated field: a tag cannot hold a comma or semicolon there. */
  const csvSafe = (i: InputInsight) => tagsOf(i.tags).every((t) => !/[;,]/.test(t));

  const parseExport = (text: string) =>
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Exported);

  async function cli(argv: string[], dir: string) {
    const r = await runInProcess(argv, { fakeClock: true, env: { NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config'), HOME: dir } });
    assert.ok(r.code === 0, `nex-compound ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r;
  }

  const stats = counter('import/export: JSONL + CSV → import → export → import → export (in-process)', runs(25));
  let linesRoundTripped = 0;
  test('JSONL and CSV: import → export → import into a fresh db → export is identical, and every exported field follows the documented rules', async () => {
    await fc.assert(
      fc.asyncProperty(insightsArb, async (insights) => {
        stats.executed++;
        const dir = tempDir('nex-compound-roundtrip-');
        const jsonl = path.join(dir, 'in.jsonl');
        writeFileSync(jsonl, insights.map((i) => JSON.stringify(i)).join('\n') + '\n');
        const db1 = path.join(dir, 'one.db');
        const db2 = path.join(dir, 'two.db');
        const imported = await cli(['--db', db1, '--json', 'insights', 'import', jsonl], dir);
        assert.deepEqual(JSON.parse(imported.stdout), { lines: insights.length, imported: insights.length, reinforced: 0, skipped: 0, written: true });
        const first = (await cli(['--db', db1, 'insights', 'export'], dir)).stdout;
        assert.deepEqual(parseExport(first), insights.map((i, n) => expected(i, n + 1, false)), 'the export shows each input line by the documented rules');
        const exportFile = path.join(dir, 'export.jsonl');
        await cli(['--db', db1, 'insights', 'export', '--output', exportFile], dir);
        assert.equal(readFileSync(exportFile, 'utf8'), first, '--output writes what stdout shows');
        await cli(['--db', db2, 'insights', 'import', exportFile], dir);
        const second = (await cli(['--db', db2, 'insights', 'export'], dir)).stdout;
        assert.equal(second, first, 'an export imported into a fresh database exports identically');
        linesRoundTripped += insights.length;

        const csvInsights = insights.filter(csvSafe);
        if (csvInsights.length > 0) {
          const csv = path.join(dir, 'in.csv');
          writeFileSync(csv, toCsv(csvInsights));
          const db3 = path.join(dir, 'three.db');
          await cli(['--db', db3, 'insights', 'import', csv], dir);
          const fromCsv = parseExport((await cli(['--db', db3, 'insights', 'export'], dir)).stdout);
          assert.deepEqual(fromCsv, csvInsights.map((i, n) => expected(i, n + 1, true)), 'CSV imports to the same fields (CRLF inside a quoted field reads as LF)');
        }
      }),
      { numRuns: stats.numRuns },
    );
    stats.extra = `${linesRoundTripped} insights round-tripped`;
  });

  const binStats = counter('import/export end to end through the built bin (file and stdin)', runs(2));
  test('end to end through the built bin: a file import, a stdin import (parallel parser), export, re-import, export', async () => {
    await fc.assert(
      fc.asyncProperty(insightsArb, async (insights) => {
        binStats.executed++;
        const dir = tempDir('nex-compound-roundtrip-bin-');
        const env = { HOME: dir, NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config') };
        const body = insights.map((i) => JSON.stringify(i)).join('\n') + '\n';
        const file = path.join(dir, 'in.jsonl');
        writeFileSync(file, body);
        const a = await runBin(['--db', path.join(dir, 'a.db'), 'insights', 'import', file], { env });
        assert.equal(a.code, 0, a.stderr);
        const b = await runBin(['--db', path.join(dir, 'b.db'), 'insights', 'import', '-'], { env, input: body });
        assert.equal(b.code, 0, b.stderr);
        const exportA = await runBin(['--db', path.join(dir, 'a.db'), 'insights', 'export'], { env });
        const exportB = await runBin(['--db', path.join(dir, 'b.db'), 'insights', 'export'], { env });
        assert.equal(exportA.code, 0, exportA.stderr);
        // created_at defaults to "now", which differs between the two processes: compare the rest.
        const strip = (text: string) => parseExport(text).map((r) => ({ ...r, created_at: '', last_reinforced_at: '' }));
        assert.deepEqual(strip(exportB.stdout), strip(exportA.stdout), 'stdin (parsed in a worker thread) imports what the file import does');
        const again = await runBin(['--db', path.join(dir, 'c.db'), 'insights', 'import', '-'], { env, input: exportA.stdout });
        assert.equal(again.code, 0, again.stderr);
        const exportC = await runBin(['--db', path.join(dir, 'c.db'), 'insights', 'export'], { env });
        assert.equal(exportC.stdout, exportA.stdout);
      }),
      { numRuns: binStats.numRuns },
    );
  });

  const restoreStats = counter('export → import --restore → export: random stores with merge chains, archives, both confidences (in-process)', runs(25));
  test('restore: any store the engine can hold — merge chains, archived and reinforced insights, decayed confidences, any Unicode — exports the same bytes after import --restore', async () => {
    const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
    const wellFormedText = textArb.filter((t) => !LONE_SURROGATE.test(t));
    const recordArb = fc.record({
      text: wellFormedText,
      source: fc.oneof(fc.constant(null), fc.string({ unit: 'grapheme', maxLength: 15 })),
      tags: fc.array(fc.string({ unit: 'grapheme', maxLength: 10 }), { maxLength: 4 }),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
      base_confidence: fc.double({ min: 0, max: 1, noNaN: true }),
      reinforcement_count: fc.integer({ min: 1, max: 1000 }),
      created_at: dateMs,
      last_reinforced_at: dateMs,
      status: fc.constantFrom('active', 'archived', 'merged'),
      /** Which earlier record (in file order) a merged one points to: earlier ones never loop back. */
      target: fc.nat(),
    });
    const storeArb = fc
      .tuple(
        fc.uniqueArray(recordArb, { minLength: 1, maxLength: 20, selector: (r) => normalizeText(r.text) }),
        fc.uniqueArray(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 20, maxLength: 20 }),
      )
      .map(([records, ids]) =>
        records.map((r, i): Exported => {
          const merged = r.status === 'merged' && i > 0;
          return {
            id: ids[i]!,
            text: r.text,
            source: r.source,
            tags: r.tags,
            confidence: r.confidence,
            base_confidence: r.base_confidence,
            reinforcement_count: r.reinforcement_count,
            status: merged ? 'merged' : r.status === 'merged' ? 'active' : (r.status as 'active' | 'archived'),
            merged_into: merged ? ids[r.target % i]! : null,
            created_at: new Date(r.created_at).toISOString(),
            last_reinforced_at: new Date(r.last_reinforced_at).toISOString(),
          };
        }),
      );
    await fc.assert(
      fc.asyncProperty(storeArb, async (records) => {
        restoreStats.executed++;
        const dir = tempDir('nex-compound-restore-property-');
        const file = path.join(dir, 'store.jsonl');
        // Written in random id order: the export comes back in id order.
        writeFileSync(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
        const inIdOrder = [...records].sort((a, b) => a.id - b.id).map((r) => `${JSON.stringify(r)}\n`).join('');
        await cli(['--db', path.join(dir, 'one.db'), 'insights', 'import', '--restore', file], dir);
        const first = (await cli(['--db', path.join(dir, 'one.db'), 'insights', 'export'], dir)).stdout;
        assert.equal(first, inIdOrder, 'every field as written, in id order');
        writeFileSync(file, first);
        await cli(['--db', path.join(dir, 'two.db'), 'insights', 'import', '--restore', file], dir);
        assert.equal((await cli(['--db', path.join(dir, 'two.db'), 'insights', 'export'], dir)).stdout, first, 'and again, byte for byte');
      }),
      { numRuns: restoreStats.numRuns },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Config precedence

describe('config precedence: flag > env > config profile > default', () => {
  type Provider = 'nex' | 'julep' | 'nexio' | 'jobs';
  const KEYS: Record<Provider, { keyEnv: string; urlEnv: string; keyConfig: ConfigKey; urlConfig: ConfigKey; defaultUrl: string | undefined }> = {
    nex: { keyEnv: 'NEX_API_KEY', urlEnv: 'NEX_BASE_URL', keyConfig: 'api-key', urlConfig: 'base-url', defaultUrl: 'https://app.nex.ai/api/developers/' },
    julep: { keyEnv: 'JULEP_API_KEY', urlEnv: 'JULEP_BASE_URL', keyConfig: 'julep.api-key', urlConfig: 'julep.base-url', defaultUrl: 'https://api.julep.ai/api/' },
    nexio: { keyEnv: 'NEXIO_API_KEY', urlEnv: 'NEXIO_BASE_URL', keyConfig: 'nexio.api-key', urlConfig: 'nexio.base-url', defaultUrl: 'https://api.usenexio.com/' },
    jobs: { keyEnv: 'JOBS_API_TOKEN', urlEnv: 'JOBS_API_URL', keyConfig: 'jobs.api-key', urlConfig: 'jobs.base-url', defaultUrl: undefined },
  };
  const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('');
  const token = fc
    .tuple(fc.constantFrom(...alnum), fc.string({ unit: fc.constantFrom(...alnum, ...'_-.~+/='.split('')), minLength: 3, maxLength: 24 }))
    .map(([a, b]) => a + b);
  const host = (who: string) => fc.nat(9999).map((n) => `https://${who}-${n}.example/api/v${n % 3}`);
  const duration = fc.tuple(fc.integer({ min: 1, max: 500 }), fc.constantFrom('ms', 's', 'm', 'h', '')).map(([n, u]) => ({ text: `${n}${u}`, ms: n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, '': 1000 }[u]! }));
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const PROFILE_NAMES = ['default', 'ci', 'prod', 'p_1'] as const;
  const profileName = fc.constantFrom(...PROFILE_NAMES);

  const caseArb = fc.record({
    provider: fc.constantFrom<Provider>('nex', 'julep', 'nexio', 'jobs'),
    profileFlag: maybe(profileName),
    profileEnv: maybe(profileName),
    urlFlag: maybe(host('flag')),
    urlEnv: maybe(fc.oneof(host('env'), fc.constant(''))),
    urlConfig: maybe(host('config')),
    keyFlag: maybe(token),
    keyEnv: maybe(fc.oneof(token, fc.constant(''))),
    keyConfig: maybe(token),
    timeoutFlag: maybe(duration),
    timeoutConfig: maybe(duration),
    intervalFlag: maybe(duration),
    intervalConfig: maybe(duration),
    decoy: fc.boolean(),
  });

  const stats = counter('config precedence: resolveSettings over random flag/env/profile/default combos', runs(150));
  test('resolveSettings: profile, base-url, api-key, timeout and interval each come from the first of flag, env, config, default', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        stats.executed++;
        const k = KEYS[c.provider];
        const dir = tempDir('nex-compound-prec-');
        const env: Record<string, string | undefined> = { NEX_COMPOUND_CONFIG_DIR: dir };
        if (c.profileEnv !== undefined) env.NEX_COMPOUND_PROFILE = c.profileEnv;
        if (c.urlEnv !== undefined) env[k.urlEnv] = c.urlEnv;
        if (c.keyEnv !== undefined) env[k.keyEnv] = c.keyEnv;
        const profile = c.profileFlag ?? c.profileEnv ?? 'default';
        const deps = { env, homedir: '/nonexistent' };
        // The profile file written as `config set` writes it (the e2e test below uses `config set` itself).
        const profiles: Record<string, Partial<Record<ConfigKey, string>>> = {};
        const stored: Partial<Record<ConfigKey, string>> = (profiles[profile] = {});
        if (c.urlConfig !== undefined) stored[k.urlConfig] = c.urlConfig;
        if (c.keyConfig !== undefined) stored[k.keyConfig] = c.keyConfig;
        if (c.timeoutConfig !== undefined) stored.timeout = c.timeoutConfig.text;
        if (c.intervalConfig !== undefined) stored.interval = c.intervalConfig.text;
        if (c.decoy) {
          // The other profiles' values never leak into this one (nor does the profile the flag or env overrides).
          for (const other of PROFILE_NAMES.filter((n) => n !== profile)) {
            profiles[other] = { [k.urlConfig]: `https://decoy-${other}.example/`, [k.keyConfig]: `decoy-key-${other}`, timeout: '999h', interval: '999h' };
          }
        }
        writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ profiles }), { mode: 0o600 });
        const globals: GlobalOptions = {
          ...(c.profileFlag !== undefined ? { profile: c.profileFlag } : {}),
          ...(c.urlFlag !== undefined ? { baseUrl: c.urlFlag } : {}),
          ...(c.keyFlag !== undefined ? { apiKey: c.keyFlag } : {}),
        };
        const settings = await resolveSettings(
          globals,
          { provider: c.provider, ...(c.timeoutFlag ? { timeout: c.timeoutFlag.text } : {}), ...(c.intervalFlag ? { interval: c.intervalFlag.text } : {}) },
          deps,
        );
        const nonEmpty = (v: string | undefined) => (v === '' ? undefined : v);
        const [url, urlSource] =
          c.urlFlag !== undefined ? [c.urlFlag, 'flag'] : nonEmpty(c.urlEnv) !== undefined ? [c.urlEnv!, 'env'] : c.urlConfig !== undefined ? [c.urlConfig, 'config'] : [k.defaultUrl, 'default'];
        const [key, keySource] =
          c.keyFlag !== undefined ? [c.keyFlag, 'flag'] : nonEmpty(c.keyEnv) !== undefined ? [c.keyEnv!, 'env'] : c.keyConfig !== undefined ? [c.keyConfig, 'config'] : [undefined, undefined];
        assert.equal(settings.profile, profile);
        assert.equal(settings.provider.name, c.provider);
        assert.equal(settings.baseUrl?.href, url === undefined ? undefined : new URL(url.endsWith('/') ? url : `${url}/`).href, 'base URL');
        assert.equal(settings.baseUrlSource, urlSource);
        assert.equal(settings.apiKey, key);
        assert.equal(settings.apiKeySource, keySource);
        assert.equal(settings.timeoutMs, (c.timeoutFlag ?? c.timeoutConfig)?.ms ?? 30 * 60_000, 'timeout');
        assert.equal(settings.intervalMs, (c.intervalFlag ?? c.intervalConfig)?.ms, 'interval');
      }),
      { numRuns: stats.numRuns },
    );
  });

  const e2e = counter('config precedence end to end: `config set` + `status --debug` against three fake servers', runs(20));
  test('through `config set` and a real `status`: the request goes to the winning base URL with the winning key', async () => {
    // One key table shared by the three servers: each run adds its keys, so an unknown job is a 404.
    const apiKeys: Record<string, { workspaceId: number; scopes: string[] }> = {};
    const servers: Record<'flag' | 'env' | 'config', FakeNexServer> = {
      flag: await startFakeNexServer({ apiKeys }),
      env: await startFakeNexServer({ apiKeys }),
      config: await startFakeNexServer({ apiKeys }),
    };
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.record({ urlFlag: fc.boolean(), urlEnv: fc.boolean(), keyFlag: maybe(token), keyEnv: maybe(token), keyConfig: token, profile: maybe(profileName) }),
          async (c) => {
            e2e.executed++;
            for (const k of [c.keyFlag, c.keyEnv, c.keyConfig]) if (k) apiKeys[k] = { workspaceId: 1, scopes: ['record.write'] };
            const dir = tempDir('nex-compound-prec-e2e-');
            const env = { NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config'), HOME: dir, ...(c.keyEnv ? { NEX_API_KEY: c.keyEnv } : {}), ...(c.urlEnv ? { NEX_BASE_URL: servers.env.url } : {}) };
            const profileArgs = c.profile ? ['--profile', c.profile] : [];
            const set1 = await runInProcess([...profileArgs, 'config', 'set', 'base-url', servers.config.url], { env });
            assert.equal(set1.code, 0, set1.stderr);
            const set2 = await runInProcess([...profileArgs, 'config', 'set', 'api-key'], { env, stdin: `${c.keyConfig}\n` });
            assert.equal(set2.code, 0, set2.stderr);
            for (const s of Object.values(servers)) s.requests.length = 0;
            const id = randomUUID();
            const r = await runInProcess(
              [...profileArgs, ...(c.urlFlag ? ['--base-url', servers.flag.url] : []), ...(c.keyFlag ? ['--api-key', c.keyFlag] : []), '--debug', '--remote', 'status', id, '--retries', '0'],
              { env, fakeClock: true },
            );
            const winner = c.urlFlag ? 'flag' : c.urlEnv ? 'env' : 'config';
            const key = c.keyFlag ?? c.keyEnv ?? c.keyConfig;
            assert.equal(r.code, 4, `an unknown job on the fake server is a 404: ${r.stderr}`);
            for (const [name, server] of Object.entries(servers)) assert.equal(server.requests.length, name === winner ? 1 : 0, `${name} server requests: ${r.stderr}`);
            assert.equal(servers[winner].requests[0]!.headers.authorization, `Bearer ${key}`, 'the winning key was sent');
            assert.ok(r.stderr.includes(`→ GET ${servers[winner].url}/v1/compounding/jobs/${id}`), `--debug names the winning URL: ${r.stderr}`);
          },
        ),
        { numRuns: e2e.numRuns },
      );
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.close()));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 6. Random API keys never appear

describe('random API keys never appear in output, debug logs or files', () => {
  /** Answers every request in a way that puts the Authorization header it received back in front of the client. */
  async function startEchoServer() {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const auth = req.headers.authorization ?? '';
        const mode = (req.url ?? '/').split('/')[1];
        const send = (status: number, body: string, type = 'application/json') => {
          res.writeHead(status, { 'content-type': type, 'x-echo': encodeURIComponent(auth) });
          res.end(body);
        };
        const isTrigger = req.method === 'POST';
        switch (mode) {
          case 'e401':
            return send(401, JSON.stringify({ code: 401, message: `invalid API key: ${auth} (token ${auth.replace(/^Bearer /, '')})` }));
          case 'e403':
            return send(403, JSON.stringify({ error: { code: 'forbidden', message: `key ${auth} lacks record.write` } }));
          case 'e400':
            return send(isTrigger ? 400 : 422, JSON.stringify({ detail: [{ loc: ['header', auth], msg: `bad ${auth}` }] }));
          case 'e404':
            return send(404, JSON.stringify({ detail: `no job for ${auth}` }));
          case 'e500':
            return send(500, `upstream rejected ${auth}`, 'text/plain');
          case 'html':
            return send(502, `<html><head><title>${auth}</title></head><body>${auth}</body></html>`, 'text/html');
          case 'bad-json':
            return send(200, `{"status": "running", "job_run_id": "${auth}`);
          case 'ok':
          default:
            if (isTrigger) return send(202, JSON.stringify({ job_run_id: randomUUID(), job_type: auth, workspace_id: 1, dry_run: false, status: 'accepted', success: true }));
            return send(
              200,
              JSON.stringify({
                job_run_id: randomUUID(),
                job_type: auth,
                workspace_id: 1,
                status: 'failed',
                dry_run: false,
                insights_scanned: 1,
                started_at: '2026-11-23T12:00:00Z',
                completed_at: '2026-11-23T12:00:01Z',
                duration_ms: 1000,
                error_details: { message: `rejected ${auth}`, header: auth },
                stage: auth,
                reason: auth,
                error: auth,
              }),
            );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  /** Printable ASCII (regex metacharacters and all), 8–64 characters, no surrounding space. */
  const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
  const keyArb = fc
    .oneof(
      fc.string({ unit: printable, minLength: 8, maxLength: 64 }),
      fc.string({ unit: fc.constantFrom(...'.*+?^${}()|[]\\/-'.split('')), minLength: 8, maxLength: 20 }),
      fc.tuple(fc.constantFrom('nxk_', 'nx_test_', 'nx_live_', 'Bearer ', 'sk-'), fc.string({ unit: printable, minLength: 8, maxLength: 40 })).map(([a, b]) => a + b),
    )
    .filter((k) => k === k.trim() && k.length >= 8 && !k.includes('redacted') && new Set(k).size >= 4);

  const stats = counter('API keys never appear: random keys × 13 commands (echoing server, --debug, config set/get/list, usage errors)', runs(20));
  let commandsRun = 0;

  function walk(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  }

  test('for random keys: status/watch/trigger against a server that echoes the Authorization header, --debug, --api-key, config set/get/list, usage errors', async () => {
    const echo = await startEchoServer();
    try {
      await fc.assert(
        fc.asyncProperty(keyArb, async (key) => {
          stats.executed++;
          const home = tempDir('nex-compound-keys-');
          const configDir = path.join(home, '.config', 'nex-compound');
          const base = { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share'), XDG_STATE_HOME: path.join(home, '.local', 'state'), NEX_COMPOUND_CONFIG_DIR: configDir };
          mkdirSync(base.XDG_DATA_HOME, { recursive: true });
          const bare = key.replace(/^Bearer\s+/i, '');
          // The key as given, as sent (without a "Bearer " prefix), with its spaces collapsed (one-line messages), as JSON escapes it.
          const plain = [key, bare, key.replace(/\s+/g, ' '), bare.replace(/\s+/g, ' ')];
          const forms = [...new Set([...plain, ...plain.map((f) => JSON.stringify(f).slice(1, -1)), encodeURIComponent(bare)])].filter((f) => f.length >= 8);
          const check = (label: string, r: { code: number; stdout: string; stderr: string }) => {
            commandsRun++;
            for (const form of forms) {
              assert.ok(!r.stdout.includes(form), `${label}: the key ${JSON.stringify(key)} appears on stdout:\n${r.stdout}`);
              assert.ok(!r.stderr.includes(form), `${label}: the key ${JSON.stringify(key)} appears on stderr:\n${r.stderr}`);
            }
            // A table may wrap a long value across lines: no long stretch of the key may show either.
            if (bare.length >= 24) {
              for (let i = 0; i + 16 <= bare.length; i++) {
                const window = bare.slice(i, i + 16);
                assert.ok(!r.stdout.includes(window) && !r.stderr.includes(window), `${label}: 16 characters of the key ${JSON.stringify(key)} appear: ${JSON.stringify(window)}\n${r.stdout}\n${r.stderr}`);
              }
            }
            assert.notEqual(r.code, 70, `${label}: internal error:\n${r.stderr}`);
            return r;
          };
          const id = randomUUID();
          const viaEnv = (mode: string, extra: Record<string, string> = {}) => ({ env: { ...base, NEX_API_KEY: key, NEX_BASE_URL: `${echo.url}/${mode}`, ...extra }, fakeClock: true });

          check('status --debug (401 echo)', await runInProcess(['--debug', 'status', id], viaEnv('e401')));
          check('status --json (failed job echoing the header everywhere)', await runInProcess(['--json', 'status', id, '--exit-status'], viaEnv('ok')));
          check('status (table on a terminal)', await runInProcess(['status', id], { ...viaEnv('ok'), stdoutTty: true }));
          check('status --debug --retries 1 (500 text echo)', await runInProcess(['--debug', 'status', id, '--retries', '1'], viaEnv('e500')));
          check('watch --ndjson (failed job, echo)', await runInProcess(['--ndjson', 'watch', id, '--timeout', '10s'], viaEnv('ok')));
          check('status (HTML echo)', await runInProcess(['status', id, '--retries', '0'], viaEnv('html')));
          check('status (truncated JSON echo)', await runInProcess(['--debug', 'status', id, '--retries', '0'], viaEnv('bad-json')));
          check('trigger --debug (202 echoing the header as job_type)', await runInProcess(['--debug', 'trigger', 'metrics'], viaEnv('ok')));
          check('trigger --api-key (403 nexio-style echo)', await runInProcess(['--api-key', key, '--base-url', `${echo.url}/e403`, 'trigger', 'metrics', '--debug'], { env: base, fakeClock: true }));
          check('status --api-key=… (422 FastAPI-style echo)', await runInProcess([`--api-key=${key}`, '--base-url', `${echo.url}/e400`, 'status', id, '--provider', 'julep'], { env: base, fakeClock: true }));
          check('unknown option after --api-key', await runInProcess(['status', id, '--api-key', key, '--bogus'], { env: base }));
          check('unknown option with --api-key=…', await runInProcess(['--bogus', `--api-key=${key}`, 'status', id], { env: base }));
          check('julep provider, raw key header, --debug', await runInProcess(['--debug', 'status', '--provider', 'julep', id], { env: { ...base, JULEP_API_KEY: key, JULEP_BASE_URL: `${echo.url}/e404` }, fakeClock: true }));

          const set = check('config set api-key (stdin)', await runInProcess(['config', 'set', 'api-key'], { env: base, stdin: `${key}\n` }));
          if (set.code === 0) {
            check('config get api-key', await runInProcess(['config', 'get', 'api-key'], { env: base }));
            check('config list', await runInProcess(['config', 'list'], { env: base, stdoutTty: true }));
            check('config list --json --all-profiles', await runInProcess(['--json', 'config', 'list', '--all-profiles'], { env: base }));
            check('status --debug with the configured key', await runInProcess(['--debug', 'status', id], { env: { ...base, NEX_BASE_URL: `${echo.url}/e401` }, fakeClock: true }));
            const config = path.join(configDir, 'config.json');
            assert.equal(statSync(config).mode & 0o777, 0o600, 'the config file is 0600');
            assert.ok(readFileSync(config, 'utf8').includes(JSON.stringify(bare).slice(1, -1)), 'the key is in the config file');
          } else {
            assert.equal(set.code, 2, `a key config set refuses is a usage error: ${set.stderr}`);
          }
          check('config set api-key <value> (argument)', await runInProcess(['--profile', 'other', 'config', 'set', 'api-key', key], { env: base }));

          for (const file of walk(home)) {
            if (file === path.join(configDir, 'config.json')) continue;
            const text = readFileSync(file, 'utf8');
            for (const form of forms) assert.ok(!text.includes(form), `the key ${JSON.stringify(key)} was written to ${path.relative(home, file)}:\n${text}`);
          }
        }),
        { numRuns: stats.numRuns },
      );
    } finally {
      await echo.close();
    }
    stats.extra = `${commandsRun} commands checked`;
  });
});
