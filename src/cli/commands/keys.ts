/** `nex-compound keys create|list|revoke`: API keys for `serve`, stored hashed in the engine database. */
import { NotFoundError, UsageError } from '../../contract/errors.js';
import { parseScopes, SCOPES } from '../../contract/scopes.js';
import type { ApiKeyRow } from '../../engine/index.js';
import { defineCommand, defineGroup, listOption } from '../command.js';
import { openLocalEngine } from '../settings/backend.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const describe = (k: ApiKeyRow) => ({
  key_id: k.key_id,
  workspace_id: k.workspace_id,
  scopes: k.scopes.join(','),
  created_at: iso(k.created_at),
  revoked_at: iso(k.revoked_at),
});

export default defineGroup({
  name: 'keys',
  description: 'API keys for `serve` (stored hashed; a key is shown once)',
  subcommands: [
    defineCommand({
      name: 'create',
      localOnly: true,
      description: 'create a key for the workspace (--workspace, default 1) and print it once',
      options: { scope: listOption('--scope <scope...>', 'record.write to trigger jobs (every key can read job status)', { values: SCOPES }) },
      // The key's workspace is the global --workspace (default 1), as for every local command.
      async run(ctx, _args, options) {
        const scopes = parseScopes(options.scope);
        const { engine, workspace } = await openLocalEngine(ctx);
        try {
          const { key, row } = await engine.keys.create(workspace.id, scopes);
          // The one time the key is shown: it is data, so stdout; the advice goes to stderr.
          ctx.ui.info(`created ${row.key_id} for workspace ${workspace.id} (${scopes.join(', ')}); the key is shown once — store it now`);
          return { data: { kind: 'text', text: key, json: { key, ...describe(row), scopes } } };
        } finally {
          engine.close();
        }
      },
    }),
    defineCommand({
      name: 'list',
      localOnly: true,
      description: 'keys by id, workspace and scopes (never the keys themselves)',
      async run(ctx) {
        const { engine } = await openLocalEngine(ctx, { reading: true });
        try {
          const keys = await engine.keys.list();
          if (keys.length === 0) ctx.ui.hint('no API keys yet: `nex-compound keys create --workspace 1 --scope record.write`');
          return { data: { kind: 'rows', columns: ['key_id', 'workspace_id', 'scopes', 'created_at', 'revoked_at'], rows: keys.map(describe), json: keys.map((k) => ({ ...describe(k), scopes: k.scopes })) } };
        } finally {
          engine.close();
        }
      },
    }),
    defineCommand({
      name: 'revoke',
      localOnly: true,
      description: 'revoke a key: requests with it get 401 from then on',
      arguments: [{ syntax: '<key_id>' }],
      async run(ctx, [keyId]) {
        if (!/^key_[0-9a-f]{12}$/.test(keyId)) throw new UsageError(`"${keyId.slice(0, 40)}" is not a key id`, 'key ids look like key_0123456789ab; `nex-compound keys list` shows them');
        const { engine } = await openLocalEngine(ctx);
        try {
          const row = await engine.keys.revoke(keyId);
          if (!row) throw new NotFoundError(`no API key ${keyId}`, 'list them with `nex-compound keys list`');
          ctx.ui.info(`revoked ${keyId}: requests with it now get 401`);
          return { data: { kind: 'record', record: describe(row) } };
        } finally {
          engine.close();
        }
      },
    }),
  ],
});
