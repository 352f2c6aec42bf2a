import type { Deps } from './deps.js';
import type { GlobalOptions } from './settings.js';
import type { Ui } from './ui.js';

/** What every command receives: the outside world, the terminal, and the global flags. */
export interface Context {
  deps: Deps;
  ui: Ui;
  globals: GlobalOptions;
}
