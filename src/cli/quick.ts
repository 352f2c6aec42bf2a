/**
 * The answers scripts and CI ask for many times a day — `--version` and the top-level `--help` —
 * given without the argument parser or the command tree. bin/ asks here first, from a small
 * bundle of its own, and loads the rest of the CLI only when this does not answer.
 */
import { readFileSync } from 'node:fs';
import type { Deps } from './deps.js';
import { DEFAULT_HELP_WIDTH, helpWidth } from './render/help.js';

/** True when it answered: the whole command line was --version (-V), or --help (-h) with the cached text. */
export function quickAnswer(argv: readonly string[], deps: Deps): boolean {
  if (argv.length !== 1) return false;
  if (argv[0] === '--version' || argv[0] === '-V') {
    deps.stdout.write(`${deps.version}\n`);
    return true;
  }
  return (argv[0] === '--help' || argv[0] === '-h') && printCachedHelp(deps);
}

/**
 * The top-level help as rendered at build time (scripts/help-cache.mjs) for a pipe: 80 columns,
 * no color. Pipes, CI logs and terminals at least 80 columns wide (where it fits) get it without
 * loading commander; a narrower terminal gets commander's rendering at its own width.
 */
function printCachedHelp(deps: Deps): boolean {
  if (helpWidth(deps.stdout) < DEFAULT_HELP_WIDTH || deps.env.NEX_COMPOUND_HELP_CACHE === 'off') return false;
  let text: string;
  try {
    text = readFileSync(new URL('../help.txt', import.meta.url), 'utf8');
  } catch {
    return false;
  }
  deps.stdout.write(text);
  return true;
}
