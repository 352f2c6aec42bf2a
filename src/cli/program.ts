/**
 * The command tree: which module declares each command, and how a declaration becomes a
 * commander command whose action builds the Ui and Context, runs the typed handler, renders
 * what it returns and cleans up. A run loads only the module of the command it names.
 */
import type { Command, Option } from 'commander';
import { JOB_TYPES } from '../contract/jobs.js';
import { isGroup, type AnyCommand, type CommandResult, type CommandSpec, type OptionSpecs } from './command.js';
import type { Context } from './context.js';
import type { Deps } from './deps.js';
import { GLOBAL_OPTIONS, type GlobalOptions } from './globals.js';
import type { createUi as CreateUi } from './ui.js';

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
    })
    .addHelpText(
      'after',
      `\nJob types: ${JOB_TYPES.join(', ')}\n\nExamples:\n  $ export NEX_API_KEY=…\n  $ nex-compound trigger pattern_detection --dry-run --wait\n  $ nex-compound watch 550e8400-e29b-41d4-a716-446655440000\n\nMore: nex-compound help exit-codes · nex-compound help environment`,
    );

  const execute = async (command: Command, handler: (ctx: Context) => Promise<CommandResult>) => {
    const globals = command.optsWithGlobals() as GlobalOptions;
    const ui = await createUi(deps, {
      json: Boolean(globals.json),
      ndjson: Boolean(globals.ndjson),
      quiet: Boolean(globals.quiet),
      color: globals.color !== false,
      debug: Boolean(globals.debug),
    });
    const cleanups: Array<() => Promise<void> | void> = [];
    const ctx: Context = { deps, ui, globals, program, onDispose: (cleanup) => cleanups.push(cleanup) };
    try {
      const result = await handler(ctx);
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

  for (const command of commands) register(program, command, commander, execute);
  for (const command of allCommands(program)) command.exitOverride().configureOutput(program.configureOutput());
  return program;
}

type Execute = (command: Command, handler: (ctx: Context) => Promise<CommandResult>) => Promise<void>;

function register(parent: Command, spec: AnyCommand, commander: Commander, execute: Execute): void {
  const command = parent.command(spec.name).description(spec.description);
  if (isGroup(spec)) {
    for (const sub of spec.subcommands) register(command, sub, commander, execute);
    return;
  }
  for (const argument of spec.arguments ?? []) command.argument(argument.syntax, argument.description ?? '');
  addOptions(command, spec.options ?? {}, commander);
  if (spec.helpAfter) command.addHelpText('after', spec.helpAfter);
  command.action((...values: unknown[]) => {
    // commander passes the positional arguments, then the options object, then the command.
    const self = values.at(-1) as Command;
    const options = values.at(-2);
    const args = values.slice(0, -2);
    return execute(self, (ctx) => (spec as CommandSpec).run(ctx, args as never, options as never));
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
