/**
 * main(argv, deps): parse the command line, run one command, render its data.
 * It throws the contract's error kinds and never touches process.exit; bin/ does.
 * Only the module of the command the line names is imported, to keep start-up cheap.
 */
import { UsageError } from '../contract/errors.js';
import type { Deps } from './deps.js';
import { EXIT_CODE_TABLE } from './exit-codes.js';
import { helpWidth, wrapHelp } from './render/help.js';
import { quickAnswer } from './quick.js';

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
      '  NEX_COMPOUND_REQUEST_TIMEOUT  one remote request\'s whole deadline: connect, headers, body (default 30s)',
      '  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  proxy settings',
      '  NEX_COMPOUND_HTTP_CLIENT=undici  requests through undici even without a proxy (default then: node:http)',
      '  NO_COLOR, FORCE_COLOR  disable or force colors',
      '  CI                     when set, spinners never animate',
      '',
      'Precedence: flag > environment > config profile > default.',
    ].join('\n'),
};

export async function main(argv: readonly string[], deps: Deps): Promise<void> {
  if (argv[0] === 'help' && argv[1] !== undefined) {
    if (HELP_TOPICS[argv[1]]) {
      deps.stdout.write(`${wrapHelp(HELP_TOPICS[argv[1]]!(), helpWidth(deps.stdout))}\n`);
      return;
    }
    await refuseUnknownHelpTopic(argv[1]);
  }
  // Asked many times a day by scripts and CI: answered before loading the argument parser.
  if (quickAnswer(argv, deps)) return;

  const [commander, { createUi }, { buildProgram, commandWord, loadCommands }] = await Promise.all([import('commander'), import('./ui.js'), import('./program.js')]);
  const { CommanderError } = commander;
  const word = argv[0] === 'help' ? undefined : commandWord(argv);
  const program = buildProgram(deps, commander, createUi, await loadCommands(word));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return;
      // `config set decay.grace -3d`: the value reads as an option; `--` ends the options.
      const dashValue = error.code === 'commander.unknownOption' && argv[0] === 'config' && argv[1] === 'set';
      throw new UsageError(error.message.replace(/^error: /, ''), dashValue ? `a value that starts with "-" goes after --: nex-compound config set ${argv[2] ?? 'KEY'} -- VALUE` : 'run `nex-compound --help` for usage');
    }
    throw error;
  }
}

/** `help bogus` is a typo, not a request for the whole help: exit 2 with the likeliest meant name. */
async function refuseUnknownHelpTopic(topic: string): Promise<void> {
  const { COMMAND_MODULES } = await import('./program.js');
  const known = [...Object.keys(COMMAND_MODULES), ...Object.keys(HELP_TOPICS)];
  if (known.includes(topic)) return;
  const { closest } = await import('../contract/parse.js');
  const guess = closest(topic, known);
  throw new UsageError(`no command or help topic "${topic}"`, guess ? `did you mean \`nex-compound help ${guess}\`?` : 'run `nex-compound --help` for the commands');
}
