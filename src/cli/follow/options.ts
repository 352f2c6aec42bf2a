/** The flags of every command that follows jobs to their end (trigger, run, watch). */
import { switchOption, valueOption } from '../command.js';

export const FOLLOW_OPTIONS = {
  timeout: valueOption('--timeout <duration>', 'deadline for the whole watch: 90s, 5m, 1h; 0 = none (default 30m)'),
  interval: valueOption('--interval <duration>', 'fixed poll period (default: 1s growing ×1.5 to 10s)'),
  ndjson: switchOption('--ndjson', 'stream one JSON object per observed change on stdout'),
} as const;
