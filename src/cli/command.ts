import type { CliError } from '../contract/errors.js';
import type { Rendered } from './render/render.js';

/** Commands return data to render and, optionally, the error that decides the exit code after it. */
export interface CommandResult {
  data?: Rendered;
  error?: CliError;
}
