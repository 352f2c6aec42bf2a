/** `nex-compound patterns`: the local workspace's patterns, largest support first, each with an example member. */
import { UsageError } from '../../contract/errors.js';
import { sanitize } from '../../contract/sanitize.js';
import { defineCommand, switchOption, valueOption } from '../command.js';
import { describeItems } from '../render/items.js';
import { openLocalEngine } from '../settings/backend.js';

export default defineCommand({
  name: 'patterns',
  localOnly: true,
  description: "the local workspace's patterns (item sets that recur across insights), largest support first, each with an example",
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
          columns: ['id', 'support', 'items', ...(options.all ? ['status'] : []), 'example'],
          rows: patterns.map((p) => ({ id: p.id, support: p.support, items: describeItems(p.labels), status: p.status, example: example(p.examples[0]?.text) })),
          json: { total, patterns },
        },
      };
    } finally {
      engine.close();
    }
  },
});

/** One member, cut to fit a table column. */
function example(text: string | undefined): string {
  if (text === undefined) return '';
  const clean = sanitize(text);
  return clean.length > 90 ? `${clean.slice(0, 89)}…` : clean;
}
