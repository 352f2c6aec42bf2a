/**
 * One lifecycle every job API's states map onto, so `watch` decides "keep polling",
 * "success", "success with a warning" or "failure" the same way whichever API it follows.
 */

export const LIFECYCLE_STATES = [
  'queued',
  'running',
  'retrying',
  'succeeded',
  'succeeded_with_warnings',
  'failed',
  'cancelled',
  'unknown',
] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export type Outcome = 'succeeded' | 'succeeded_with_warnings' | 'failed' | 'cancelled';

/** The normalized fields added next to a provider's raw object in --json. */
export interface Normalized {
  provider: string;
  state: LifecycleState;
  terminal: boolean;
  /** Null until the job has ended. */
  outcome: Outcome | null;
}

const TERMINAL: ReadonlySet<LifecycleState> = new Set(['succeeded', 'succeeded_with_warnings', 'failed', 'cancelled']);

export function normalized(provider: string, state: LifecycleState): Normalized {
  const terminal = TERMINAL.has(state);
  return { provider, state, terminal, outcome: terminal ? (state as Outcome) : null };
}

/**
 * Maps a provider's state string through its table. Matching ignores case and surrounding
 * space (the jobs API writes PENDING, the others pending); anything the table does not know
 * is `unknown`, which a watch keeps polling through rather than guessing an outcome.
 */
export function mapState(table: Readonly<Record<string, LifecycleState>>, raw: unknown): LifecycleState {
  if (typeof raw !== 'string') return 'unknown';
  const key = raw.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key]! : 'unknown';
}

/** Nex's own states (accepted → running → completed | failed). */
export const NEX_STATES: Readonly<Record<string, LifecycleState>> = {
  accepted: 'queued',
  running: 'running',
  completed: 'succeeded',
  failed: 'failed',
};

export function isFailureOutcome(outcome: Outcome | null): boolean {
  return outcome === 'failed' || outcome === 'cancelled';
}

/** The job APIs whose states nex-compound maps onto this lifecycle (`--provider`). */
export const PROVIDER_NAMES = ['nex', 'julep', 'nexio', 'jobs'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
