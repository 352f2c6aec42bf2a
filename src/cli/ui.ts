/**
 * The one place that writes to the terminal. stdout carries data only; everything
 * else (backend line, progress, warnings, hints, errors) goes to stderr.
 * Every write passes through redaction so a secret can never leak, even when a
 * server echoes it back in an error message, and no written line can start a CI workflow
 * command (only `workflowCommand` writes those). Text from outside (server fields, insight
 * text) goes through `clean` before it is put in a line: see src/contract/sanitize.ts.
 */
import type { ChalkInstance } from 'chalk';
import { Secrets } from '../contract/redact.js';
import { defuseWorkflowCommand, sanitize } from '../contract/sanitize.js';
import type { Deps, OutputStream } from './deps.js';

export interface UiOptions {
  json: boolean;
  ndjson: boolean;
  quiet: boolean;
  color: boolean;
  debug: boolean;
}

export type OutputMode = 'json' | 'table' | 'plain';

/**
 * Builds the Ui. chalk is loaded only when a stream will actually be colored: importing it
 * costs ~20 ms here, and CI logs, pipes and scripts never need it.
 */
export async function createUi(deps: Deps, options: UiOptions): Promise<Ui> {
  const outLevel = colorLevel(deps.stdout, deps.env, options.color);
  const errLevel = colorLevel(deps.stderr, deps.env, options.color);
  if (outLevel === 0 && errLevel === 0) return new Ui(deps, options, PLAIN, PLAIN);
  const { Chalk } = await import('chalk');
  return new Ui(deps, options, new Chalk({ level: outLevel }), new Chalk({ level: errLevel }));
}

/** chalk's interface with every style a no-op, at level 0: `plain.bold.red(x)` is `x`. */
const PLAIN: ChalkInstance = (() => {
  const style = (...text: unknown[]) => text.join(' ');
  const proxy: ChalkInstance = new Proxy(style, {
    get: (target, key) => (key === 'level' ? 0 : key in target ? Reflect.get(target, key) : proxy),
  }) as unknown as ChalkInstance;
  return proxy;
})();

export class Ui {
  private readonly secrets: Secrets;

  constructor(
    private readonly deps: Deps,
    readonly options: UiOptions,
    readonly outChalk: ChalkInstance,
    readonly errChalk: ChalkInstance,
  ) {
    this.secrets = deps.secrets ?? new Secrets();
  }

  get mode(): OutputMode {
    if (this.options.json || this.options.ndjson) return 'json';
    return this.deps.stdout.isTTY ? 'table' : 'plain';
  }

  /**
   * Spinners animate only on a TTY outside CI. A pseudo-terminal that reports no width
   * (some CI runners, `script`) gets plain lines: a spinner cannot redraw what it cannot measure.
   */
  get interactive(): boolean {
    const { stderr, env } = this.deps;
    return Boolean(stderr.isTTY) && !isCi(env) && (stderr.columns ?? 0) > 0;
  }

  get stderrStream(): OutputStream {
    return this.deps.stderr;
  }

  get stdoutColumns(): number | undefined {
    return this.deps.stdout.columns;
  }

  addSecret(secret: string | undefined): void {
    this.secrets.add(secret);
  }

  redact(text: string): string {
    return this.secrets.redact(text);
  }

  /** Untrusted text made fit for a line: secrets redacted, then every control character escaped. */
  clean(text: string): string {
    return sanitize(this.redact(text));
  }

  /** Data, to stdout. */
  out(text: string): void {
    this.deps.stdout.write(defused(this.redact(text.endsWith('\n') ? text : `${text}\n`)));
  }

  /** Chatter (backend line, progress lines, hints), to stderr; --quiet silences it. */
  info(line: string): void {
    if (!this.options.quiet) this.err(line);
  }

  hint(line: string): void {
    if (!this.options.quiet) this.err(this.errChalk.dim(this.clean(line)));
  }

  warn(line: string): void {
    this.err(`${this.errChalk.yellow('warning:')} ${this.clean(line)}`);
  }

  debug(line: string): void {
    if (this.options.debug) this.err(this.errChalk.gray(`debug: ${line}`));
  }

  err(line: string): void {
    this.deps.stderr.write(defused(this.redact(`${line}\n`)));
  }

  /** A GitHub Actions workflow command (the CI module's own), to stderr as the runner reads it. */
  workflowCommand(line: string): void {
    this.deps.stderr.write(this.redact(`${line}\n`));
  }
}

/** Every line of a write, with any line a runner would take for a workflow command defused. */
function defused(text: string): string {
  return text.includes('::') ? text.split('\n').map(defuseWorkflowCommand).join('\n') : text;
}

export function isCi(env: Deps['env']): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** NO_COLOR and --no-color win, then FORCE_COLOR, then "is this stream a terminal". */
export function colorLevel(stream: OutputStream, env: Deps['env'], colorFlag: boolean): 0 | 1 | 2 | 3 {
  if (!colorFlag) return 0;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force.toLowerCase() === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  if (!stream.isTTY || env.TERM === 'dumb') return 0;
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  return env.TERM?.includes('256') ? 2 : 1;
}
