/** The flags every command accepts, declared once: commander registers them, main reads them. */
import { negatedOption, switchOption, valueOption, type OptionValues } from './command.js';

export const GLOBAL_OPTIONS = {
  baseUrl: valueOption('--base-url <url>', 'Nex Developer API base URL (env NEX_BASE_URL)'),
  profile: valueOption('--profile <name>', 'config profile (env NEX_COMPOUND_PROFILE)'),
  apiKey: valueOption('--api-key <key>', 'API key; prefer NEX_API_KEY: flags leak into shell history and ps', { hidden: true }),
  json: switchOption('--json', 'print one JSON document on stdout'),
  quiet: switchOption('-q, --quiet', 'no backend line, progress or hints on stderr'),
  color: negatedOption('--no-color', 'no colors (also NO_COLOR)'),
  debug: switchOption('--debug', 'log requests and responses (key redacted) and show stack traces'),
  allowInsecureHttp: switchOption('--allow-insecure-http', 'allow sending the API key over plain http to a non-loopback host'),
  local: switchOption('--local', 'use the bundled local engine (SQLite)'),
  remote: switchOption('--remote', 'use the remote Nex API'),
  db: valueOption('--db <path>', 'local engine database (env NEX_COMPOUND_DB; default $XDG_DATA_HOME/nex-compound/engine.db)'),
  workspace: valueOption('--workspace <id>', 'local engine workspace (env NEX_COMPOUND_WORKSPACE; default 1)'),
} as const;

/** The global flags as a command sees them (--ndjson, a follow flag, decides the output mode too). */
export type GlobalOptions = OptionValues<typeof GLOBAL_OPTIONS> & { ndjson?: boolean };

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
