/**
 * main(argv, deps): parse the command line, run one command, render its data.
 * It throws typed errors (errors.ts) and never touches process.exit; bin/ does.
 * Command modules are imported only when their command runs, to keep start-up cheap.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Deps } from './deps.js';
import { EXIT_CODE_TABLE, UsageError } from '../contract/errors.js';
import type { GlobalOptions } from './settings/settings.js';
import type { Context } from './context.js';
import type { CommandResult } from './command.js';
import { JOB_TYPES } from '../contract/jobs.js';

const HELP_TOPICS: Record<string, () => string> = {
  'exit-codes': () =>
    ['Exit codes of nex-compound:', '', ...EXIT_CODE_TABLE.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`)].join('\n'),
  environment: () =>
    [
      'Environment variables:',
      '',
      '  NEX_API_KEY            API key for the remote Nex API (preferred over --api-key, which leaks into shell history)',
      '  NEX_BASE_URL           base URL of the Nex Developer API (default https://app.nex.ai/api/developers)',
      '  JULEP_API_KEY, JULEP_BASE_URL    --provider julep (default https://api.julep.ai/api)',
      '  NEXIO_API_KEY, NEXIO_BASE_URL    --provider nexio (default https://api.usenexio.com; nx_test_/nx_live_ keys)',
      '  JOBS_API_TOKEN, JOBS_API_URL     --provider jobs (a Bearer JWT; no default base URL)',
      '  NEX_COMPOUND_PROFILE   config profile to use (default "default")',
      '  NEX_COMPOUND_CONFIG_DIR  directory of config.json (default $XDG_CONFIG_HOME/nex-compound)',
      '  NEX_COMPOUND_DB        local engine database (default $XDG_DATA_HOME/nex-compound/engine.db)',
      '  NEX_COMPOUND_WORKSPACE local engine workspace (default 1)',
      '  NEX_COMPOUND_LEASE_MS  local worker lease (default 30000; tests shorten it)',
      '  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  proxy settings',
      '  NO_COLOR, FORCE_COLOR  disable or force colors',
      '  CI                     when set, spinners never animate',
      '',
      'Precedence: flag > environment > config profile > default.',
    ].join('\n'),
};

export async function main(argv: readonly string[], deps: Deps): Promise<void> {
  if (argv[0] === 'help' && argv[1] !== undefined && HELP_TOPICS[argv[1]]) {
    deps.stdout.write(`${HELP_TOPICS[argv[1]]!()}\n`);
    return;
  }
  // Asked many times a day by scripts and CI: answer before loading the argument parser.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    deps.stdout.write(`${deps.version}\n`);
    return;
  }

  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && printCachedHelp(deps)) return;

  const [commander, { createUi }] = await Promise.all([import('commander'), import('./ui.js')]);
  const { CommanderError } = commander;
  const program = buildProgram(deps, commander, createUi);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return;
      throw new UsageError(error.message.replace(/^error: /, ''), 'run `nex-compound --help` for usage');
    }
    throw error;
  }
}

/**
 * The top-level help as rendered at build time (scripts/help-cache.mjs) for a pipe: 80 columns,
 * no color. Pipes and CI logs get it without loading commander; a terminal, whose width and
 * colors may differ, gets commander's own rendering.
 */
function printCachedHelp(deps: Deps): boolean {
  if (deps.stdout.isTTY || deps.env.NEX_COMPOUND_HELP_CACHE === 'off') return false;
  let text: string;
  try {
    text = readFileSync(new URL('../help.txt', import.meta.url), 'utf8');
  } catch {
    return false;
  }
  deps.stdout.write(text);
  return true;
}

