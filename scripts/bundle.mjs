#!/usr/bin/env node
// Runs after tsc (npm run build): bundles what bin/nex-compound.js runs into dist/bundle/ — quick.js
// (--version, the cached --help) and cli.js (everything else: one file, its parts initialised only
// when reached) — so a run reads two files instead of resolving and reading ~40 of ours and
// commander's one by one. The rest of dist/ is still emitted by tsc: the worker process and the
// import thread are started from there by path, and tests import it.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');
const outdir = path.join(dist, 'bundle');

/**
 * Every output file lands in dist/bundle/, so a module's own location is rebuilt from there:
 * `new URL('./worker.js', import.meta.url)` in dist/engine/queue/spawn.js still names
 * dist/engine/queue/worker.js, and `../help.txt` or `../../package.json` still find their files.
 */
const keepModuleLocation = {
  name: 'keep-module-location',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'js' };
      const fromBundle = path.relative(outdir, args.path).split(path.sep).join('/');
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), loader: 'js' };
    });
  },
};

/**
 * Packages stay outside the bundle (some read files or native addons beside their modules). In one
 * output file, though, an outside package that any module imports statically is imported at
 * start-up, however lazily that module is reached: stemmer (small, plain code) goes inside, and
 * fastify (only `serve` uses it) is reached through a shim that requires it on first call.
 */
const BUNDLED_PACKAGES = new Set(['stemmer', 'commander']);
const { dependencies } = createRequire(import.meta.url)('../package.json');
const external = Object.keys(dependencies).filter((name) => !BUNDLED_PACKAGES.has(name) && name !== 'fastify');

const lazyFastify = {
  name: 'lazy-fastify',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^fastify$/ }, () => ({ path: 'fastify', namespace: 'lazy-fastify' }));
    pluginBuild.onLoad({ filter: /.*/, namespace: 'lazy-fastify' }, () => ({
      contents: [
        "import { createRequire } from 'node:module';",
        'let fastify;',
        "export default function Fastify(...args) { fastify ??= createRequire(import.meta.url)('fastify'); return fastify(...args); }",
      ].join('\n'),
      resolveDir: dist,
      loader: 'js',
    }));
  },
};

/**
 * Node's own modules a run often does not need, loaded on first call: an import at the top of one
 * output file is paid by every run (crypto and child_process are ~30 of node's internal modules).
 * Only these functions are imported from them; another one fails the build, not a run.
 */
const LAZY_BUILTINS = { 'node:crypto': ['createHash', 'randomBytes', 'randomUUID'], 'node:child_process': ['spawn'] };
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(pluginBuild) {
    const filter = new RegExp(`^(${Object.keys(LAZY_BUILTINS).join('|')})$`);
    pluginBuild.onResolve({ filter }, (args) => (args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-builtin' }));
    pluginBuild.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: [
        'let loaded;',
        `const load = () => (loaded ??= require(${JSON.stringify(args.path)}));`,
        ...LAZY_BUILTINS[args.path].map((name) => `export function ${name}(...args) { return load().${name}(...args); }`),
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/** One self-contained ES module from the given exports of dist/ (no chunks: each is one file to read). */
async function bundle(name, contents) {
  await build({
    stdin: { contents, resolveDir: dist, sourcefile: `${name}.js` },
    outdir,
    entryNames: name,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...external, 'node:*'],
    plugins: [keepModuleLocation, lazyFastify, lazyBuiltins],
    // Bundled CommonJS (commander) requires node's own modules: an ES module has no require of its own.
    banner: { js: "import { createRequire as createRequireForBundle } from 'node:module';\nconst require = createRequireForBundle(import.meta.url);" },
    logLevel: 'warning',
  });
}

await rm(outdir, { recursive: true, force: true });
// What bin/ loads first: enough for --version and the cached --help, a few kilobytes to compile.
await bundle('quick', "export { createProcessDeps } from './cli/process-deps.js';\nexport { quickAnswer } from './cli/quick.js';\n");
// Everything else, loaded only when quick does not answer. Nothing of the small bundle's is shared
// state the large one relies on (the Deps it builds are plain values), so their copies can coexist.
await bundle('cli', "export { runCli } from './cli/entry.js';\n");
