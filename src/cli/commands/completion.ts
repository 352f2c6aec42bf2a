/**
 * `nex-compound completion bash|zsh|fish`: a completion script generated from the typed command
 * declarations themselves (src/cli/command.ts), so a new command or flag can never be missing
 * from it, a flag offers exactly the values its command accepts, and filenames are offered only
 * where a path is declared.
 */
import { UsageError } from '../../contract/errors.js';
import { isGroup, type AnyCommand, type ArgumentSpec, type OptionSpec, type OptionSpecs } from '../command.js';
import type { Context } from '../context.js';
import { defineCommand, type CommandResult } from '../command.js';
import { GLOBAL_OPTIONS, loadCommands } from '../program.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export function parseShell(input: string): Shell {
  const shell = input.trim().toLowerCase();
  if ((SHELLS as readonly string[]).includes(shell)) return shell as Shell;
  throw new UsageError(`no completion for shell "${input}"`, `use one of: ${SHELLS.join(', ')}`);
}

/** A flag as completion sees it. */
interface CompletedOption {
  flags: string[];
  description: string;
  takesValue: boolean;
  /** Fixed values it takes, if any. */
  values?: readonly string[];
  /** Its value is a path: the only flags whose values complete as filenames. */
  path: boolean;
}

interface CompletionNode {
  path: string[];
  description: string;
  /** Its own flags (the global ones are everywhere, see `globals`). */
  options: CompletedOption[];
  subcommands: CompletionNode[];
  /** Values of its first positional argument, if they are a fixed set. */
  argumentValues?: readonly string[];
  /** Its positional arguments are paths. */
  argumentPath: boolean;
}

export interface CompletionTree {
  root: CompletionNode;
  /** The flags every command accepts. */
  globals: CompletedOption[];
}

const HELP: CompletedOption = { flags: ['-h', '--help'], description: 'show help', takesValue: false, path: false };
const VERSION: CompletedOption = { flags: ['-V', '--version'], description: 'print the version', takesValue: false, path: false };

function completedOption(spec: OptionSpec): CompletedOption {
  return {
    flags: spec.flags.split(/[ ,]+/).filter((part) => part.startsWith('-')),
    description: spec.description,
    takesValue: spec.kind === 'value' || spec.kind === 'list',
    ...(spec.values ? { values: spec.values } : {}),
    path: spec.path === true,
  };
}

const visibleOptions = (options: OptionSpecs = {}) => Object.values(options).filter((o) => !o.hidden).map(completedOption);

function node(command: AnyCommand, parent: string[]): CompletionNode {
  const path = [...parent, command.name];
  if (isGroup(command)) return { path, description: command.description, options: [HELP], subcommands: command.subcommands.map((c) => node(c, path)), argumentPath: false };
  const first: ArgumentSpec | undefined = command.arguments?.[0];
  return {
    path,
    description: command.description,
    options: [...visibleOptions(command.options), HELP],
    subcommands: [],
    ...(first?.values ? { argumentValues: first.values } : {}),
    argumentPath: (command.arguments ?? []).some((a: ArgumentSpec) => a.path === true),
  };
}

/** The tree completion offers, from the commands' declarations and the global flags. */
export function completionTree(commands: readonly AnyCommand[], description: string): CompletionTree {
  return {
    root: { path: [], description, options: [HELP, VERSION], subcommands: commands.map((c) => node(c, [])), argumentPath: false },
    globals: visibleOptions(GLOBAL_OPTIONS),
  };
}

const quoteSingle = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
const longFlags = (options: readonly CompletedOption[]) => options.flatMap((o) => o.flags.filter((f) => f.startsWith('--')));

/** bash: what the word after each value flag completes to (`return` ends the completion there). */
function bashValueCases(options: readonly CompletedOption[], indent: string): string[] {
  const lines: string[] = [];
  const plain: string[] = [];
  for (const option of options.filter((o) => o.takesValue)) {
    if (option.values) lines.push(`${indent}${option.flags.join('|')}) COMPREPLY=($(compgen -W ${quoteSingle(option.values.join(' '))} -- "$cur")); return ;;`);
    else if (option.path) lines.push(`${indent}${option.flags.join('|')}) _nex_compound_files; return ;;`);
    else plain.push(...option.flags);
  }
  // A duration, a number, a URL: nothing to offer, and not filenames either.
  if (plain.length > 0) lines.push(`${indent}${plain.join('|')}) return ;;`);
  return lines;
}

