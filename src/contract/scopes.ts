/** What an API key of `serve` may do: every key reads job status; record.write triggers jobs. */
import { UsageError } from './errors.js';

export const SCOPES = ['record.read', 'record.write'] as const;
export type Scope = (typeof SCOPES)[number];

export function parseScopes(values: readonly string[] | undefined): Scope[] {
  const scopes = new Set<Scope>(['record.read']);
  for (const value of values ?? []) {
    for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!(SCOPES as readonly string[]).includes(part)) throw new UsageError(`unknown scope "${part}"`, `scopes: ${SCOPES.join(', ')}`);
      scopes.add(part as Scope);
    }
  }
  return [...scopes].sort();
}
