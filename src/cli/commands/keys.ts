/** `nex-compound keys create|list|revoke`: API keys for `serve`, stored hashed in the engine database. */
import { openLocalEngine } from '../settings/backend.js';
import type { Context } from '../context.js';
import { UsageError } from '../../contract/errors.js';
import { createApiKey, listApiKeys, parseScopes, revokeApiKey, type ApiKeyRow } from '../../engine/store/keys.js';
import type { CommandResult } from '../command.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const describe = (k: ApiKeyRow) => ({
  key_id: k.key_id,
  workspace_id: k.workspace_id,
  scopes: k.scopes.join(','),
  created_at: iso(k.created_at),
  revoked_at: iso(k.revoked_at),
});

/** The key's workspace is the global --workspace (default 1), as for every local command. */
export async function keysCreateCommand(ctx: Context, options: { scope?: string[] }): Promise<CommandResult> {
  const scopes = parseScopes(options.scope);
  const engine = await openLocalEngine(ctx);
  const workspace = engine.workspaceId;
  try {
    const { key, row } = createApiKey(engine.db, workspace, scopes, ctx.deps.now());
    // The one time the key is shown: it is data, so stdout; the advice goes to stderr.
    ctx.ui.info(`created ${row.key_id} for workspace ${workspace} (${scopes.join(', ')}); the key is shown once — store it now`);
    return { data: { kind: 'text', text: key, json: { key, ...describe(row), scopes } } };
  } finally {
    engine.db.close();
  }
}

export async function keysListCommand(ctx: Context): Promise<CommandResult> {
  const engine = await openLocalEngine(ctx);
  try {
    const keys = listApiKeys(engine.db);
    if (keys.length === 0) ctx.ui.hint('no API keys yet: `nex-compound keys create --workspace 1 --scope record.write`');
    return { data: { kind: 'rows', columns: ['key_id', 'workspace_id', 'scopes', 'created_at', 'revoked_at'], rows: keys.map(describe), json: keys.map((k) => ({ ...describe(k), scopes: k.scopes })) } };
  } finally {
    engine.db.close();
  }
}

export async function keysRevokeCommand(ctx: Context, keyId: string): Promise<CommandResult> {
  if (!/^key_[0-9a-f]{12}$/.test(keyId)) throw new UsageError(`"${keyId.slice(0, 40)}" is not a key id`, 'key ids look like key_0123456789ab; `nex-compound keys list` shows them');
  const engine = await openLocalEngine(ctx);
  try {
    const row = revokeApiKey(engine.db, keyId, ctx.deps.now());
    ctx.ui.info(`revoked ${keyId}: requests with it now get 401`);
    return { data: { kind: 'record', record: describe(row) } };
  } finally {
    engine.db.close();
  }
}
