/** `nex-compound metrics`: the latest local metrics snapshot and the trend over recent ones. */
import { sanitize } from '../../contract/sanitize.js';
import { defineCommand, valueOption, type CommandResult, type OptionValues } from '../command.js';
import { styled } from '../render/render.js';
import type { Context } from '../context.js';
import { openLocalEngine } from '../settings/backend.js';

const SPARK = '▁▂▃▄▅▆▇█';

export function sparkline(values: number[]): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  return values.map((v) => SPARK[max === min ? 3 : Math.round(((v - min) / (max - min)) * (SPARK.length - 1))]).join('');
}

const OPTIONS = {
  limit: valueOption('--limit <n>', 'how many snapshots the trend covers (default 20)'),
} as const;

export default defineCommand({
  name: 'metrics',
  localOnly: true,
  description: 'the latest local metrics snapshot and the trend over recent ones',
  options: OPTIONS,
  run: (ctx, _args, options) => metricsCommand(ctx, options),
});

async function metricsCommand(ctx: Context, options: OptionValues<typeof OPTIONS>): Promise<CommandResult> {
  const { engine, workspace } = await openLocalEngine(ctx, { reading: true });
  try {
    const snapshots = await workspace.metrics.recent(Math.max(2, Math.min(Number(options.limit ?? 20) || 20, Number.MAX_SAFE_INTEGER)));
    const latest = snapshots.at(-1);
    if (!latest) {
      ctx.ui.hint('no metrics snapshot yet: run `nex-compound trigger metrics --local --wait`');
      return { data: { kind: 'text', text: '', json: { latest: null, trend: [] } } };
    }
    const trend = snapshots.map((s) => ({ taken_at: s.taken_at, active: s.insights.active, average_confidence: s.average_confidence, stale_ratio: s.stale_ratio }));
    const histogramMax = Math.max(1, ...latest.confidence_histogram);
    const record: Record<string, unknown> = {
      taken_at: latest.taken_at,
      active: latest.insights.active,
      merged: latest.insights.merged,
      archived: latest.insights.archived,
      average_confidence: latest.average_confidence,
      stale_ratio: latest.stale_ratio,
      patterns: latest.patterns,
      rules: latest.rules,
      // Lines of our own (figures only): kept as lines.
      confidence_histogram: styled(
        latest.confidence_histogram.map((n, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)} ${'█'.repeat(Math.round((n / histogramMax) * 20))} ${n}`).join('\n'),
      ),
      [`trend (${snapshots.length} snapshots)`]: styled(
        [
          `active      ${sparkline(trend.map((t) => t.active))}`,
          `confidence  ${sparkline(trend.map((t) => t.average_confidence ?? 0))}`,
          `stale ratio ${sparkline(trend.map((t) => t.stale_ratio))}`,
        ].join('\n'),
      ),
      last_runs: styled(
        Object.entries(latest.last_runs)
          .map(([type, run]) => sanitize(`${type}: ${run.status}${run.duration_ms !== null ? ` in ${run.duration_ms} ms` : ''}`))
          .join('\n'),
      ),
    };
    return { data: { kind: 'record', record, json: { latest, trend } } };
  } finally {
    engine.close();
  }
}
