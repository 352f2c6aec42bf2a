/**
 * `nex-compound completion bash|zsh|fish`: a completion script generated from the command
 * tree itself, so a new command or option can never be missing from it.
 */
import type { Command, Option } from 'commander';
import { UsageError } from '../../contract/errors.js';
import type { Context } from '../context.js';
import { CONFIG_KEYS } from '../settings/config-keys.js';
import { JOB_TYPES } from '../../contract/jobs.js';
import { PROVIDER_NAMES } from '../../contract/lifecycle.js';
import { defineCommand, type CommandResult } from '../command.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export function parseShell(input: string): Shell {
  const shell = input.trim().toLowerCase();
  if ((SHELLS as readonly string[]).includes(shell)) return shell as Shell;
  throw new UsageError(`no completion for shell "${input}"`, `use one of: ${SHELLS.join(', ')}`);
}

interface OptionSpec {
  flags: string[];
  description: string;
  /** Fixed values it takes, if any; takesValue without values completes files. */
  values?: readonly string[];
  takesValue: boolean;
}

interface CommandSpec {
  path: string[];
  description: string;
  options: OptionSpec[];
  subcommands: CommandSpec[];
  /** Values of its first positional argument, if they are a fixed set. */
  argumentValues?: readonly string[];
}

/** Values an option or argument takes, by name: the completion knows these sets. */
const OPTION_VALUES: Record<string, readonly string[]> = {
  '--provider': PROVIDER_NAMES,
  '--format': ['jsonl', 'csv', 'markdown'],
  '--status': ['active', 'merged', 'archived'],
  '--scope': ['record.write'],
  '--jobs': JOB_TYPES,
};

const ARGUMENT_VALUES: Record<string, readonly string[]> = {
  'trigger': JOB_TYPES,
  'config set': CONFIG_KEYS,
  'config get': CONFIG_KEYS,
  'config unset': CONFIG_KEYS,
  'completion': ['bash', 'zsh', 'fish'],
};

function optionSpec(option: Option): OptionSpec {
  const flags = [option.short, option.long].filter((f): f is string => Boolean(f));
  const takesValue = option.required || option.optional;
  const values = option.long ? OPTION_VALUES[option.long] : undefined;
  return { flags, description: option.description, takesValue, ...(values ? { values } : {}) };
}

function describeCommand(command: Command, path: string[]): CommandSpec {
  const visible = (command.options as Option[]).filter((o) => !o.hidden);
  const key = path.join(' ');
  return {
    path,
    description: command.description(),
    options: [...visible.map(optionSpec), { flags: ['-h', '--help'], description: 'show help', takesValue: false }],
    subcommands: (command.commands as Command[]).filter((c) => c.name() !== 'help').map((c) => describeCommand(c, [...path, c.name()])),
    ...(ARGUMENT_VALUES[key] ? { argumentValues: ARGUMENT_VALUES[key] } : {}),
  };
}

export function describeProgram(program: Command): CommandSpec {
  return describeCommand(program, []);
}

const quoteSingle = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export function bashScript(root: CommandSpec): string {
  const lines: string[] = [
    '# nex-compound completion for bash. Load it with:',
    '#   source <(nex-compound completion bash)',
    '# or save it as ~/.local/share/bash-completion/completions/nex-compound',
    '_nex_compound() {',
    '  local cur prev path i word',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  path=""',
    // The command path: the words so far that are not options or option values.
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    '    case "$word" in',
    '      -*) ;;',
    '      *)',
    '        case " ${COMP_WORDS[i-1]} " in',
    `          ${valueOptions(root).map((f) => `" ${f} "`).join('|') || '" --never "'}) ;;`,
    '          *) if _nex_compound_is_command "${path:+$path }$word"; then path="${path:+$path }$word"; fi ;;',
    '        esac ;;',
    '    esac',
    '  done',
    '  case "$prev" in',
  ];
  for (const [flag, values] of Object.entries(OPTION_VALUES)) lines.push(`    ${flag}) COMPREPLY=($(compgen -W ${quoteSingle(values.join(' '))} -- "$cur")); return ;;`);
  const fileOptions = valueOptions(root).filter((f) => !(f in OPTION_VALUES));
  if (fileOptions.length > 0) lines.push(`    ${fileOptions.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`);
  lines.push('  esac', '  case "$path" in');
  for (const spec of walk(root)) {
    const words = [
      ...spec.subcommands.map((c) => c.path.at(-1)!),
      ...spec.options.flatMap((o) => o.flags.filter((f) => f.startsWith('--'))),
      ...(spec.argumentValues ?? []),
    ];
    lines.push(`    ${quoteSingle(spec.path.join(' '))}) COMPREPLY=($(compgen -W ${quoteSingle(words.join(' '))} -- "$cur")) ;;`);
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
    'complete -o default -F _nex_compound nex-compound',
  );
  return lines.join('\n');
}

