/** `nex-compound patterns`: the local workspace's patterns (closed frequent item sets), largest support first. */
import { UsageError } from '../../contract/errors.js';
import { defineCommand, switchOption, valueOption } from '../command.js';
import { describeItems } from '../render/items.js';
import { openLocalEngine } from '../settings/backend.js';

export default defineCommand({
  name: 'patterns',
  localOnly: true,
  description: "the local workspace's patterns (closed frequent item sets), largest support first",
  options: {
    all: switchOption('--all', 'include patterns the latest pattern_detection no longer found (stale)'),
    limit: valueOption('--limit <n>', 'how many (default 50)'),
    members: switchOption('--members', "with --json: each pattern's member insight ids"),
  },
  async run(ctx, _args, options) {
    const limit = options.limit === undefined ? 50 : Number(options.limit);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number ≥ 1, got "${options.limit}"`);
    const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
    try {
      const { total, patterns } = await workspace.patterns.list({ all: Boolean(options.all), limit, members: Boolean(options.members) });
      if (total === 0) ctx.ui.hint('no patterns yet: run `nex-compound trigger pattern_detection --local --wait`');
      else if (total > patterns.length) ctx.ui.hint(`showing ${patterns.length} of ${total} patterns (--limit ${total} shows all)`);
      return {
        data: {
          kind: 'rows',
          columns: ['id', 'support', 'items', ...(options.all ? ['status'] : []), 'last_seen'],
          rows: patterns.map((p) => ({ id: p.id, support: p.support, items: describeItems(p.labels), status: p.status, last_seen: p.last_seen })),
          json: { total, patterns },
        },
      };
    } finally {
      engine.close();
    }
  },
});