/** Builds the command tree. Exported for completion scripts and tests. */
export function buildProgram(
  deps: Deps,
  { Command, Option }: typeof import('commander'),
  createUi: typeof import('./ui.js').createUi,
): Command {
  const program = new Command('nex-compound');
  program
    .description('Trigger, follow and gate Nex compounding-intelligence jobs')
    .version(deps.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--base-url <url>', 'Nex Developer API base URL (env NEX_BASE_URL)')
    .option('--profile <name>', 'config profile (env NEX_COMPOUND_PROFILE)')
    .addOption(new Option('--api-key <key>', 'API key; prefer NEX_API_KEY: flags leak into shell history and ps').hideHelp())
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'no backend line, progress or hints on stderr')
    .option('--no-color', 'no colors (also NO_COLOR)')
    .option('--debug', 'log requests and responses (key redacted) and show stack traces')
    .option('--allow-insecure-http', 'allow sending the API key over plain http to a non-loopback host')
    .option('--local', 'use the bundled local engine (SQLite)')
    .option('--remote', 'use the remote Nex API')
    .option('--db <path>', 'local engine database (env NEX_COMPOUND_DB; default $XDG_DATA_HOME/nex-compound/engine.db)')
    .option('--workspace <id>', 'local engine workspace (env NEX_COMPOUND_WORKSPACE; default 1)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
      // Errors are printed once, by bin/, from the UsageError thrown below.
      outputError: () => undefined,
    })
    .addHelpText(
      'after',
      `\nJob types: ${JOB_TYPES.join(', ')}\n\nExamples:\n  $ export NEX_API_KEY=…\n  $ nex-compound trigger pattern_detection --dry-run --wait\n  $ nex-compound watch 550e8400-e29b-41d4-a716-446655440000\n\nMore: nex-compound help exit-codes · nex-compound help environment`,
    );

  const run = (load: (ctx: Context) => Promise<CommandResult>) => async (command: Command) => {
    const globals = command.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    const ui = await createUi(deps, {
      json: Boolean(globals.json),
      ndjson: Boolean(globals.ndjson),
      quiet: Boolean(globals.quiet),
      color: globals.color !== false,
      debug: Boolean(globals.debug),
    });
    const cleanups: Array<() => Promise<void> | void> = [];
    const ctx: Context = { deps, ui, globals, onDispose: (cleanup) => cleanups.push(cleanup) };
    try {
      const result = await load(ctx);
      if (result.data) {
        const { render } = await import('./render/render.js');
        ui.out(await render(result.data, ui.mode, ui.outChalk, ui.stdoutColumns));
      }
      if (result.error) throw result.error;
    } finally {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch {
          // A cleanup that fails must not hide the command's own outcome.
        }
      }
    }
  };

  const followOptions = (command: Command) =>
    command
      .option('--timeout <duration>', 'deadline for the whole watch: 90s, 5m, 1h; 0 = none (default 30m)')
      .option('--interval <duration>', 'fixed poll period (default: 1s growing ×1.5 to 10s)')
      .option('--ndjson', 'stream one JSON object per observed change on stdout');

  followOptions(
    program
      .command('trigger')
      .description('start a compounding job (POST /v1/compounding/trigger)')
      .argument('<job_type>', JOB_TYPES.join(' | '))
      .option('--dry-run', 'preview the impact without persisting changes')
      .option('--wait', 'follow the job to the end, as `watch` does')
      .option('--idempotency-key <key>', 'reuse the key printed by an earlier attempt whose outcome was unknown')
      .option('--retries <n>', 'retries when the request provably never reached the server, or on 429/503 (default 4)'),
  ).action((jobType: string, options: Record<string, unknown>, command: Command) =>
    run(async (ctx) => (await import('./commands/trigger.js')).triggerCommand(ctx, jobType, options))(command),
  );

  followOptions(
    program
      .command('run')
      .description('run the compounding pipeline: consolidation → pattern_detection → playbook_synthesis → decay_sweep → metrics')
      .option('--dry-run', 'every job previews its impact and persists nothing')
      .option('--jobs <a,b>', 'only these job types, still in pipeline order')
      .option('--strict', 'a success with warnings stops the pipeline too')
      .option('--retries <n>', 'retries when a trigger provably never reached the server, or on 429/503 (default 4)')
      .addHelpText(
        'after',
        '\nEach job is triggered when the one before it has completed; the first failure stops the\npipeline with that failure\'s exit code, and a summary table ends the run. --timeout covers\nthe whole pipeline. In a dry run each job previews the data as it is now: later jobs do not\nsee earlier jobs\' previewed changes.\n\nExamples:\n  $ nex-compound run --local --dry-run\n  $ nex-compound run --jobs consolidation,metrics --timeout 20m',
      ),
  ).action((options: Record<string, unknown>, command: Command) =>
    run(async (ctx) => (await import('./commands/run.js')).runCommand(ctx, options))(command),
  );

  program
    .command('status')
    .description('show a job once (GET /v1/compounding/jobs/{job_run_id})')
    .argument('<job_run_id>', 'the UUID printed by trigger')
    .option('--retries <n>', 'retries of transient failures (default 4)')
    .option('--exit-status', 'exit 1 when the job has failed or was cancelled')
    .option('--provider <name>', 'the job API: nex (default), julep, nexio or jobs')
    .option('--strict', 'a success with warnings (Nexio degraded) exits 1')
    .option('--details', 'what the run found: consolidation clusters and conflicts (local engine; dry runs too)')
    .action((id: string, options: Record<string, unknown>, command: Command) =>
      run(async (ctx) => (await import('./commands/status.js')).statusCommand(ctx, id, options))(command),
    );

  program
    .command('revert')
    .description('undo a local consolidation run exactly; refuses if a later change touched the same insights')
    .argument('<job_run_id>', 'the consolidation run to undo')
    .action((id: string, _options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/revert.js')).revertCommand(ctx, id))(command),
    );

  followOptions(
    program
      .command('watch')
      .description('follow jobs until each is completed or failed; the exit code is the outcome')
      .argument('<job_run_id...>', 'one or more job UUIDs')
      .option('--provider <name>', 'the job API: nex (default), julep, nexio or jobs')
      .option('--strict', 'a success with warnings (Nexio degraded) exits 1'),
  ).action((ids: string[], options: Record<string, unknown>, command: Command) =>
    run(async (ctx) => (await import('./commands/watch.js')).watchCommand(ctx, ids, options))(command),
  );

  const insights = program.command('insights').description('the local engine\'s insight store: add, import, list, show, export');
  insights
    .command('add')
    .description('add an insight; one with the same normalized text is reinforced instead')
    .argument('<text>')
    .option('--source <source>', 'where it came from')
    .option('--confidence <c>', 'confidence from 0 to 1 (default 0.5)')
    .option('--tags <a,b>', 'comma-separated tags')
    .action((text: string, options: Record<string, string>, command: Command) =>
      run(async (ctx) => (await import('./commands/insights.js')).insightsAddCommand(ctx, text, options))(command),
    );
  insights
    .command('import')
    .description('import JSONL or CSV (by extension or --format); "-" reads stdin')
    .argument('<file>')
    .option('--format <format>', 'jsonl or csv')
    .option('--strict', 'write nothing if any line is bad')
    .action((file: string, options: { format?: string; strict?: boolean }, command: Command) =>
      run(async (ctx) => (await import('./commands/insights.js')).insightsImportCommand(ctx, file, options))(command),
    );
  insights
    .command('list')
    .description('list insights')
    .option('--status <status>', 'active, merged or archived')
    .option('--source <source>', 'only this source')
    .option('--search <text>', 'text contains (case-insensitive)')
    .option('--limit <n>', 'at most n (default 50)')
    .action((options: Record<string, string>, command: Command) =>
      run(async (ctx) => (await import('./commands/insights.js')).insightsListCommand(ctx, options))(command),
    );
  insights
    .command('show')
    .description('one insight with its merge history')
    .argument('<id>')
    .action((id: string, _options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/insights.js')).insightsShowCommand(ctx, id))(command),
    );
  insights
    .command('export')
    .description('every insight as JSONL, in id order (round-trips through import)')
    .option('--format <format>', 'jsonl (default)')
    .option('--output <file>', 'write to a file instead of stdout')
    .action((options: { format?: string; output?: string }, command: Command) =>
      run(async (ctx) => (await import('./commands/insights.js')).insightsExportCommand(ctx, options))(command),
    );

  program
    .command('demo')
    .description('load the bundled sample dataset into a fresh local workspace and run every available job')
    .action((_options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/demo.js')).demoCommand(ctx))(command),
    );

  program
    .command('jobs')
    .description('job history: the local engine\'s, or the remote jobs this machine triggered')
    .option('--limit <n>', 'how many, newest first (default 20)')
    .action((options: { limit?: string }, command: Command) =>
      run(async (ctx) => (await import('./commands/jobs.js')).jobsCommand(ctx, options))(command),
    );

  program
    .command('metrics')
    .description('the latest local metrics snapshot and the trend over recent ones')
    .option('--limit <n>', 'how many snapshots the trend covers (default 20)')
    .action((options: { limit?: string }, command: Command) =>
      run(async (ctx) => (await import('./commands/metrics.js')).metricsCommand(ctx, options))(command),
    );

  program
    .command('patterns')
    .description('the local workspace\'s patterns (closed frequent item sets), largest support first')
    .option('--all', 'include patterns the latest pattern_detection no longer found (stale)')
    .option('--limit <n>', 'how many (default 50)')
    .option('--members', 'with --json: each pattern\'s member insight ids')
    .action((options: { all?: boolean; limit?: string; members?: boolean }, command: Command) =>
      run(async (ctx) => (await import('./commands/patterns.js')).patternsCommand(ctx, options))(command),
    );

  program
    .command('playbook')
    .description('the local workspace\'s playbook: rules synthesized from patterns, most confident first')
    .option('--format <format>', 'table (default) or markdown, to paste into a document')
    .option('--all', 'include deprecated rules')
    .action((options: { all?: boolean; format?: string }, command: Command) =>
      run(async (ctx) => (await import('./commands/patterns.js')).playbookCommand(ctx, options))(command),
    );

  program
    .command('serve')
    .description('answer the Nex compounding API on this machine from the local engine (keys: `nex-compound keys create`)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port (default 8787; 0 picks a free one)')
    .option('--allow-remote', 'allow a non-loopback --host: other machines can then reach the engine')
    .action((options: { host?: string; port?: string; allowRemote?: boolean }, command: Command) =>
      run(async (ctx) => (await import('./commands/serve.js')).serveCommand(ctx, options))(command),
    );

  const keys = program.command('keys').description('API keys for `serve` (stored hashed; a key is shown once)');
  keys
    .command('create')
    .description('create a key for the workspace (--workspace, default 1) and print it once')
    .option('--scope <scope...>', 'record.write to trigger jobs (every key can read job status)')
    .action((options: { scope?: string[] }, command: Command) =>
      run(async (ctx) => (await import('./commands/keys.js')).keysCreateCommand(ctx, options))(command),
    );
  keys
    .command('list')
    .description('keys by id, workspace and scopes (never the keys themselves)')
    .action((_options: unknown, command: Command) => run(async (ctx) => (await import('./commands/keys.js')).keysListCommand(ctx))(command));
  keys
    .command('revoke')
    .description('revoke a key: requests with it get 401 from then on')
    .argument('<key_id>')
    .action((keyId: string, _options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/keys.js')).keysRevokeCommand(ctx, keyId))(command),
    );

  program
    .command('completion')
    .description('print a shell completion script: bash, zsh or fish')
    .argument('<shell>', 'bash | zsh | fish')
    .addHelpText('after', '\nLoad it with:\n  $ source <(nex-compound completion bash)\n  $ source <(nex-compound completion zsh)\n  $ nex-compound completion fish | source')
    .action((shell: string, _options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/completion.js')).completionCommand(ctx, shell, program))(command),
    );

  const config = program.command('config').description('manage settings per profile (file created with mode 0600)');
  config
    .command('set')
    .description(`set a value (${['api-key', 'base-url', 'timeout', 'interval'].join(', ')}); without a value it is read from stdin`)
    .argument('<key>')
    .argument('[value]')
    .action((key: string, value: string | undefined, _options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/config.js')).configSetCommand(ctx, key, value))(command),
    );
  config
    .command('get')
    .description('print a value (the API key redacted)')
    .argument('<key>')
    .action((key: string, _options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/config.js')).configGetCommand(ctx, key))(command),
    );
  config
    .command('unset')
    .description('remove a value')
    .argument('<key>')
    .action((key: string, _options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/config.js')).configUnsetCommand(ctx, key))(command),
    );
  config
    .command('list')
    .description('list the profile\'s values (the API key redacted)')
    .option('--all-profiles', 'every profile, not only the current one')
    .action((options: { allProfiles?: boolean }, command: Command) =>
      run(async (ctx) => (await import('./commands/config.js')).configListCommand(ctx, options))(command),
    );
  config
    .command('path')
    .description('print the config file path')
    .action((_options: unknown, command: Command) =>
      run(async (ctx) => (await import('./commands/config.js')).configPathCommand(ctx))(command),
    );

  for (const command of allCommands(program)) {
    command.exitOverride().configureOutput(program.configureOutput());
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}
