// Import boundaries of src/ (run: npx depcruise src). Type-only imports count (tsPreCompilationDeps).
//
// Floors, bottom to top:
//   src/contract  shared types and wire contract: node builtins only
//   src/engine    local engine (SQLite): contract, better-sqlite3, stemmer
//   src/remote    HTTP client of the remote API: contract, undici
//   src/server    HTTP server: contract, src/engine/index.ts only, fastify, light-my-request
//   src/cli       everything; engine only via src/engine/index.ts, server only via src/server/index.ts
//
// The floor rules are allow-lists: "to" lists what a floor MAY import, anything else is a violation.
// Node builtins are dependency type 'core'; npm packages resolve to node_modules/<name>/...

/** npm packages that only the CLI floor may use. */
const CLI_ONLY_PACKAGES = ['commander', 'chalk', 'ora', 'cli-table3', 'conf'];

/** Packages each lower floor may import (as resolved paths). */
const npm = (...names) => `(^|/)node_modules/(${names.join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'floor-contract',
      severity: 'error',
      comment: 'src/contract may import only src/contract and node builtins (no npm packages).',
      from: { path: '^src/contract/' },
      to: { pathNot: ['^src/contract/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'floor-engine',
      severity: 'error',
      comment: 'src/engine may import only src/engine, src/contract, node builtins, better-sqlite3 and stemmer.',
      from: { path: '^src/engine/' },
      to: { pathNot: ['^src/(engine|contract)/', npm('better-sqlite3', 'stemmer')], dependencyTypesNot: ['core'] },
    },
    {
      name: 'floor-remote',
      severity: 'error',
      comment: 'src/remote may import only src/remote, src/contract, node builtins and undici.',
      from: { path: '^src/remote/' },
      to: { pathNot: ['^src/(remote|contract)/', npm('undici')], dependencyTypesNot: ['core'] },
    },
    {
      name: 'floor-server',
      severity: 'error',
      comment:
        'src/server may import only src/server, src/contract, src/engine/index.ts (not other engine files), ' +
        'node builtins, fastify and light-my-request.',
      from: { path: '^src/server/' },
      to: {
        pathNot: ['^src/(server|contract)/', '^src/engine/index[.]ts$', npm('fastify', 'light-my-request')],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'cli-engine-via-index',
      severity: 'error',
      comment: 'src/cli reaches the engine only through src/engine/index.ts.',
      from: { path: '^src/cli/' },
      to: { path: '^src/engine/', pathNot: '^src/engine/index[.]ts$' },
    },
    {
      name: 'cli-server-via-index',
      severity: 'error',
      comment: 'src/cli reaches the server only through src/server/index.ts.',
      from: { path: '^src/cli/' },
      to: { path: '^src/server/', pathNot: '^src/server/index[.]ts$' },
    },
    {
      name: 'floor-unknown',
      severity: 'error',
      comment:
        'src/ holds only the floors contract, engine, remote, server and cli; code elsewhere would escape ' +
        'the boundary rules. Move this module into one of them (or add the new floor to .dependency-cruiser.cjs).',
      from: { path: '^src/', pathNot: '^src/(contract|engine|remote|server|cli)/' },
      to: {},
    },
    {
      name: 'cli-only-packages',
      severity: 'error',
      comment: `Only src/cli may import ${CLI_ONLY_PACKAGES.join(', ')}.`,
      from: { path: '^src/', pathNot: '^src/cli/' },
      // resolved (node_modules/chalk/...) or, when not installed, the bare name
      to: { path: [npm(...CLI_ONLY_PACKAGES), `^(${CLI_ONLY_PACKAGES.join('|')})(/|$)`] },
    },
    {
      name: 'command-imports-command',
      severity: 'error',
      comment:
        'A command module (src/cli/commands/*.ts) may not import another file of src/cli/commands/; ' +
        'move the shared code elsewhere in src/cli.',
      from: { path: '^src/cli/commands/[^/]+$' },
      to: { path: '^src/cli/commands/' },
    },
    {
      name: 'no-cross-floor-cycle',
      severity: 'error',
      comment: 'Circular import that leaves its floor (cycles within one floor folder are tolerated).',
      from: { path: '^src/([^/]+)/' },
      to: { circular: true, via: { pathNot: '^src/$1/' } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'This import cannot be resolved to a file (typo, missing .js extension, or package not installed).',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment: "This npm package is not in package.json's dependencies.",
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment:
        'src/ ships to users: it may not import a devDependency at run time (type-only imports are fine). ' +
        'Move the package to dependencies or drop the import.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: ['(^|/)node_modules/@types/'] },
    },
    {
      name: 'not-to-test',
      severity: 'error',
      comment: 'src/ may not import from test/.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    detectProcessBuiltinModuleCalls: true,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
