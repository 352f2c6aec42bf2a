import type { Command } from 'commander';
import type { Deps } from './deps.js';
import type { GlobalOptions } from './program.js';
import type { Ui } from './ui.js';

/** What every command receives: the outside world, the terminal, and the global flags. */
export interface Context {
  deps: Deps;
  ui: Ui;
  globals: GlobalOptions;
  /** The command tree as parsed (completion describes it). */
  program: Command;
  /**
   * Registers a cleanup run when the command ends, however it ends: an HTTP pool's keep-alive
   * sockets would otherwise hold the process open after the output is written.
   */
  onDispose?: (cleanup: () => Promise<void> | void) => void;
  /** The local database and workspace this run opened, once it has: follow-up commands name them. */
  localEngine?: { path: string; workspaceId: number };
}