export function bashScript({ root, globals }: CompletionTree): string {
  const lines: string[] = [
    '# nex-compound completion for bash. Load it with:',
    '#   source <(nex-compound completion bash)',
    '# or save it as ~/.local/share/bash-completion/completions/nex-compound',
    '_nex_compound_files() {',
    '  compopt -o filenames 2>/dev/null',
    '  COMPREPLY+=($(compgen -f -- "$cur"))',
    '}',
    '_nex_compound() {',
    '  local cur prev path i word',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  path=""',
    '  COMPREPLY=()',
    // The command path: the words so far that are not options or option values.
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    '    case "$word" in',
    '      -*) ;;',
    '      *)',
    '        case " ${COMP_WORDS[i-1]} " in',
    `          ${valueFlags({ root, globals }).map((f) => `" ${f} "`).join('|')}) ;;`,
    '          *) if _nex_compound_is_command "${path:+$path }$word"; then path="${path:+$path }$word"; fi ;;',
    '        esac ;;',
    '    esac',
    '  done',
    // A command's own flags first: `--format` means one thing to playbook and another to import.
    '  case "$path" in',
  ];
  for (const spec of walk(root)) {
    const cases = bashValueCases(spec.options, '        ');
    if (cases.length > 0) lines.push(`    ${quoteSingle(spec.path.join(' '))})`, '      case "$prev" in', ...cases, '      esac ;;');
  }
  lines.push('  esac', '  case "$prev" in', ...bashValueCases(globals, '    '), '  esac', '  case "$path" in');
  for (const spec of walk(root)) {
    const words = [...spec.subcommands.map((c) => c.path.at(-1)!), ...longFlags(spec.options), ...longFlags(globals), ...(spec.argumentValues ?? [])];
    const files = spec.argumentPath ? ' [[ $cur != -* ]] && _nex_compound_files;' : '';
    lines.push(`    ${quoteSingle(spec.path.join(' '))}) COMPREPLY=($(compgen -W ${quoteSingle(words.join(' '))} -- "$cur"));${files} ;;`);
  }
  lines.push(
    '  esac',
    '}',
    '_nex_compound_is_command() {',
    '  case "$1" in',
    `    ${walk(root).filter((s) => s.path.length > 0).map((s) => quoteSingle(s.path.join(' '))).join('|')}) return 0 ;;`,
    '  esac',
    '  return 1',
    '}',
    // No `-o default`: filenames only where a path is declared, never for --timeout or --retries.
    'complete -F _nex_compound nex-compound',
  );
  return lines.join('\n');
}

export function zshScript({ root, globals }: CompletionTree): string {
  const globalSpecs = globals.map(zshOption).join(' ');
  const lines: string[] = [
    '#compdef nex-compound',
    '# nex-compound completion for zsh. Load it with:',
    '#   source <(nex-compound completion zsh)',
    '# or save it as _nex-compound in a directory on $fpath',
    '_nex_compound() {',
    '  local -a path_words',
    '  local word i',
    '  for ((i = 2; i < CURRENT; i++)); do',
    '    word=${words[i]}',
    '    [[ $word == -* ]] && continue',
    `    [[ " ${valueFlags({ root, globals }).join(' ')} " == *" \${words[i-1]} "* ]] && continue`,
    '    if _nex_compound_is_command "${(j: :)path_words} $word"; then path_words+=($word); fi',
    '  done',
    '  case "${(j: :)path_words}" in',
  ];
  for (const spec of walk(root)) {
    const specs = [globalSpecs, ...spec.options.map(zshOption)].join(' ');
    if (spec.subcommands.length > 0) {
      const described = spec.subcommands.map((c) => quoteSingle(`${c.path.at(-1)!}:${c.description.replace(/:/g, '\\:')}`));
      lines.push(`    ${quoteSingle(spec.path.join(' '))})`, `      local -a subcommands=(${described.join(' ')})`, `      _arguments -s ${specs} '*:: :->sub' && return`, `      _describe 'command' subcommands ;;`);
    } else {
      const argument = spec.argumentValues ? ` ${quoteSingle(`1:value:(${spec.argumentValues.join(' ')})`)}` : spec.argumentPath ? ` '*:file:_files'` : ` '*:argument: '`;
      lines.push(`    ${quoteSingle(spec.path.join(' '))}) _arguments -s ${specs}${argument} ;;`);
    }
  }
  lines.push(
    '  esac',
    '}',
    '_nex_compound_is_command() {',
    '  case "${1# }" in',
    `    ${walk(root).filter((s) => s.path.length > 0).map((s) => quoteSingle(s.path.join(' '))).join('|')}) return 0 ;;`,
    '  esac',
    '  return 1',
    '}',
    'if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _nex_compound "$@"; else compdef _nex_compound nex-compound; fi',
  );
  return lines.join('\n');
}

