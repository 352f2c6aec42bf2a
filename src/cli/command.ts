/**
 * How a command is declared: its name, arguments and flags, and a handler whose parameters are
 * typed from those declarations — a flag added here is a typed field of the handler's options,
 * and a handler reading a flag that is not declared does not compile. Commands return data
 * (rendered by one renderer) and, optionally, the error that decides the exit code after it.
 */
import type { KnownError } from '../contract/errors.js';
import type { Context } from './context.js';
import type { Rendered } from './render/render.js';

export interface CommandResult {
  data?: Rendered;
  error?: KnownError;
}

interface OptionBase {
  /** Commander's flag syntax: '-q, --quiet', '--timeout <duration>', '--scope <scope...>'. */
  readonly flags: string;
  readonly description: string;
  /** Accepted but left out of --help (a flag we discourage, like --api-key). */
  readonly hidden?: boolean;
  /** The only values it takes: the command checks against this list, and completion offers it. */
  readonly values?: readonly string[];
  /** Its value is a file path: completion offers filenames (and for no other flag). */
  readonly path?: boolean;
}
/** What a flag may declare beside its syntax and description. */
type OptionExtra = Pick<OptionBase, 'hidden' | 'values' | 'path'>;
/** A switch: true when given. */
export interface SwitchOption extends OptionBase {
  readonly kind: 'switch';
}
/** A flag with one value. */
export interface ValueOption extends OptionBase {
  readonly kind: 'value';
}
/** A flag with one or more values. */
export interface ListOption extends OptionBase {
  readonly kind: 'list';
}
/** A `--no-x` flag: false when given, true otherwise. */
export interface NegatedOption extends OptionBase {
  readonly kind: 'negated';
}
export type OptionSpec = SwitchOption | ValueOption | ListOption | NegatedOption;

export const switchOption = (flags: string, description: string, extra: { hidden?: boolean } = {}): SwitchOption => ({ kind: 'switch', flags, description, ...extra });
export const valueOption = (flags: string, description: string, extra: OptionExtra = {}): ValueOption => ({ kind: 'value', flags, description, ...extra });
export const listOption = (flags: string, description: string, extra: OptionExtra = {}): ListOption => ({ kind: 'list', flags, description, ...extra });
export const negatedOption = (flags: string, description: string): NegatedOption => ({ kind: 'negated', flags, description });

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The handler's view of its flags: the key of each declaration, typed by its kind. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K] extends SwitchOption ? boolean : O[K] extends ListOption ? string[] : O[K] extends NegatedOption ? boolean : string;
};

export interface ArgumentSpec {
  /** '<job_type>' (required), '[value]' (optional) or '<job_run_id...>' (one or more). */
  readonly syntax: string;
  readonly description?: string;
  /** The only values it takes (checked by the command), offered by completion. */
  readonly values?: readonly string[];
  /** A file path: completion offers filenames. */
  readonly path?: boolean;
}

type ArgumentValue<A> = A extends { syntax: `${string}...${string}` } ? string[] : A extends { syntax: `[${string}` } ? string | undefined : string;
export type ArgumentValues<A extends readonly ArgumentSpec[]> = { -readonly [I in keyof A]: ArgumentValue<A[I]> };

export interface CommandSpec<A extends readonly ArgumentSpec[] = readonly ArgumentSpec[], O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  readonly description: string;
  readonly arguments?: A;
  readonly options?: O;
  /** Printed after the options in --help. */
  readonly helpAfter?: string;
  /** Works on the local engine only: --remote is refused rather than ignored. */
  readonly localOnly?: boolean;
  run(ctx: Context, args: ArgumentValues<A>, options: OptionValues<O>): Promise<CommandResult>;
}

/** A command with subcommands of its own (`insights add`, `config set`). */
export interface CommandGroup {
  readonly name: string;
  readonly description: string;
  readonly subcommands: readonly AnyCommand[];
}

// The registry holds commands of every shape; each was type-checked where it was declared.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandSpec<any, any> | CommandGroup;

export const isGroup = (command: AnyCommand): command is CommandGroup => 'subcommands' in command;

/** Declares a command; the handler's argument and option types follow from the declarations. */
export function defineCommand<const A extends readonly ArgumentSpec[] = [], const O extends OptionSpecs = Record<never, never>>(spec: CommandSpec<A, O>): CommandSpec<A, O> {
  return spec;
}

export function defineGroup(group: CommandGroup): CommandGroup {
  return group;
}
