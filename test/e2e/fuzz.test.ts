/**
 * Fuzzing for issue 10, item 6: random input must always meet a clear error with the documented
 * exit code or HTTP status — never a crash (exit 70, a 500), a stack trace, or a hang.
 *
 *   - argv: random token arrays (real commands, options, job types, random and huge strings) run
 *     in-process against a loopback fake Nex server, a temp HOME and a temp database;
 *   - `insights import`: random bytes, mutated JSONL, random CSV, with an oracle for every bad line
 *     number, then PRAGMA integrity_check and the insight count against the summary; and
 *     random chunkings of the same bytes through importInsights (both parsers) give one result;
 *   - `serve`: one real process; random bodies, content types, keys and Idempotency-Keys to
 *     POST /v1/compounding/trigger and random ids and raw paths to GET /v1/compounding/jobs/{id};
 *     every status documented for the operation, a {code, message} body, never 500, still up at the end.
 *
 * Sizes: the default run keeps both property files under a minute on two cores. NEX_COMPOUND_SOAK=1
 * multiplies every numRuns by SOAK_FACTOR (20): `NEX_COMPOUND_SOAK=1 node --import tsx --test test/fuzz.test.ts`.
 * The case counts per target are printed at the end by an after() hook.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import Sqlite from 'better-sqlite3';
import { BIN, runBin, runInProcess, tempDir } from '../helpers/cli.js';
import { startFakeNexServer, type FakeNexServer } from '../helpers/fake-nex-server.js';
import { openDatabaseWith, type Database } from '../../src/engine/store/db.js';
import { importInsights, MAX_REPORTED } from '../../src/engine/store/import/import.js';
import { looksBinary } from '../../src/contract/parse.js';
import { BadLine, toRow } from '../../src/engine/store/import/rows.js';
import { JOB_TYPES } from '../../src/contract/jobs.js';
import { CONFIG_KEYS } from '../../src/cli/settings/config-keys.js';
import { parseServeOptions } from '../../src/cli/commands/serve.js';
import { UsageError } from '../../src/contract/errors.js';

const SOAK_FACTOR = 20;
const SOAK = process.env.NEX_COMPOUND_SOAK === '1';
const runs = (n: number) => (SOAK ? n * SOAK_FACTOR : n);

/** target → cases run (and what they found); printed by after(). */
const figures = new Map<string, { numRuns: number; cases: number; detail: Record<string, number> }>();
function target(name: string, numRuns: number) {
  const entry = { numRuns, cases: 0, detail: {} as Record<string, number> };
  figures.set(name, entry);
  return entry;
}
const tally = (t: { detail: Record<string, number> }, key: string) => (t.detail[key] = (t.detail[key] ?? 0) + 1);

const DOCUMENTED_EXIT_CODES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 130]);
const STACK_TRACE = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;

/** Workers the local engine spawned for these databases: stopped at the end, by pid. */
const databases: string[] = [];
function stopWorkers(): void {
  for (const file of databases) {
    if (!existsSync(file)) continue;
    try {
      const db = openDatabaseWith(Sqlite, file, { create: false });
      const pids = (db.prepare('SELECT pid FROM workers').all() as Array<{ pid: number }>).map((w) => w.pid);
      db.close();
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    } catch {
      // a database a fuzz case corrupted on purpose
    }
  }
}

after(() => {
  stopWorkers();
  const lines = [...figures].map(
    ([name, f]) => `  ${name}: numRuns ${f.numRuns}, cases ${f.cases}${Object.keys(f.detail).length ? ` — ${Object.entries(f.detail).sort().map(([k, v]) => `${k}: ${v}`).join(', ')}` : ''}`,
  );
  console.log(`fuzz.test.ts figures${SOAK ? ' (SOAK)' : ''}:\n${lines.join('\n')}`);
});

// ---------------------------------------------------------------------------------------------
// 1. argv