function zshOption(option: CompletedOption): string {
  const description = option.description.replace(/[[\]:]/g, (c) => `\\${c}`);
  const names = option.flags.length > 1 ? `(${option.flags.join(' ')})'{${option.flags.join(',')}}'` : option.flags[0]!;
  // A space as the action: the value is described, and nothing (no filename) is offered.
  const value = !option.takesValue ? '' : option.values ? `:value:(${option.values.join(' ')})` : option.path ? ':file:_files' : ':value: ';
  return quoteSingle(`${names}[${description}]${value}`);
}

/** fish: the flag's value: its values, filenames for a path, otherwise required but not a file. */
const fishValue = (option: CompletedOption) => (!option.takesValue ? [] : option.values ? [`-x -a ${quoteSingle(option.values.join(' '))}`] : option.path ? ['-r -F'] : ['-x']);

function fishOption(option: CompletedOption, condition?: string): string {
  const long = option.flags.find((f) => f.startsWith('--'))?.slice(2);
  const short = option.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
  const parts = ['complete -c nex-compound'];
  if (condition) parts.push(`-n ${quoteSingle(condition)}`);
  if (long) parts.push(`-l ${long}`);
  if (short) parts.push(`-s ${short}`);
  parts.push(...fishValue(option), `-d ${quoteSingle(option.description)}`);
  return parts.join(' ');
}

export function fishScript({ root, globals }: CompletionTree): string {
  const lines: string[] = [
    '# nex-compound completion for fish. Load it with:',
    '#   nex-compound completion fish | source',
    '# or save it as ~/.config/fish/completions/nex-compound.fish',
    // No filenames unless a flag or an argument is a path.
    'complete -c nex-compound -f',
  ];
  for (const spec of walk(root)) {
    const condition = spec.path.length === 0 ? '__fish_use_subcommand' : spec.path.map((word) => `__fish_seen_subcommand_from ${word}`).join('; and ');
    for (const sub of spec.subcommands) {
      lines.push(`complete -c nex-compound -n ${quoteSingle(condition)} -a ${sub.path.at(-1)!} -d ${quoteSingle(sub.description)}`);
    }
    if (spec.path.length === 0) continue;
    for (const option of spec.options) lines.push(fishOption(option, condition));
    if (spec.argumentValues) lines.push(`complete -c nex-compound -n ${quoteSingle(condition)} -a ${quoteSingle(spec.argumentValues.join(' '))}`);
    if (spec.argumentPath) lines.push(`complete -c nex-compound -n ${quoteSingle(condition)} -F`);
  }
  for (const option of [...globals, VERSION]) lines.push(fishOption(option));
  return lines.join('\n');
}

function walk(spec: CompletionNode): CompletionNode[] {
  return [spec, ...spec.subcommands.flatMap(walk)];
}

/** Every flag that takes a value, anywhere in the tree: its next word is not a command. */
function valueFlags({ root, globals }: CompletionTree): string[] {
  return [...new Set([...globals, ...walk(root).flatMap((s) => s.options)].filter((o) => o.takesValue).flatMap((o) => o.flags))];
}

async function completionCommand(ctx: Context, shellArg: string): Promise<CommandResult> {
  const shell = parseShell(shellArg);
  const tree = completionTree(await loadCommands(undefined), ctx.program.description());
  const script = shell === 'bash' ? bashScript(tree) : shell === 'zsh' ? zshScript(tree) : fishScript(tree);
  return { data: { kind: 'text', text: script, json: { shell, script } } };
}

export default defineCommand({
  name: 'completion',
  description: 'print a shell completion script: bash, zsh or fish',
  arguments: [{ syntax: '<shell>', description: 'bash | zsh | fish', values: SHELLS }],
  helpAfter: '\nLoad it with:\n  $ source <(nex-compound completion bash)\n  $ source <(nex-compound completion zsh)\n  $ nex-compound completion fish | source',
  run: (ctx, [shell]) => completionCommand(ctx, shell),
});
