import type { Deps } from './deps.js';
import type { GlobalOptions } from './settings/settings.js';
import type { Ui } from './ui.js';

/** What every command receives: the outside world, the terminal, and the global flags. */
export interface Context {
  deps: Deps;
  ui: Ui;
  globals: GlobalOptions;
  /**
   * Registers a cleanup run when the command ends, however it ends: an HTTP pool's keep-alive
   * sockets would otherwise hold the process open after the output is written.
   */
  onDispose?: (cleanup: () => Promise<void> | void) => void;
}