describe('fuzz: random argv, in-process', () => {
  const COMMAND_PATHS: string[][] = [
    ['trigger'], ['run'], ['status'], ['watch'], ['revert'],
    ['insights', 'add'], ['insights', 'import'], ['insights', 'list'], ['insights', 'show'], ['insights', 'export'], ['insights'],
    ['jobs'], ['metrics'], ['patterns'], ['playbook'],
    ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'], ['keys'],
    ['completion'], ['config', 'set'], ['config', 'get'], ['config', 'unset'], ['config', 'list'], ['config', 'path'], ['config'],
    ['help'], ['help', 'exit-codes'], ['help', 'environment'],
  ];
  // `serve` (it runs until a signal; fuzzed over HTTP below, its options here through parseServeOptions)
  // and `demo` (a full pipeline over the bundled dataset) are left out of the random command lines.
  const WORDS = [...new Set(COMMAND_PATHS.flat())];
  const FLAGS = [
    '--json', '-q', '--quiet', '--no-color', '--debug', '--allow-insecure-http', '--local', '--remote', '--dry-run', '--wait', '--ndjson',
    '--strict', '--exit-status', '--details', '--all', '--members', '--all-profiles', '-h', '--help', '-V', '--version', '--allow-remote',
  ];
  const WITH_VALUE = [
    '--base-url', '--profile', '--api-key', '--db', '--workspace', '--timeout', '--interval', '--idempotency-key', '--retries', '--jobs',
    '--provider', '--source', '--confidence', '--tags', '--format', '--status', '--search', '--limit', '--output', '--scope', '--host', '--port',
  ];
  const VALUES = [
    ...JOB_TYPES, 'decay-sweep', 'consolidaton', 'Metrics', ...CONFIG_KEYS, 'api_key', 'nex', 'julep', 'nexio', 'jobs', 'bash', 'zsh', 'fish', 'pwsh',
    '0', '1', '-1', '3', '1.5', '1e3', '0x10', '99999999999999999999', 'NaN', '90s', '5m', '1h', '0ms', '250ms', '10d', '1y', 'abc',
    'jsonl', 'csv', 'markdown', 'table', 'xml', 'active', 'merged', 'archived', 'record.write', 'record.read', 'default', 'ci', 'bad profile!',
    'consolidation,metrics', 'metrics,bogus', ',', 'http://127.0.0.1:1', 'https://127.0.0.1:1/api', 'ftp://127.0.0.1/', 'not a url', 'http://u:p@127.0.0.1/',
    'http://localhost:9/x', '-', '--', 'key_0123456789abcdef', '0.5', '2', 'renewal,churn', 'Acme renews in Q3', '00000000-0000-0000-0000-000000000000',
  ];
  const FILLER = ['', ' ', '-', '--', '---', '-x', '--x', '=', '\u0000', '\n', '\t', '😀', 'e\u0301', '\u202e', '%s%n', '$(id)', '../../..', '.', 'x'.repeat(100_000)];

  let fake: FakeNexServer;
  let knownJobs: string[] = [];
  let home = '';
  let sharedDb = '';
  let previousCwd = '';
  before(async () => {
    fake = await startFakeNexServer();
    knownJobs = [
      fake.addJob([{ status: 'running' }, { status: 'completed', insights_scanned: 3, insights_affected: 1, candidates_created: 0, errors: 0 }]),
      fake.addJob([{ status: 'failed', error_details: { message: 'boom' } }]),
    ];
    home = tempDir('nex-compound-fuzz-argv-');
    sharedDb = path.join(home, 'engine.db');
    databases.push(sharedDb);
    // Relative paths a random command line names (export --output, --db) land in a temp directory.
    previousCwd = process.cwd();
    const cwd = path.join(home, 'cwd');
    mkdirSync(cwd);
    process.chdir(cwd);
  });
  after(async () => {
    if (previousCwd) process.chdir(previousCwd);
    await fake?.close();
  });

  const tokenArb = (): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...WORDS, ...FLAGS, ...WITH_VALUE) },
      { weight: 5, arbitrary: fc.constantFrom(...VALUES) },
      { weight: 1, arbitrary: fc.constantFrom('<known-job>', '<uuid>') },
      { weight: 2, arbitrary: fc.string({ maxLength: 16 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
      { weight: 1, arbitrary: fc.constantFrom(...FILLER) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(...WITH_VALUE.filter((o) => o !== '--db' && o !== '--output')), fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 10 })))
          .map(([o, v]) => `${o}=${v}`),
      },
    );
  /** Values an option takes, mostly valid, sometimes not. */
  const OPTION_VALUES: Record<string, readonly string[]> = {
    '--base-url': ['<fake>', '<fake>', 'http://127.0.0.1:1', 'https://127.0.0.1:1/api', 'ftp://127.0.0.1/', 'not a url', 'http://u:p@127.0.0.1/'],
    '--profile': ['default', 'ci', 'p_1', 'bad profile!', ''],
    '--api-key': ['test-key-123', 'wrong-key-456', '', 'Bearer test-key-123'],
    '--db': ['<db>'],
    '--workspace': ['1', '2', '42', '0', '-1', 'x', '9999999999999999'],
    '--timeout': ['0', '1s', '5s', '90s', '5m', '250ms', '-1', 'abc', '1e3', '999999h'],
    '--interval': ['100ms', '1s', '0', '0.5s', 'abc'],
    '--idempotency-key': ['0c8f5c6e-9f7d-4f5e-8a8a-1d1d1d1d1d1d', 'short', 'has space inside it', 'x'.repeat(256)],
    '--retries': ['0', '1', '4', '-1', 'many'],
    '--jobs': ['consolidation,metrics', 'decay-sweep', 'metrics,bogus', '', ','],
    '--provider': ['nex', 'julep', 'nexio', 'jobs', 'JULEP', 'other'],
    '--source': ['gong-call', '', 'x'],
    '--confidence': ['0', '0.5', '1', '1.5', '-0', 'NaN', ''],
    '--tags': ['renewal,churn', '', ',,,', 'a;b'],
    '--format': ['jsonl', 'csv', 'markdown', 'table', 'xml', ''],
    '--status': ['active', 'merged', 'archived', 'gone'],
    '--search': ['acme', '', '%', "'"],
    '--limit': ['0', '1', '20', '-1', '1.5', '99999999999999999999'],
    '--output': ['<out>'],
    '--scope': ['record.write', 'record.read', 'admin'],
    '--host': ['127.0.0.1', '0.0.0.0'],
    '--port': ['0', '8787', '99999'],
  };
  const COMMAND_OPTIONS: Record<string, readonly string[]> = {
    trigger: ['--dry-run', '--wait', '--idempotency-key', '--retries', '--timeout', '--interval', '--ndjson'],
    run: ['--dry-run', '--jobs', '--strict', '--retries', '--timeout', '--interval', '--ndjson'],
    status: ['--retries', '--exit-status', '--provider', '--strict', '--details'],
    watch: ['--provider', '--strict', '--timeout', '--interval', '--ndjson'],
    'insights add': ['--source', '--confidence', '--tags'],
    'insights import': ['--format', '--strict'],
    'insights list': ['--status', '--source', '--search', '--limit'],
    'insights export': ['--format', '--output'],
    'config list': ['--all-profiles'],
    patterns: ['--all', '--limit', '--members'],
    playbook: ['--format', '--all'],
    jobs: ['--limit'],
    metrics: ['--limit'],
    'keys create': ['--scope'],
  };
  const GLOBAL_OPTIONS = ['--base-url', '--profile', '--api-key', '--json', '-q', '--no-color', '--debug', '--local', '--remote', '--db', '--workspace', '--allow-insecure-http'];
  /** A positional argument that fits the command (mostly). */
  const positional = (command: string[]): fc.Arbitrary<string[]> => {
    const last = command[command.length - 1]!;
    const one = (arb: fc.Arbitrary<string>) => arb.map((a) => [a]);
    switch (command.join(' ')) {
      case 'trigger':
        return one(fc.constantFrom(...JOB_TYPES, 'decay-sweep', 'consolidaton', 'bogus'));
      case 'status':
      case 'revert':
        return one(fc.constantFrom('<known-job>', '<uuid>', 'not-a-uuid', '<known-job>'));
      case 'watch':
        return fc.array(fc.constantFrom('<known-job>', '<uuid>', 'not-a-uuid'), { minLength: 1, maxLength: 3 });
      case 'insights add':
        return one(fc.oneof(fc.constantFrom('Acme renews in Q3', '', '   '), fc.string({ unit: 'grapheme', maxLength: 20 })));
      case 'insights import':
        return one(fc.constantFrom('<good-file>', '<bad-file>', '-', 'missing.jsonl', '.', 'noext'));
      case 'insights show':
        return one(fc.constantFrom('1', '2', '0', '-1', 'x', '99999999999999999999'));
      case 'keys revoke':
        return one(fc.constantFrom('key_0123456789ab', 'x', ''));
      case 'completion':
        return one(fc.constantFrom('bash', 'zsh', 'fish', 'pwsh'));
      case 'config set':
        return fc.tuple(fc.constantFrom(...CONFIG_KEYS, 'api_key', 'bogus'), fc.constantFrom('0.5', '10m', '0', '<fake>', 'https://127.0.0.1:1', 'tags', '3', 'abc', 'test-key-123', '')).map(([k, v]) => [k, v]);
      case 'config get':
      case 'config unset':
        return one(fc.constantFrom(...CONFIG_KEYS, 'bogus'));
      default:
        return last === 'help' ? one(fc.constantFrom('exit-codes', 'environment', 'trigger', 'bogus')) : fc.constant([]);
    }
  };
  const optionArb = (command: string[], own = COMMAND_OPTIONS[command.join(' ')] ?? []): fc.Arbitrary<string[]> => {
    return fc.constantFrom(...own, ...GLOBAL_OPTIONS, ...(own.length ? own : GLOBAL_OPTIONS)).chain((option) => {
      const values = OPTION_VALUES[option];
      if (!values) return fc.constant([option]);
      return fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: tokenArb() }).map((v) => [option, v]);
    });
  };
  /** Command lines as a user would write them (with mistakes), and token soup. */
  const grammar = fc.constantFrom(...COMMAND_PATHS).chain((command) =>
    fc
      .tuple(fc.array(optionArb(command, []), { maxLength: 2 }), positional(command), fc.array(optionArb(command), { maxLength: 4 }), fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: tokenArb() }))
      .map(([pre, args, opts, noise]) => [...pre.flat(), ...command, ...args, ...opts.flat(), ...(noise === undefined ? [] : [noise])]),
  );
  const argvArb = fc.oneof(
    { weight: 6, arbitrary: grammar },
    { weight: 1, arbitrary: fc.array(tokenArb(), { maxLength: 8 }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...COMMAND_PATHS), fc.array(tokenArb(), { maxLength: 7 })).map(([command, rest]) => [...command, ...rest]) },
  );
  const envArb = fc.record({ key: fc.boolean(), ci: fc.boolean(), noColor: fc.boolean(), tty: fc.boolean(), dbTarget: fc.constantFrom('shared', 'missing-dir', 'directory', 'corrupt') });

  /** Keeps a random command line off the real machine: --db and --output point into the temp HOME. */
  function sanitize(argv: string[], dbTarget: string): string[] {
    const out = argv.map((t, i) =>
      t === '<known-job>'
        ? knownJobs[i % knownJobs.length]!
        : t === '<uuid>'
          ? randomUUID()
          : t === '<fake>'
            ? fake.url
            : t === '<good-file>'
              ? goodFile()
              : t === '<bad-file>'
                ? badFile()
                : t === '<db>'
                  ? sharedDb
                  : t === '<out>'
                    ? path.join(home, 'export.jsonl')
                    : t,
    );
    // A local trigger starts a detached worker (a tsx process here, seconds of CPU each): local jobs
    // are the job-state-machine property's subject; here the local engine is fuzzed without jobs.
    if (out.includes('trigger') || out.includes('run')) {
      for (let i = out.length - 1; i >= 0; i--) if (out[i] === '--local') out.splice(i, 1);
    }
    for (let i = 0; i < out.length; i++) {
      if (out[i] === '--db' && i + 1 < out.length) {
        out[i + 1] =
          dbTarget === 'missing-dir' ? path.join(home, 'no', 'such', 'dir', 'e.db') : dbTarget === 'directory' ? home : dbTarget === 'corrupt' ? corruptDb() : sharedDb;
      }
      if (out[i] === '--output' && i + 1 < out.length) out[i + 1] = path.join(home, `export-${i}.jsonl`);
    }
    return out;
  }
  function goodFile(): string {
    const file = path.join(home, 'good.jsonl');
    if (!existsSync(file)) writeFileSync(file, ['{"text":"Acme renews in Q3","tags":["renewal"]}', '{"text":"Globex churn risk","confidence":0.9}', '{"text":"Acme renews in Q3!"}'].join('\n'));
    return file;
  }
  function badFile(): string {
    const file = path.join(home, 'bad.jsonl');
    if (!existsSync(file)) writeFileSync(file, '{"text":"ok"}\nnot json\n{"confidence":2}\n');
    return file;
  }
  function corruptDb(): string {
    const file = path.join(home, 'corrupt.db');
    if (!existsSync(file)) writeFileSync(file, 'this is not a database '.repeat(100));
    return file;
  }

  const stats = target('argv (in-process)', runs(400));
  test('every random command line exits with a documented code (never 70), no stack trace without --debug, no hang', async () => {
    await fc.assert(
      fc.asyncProperty(argvArb, envArb, async (raw, e) => {
        stats.cases++;
        const argv = sanitize(raw, e.dbTarget);
        const env: Record<string, string> = {
          HOME: home,
          XDG_CONFIG_HOME: path.join(home, '.config'),
          XDG_DATA_HOME: path.join(home, '.local', 'share'),
          NEX_COMPOUND_DB: sharedDb,
          NEX_BASE_URL: fake.url,
          JULEP_BASE_URL: fake.url,
          NEXIO_BASE_URL: fake.url,
          JOBS_API_URL: fake.url,
          NEX_COMPOUND_LEASE_MS: '1000',
        };
        if (e.key) Object.assign(env, { NEX_API_KEY: 'test-key-123', JULEP_API_KEY: 'julep-key', NEXIO_API_KEY: 'nx_test_abc', JOBS_API_TOKEN: 'jwt.jwt.jwt' });
        // Without a key (none set, or an empty --api-key), CI keeps trigger and run off the local
        // engine (exit 3): a local job starts a detached worker, a tsx process here (see sanitize()).
        if (e.ci || !e.key || argv.includes('trigger') || argv.includes('run')) env.CI = 'true';
        if (e.noColor) env.NO_COLOR = '1';
        const controller = new AbortController();
        let hung = false;
        const timer = setTimeout(() => {
          hung = true;
          controller.abort();
        }, 20_000);
        const started = Date.now();
        let result;
        try {
          result = await runInProcess(argv, { env, fakeClock: true, signal: controller.signal, stdoutTty: e.tty, stderrTty: e.tty });
        } finally {
          clearTimeout(timer);
        }
        const shown = JSON.stringify(argv.map((a) => (a.length > 200 ? `${a.slice(0, 20)}…(${a.length} chars)` : a)));
        assert.ok(!hung, `hung for 20 s: nex-compound ${shown}`);
        tally(stats, `exit ${result.code}`);
        if (Date.now() - started > 5_000) tally(stats, 'slower than 5 s');
        assert.notEqual(result.code, 70, `exit 70 (internal error) for nex-compound ${shown} (env ${JSON.stringify(e)}):\n${result.stderr}`);
        assert.ok(DOCUMENTED_EXIT_CODES.has(result.code), `undocumented exit ${result.code} for ${shown}`);
        if (!argv.includes('--debug')) assert.doesNotMatch(result.stderr, STACK_TRACE, `a stack trace without --debug for ${shown}:\n${result.stderr}`);
      }),
      { numRuns: stats.numRuns },
    );
  });

  const serveOptions = target('serve options (parseServeOptions)', runs(300));
  test('serve options: any --host/--port either parse or are a usage error (exit 2)', () => {
    const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', ' ', '0', '8787', '65535', '65536', '-1', '1e3', '0x10', ' 80 ', '127.0.0.1', '::1', '[::1]', 'localhost', '0.0.0.0', '::', '10.0.0.1', 'example.com', '127.1.2.3', '127.0.0.999'));
    fc.assert(
      fc.property(fc.record({ host: fc.option(text, { nil: undefined }), port: fc.option(text, { nil: undefined }), allowRemote: fc.boolean() }, { requiredKeys: [] }), (options) => {
        serveOptions.cases++;
        try {
          const parsed = parseServeOptions(options);
          assert.ok(Number.isInteger(parsed.port) && parsed.port >= 0 && parsed.port <= 65535);
          assert.ok(parsed.host.length > 0);
          tally(serveOptions, 'accepted');
        } catch (error) {
          assert.ok(error instanceof UsageError, `not a usage error: ${String(error)} for ${JSON.stringify(options)}`);
          tally(serveOptions, 'usage error');
        }
      }),
      { numRuns: serveOptions.numRuns },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 2. insights import

describe('fuzz: insights import', () => {
  /** Fields as a JSONL line may carry them: valid, borderline and wrong. */
  const fieldValue = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    fc.double(),
    fc.integer(),
    fc.constantFrom(null, true, false, [], {}, ['a', 'b'], [1, 2], '', ' ', 0.5, 1, 0, -0.1, 1.1, 1e20, -1, 8.64e15, 8.64e15 + 1, '2026-01-01', '2026-13-45', '99999999999999999999', '1700000000000', 'x'.repeat(10_001)),
  );
  const recordArb = fc.record(
    {
      text: fc.oneof({ weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) }, { weight: 1, arbitrary: fieldValue }),
      source: fc.oneof(fc.string({ maxLength: 10 }), fieldValue),
      confidence: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fieldValue),
      base_confidence: fieldValue,
      tags: fc.oneof(fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }), fieldValue),
      created_at: fc.oneof(fc.integer({ min: 0, max: 4e12 }).map((ms) => new Date(ms).toISOString()), fieldValue),
      last_reinforced_at: fieldValue,
      reinforcement_count: fieldValue,
      extra: fieldValue,
    },
    { requiredKeys: [] },
  );
  type Mutation = { kind: 'delete' | 'insert' | 'replace' | 'truncate' | 'duplicate' | 'join' | 'blank' | 'crlf' | 'bom' | 'bytes'; at: number; char: string; bytes: number[] };
  const mutationArb: fc.Arbitrary<Mutation> = fc.record({
    kind: fc.constantFrom('delete', 'insert', 'replace', 'truncate', 'duplicate', 'join', 'blank', 'crlf', 'bom', 'bytes'),
    at: fc.nat(),
    char: fc.constantFrom('{', '}', '"', ',', ':', '\\', '[', ']', ' ', 'x', '0', '\n', '\u2028', '😀'),
    bytes: fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 4 }),
  });

  function mutate(lines: string[], mutations: Mutation[]): Buffer {
    const out = [...lines];
    let prefix: Buffer | undefined;
    const parts: Buffer[] = [];
    for (const m of mutations) {
      if (out.length === 0) break;
      const i = m.at % out.length;
      const line = out[i]!;
      const p = line.length === 0 ? 0 : m.at % line.length;
      switch (m.kind) {
        case 'delete':
          out[i] = line.slice(0, p) + line.slice(p + 1);
          break;
        case 'insert':
          out[i] = line.slice(0, p) + m.char + line.slice(p);
          break;
        case 'replace':
          out[i] = line.slice(0, p) + m.char + line.slice(p + 1);
          break;
        case 'truncate':
          out[i] = line.slice(0, p);
          break;
        case 'duplicate':
          out.splice(i, 0, line);
          break;
        case 'join':
          out.splice(i, 2, line + (out[i + 1] ?? ''));
          break;
        case 'blank':
          out.splice(i, 0, m.at % 2 ? '' : '   ');
          break;
        case 'crlf':
          out[i] = `${line}\r`;
          break;
        case 'bom':
          prefix = Buffer.from([0xef, 0xbb, 0xbf]);
          break;
        case 'bytes':
          // Invalid UTF-8 inside a line, written as raw bytes below.
          out[i] = `${line.slice(0, p)}\u0000BYTES${m.bytes.join('.')}\u0000${line.slice(p)}`;
          break;
      }
    }
    if (prefix) parts.push(prefix);
    const text = out.join('\n');
    const pieces = text.split(/\u0000BYTES([\d.]+)\u0000/);
    pieces.forEach((piece, n) => parts.push(n % 2 ? Buffer.from(piece.split('.').map(Number)) : Buffer.from(piece, 'utf8')));
    return Buffer.concat(parts);
  }

  /**
   * The oracle: which lines of a JSONL file are bad, read the simplest way (whole file, split on \n;
   * a line whose bytes are not UTF-8 is bad: a decoder never takes a newline byte into a bad sequence).
   */
  function jsonlOracle(bytes: Buffer): { bad: number[]; good: number; distinct: number; lines: number } {
    let text = bytes.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const lines = text.split('\n');
    const notUtf8 = new Set<number>();
    for (let start = 0, i = 0; start <= bytes.length; i++) {
      const nl = bytes.indexOf(10, start);
      if (!isUtf8(bytes.subarray(start, nl === -1 ? bytes.length : nl))) notUtf8.add(i);
      if (nl === -1) break;
      start = nl + 1;
    }
    // The last line: a lone "\r" after the last newline is no line either.
    if (lines.length > 0 && lines[lines.length - 1]!.replace(/\r$/, '') === '') lines.pop();
    const bad: number[] = [];
    const texts = new Set<string>();
    let good = 0;
    lines.forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (notUtf8.has(i)) return bad.push(i + 1);
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return bad.push(i + 1);
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) return bad.push(i + 1);
      try {
        texts.add(toRow(value as Record<string, unknown>, 0).normalized_text);
        good++;
      } catch (error) {
        if (!(error instanceof BadLine)) throw error;
        bad.push(i + 1);
      }
    });
    return { bad, good, distinct: texts.size, lines: lines.length };
  }

  const csvFieldArb = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('', '"', '""', '"a""b"', '"unterminated', 'a"b', '"x"y', ',', '\n', '\r\n', '"multi\nline"', '0.5', '2', '-1', 'abc', '2026-01-01', '99999999999999999999', 'a;b,c', '😀'),
  );
  const csvArb = fc.record({
    header: fc.oneof(
      { weight: 3, arbitrary: fc
          .tuple(fc.constantFrom('text', 'Text', ' TEXT '), fc.shuffledSubarray(['source', 'confidence', 'tags', 'created_at', 'last_reinforced_at', 'junk', ''], { maxLength: 5 }))
          .chain(([text, rest]) => fc.shuffledSubarray([text, ...rest], { minLength: rest.length + 1, maxLength: rest.length + 1 })) },
      { weight: 1, arbitrary: fc.shuffledSubarray(['source', 'confidence', 'tags', '"text"', 'texts', ''], { maxLength: 4 }) },
    ),
    rows: fc.array(fc.array(csvFieldArb, { maxLength: 7 }), { maxLength: 25 }),
    crlf: fc.boolean(),
  });
  const csvText = (c: { header: string[]; rows: string[][]; crlf: boolean }) => [c.header.join(','), ...c.rows.map((r) => r.join(','))].join(c.crlf ? '\r\n' : '\n');

  interface ImportRun {
    code: number;
    stdout: string;
    stderr: string;
    summary?: { lines: number; imported: number; reinforced: number; skipped: number; written: boolean };
    reported: number[];
    count: number;
    integrity: string;
  }

  async function importFile(bytes: Buffer, ext: string, extra: string[] = []): Promise<ImportRun> {
    const dir = tempDir('nex-compound-fuzz-import-');
    const file = path.join(dir, `in.${ext}`);
    writeFileSync(file, bytes);
    const db = path.join(dir, 'e.db');
    const env = { HOME: dir, NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config') };
    const r = await runInProcess(['--db', db, '--json', 'insights', 'import', file, ...extra], { env, fakeClock: true });
    assert.notEqual(r.code, 70, `exit 70 importing ${JSON.stringify(bytes.toString('utf8').slice(0, 500))}:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, STACK_TRACE, `a stack trace:\n${r.stderr}`);
    const reported = [...r.stderr.matchAll(/^.*in\.\w+:(\d+): .+$/gm)].map((m) => Number(m[1]));
    let count = -1;
    let integrity = 'no database';
    if (existsSync(db)) {
      const handle = openDatabaseWith(Sqlite, db, { create: false });
      integrity = handle.pragma('integrity_check', { simple: true }) as string;
      count = (handle.prepare('SELECT count(*) AS n FROM insights').get() as { n: number }).n;
      handle.close();
      // Whatever was imported can be listed and exported.
      for (const argv of [['insights', 'export'], ['--json', 'insights', 'list', '--limit', '1000']]) {
        const after = await runInProcess(['--db', db, ...argv], { env });
        assert.equal(after.code, 0, `\`${argv.join(' ')}\` after an import of ${JSON.stringify(bytes.toString('utf8').slice(0, 500))}:\n${after.stderr}`);
      }
    }
    let summary: ImportRun['summary'];
    try {
      summary = r.stdout ? (JSON.parse(r.stdout) as ImportRun['summary']) : undefined;
    } catch {
      summary = undefined;
    }
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, summary, reported, count, integrity };
  }

  function checkAgainstOracle(run: ImportRun, oracle: ReturnType<typeof jsonlOracle>, strict: boolean, input: Buffer) {
    const what = `input ${JSON.stringify(input.toString('utf8').slice(0, 800))}\nstderr:\n${run.stderr}`;
    // A file that looks binary is refused whole before any line is read (stdin is read line by line).
    if (run.code === 2 && looksBinary(input.subarray(0, 8000))) {
      assert.match(run.stderr, /^error: .* looks like a binary file, not JSONL$/m, what);
      return;
    }
    assert.equal(run.code, oracle.bad.length > 0 ? 9 : 0, `exit code: ${what}`);
    assert.ok(run.summary, `a summary on stdout: ${what}`);
    assert.equal(run.integrity, 'ok');
    assert.deepEqual(run.reported, oracle.bad.slice(0, MAX_REPORTED), `each bad line reported with its number: ${what}`);
    if (oracle.bad.length > MAX_REPORTED) assert.match(run.stderr, new RegExp(`… and ${oracle.bad.length - MAX_REPORTED} more bad lines`));
    assert.equal(run.summary.skipped, oracle.bad.length, what);
    assert.equal(run.summary.lines, oracle.lines, `lines: ${what}`);
    if (strict && oracle.bad.length > 0) {
      assert.equal(run.count, 0, `--strict writes nothing: ${what}`);
      assert.equal(run.summary.written, false);
    } else {
      assert.equal(run.summary.imported + run.summary.reinforced, oracle.good, `good lines: ${what}`);
      assert.equal(run.summary.imported, oracle.distinct, `one insight per distinct normalized text: ${what}`);
      assert.equal(run.count, run.summary.imported, `the count of insights equals the summary: ${what}`);
    }
  }

  const jsonl = target('import: mutated JSONL (in-process)', runs(60));
  test('mutated JSONL: exit 0 or 9, every bad line by number, the good ones imported, integrity ok', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { maxLength: 20 }), fc.array(mutationArb, { maxLength: 6 }), fc.boolean(), async (records, mutations, strict) => {
        jsonl.cases++;
        const bytes = mutate(records.map((r) => JSON.stringify(r)), mutations);
        const run = await importFile(bytes, 'jsonl', strict ? ['--strict'] : []);
        const oracle = jsonlOracle(bytes);
        tally(jsonl, oracle.bad.length > 0 ? 'with bad lines' : 'clean');
        checkAgainstOracle(run, oracle, strict, bytes);
      }),
      { numRuns: jsonl.numRuns },
    );
  });

  const bytesTarget = target('import: random bytes as JSONL and CSV (in-process)', runs(40));
  test('random bytes: JSONL follows the oracle; CSV is 0, 9 or a header usage error; never 70', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.array(fc.constantFrom(0x7b, 0x7d, 0x22, 0x2c, 0x0a, 0x0d, 0x5c, 0x3a, 0x74, 0x65, 0x78, 0xc3, 0xa9, 0xff, 0xef, 0xbb, 0xbf, 0x00), { maxLength: 400 }).map((a) => Uint8Array.from(a))),
        fc.constantFrom('jsonl', 'csv'),
        async (array, format) => {
          bytesTarget.cases++;
          const bytes = Buffer.from(array);
          const run = await importFile(bytes, format);
          tally(bytesTarget, `${format} exit ${run.code}`);
          // Bytes that look binary (a NUL among many control bytes): refused whole, one line, nothing written.
          if (looksBinary(bytes.subarray(0, 8000))) {
            assert.equal(run.code, 2, run.stderr);
            assert.match(run.stderr, /^error: .* looks like a binary file, not (JSONL|CSV)$/m);
            assert.equal(run.count, -1, 'refused before the database was even opened');
            return;
          }
          if (format === 'jsonl') return checkAgainstOracle(run, jsonlOracle(bytes), false, bytes);
          checkCsv(run, bytes);
        },
      ),
      { numRuns: bytesTarget.numRuns },
    );
  });

  function checkCsv(run: ImportRun, bytes: Buffer) {
    const what = `input ${JSON.stringify(bytes.toString('utf8').slice(0, 800))}\nstderr:\n${run.stderr}`;
    assert.ok([0, 2, 9].includes(run.code), `exit ${run.code}: ${what}`);
    if (run.code === 2) {
      assert.match(run.stderr, /the CSV header has no "text" column/, what);
      assert.equal(run.count, 0);
      return;
    }
    assert.ok(run.summary, what);
    assert.equal(run.integrity, 'ok');
    assert.equal(run.code, run.summary.skipped > 0 ? 9 : 0, what);
    assert.equal(run.reported.length, Math.min(run.summary.skipped, MAX_REPORTED), `each bad record reported: ${what}`);
    const physical = bytes.toString('utf8').split('\n').length;
    assert.ok(run.reported.every((n, i) => n >= 1 && n <= physical && (i === 0 || n > run.reported[i - 1]!)), `line numbers in order and in range: ${run.reported} (${physical} lines): ${what}`);
    assert.equal(run.count, run.summary.imported, what);
  }

  const csv = target('import: random CSV (in-process)', runs(50));
  test('random CSV (quotes, embedded newlines, ragged rows, odd headers): exit 0/9 (2 for a header without text), lines in order, count = summary', async () => {
    await fc.assert(
      fc.asyncProperty(csvArb, async (c) => {
        csv.cases++;
        const bytes = Buffer.from(csvText(c));
        const run = await importFile(bytes, 'csv');
        tally(csv, `exit ${run.code}`);
        checkCsv(run, bytes);
      }),
      { numRuns: csv.numRuns },
    );
  });

  const format = target('import: bad --format and paths (in-process)', runs(20));
  test('a bad --format, a missing file, a directory: exit 2 with one line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('JSONL', 'xml', '', 'json', 'tsv')), async (f) => {
        format.cases++;
        const dir = tempDir('nex-compound-fuzz-format-');
        const file = path.join(dir, 'in.jsonl');
        writeFileSync(file, '{"text":"a"}\n');
        const env = { HOME: dir, NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config') };
        const r = await runInProcess(['--db', path.join(dir, 'e.db'), 'insights', 'import', file, '--format', f], { env });
        assert.equal(r.code, f === 'jsonl' || f === 'csv' ? (f === 'csv' ? 2 : 0) : 2, `--format ${JSON.stringify(f)}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, STACK_TRACE);
      }),
      { numRuns: format.numRuns },
    );
    for (const argv of [['insights', 'import', '/nonexistent/file.jsonl'], ['insights', 'import', tempDir()], ['insights', 'import', 'noext']]) {
      const dir = tempDir('nex-compound-fuzz-format-');
      const r = await runInProcess(['--db', path.join(dir, 'e.db'), ...argv], { env: { HOME: dir } });
      assert.equal(r.code, 2, r.stderr);
    }
  });

  const chunking = target('import: random chunkings through importInsights (sequential and worker-thread parsers)', runs(30));
  test('chunking never changes the result: the same bytes in random chunks (split inside UTF-8 sequences and CRLFs) import identically', async () => {
    const rowsOf = (db: Database) => db.prepare('SELECT text, normalized_text, source, tags, confidence, base_confidence, reinforcement_count, created_at, last_reinforced_at FROM insights ORDER BY id').all();
    let parallelRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(fc.array(recordArb, { maxLength: 15 }), fc.array(mutationArb, { maxLength: 4 })).map(([records, m]) => ({ format: 'jsonl' as const, bytes: mutate(records.map((r) => JSON.stringify(r)), m) })),
          csvArb.map((c) => ({ format: 'csv' as const, bytes: Buffer.from(csvText(c)) })),
        ),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.boolean(),
        async ({ format: fmt, bytes }, cuts, parallelWish) => {
          chunking.cases++;
          // The worker-thread parser costs a thread start: a few cases only.
          const parallel = fmt === 'jsonl' && parallelWish && parallelRuns < (SOAK ? 100 : 5);
          if (parallel) parallelRuns++;
          const offsets = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let last = 0;
          for (const o of offsets) {
            chunks.push(bytes.subarray(last, o));
            last = o;
          }
          chunks.push(bytes.subarray(last));
          const run = async (input: Buffer[], inWorker: boolean) => {
            const { db } = (() => {
              const file = path.join(tempDir('nex-compound-fuzz-chunks-'), 'e.db');
              return { db: openDatabaseWith(Sqlite, file, { create: true }) };
            })();
            try {
              const summary = await importInsights(db, (async function* () {
                for (const c of input) yield c;
              })(), { workspaceId: 1, format: fmt, strict: false, now: 1_700_000_000_000, parallel: inWorker }).catch((error: unknown) => ({ error: String(error) }));
              return { summary, rows: rowsOf(db) };
            } finally {
              db.close();
            }
          };
          const whole = await run([bytes], false);
          const split = await run(chunks, parallel);
          assert.deepEqual(split, whole, `${fmt} in ${chunks.length} chunks${parallel ? ' (worker thread)' : ''} at ${offsets}: ${JSON.stringify(bytes.toString('utf8').slice(0, 400))}`);
          tally(chunking, `${fmt}${parallel ? ' worker' : ''}`);
        },
      ),
      { numRuns: chunking.numRuns },
    );
  });

  const bin = target('import: random bytes through the built bin (file and stdin)', runs(4));
  test('end to end through the bin: random near-valid JSONL on stdin and as a file, exit 0 or 9, never 70', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { maxLength: 10 }), fc.array(mutationArb, { maxLength: 4 }), async (records, mutations) => {
        bin.cases++;
        const bytes = mutate(records.map((r) => JSON.stringify(r)), mutations);
        const dir = tempDir('nex-compound-fuzz-import-bin-');
        const file = path.join(dir, 'in.jsonl');
        writeFileSync(file, bytes);
        const env = { NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config'), NEX_COMPOUND_DB: path.join(dir, 'e.db') };
        const viaFile = await runBin(['insights', 'import', file], { env });
        // Standard input gets the text, in which bytes that are not UTF-8 have become U+FFFD.
        const text = bytes.toString('utf8');
        const viaStdin = await runBin(['insights', 'import', '-', '--db', path.join(dir, 's.db')], { env, input: text });
        for (const [r, input] of [[viaFile, bytes], [viaStdin, Buffer.from(text)]] as const) {
          assert.equal(r.code, jsonlOracle(input).bad.length > 0 ? 9 : 0, r.stderr);
          assert.doesNotMatch(r.stderr, STACK_TRACE);
        }
      }),
      { numRuns: bin.numRuns },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 3. serve

describe('fuzz: serve over HTTP', () => {
  let child: ChildProcess | undefined;
  let port = 0;
  let stderr = '';
  let writeKey = '';
  let readKey = '';
  const jobIds: string[] = [];
  let dbFile = '';

  before(async () => {
    const dir = tempDir('nex-compound-fuzz-serve-');
    dbFile = path.join(dir, 'engine.db');
    databases.push(dbFile);
    const env = { NEX_COMPOUND_DB: dbFile, NEX_COMPOUND_CONFIG_DIR: path.join(dir, 'config') };
    const created = await runBin(['keys', 'create', '--scope', 'record.write', '--json'], { env });
    assert.equal(created.code, 0, created.stderr);
    writeKey = (JSON.parse(created.stdout) as { key: string }).key;
    const read = await runBin(['keys', 'create', '--json'], { env });
    readKey = (JSON.parse(read.stdout) as { key: string }).key;
    child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve not ready: ${stderr}`)), 15_000);
      const check = () => {
        if (stdout.includes('\n') && /^ready:/m.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child!.stdout!.on('data', check);
      child!.stderr!.on('data', check);
      child!.once('close', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    port = Number(/:(\d+)\s*$/.exec(stdout.split('\n')[0]!)![1]);
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((resolve) => child!.once('close', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 8_000);
      await closed;
      clearTimeout(timer);
    }
  });

  interface Reply {
    status: number;
    headers: http.IncomingHttpHeaders;
    text: string;
  }

  function send(method: string, urlPath: string, headers: Record<string, string>, body?: Buffer, chunked = false): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers: { host: `127.0.0.1:${port}`, ...headers }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(20_000, () => req.destroy(new Error('no answer within 20 s')));
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A server may refuse an oversized body (413) and close before the client has written all of it.
        if (body && body.length > 1024 * 1024 && (error.code === 'EPIPE' || error.code === 'ECONNRESET')) resolve({ status: -1, headers: {}, text: '' });
        else reject(error);
      });
      if (body && chunked) {
        const size = Math.max(1, Math.ceil(body.length / 3));
        for (let i = 0; i < body.length; i += size) req.write(body.subarray(i, i + size));
        req.end();
      } else req.end(body);
    });
  }

  /** A request written byte for byte: paths no HTTP client would send. */
  function sendRaw(bytes: Buffer): Promise<Reply | 'closed'> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.setTimeout(20_000, () => socket.destroy(new Error('no answer within 20 s')));
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve('closed') : reject(error)));
      socket.on('end', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (!match) return resolve('closed');
        const [head, ...rest] = text.split('\r\n\r\n');
        const headers: http.IncomingHttpHeaders = {};
        for (const line of head!.split('\r\n').slice(1)) {
          const i = line.indexOf(':');
          headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
        }
        resolve({ status: Number(match[1]), headers, text: Buffer.from(rest.join('\r\n\r\n'), 'latin1').toString('utf8') });
      });
      socket.end(bytes);
    });
  }

  const TRIGGER_STATUSES = new Set([202, 400, 401, 403, 413, 422]);
  const STATUS_STATUSES = new Set([200, 401, 404]);
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  function checkReply(op: 'trigger' | 'status', reply: Reply, what: string) {
    const allowed = op === 'trigger' ? TRIGGER_STATUSES : STATUS_STATUSES;
    assert.notEqual(reply.status, 500, `500 for ${what}: ${reply.text}`);
    assert.ok(allowed.has(reply.status), `${reply.status} is not documented for ${op}: ${what}: ${reply.text.slice(0, 300)}`);
    assert.match(String(reply.headers['content-type']), /^application\/json\b/, `a JSON body for ${what}`);
    const body = JSON.parse(reply.text) as Record<string, unknown>;
    if (reply.status >= 400) {
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message'], `{code, message} for ${what}: ${reply.text}`);
      assert.equal(body.code, reply.status);
      assert.equal(typeof body.message, 'string');
      assert.doesNotMatch(String(body.message), /\n\s+at |internal error/, `no stack trace nor internal message for ${what}`);
    } else if (reply.status === 202) {
      assert.match(String(body.job_run_id), UUID);
      assert.equal(body.status, 'accepted');
      jobIds.push(String(body.job_run_id));
    } else {
      assert.match(String(body.job_run_id), UUID);
      assert.ok(['accepted', 'running', 'completed', 'failed'].includes(String(body.status)));
    }
  }

  const authArb = fc.oneof(
    { weight: 6, arbitrary: fc.constant('write') },
    { weight: 1, arbitrary: fc.constant('read') },
    { weight: 1, arbitrary: fc.constantFrom('none', 'Bearer nxk_wrong', 'Basic dXNlcjpwYXNz', 'Bearer', 'bearer  ', 'Token x') },
    { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }) },
  );
  const authHeader = (a: string): Record<string, string> =>
    a === 'write' ? { authorization: `Bearer ${writeKey}` } : a === 'read' ? { authorization: `Bearer ${readKey}` } : a === 'none' ? {} : { authorization: a };
  const isValidAuth = (a: string) => a === 'write' || a === 'read';

  const jobTypeArb = fc.oneof(fc.constantFrom(...JOB_TYPES), fc.constantFrom('Metrics', 'decay-sweep', '', ' metrics', 'metrics\u0000'), fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 2 }));
  const nearValid = fc
    .record(
      {
        job_type: jobTypeArb,
        dry_run: fc.oneof(fc.boolean(), fc.constantFrom('true', 1, 0, null, [], 'false')),
        extra: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((o) => Buffer.from(JSON.stringify(o)));
  const deep = fc.tuple(fc.integer({ min: 1_000, max: 150_000 }), fc.constantFrom('array', 'object', 'job_type', 'proto')).map(([n, kind]) => {
    const arrays = '['.repeat(n) + ']'.repeat(n);
    const body =
      kind === 'array' ? arrays : kind === 'object' ? `{"job_type":"metrics","x":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}` : kind === 'job_type' ? `{"job_type":${arrays}}` : `{"__proto__":${arrays}}`;
    return Buffer.from(body);
  });
  const invalidUtf8 = fc.tuple(fc.constantFrom(...JOB_TYPES), fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 6 })).map(([t, bytes]) =>
    Buffer.concat([Buffer.from(`{"job_type":"${t}","dry_run":false,"note":"`), Buffer.from(bytes), Buffer.from('"}')]),
  );
  const bodyArb = fc.oneof(
    { weight: 3, arbitrary: nearValid },
    { weight: 2, arbitrary: fc.constantFrom(...JOB_TYPES).chain((t) => fc.boolean().map((dry) => Buffer.from(JSON.stringify({ job_type: t, dry_run: dry })))) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((j) => Buffer.from(j)) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: invalidUtf8 },
    { weight: 1, arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.from('null'), Buffer.from('"metrics"'), Buffer.from('{'), Buffer.from('{"job_type":"metrics"}garbage'), Buffer.from('\ufeff{"job_type":"metrics"}'), Buffer.from('{"constructor":{"prototype":{"x":1}},"job_type":"metrics"}'), Buffer.alloc(1024 * 1024 + 1, 0x20)) },
  );
  const contentTypeArb = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json; charset=latin1', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.api+json', 'application/json-patch+json', '*/*', 'none') },
    { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 30 }) },
  );
  const idempotencyArb = fc.option(fc.oneof(fc.constantFrom('fuzz-key-1', 'fuzz-key-2', 'x'.repeat(255), 'x'.repeat(256)), fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 })), { nil: undefined });

  const triggerTarget = target('serve: POST /v1/compounding/trigger with random bodies, types, keys, Idempotency-Keys', runs(400));
  test('trigger: random bodies, content types, keys and Idempotency-Keys get a documented status with {code, message}, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, contentTypeArb, authArb, idempotencyArb, fc.boolean(), async (body, contentType, auth, idem, chunked) => {
        triggerTarget.cases++;
        const headers: Record<string, string> = { ...authHeader(auth) };
        if (contentType !== 'none') headers['content-type'] = contentType;
        if (idem !== undefined) headers['idempotency-key'] = idem;
        const what = `POST trigger auth=${auth.slice(0, 20)} type=${contentType} idem=${idem?.slice(0, 20)} body=${JSON.stringify(body.subarray(0, 200).toString('latin1'))} (${body.length} bytes${chunked ? ', chunked' : ''})`;
        const reply = await send('POST', '/v1/compounding/trigger', headers, body, chunked);
        if (reply.status === -1) return void tally(triggerTarget, 'oversized body cut off');
        tally(triggerTarget, String(reply.status));
        checkReply('trigger', reply, what);
        // What can be decided without re-implementing the server: no valid key is always a 401.
        if (!isValidAuth(auth)) assert.equal(reply.status, 401, what);
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          parsed = undefined;
        }
        const validTrigger =
          parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && Object.keys(parsed).every((k) => k === 'job_type' || k === 'dry_run') && (JOB_TYPES as readonly unknown[]).includes((parsed as { job_type?: unknown }).job_type) && ['boolean', 'undefined'].includes(typeof (parsed as { dry_run?: unknown }).dry_run);
        if (isValidAuth(auth) && /^application\/json(; charset=utf-8)?$/i.test(contentType) && validTrigger && idem === undefined && !body.toString('utf8').startsWith('\ufeff')) {
          assert.equal(reply.status, auth === 'write' ? 202 : 403, what);
        }
      }),
      { numRuns: triggerTarget.numRuns },
    );
  });

  const statusTarget = target('serve: GET /v1/compounding/jobs/{id} with random ids and keys', runs(300));
  test('status: random ids (encoded, raw, bad %-escapes, long) get 200/401/404 with {code, message}, never 500', async () => {
    const idArb = fc.oneof(
      { weight: 2, arbitrary: fc.constant('<known>') },
      { weight: 1, arbitrary: fc.uuid().map((u) => u.toUpperCase()) },
      { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
      { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'abcdef0123456789-%./_~!$&\'()*+,;=:@'.split('')), maxLength: 60 }) },
      { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%C0%AF', '%E0%80', '%ff', '..', '.', '%2F', 'a%2Fb', '%00', 'x'.repeat(2_049), 'x'.repeat(5_000), '', '?', '#frag', '..%2F..%2Fetc%2Fpasswd') },
    );
    await fc.assert(
      fc.asyncProperty(idArb, authArb, fc.option(fc.string({ maxLength: 10 }).map(encodeURIComponent), { nil: undefined }), async (rawId, auth, query) => {
        statusTarget.cases++;
        const id = rawId === '<known>' ? (jobIds[0] ?? randomUUID()) : rawId;
        const urlPath = `/v1/compounding/jobs/${id}${query !== undefined ? `?q=${query}` : ''}`;
        const what = `GET ${urlPath.slice(0, 200)} auth=${auth.slice(0, 20)}`;
        const reply = await send('GET', urlPath, authHeader(auth));
        tally(statusTarget, String(reply.status));
        checkReply('status', reply, what);
        if (!isValidAuth(auth) && reply.status !== 404) assert.equal(reply.status, 401, what);
        if (rawId === '<known>' && jobIds[0] && isValidAuth(auth)) assert.equal(reply.status, 200, what);
      }),
      { numRuns: statusTarget.numRuns },
    );
  });

  const rawTarget = target('serve: raw request lines (bytes no client would send)', runs(100));
  test('raw request lines with control bytes, spaces and high bytes in the path: a {code, message} answer or a closed connection, never 500, server up', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'BREW'), async (pathBytes, method) => {
        rawTarget.cases++;
        const head = Buffer.concat([
          Buffer.from(`${method} /v1/compounding/jobs/`),
          Buffer.from(pathBytes),
          Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${writeKey}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
        ]);
        const reply = await sendRaw(head);
        if (reply === 'closed') return void tally(rawTarget, 'closed');
        tally(rawTarget, String(reply.status));
        // Node's HTTP parser refuses a malformed request line before fastify routes it; serve's
        // clientErrorHandler still answers {code, message}.
        let shape = 'other body';
        try {
          const body = JSON.parse(reply.text) as Record<string, unknown>;
          shape = 'code' in body && 'message' in body ? '{code, message}' : Object.keys(body).sort().join('+');
        } catch {
          // not JSON
        }
        tally(rawTarget, `body ${shape}`);
        assert.equal(shape, '{code, message}', `raw path ${JSON.stringify(Buffer.from(pathBytes).toString('latin1'))}: ${reply.text}`);
        assert.notEqual(reply.status, 500, `500 for raw path ${JSON.stringify(Buffer.from(pathBytes).toString('latin1'))}: ${reply.text}`);
        assert.ok(reply.status < 500, `${reply.status} for raw path: ${reply.text}`);
      }),
      { numRuns: rawTarget.numRuns },
    );
  });

  test('after all of the above: the server is up, a valid trigger still gets 202, and serve logged no request failure', async () => {
    assert.equal(child!.exitCode, null, `serve exited: ${stderr}`);
    const reply = await send('POST', '/v1/compounding/trigger', { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' }, Buffer.from('{"job_type":"metrics"}'));
    assert.equal(reply.status, 202, reply.text);
    const health = await send('GET', '/healthz', {});
    assert.equal(health.status, 200);
    assert.doesNotMatch(stderr, /request failed|internal error/, `serve reported a failed request:\n${stderr}`);
    assert.doesNotMatch(stderr, STACK_TRACE, stderr);
    assert.ok(!stderr.includes(writeKey) && !stderr.includes(readKey), 'serve never prints a key');
  });
});