export function zshScript(root: CommandSpec): string {
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
    `    [[ " ${valueOptions(root).join(' ')} " == *" \${words[i-1]} "* ]] && continue`,
    '    if _nex_compound_is_command "${(j: :)path_words} $word"; then path_words+=($word); fi',
    '  done',
    '  case "${(j: :)path_words}" in',
  ];
  for (const spec of walk(root)) {
    const specs = spec.options.map((o) => zshOption(o));
    if (spec.subcommands.length > 0) {
      const described = spec.subcommands.map((c) => quoteSingle(`${c.path.at(-1)!}:${c.description.replace(/:/g, '\\:')}`));
      lines.push(`    ${quoteSingle(spec.path.join(' '))})`, `      local -a subcommands=(${described.join(' ')})`, `      _arguments -s ${specs.join(' ')} '*:: :->sub' && return`, `      _describe 'command' subcommands ;;`);
    } else {
      const argument = spec.argumentValues ? ` ${quoteSingle(`1:value:(${spec.argumentValues.join(' ')})`)}` : ` '*:file:_files'`;
      lines.push(`    ${quoteSingle(spec.path.join(' '))}) _arguments -s ${specs.join(' ')}${argument} ;;`);
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

function zshOption(option: OptionSpec): string {
  const description = option.description.replace(/[[\]:]/g, (c) => `\\${c}`);
  const names = option.flags.length > 1 ? `(${option.flags.join(' ')})'{${option.flags.join(',')}}'` : option.flags[0]!;
  const value = option.takesValue ? (option.values ? `:value:(${option.values.join(' ')})` : ':value:_files') : '';
  return quoteSingle(`${names}[${description}]${value}`);
}

export function fishScript(root: CommandSpec): string {
  const lines: string[] = [
    '# nex-compound completion for fish. Load it with:',
    '#   nex-compound completion fish | source',
    '# or save it as ~/.config/fish/completions/nex-compound.fish',
    'complete -c nex-compound -f',
  ];
  for (const spec of walk(root)) {
    const condition = spec.path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${spec.path.at(-1)!}`;
    for (const sub of spec.subcommands) {
      lines.push(`complete -c nex-compound -n ${quoteSingle(condition)} -a ${sub.path.at(-1)!} -d ${quoteSingle(sub.description)}`);
    }
    if (spec.path.length === 0) continue;
    for (const option of spec.options) {
      const long = option.flags.find((f) => f.startsWith('--'))?.slice(2);
      const short = option.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
      const parts = ['complete -c nex-compound', `-n ${quoteSingle(condition)}`];
      if (long) parts.push(`-l ${long}`);
      if (short) parts.push(`-s ${short}`);
      if (option.takesValue) parts.push(option.values ? `-x -a ${quoteSingle(option.values.join(' '))}` : '-r -F');
      parts.push(`-d ${quoteSingle(option.description)}`);
      lines.push(parts.join(' '));
    }
    if (spec.argumentValues) lines.push(`complete -c nex-compound -n ${quoteSingle(condition)} -a ${quoteSingle(spec.argumentValues.join(' '))}`);
  }
  for (const option of root.options) {
    const long = option.flags.find((f) => f.startsWith('--'))?.slice(2);
    if (!long) continue;
    lines.push(`complete -c nex-compound -l ${long}${option.takesValue ? ' -r' : ''} -d ${quoteSingle(option.description)}`);
  }
  return lines.join('\n');
}

function walk(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.subcommands.flatMap(walk)];
}

/** Every option that takes a value, anywhere in the tree: its next word is not a command. */
function valueOptions(root: CommandSpec): string[] {
  return [...new Set(walk(root).flatMap((s) => s.options.filter((o) => o.takesValue).flatMap((o) => o.flags)))];
}

function completionCommand(ctx: Context, shellArg: string): CommandResult {
  const shell = parseShell(shellArg);
  const root = describeProgram(ctx.program);
  const script = shell === 'bash' ? bashScript(root) : shell === 'zsh' ? zshScript(root) : fishScript(root);
  return { data: { kind: 'text', text: script, json: { shell, script } } };
}

export default defineCommand({
  name: 'completion',
  description: 'print a shell completion script: bash, zsh or fish',
  arguments: [{ syntax: '<shell>', description: 'bash | zsh | fish' }],
  helpAfter: '\nLoad it with:\n  $ source <(nex-compound completion bash)\n  $ source <(nex-compound completion zsh)\n  $ nex-compound completion fish | source',
  run: async (ctx, [shell]) => completionCommand(ctx, shell),
});
