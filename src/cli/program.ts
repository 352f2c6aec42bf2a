/**
 * The command tree: which module declares each command, and how a declaration becomes a
 * commander command whose action builds the Ui and Context, runs the typed handler, renders
 * what it returns and cleans up. A run loads only the module of the command it names.
 */
import type { Command, Option } from 'commander';
import { isAbortError } from '../contract/abort.js';
import { InterruptedError, UsageError } from '../contract/errors.js';
import { JOB_TYPES } from '../contract/jobs.js';
import { isGroup, negatedOption, switchOption, valueOption, type AnyCommand, type CommandResult, type CommandSpec, type OptionSpecs, type OptionValues } from './command.js';
import type { Context } from './context.js';
import type { Deps } from './deps.js';
import { helpWidth, wrapHelp } from './render/help.js';
import type { createUi as CreateUi } from './ui.js';

/** The flags every command accepts, declared once: commander registers them, main reads them. */
export const GLOBAL_OPTIONS = {
  baseUrl: valueOption('--base-url <url>', 'Nex Developer API base URL (env NEX_BASE_URL)'),
  profile: valueOption('--profile <name>', 'config profile (env NEX_COMPOUND_PROFILE)'),
  apiKey: valueOption('--api-key <key>', 'API key; prefer NEX_API_KEY: flags leak into shell history and ps', { hidden: true }),
  json: switchOption('--json', 'print one JSON document on stdout'),
  jq: valueOption('--jq <expression>', "filter --json's document with jq (implies --json); strings print raw"),
  headers: negatedOption('--no-headers', 'tables and plain lines without their header row'),
  quiet: switchOption('-q, --quiet', 'no backend line, progress or hints on stderr'),
  color: negatedOption('--no-color', 'no colors (also NO_COLOR)'),
  debug: switchOption('--debug', 'log requests and responses (key redacted) and show stack traces'),
  allowInsecureHttp: switchOption('--allow-insecure-http', 'allow sending the API key over plain http to a non-loopback host'),
  local: switchOption('--local', 'use the bundled local engine (SQLite)'),
  remote: switchOption('--remote', 'use the remote Nex API'),
  db: valueOption('--db <path>', 'local engine database (env NEX_COMPOUND_DB; default $XDG_DATA_HOME/nex-compound/engine.db)', { path: true }),
  workspace: valueOption('--workspace <id>', 'local engine workspace (env NEX_COMPOUND_WORKSPACE; default 1)'),
} as const;

/** The global flags as a command sees them (--ndjson, a follow flag, decides the output mode too). */
export type GlobalOptions = OptionValues<typeof GLOBAL_OPTIONS> & { ndjson?: boolean };

/** Help puts a description under its term when fewer columns than this are left beside it. */
const MIN_DESCRIPTION = 24;

/** Global flags followed by a value: the word after one is not a command name. */
const VALUE_FLAGS = new Set(
  Object.values(GLOBAL_OPTIONS)
    .filter((o) => o.kind === 'value')
    .flatMap((o) => o.flags.split(/[ ,]+/).filter((part) => part.startsWith('-'))),
);

/** The command word of a command line (`--db x trigger …` → trigger), if there is one. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return argv[i + 1];
    if (!word.startsWith('-')) return word;
    if (VALUE_FLAGS.has(word)) i++;
  }
  return undefined;
}

/** Every command's module, in the order --help lists them. */
export const COMMAND_MODULES: Readonly<Record<string, () => Promise<{ default: AnyCommand }>>> = {
  trigger: () => import('./commands/trigger.js'),
  run: () => import('./commands/run.js'),
  status: () => import('./commands/status.js'),
  revert: () => import('./commands/revert.js'),
  watch: () => import('./commands/watch.js'),
  insights: () => import('./commands/insights.js'),
  demo: () => import('./commands/demo.js'),
  jobs: () => import('./commands/jobs.js'),
  metrics: () => import('./commands/metrics.js'),
  patterns: () => import('./commands/patterns.js'),
  playbook: () => import('./commands/playbook.js'),
  serve: () => import('./commands/serve.js'),
  keys: () => import('./commands/keys.js'),
  doctor: () => import('./commands/doctor.js'),
  backup: () => import('./commands/backup.js'),
  restore: () => import('./commands/restore.js'),
  completion: () => import('./commands/completion.js'),
  config: () => import('./commands/config.js'),
};

/** Commands that need the whole tree (completion describes every command). */
const NEEDS_WHOLE_TREE = new Set(['completion']);

/** The declarations a command line needs: its own command's, or all of them (help, a typo). */
export async function loadCommands(word: string | undefined): Promise<AnyCommand[]> {
  const load = word !== undefined && !NEEDS_WHOLE_TREE.has(word) ? COMMAND_MODULES[word] : undefined;
  if (load) return [(await load()).default];
  return Promise.all(Object.values(COMMAND_MODULES).map(async (loadOne) => (await loadOne()).default));
}

type Commander = typeof import('commander');

