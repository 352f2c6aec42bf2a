/**
 * The built bin as a real process: its real exit codes, signals, config file modes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFakeNexServer, type FakeNexServer } from '../helpers/fake-nex-server.js';
import { ANSI_RE, ROOT, runBin, runBinAsUnprivileged, tempDir } from '../helpers/cli.js';

const KEY = 'nexsk_bin_test_0123456789abcdef';
let server: FakeNexServer;
let configDir: string;

before(async () => {
  server = await startFakeNexServer({ apiKeys: { [KEY]: { workspaceId: 42, scopes: ['record.write'] } } });
  configDir = tempDir('nex-compound-bin-config-');
});
after(() => server.close());

const env = (extra: Record<string, string | undefined> = {}) => ({
  NEX_API_KEY: KEY,
  NEX_BASE_URL: server.url,
  NEX_COMPOUND_CONFIG_DIR: configDir,
  ...extra,
});

describe('exit codes of the real process', () => {
  test('0: trigger --dry-run --json prints the accepted job', async () => {
    const r = await runBin(['trigger', 'pattern_detection', '--dry-run', '--json'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse(r.stdout);
    assert.equal(job.job_type, 'pattern_detection');
    assert.equal(job.dry_run, true);
    assert.match(r.stderr, /remote Nex API at http:\/\/127\.0\.0\.1/);
    assert.doesNotMatch(r.stdout + r.stderr, ANSI_RE);
  });

  test('0: status --json, then watch to completion', async () => {
    const id = server.addJob([{ status: 'running', insights_scanned: 3 }, { status: 'completed', insights_scanned: 9, insights_affected: 2, candidates_created: 1, errors: 0 }]);
    const status = await runBin(['status', id, '--json'], { env: env() });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).status, 'running');
    const watch = await runBin(['watch', id, '--interval', '50ms'], { env: env() });
    assert.equal(watch.code, 0, watch.stderr);
    assert.match(watch.stdout, /^status\s+completed$/m);
    assert.match(watch.stdout, /^insights_affected\s+2$/m);
  });

  test('1: a failed job', async () => {
    const id = server.addJob([{ status: 'failed', error_details: { message: 'worker crashed' } }]);
    const r = await runBin(['watch', id], { env: env() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /worker crashed/);
  });

  test('2: usage errors — unknown job type, malformed UUID, unknown command, bad duration', async () => {
    for (const argv of [['trigger', 'nope'], ['status', '123'], ['frobnicate'], ['watch', '00000000-0000-4000-8000-000000000000', '--timeout', 'forever']]) {
      const r = await runBin(argv, { env: env() });
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  test('3: no key', async () => {
    const r = await runBin(['status', '00000000-0000-4000-8000-000000000000', '--remote'], { env: env({ NEX_API_KEY: undefined }) });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /NEX_API_KEY/);
  });

  test('3 in CI too: a pipeline never passes without credentials, and is never a silent local run', async () => {
    const r = await runBin(['trigger', 'metrics', '--wait'], { env: env({ NEX_API_KEY: undefined, CI: 'true', NEX_COMPOUND_DB: path.join(tempDir(), 'x.db') }) });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /--local/);
  });

  test('2: --remote on a command of the local engine only is refused, not ignored; no database is opened', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'engine.db');
    for (const argv of [['metrics', '--remote'], ['--remote', 'insights', 'list'], ['patterns', '--remote'], ['keys', 'list', '--remote']]) {
      const r = await runBin(argv, { env: { NEX_COMPOUND_DB: db, NEX_COMPOUND_CONFIG_DIR: dir } });
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^error: `[a-z ]+` works on the local engine only/m);
    }
    assert.equal(existsSync(db), false, 'nothing was opened');
  });

  test('4: not found', async () => {
    const r = await runBin(['watch', '00000000-0000-4000-8000-000000000000'], { env: env() });
    assert.equal(r.code, 4);
  });

  test('5: deadline passed', async () => {
    const id = server.addJob([{ status: 'running' }]);
    const r = await runBin(['watch', id, '--timeout', '300ms', '--interval', '50ms'], { env: env() });
    assert.equal(r.code, 5);
    assert.ok(r.stderr.includes(`nex-compound watch ${id}`));
  });

  test('6: unreachable', async () => {
    const r = await runBin(['status', '00000000-0000-4000-8000-000000000000', '--retries', '0', '--base-url', 'http://127.0.0.1:9'], { env: env() });
    assert.equal(r.code, 6);
    assert.match(r.stderr, /connection refused/);
  });

  test('7: trigger outcome unknown', async () => {
    server.inject('trigger', { kind: 'process-then-reset' });
    const r = await runBin(['trigger', 'consolidation'], { env: env() });
    assert.equal(r.code, 7);
    assert.match(r.stderr, /--idempotency-key [0-9a-f-]{36}/);
  });

  test('130: SIGINT during a watch prints the job and how to resume', async () => {
    const id = server.addJob([{ status: 'running' }]);
    const r = await runBin(['watch', id, '--interval', '50ms'], {
      env: env(),
      onSpawn: (child) => setTimeout(() => child.kill('SIGINT'), 700),
    });
    assert.equal(r.code, 130, r.stderr);
    assert.ok(r.stderr.includes(`resume with: nex-compound watch ${id}`));
  });

  test('--version, --help and help exit-codes', async () => {
    const version = await runBin(['--version']);
    assert.equal(version.code, 0);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(version.stdout.trim(), pkg.version);
    const help = await runBin(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /trigger/);
    const codes = await runBin(['help', 'exit-codes']);
    assert.equal(codes.code, 0);
    for (const code of ['0', '1', '2', '3', '4', '5', '6', '7', '130']) assert.match(codes.stdout, new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
  });
});

describe('config', () => {
  test('set reads the key from stdin, stores it 0600, list and get redact it, env beats config', async () => {
    const dir = tempDir('nex-compound-cfg-');
    const cfgEnv = { NEX_COMPOUND_CONFIG_DIR: dir, NEX_API_KEY: undefined, NEX_BASE_URL: undefined };
    const set = await runBin(['config', 'set', 'api-key'], { env: cfgEnv, input: `${KEY}\n` });
    assert.equal(set.code, 0, set.stderr);
    const file = path.join(dir, 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((await runBin(['config', 'set', 'base-url', server.url], { env: cfgEnv })).code, 0);
    const list = await runBin(['config', 'list'], { env: cfgEnv });
    assert.equal(list.code, 0);
    assert.ok(!list.stdout.includes(KEY) && !list.stderr.includes(KEY));
    assert.match(list.stdout, /api-key\s+nexs…ef \(redacted\)/);
    const get = await runBin(['config', 'get', 'api-key'], { env: cfgEnv });
    assert.ok(!get.stdout.includes(KEY));
    const pathOut = await runBin(['config', 'path'], { env: cfgEnv });
    assert.equal(pathOut.stdout.trim(), file);

    const id = server.addJob([{ status: 'completed' }]);
    const fromConfig = await runBin(['status', id, '--json'], { env: cfgEnv });
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    const envWins = await runBin(['status', id], { env: { ...cfgEnv, NEX_API_KEY: 'wrong-key-from-env' } });
    assert.equal(envWins.code, 3, 'the environment key takes precedence over config');
    const flagWins = await runBin(['status', id, '--base-url', 'http://127.0.0.1:9', '--retries', '0'], { env: cfgEnv });
    assert.equal(flagWins.code, 6, 'the flag base URL takes precedence over config');
  });

  test('profiles are separate; --profile and NEX_COMPOUND_PROFILE select them', async () => {
    const dir = tempDir('nex-compound-cfg-');
    const cfgEnv = { NEX_COMPOUND_CONFIG_DIR: dir };
    assert.equal((await runBin(['config', 'set', 'timeout', '5m', '--profile', 'ci'], { env: cfgEnv })).code, 0);
    assert.equal((await runBin(['config', 'get', 'timeout', '--profile', 'ci'], { env: cfgEnv })).stdout.trim(), '5m');
    assert.equal((await runBin(['config', 'get', 'timeout'], { env: { ...cfgEnv, NEX_COMPOUND_PROFILE: 'ci' } })).stdout.trim(), '5m');
    assert.equal((await runBin(['config', 'get', 'timeout'], { env: cfgEnv })).stdout.trim(), '');
    assert.equal((await runBin(['config', 'unset', 'timeout', '--profile', 'ci'], { env: cfgEnv })).code, 0);
    assert.equal((await runBin(['config', 'get', 'timeout', '--profile', 'ci'], { env: cfgEnv })).stdout.trim(), '');
  });

  test('bad values, keys and profile names exit 2; an unwritable or corrupt config is a clear error', async () => {
    const dir = tempDir('nex-compound-cfg-');
    const cfgEnv = { NEX_COMPOUND_CONFIG_DIR: dir };
    assert.equal((await runBin(['config', 'set', 'timeout', 'later'], { env: cfgEnv })).code, 2);
    assert.equal((await runBin(['config', 'set', 'base-url', 'ftp://x'], { env: cfgEnv })).code, 2);
    assert.equal((await runBin(['config', 'set', 'colour', 'red'], { env: cfgEnv })).code, 2);
    assert.equal((await runBin(['config', 'list', '--profile', '../etc'], { env: cfgEnv })).code, 2);

    const corrupt = tempDir('nex-compound-cfg-');
    writeFileSync(path.join(corrupt, 'config.json'), '{ not json');
    const r = await runBin(['status', '00000000-0000-4000-8000-000000000000'], { env: { NEX_COMPOUND_CONFIG_DIR: corrupt, NEX_API_KEY: KEY } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('a config directory without write permission is a clear error with exit 2', async (t) => {
    const locked = tempDir('nex-compound-cfg-');
    // nobody must reach the directory to find it unwritable (as root, the bin runs as nobody).
    chmodSync(locked, 0o755);
    mkdirSync(path.join(locked, 'ro'));
    chmodSync(path.join(locked, 'ro'), 0o555);
    const w = runBinAsUnprivileged(['config', 'set', 'timeout', '5m'], { HOME: locked, NEX_COMPOUND_CONFIG_DIR: path.join(locked, 'ro', 'sub') });
    if (!w) {
      t.skip('running as root, and the user nobody cannot run this Node or read this checkout');
      return;
    }
    assert.equal(w.code, 2, w.stderr);
    assert.match(w.stderr, /^error: cannot use the config file in .*\/ro\/sub: /m);
    assert.equal(w.stderr.split('\n').filter(Boolean).length, 2, 'one error line and one hint');
  });

  test('an unwritable config location is a one-line error with exit 2', async () => {
    const blocker = path.join(tempDir('nex-compound-cfg-'), 'file');
    writeFileSync(blocker, 'not a directory');
    const r = await runBin(['config', 'set', 'timeout', '5m'], { env: { NEX_COMPOUND_CONFIG_DIR: path.join(blocker, 'sub') } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: cannot use the config file/m);
  });
});

describe('help', () => {
  test('--help on a pipe prints the help cached at build time, identical to what commander renders now', async () => {
    const cached = readFileSync(path.join(ROOT, 'dist', 'help.txt'), 'utf8');
    const fast = await runBin(['--help']);
    const live = await runBin(['--help'], { env: { NEX_COMPOUND_HELP_CACHE: 'off' } });
    assert.equal(fast.code, 0);
    assert.equal(live.code, 0);
    assert.equal(fast.stdout, cached);
    assert.equal(live.stdout, cached, 'dist/help.txt is stale: run `npm run build`');
    assert.match(cached, /^Usage: nex-compound \[options\] \[command\]/);
    for (const command of ['trigger', 'run', 'status', 'watch', 'completion']) assert.match(cached, new RegExp(`^  ${command}\\b`, 'm'));
    const short = await runBin(['-h']);
    assert.equal(short.stdout, cached);
  });
});

describe('start-up', () => {
  test('a remote command loads undici\'s dispatcher and request API only, not its index (fetch, WebSocket, mocks…)', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `
      const { createDispatcher } = await import(${JSON.stringify(new URL('../../dist/remote/http.js', import.meta.url).href)});
      const dispatcher = createDispatcher({});
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/undici/'));
      console.log(JSON.stringify({ request: typeof dispatcher.request, index: loaded.some((f) => f.endsWith('/undici/index.js')), fetch: loaded.some((f) => f.includes('/lib/web/fetch/')), modules: loaded.length }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { request: string; index: boolean; fetch: boolean; modules: number };
    assert.equal(seen.request, 'function');
    assert.equal(seen.index, false, 'undici/index.js was loaded: the narrow loader fell back (did undici move its files?)');
    assert.equal(seen.fetch, false);
  });

  /** A module hook (it runs on the loader's own thread) appends every file a process loads to a list. */
  const hookFlag = () => {
    const hook = `export async function load(url, context, next) {
      if (url.startsWith('file:')) (await import('node:fs')).appendFileSync(process.env.MODULE_LIST, url + '\\n');
      return next(url, context);
    }`;
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    return ['--import', `data:text/javascript,${encodeURIComponent(register)}`];
  };

  test('a plain local trigger loads neither the watch loop nor its renderers; --wait does (the code as tsc emits it; the bundle keeps these imports lazy)', async () => {
    const { spawnSync } = await import('node:child_process');
    const dir = tempDir('nex-compound-modules-');
    // bin/'s work, on the unbundled build: which modules the code reaches is visible per file there.
    const entry = new URL('../../dist/cli/entry.js', import.meta.url).href;
    const deps = new URL('../../dist/cli/process-deps.js', import.meta.url).href;
    const script = `const { runCli } = await import(${JSON.stringify(entry)}); const { createProcessDeps } = await import(${JSON.stringify(deps)}); process.exitCode = await runCli(process.argv.slice(1), createProcessDeps());`;
    const loaded = (args: string[]) => {
      const list = path.join(dir, `modules-${args.length}.txt`);
      writeFileSync(list, '');
      const r = spawnSync(process.execPath, [...hookFlag(), '--input-type=module', '-e', script, '--', ...args], {
        encoding: 'utf8',
        env: { ...process.env, MODULE_LIST: list, NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, CI: '' },
      });
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(list, 'utf8');
    };
    const plain = loaded(['trigger', 'metrics', '--local', '--json', '-q']);
    assert.match(plain, /\/commands\/trigger\.js/, 'the hook saw the trigger command load');
    for (const lazy of ['/follow/follow.js', '/follow/watch-loop.js', '/render/progress.js', '/node_modules/ora/']) assert.ok(!plain.includes(lazy), `a plain trigger loaded ${lazy}`);
    // Only the named command's module: the others' declarations and imports are not paid for.
    assert.deepEqual(plain.match(/\/cli\/commands\/[a-z-]+\.js/g), ['/cli/commands/trigger.js']);
    const waiting = loaded(['trigger', 'metrics', '--local', '--json', '-q', '--wait', '--timeout', '60s']);
    assert.match(waiting, /\/follow\/follow\.js/);
  });

  test('bin runs the bundle: --version reads quick.js only; a remote status without a proxy reads the two bundles and loads no undici', async () => {
    const { spawn } = await import('node:child_process');
    const dir = tempDir('nex-compound-bundle-');
    const bin = new URL('../../bin/nex-compound.js', import.meta.url).pathname;
    // CommonJS (undici is loaded with require) is listed from require's cache at exit.
    const cjsList = path.join(dir, 'preload.cjs');
    writeFileSync(cjsList, "process.on('exit', () => require('node:fs').appendFileSync(process.env.MODULE_LIST, Object.keys(require.cache).map((f) => 'file://' + f + '\\n').join('')));\n");
    // Spawned, not spawnSync: the fake server answers from this process's event loop.
    let runs = 0;
    const loaded = async (args: string[], extraEnv: Record<string, string> = {}) => {
      const list = path.join(dir, `modules-${runs++}.txt`);
      writeFileSync(list, '');
      const child = spawn(process.execPath, [...hookFlag(), '--require', cjsList, bin, ...args], {
        env: { ...process.env, MODULE_LIST: list, NEX_COMPOUND_CONFIG_DIR: dir, HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '', NEX_COMPOUND_HTTP_CLIENT: '', ...extraEnv },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, stderr);
      return readFileSync(list, 'utf8').split('\n').filter((f) => f && !f.endsWith('preload.cjs'));
    };
    const ours = (files: string[]) => files.filter((f) => !f.includes('/node_modules/')).map((f) => path.relative(ROOT, new URL(f).pathname)).sort();
    assert.deepEqual(ours(await loaded(['--version'])), ['bin/nex-compound.js', 'dist/bundle/quick.js']);
    const id = server.addJob([{ status: 'completed', insights_scanned: 1, insights_affected: 0, candidates_created: 0, errors: 0 }]);
    const status = await loaded(['status', id, '--json'], { NEX_API_KEY: KEY, NEX_BASE_URL: server.url });
    assert.deepEqual(ours(status), ['bin/nex-compound.js', 'dist/bundle/cli.js', 'dist/bundle/quick.js']);
    assert.deepEqual(status.filter((f) => f.includes('/node_modules/undici/')), [], 'no undici without a proxy');
    assert.deepEqual(status.filter((f) => f.includes('/node_modules/string-width/')), [], 'string-width loads only for text that is not ASCII');
    // Asked for, undici answers the same command.
    const viaUndici = await loaded(['status', id, '--json'], { NEX_API_KEY: KEY, NEX_BASE_URL: server.url, NEX_COMPOUND_HTTP_CLIENT: 'undici' });
    assert.ok(viaUndici.some((f) => f.includes('/node_modules/undici/')));
  });
});