export function buildProgram(deps: Deps, commander: Commander, createUi: typeof CreateUi, commands: readonly AnyCommand[]): Command {
  const program = new commander.Command('nex-compound');
  program
    .description('Trigger, follow and gate Nex compounding-intelligence jobs')
    .version(deps.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help');
  addOptions(program, GLOBAL_OPTIONS, commander);
  program
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
      // Errors are printed once, by bin/, from the UsageError main throws.
      outputError: () => undefined,
      getOutHelpWidth: () => helpWidth(deps.stdout),
      getErrHelpWidth: () => helpWidth(deps.stderr),
    })
    .configureHelp({
      // A description that has no room beside its term (or a word wider than that room) goes under it, wrapped.
      formatItem(term, termWidth, description, helper) {
        const width = helper.helpWidth ?? 80;
        const beside = width - termWidth - 4;
        const longestWord = Math.max(...description.split(/\s+/).map((word) => word.length));
        if (description === '' || (beside >= MIN_DESCRIPTION && longestWord <= beside)) return commander.Help.prototype.formatItem.call(helper, term, termWidth, description, helper);
        const under = helper.boxWrap(description, width - 6).split('\n');
        return [`  ${term}`, ...under.map((line) => `      ${line}`)].join('\n');
      },
      minWidthToWrap: MIN_DESCRIPTION,
    })
    .addHelpText('after', () =>
      wrapHelp(
        `\nJob types: ${JOB_TYPES.join(', ')}\n\nExamples:\n  $ export NEX_API_KEY=…\n  $ nex-compound trigger pattern_detection --dry-run --wait\n  $ nex-compound watch 550e8400-e29b-41d4-a716-446655440000\n\nMore: nex-compound help exit-codes · nex-compound help environment`,
        helpWidth(deps.stdout),
      ),
    );

  const execute = async (command: Command, handler: (ctx: Context) => Promise<CommandResult>) => {
    const globals = command.optsWithGlobals() as GlobalOptions;
    const jq = globals.jq !== undefined ? await import('./render/jq.js') : undefined;
    if (jq && globals.jq !== undefined) {
      if (globals.ndjson) throw new UsageError('--jq filters the one document --json prints, not the lines of --ndjson', 'drop --ndjson, or pipe --ndjson to jq');
      await jq.checkJq(globals.jq);
    }
    const ui = await createUi(deps, {
      json: Boolean(globals.json) || jq !== undefined,
      ndjson: Boolean(globals.ndjson),
      quiet: Boolean(globals.quiet),
      color: globals.color !== false,
      debug: Boolean(globals.debug),
    });
    const cleanups: Array<() => Promise<void> | void> = [];
    const ctx: Context = { deps, ui, globals, program, onDispose: (cleanup) => cleanups.push(cleanup) };
    try {
      const result = await handler(ctx).catch((error: unknown) => {
        // Ctrl-C (or SIGTERM) in the middle of anything is an interruption, never a bug.
        if (deps.signal?.aborted && isAbortError(error)) throw new InterruptedError('interrupted before the command finished; nothing more was done');
        throw error;
      });
      if (result.data) {
        const { render, toJson } = await import('./render/render.js');
        if (jq && globals.jq !== undefined) {
          const { output, stderr } = await jq.applyJq(toJson(result.data), globals.jq, Boolean(deps.stdout.isTTY));
          for (const line of stderr.flatMap((text) => text.split('\n'))) ui.err(ui.clean(line));
          if (output !== '') ui.out(output);
        } else {
          const text = await render(result.data, ui.mode, ui.outChalk, { columns: ui.stdoutColumns, headers: globals.headers !== false, redact: (text) => ui.redact(text), now: deps.now() });
          // Nothing to show (an empty list, said on stderr): no blank line either.
          if (text !== '') ui.out(text);
        }
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

  for (const command of commands) register(program, command, commander, execute, () => helpWidth(deps.stdout));
  for (const command of allCommands(program)) command.exitOverride().configureOutput(program.configureOutput());
  return program;
}

type Execute = (command: Command, handler: (ctx: Context) => Promise<CommandResult>) => Promise<void>;

function register(parent: Command, spec: AnyCommand, commander: Commander, execute: Execute, width: () => number): void {
  const command = parent.command(spec.name).description(spec.description);
  if (isGroup(spec)) {
    for (const sub of spec.subcommands) register(command, sub, commander, execute, width);
    return;
  }
  for (const argument of spec.arguments ?? []) command.argument(argument.syntax, argument.description ?? '');
  addOptions(command, spec.options ?? {}, commander);
  const { helpAfter } = spec;
  if (helpAfter) command.addHelpText('after', () => wrapHelp(helpAfter, width()));
  command.action((...values: unknown[]) => {
    // commander passes the positional arguments, then the options object, then the command.
    const self = values.at(-1) as Command;
    const options = values.at(-2);
    const args = values.slice(0, -2);
    return execute(self, (ctx) => {
      if ((spec as CommandSpec).localOnly && ctx.globals.remote) {
        const name = self.parent && self.parent !== ctx.program ? `${self.parent.name()} ${spec.name}` : spec.name;
        throw new UsageError(`\`${name}\` works on the local engine only: the Nex API has no such endpoint`, 'drop --remote (and pass --db to choose the database)');
      }
      return (spec as CommandSpec).run(ctx, args as never, options as never);
    });
  });
}

function addOptions(command: Command, options: OptionSpecs, commander: Commander): void {
  for (const [key, spec] of Object.entries(options)) {
    const option: Option = new commander.Option(spec.flags, spec.description);
    // The handler reads the flag under its declared key: the two names must be one.
    if (option.attributeName() !== key) throw new Error(`option ${spec.flags} is declared as "${key}" but parses as "${option.attributeName()}"`);
    if (spec.hidden) option.hideHelp();
    command.addOption(option);
  }
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}
