/**
 * Issue 25's progress and human views through the built bin: a local consolidation's stages
 * with their counts as a watcher sees them (NDJSON and the CI lines), an insight's merge history
 * as a table with confidences to two decimals, empty lists that print only their "no X yet",
 * and relative times on a terminal only.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateLabelledCorpus } from '../../bench/lib/labelled-insights.js';
import { BIN, runBin, tempDir } from '../helpers/cli.js';

/** A stage with its count: "signing 1,024/2,431". */
const COUNTED = /^(.+?) [\d,]+\/[\d,]+$/;

describe('progress and views through the bin', () => {
  const dir = tempDir('nex-compound-views-');
  const env = { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, XDG_DATA_HOME: dir };
  let jobId = '';
  let ndjson: Array<{ status: string; stage?: string; progress?: number }> = [];
  let ciLines: string[] = [];

  before(async () => {
    const corpus = generateLabelledCorpus({ facts: 2_000, seed: 25 });
    const jsonl = path.join(dir, 'corpus.jsonl');
    writeFileSync(jsonl, corpus.insights.map((i) => JSON.stringify({ text: i.text, source: ['gong-call', 'zendesk'][i.id % 2], confidence: 0.3 + (i.id % 7) / 10 })).join('\n'));
    const imported = await runBin(['insights', 'import', jsonl, '--json'], { env });
    assert.equal(imported.code, 0, imported.stderr);
    assert.ok((JSON.parse(imported.stdout) as { imported: number }).imported >= 2_000, imported.stdout);
    // Each progress report holds the worker this long, so every stage stays in view of a watcher polling every 100 ms.
    const run = await runBin(['trigger', 'consolidation', '--local', '--wait', '--ndjson'], { env: { ...env, NEX_COMPOUND_JOB_SLOWDOWN_MS: '300' }, timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    ndjson = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as (typeof ndjson)[number]);
    ciLines = run.stderr.split('\n').filter((line) => / stage=/.test(line));
    jobId = (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { job_run_id: string }).job_run_id;
  });

  test('a watched consolidation shows at least three stages with counts, the percent moving through them', () => {
    const counted = new Set(ndjson.map((s) => COUNTED.exec(s.stage ?? '')?.[1]).filter((name) => name !== undefined));
    assert.ok(counted.size >= 3, `stages with counts: ${[...counted].join(', ')}\n${ndjson.map((s) => `${s.progress}% ${s.stage}`).join('\n')}`);
    const percents = new Set(ndjson.filter((s) => s.status === 'running').map((s) => s.progress));
    assert.ok([...percents].filter((p) => p !== undefined && p > 0 && p < 100).length >= 3, `percents: ${[...percents].join(', ')}`);
    assert.equal(ndjson.at(-1)!.status, 'completed');
    // The CI lines on stderr carry the stages too, quoted: stage="comparing candidates 0/1,234".
    const ciStages = new Set(ciLines.map((line) => /stage="([^"]+) [\d,]+\/[\d,]+"/.exec(line)?.[1]).filter((name) => name !== undefined));
    assert.ok(ciStages.size >= 3, ciLines.join('\n'));
  });

  test('insights show of a merged insight: its merge history as a table, confidences to two decimals; JSON unchanged', async () => {
    const merged = await runBin(['insights', 'list', '--status', 'merged', '--limit', '1', '--json'], { env });
    const { id, merged_into: survivor } = (JSON.parse(merged.stdout) as Array<{ id: number; merged_into: number }>)[0]!;
    const shown = await runBin(['insights', 'show', String(survivor)], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^confidence\s+\d\.\d{2}$/m);
    assert.match(shown.stdout, /^base_confidence\s+\d\.\d{2}$/m);
    assert.match(shown.stdout, /^merge history\nMERGE\s+ID\s+CONFIDENCE\s+SOURCE\s+TEXT$/m);
    assert.match(shown.stdout, new RegExp(`^← merged in\\s+${id}\\s+\\d\\.\\d{2}\\s+\\S+\\s+\\S`, 'm'));
    assert.doesNotMatch(shown.stdout, /merged_from|\{"/, 'no JSON blob');
    const other = await runBin(['insights', 'show', String(id)], { env });
    assert.match(other.stdout, new RegExp(`^→ merged into\\s+${survivor}\\s`, 'm'));
    const json = JSON.parse((await runBin(['insights', 'show', String(survivor), '--json'], { env })).stdout) as { confidence: unknown; history: { merged_from: Array<{ id: number }> } };
    assert.equal(typeof json.confidence, 'number');
    assert.ok(json.history.merged_from.some((m) => m.id === id));
  });

  test('status --details lists conflicts with their texts', async () => {
    const details = await runBin(['status', jobId, '--local', '--details'], { env });
    assert.equal(details.code, 0, details.stderr);
    const conflict = /^ {2}(\d+) ↔ (\d+) .*\n {4}\1: \S.*\n {4}\2: \S/m;
    assert.match(details.stdout, conflict);
  });

  test('empty lists print only their "no X yet" line: no header, no blank line', async () => {
    const empty = { ...env, NEX_COMPOUND_DB: path.join(dir, 'empty.db') };
    const cases: Array<[string[], RegExp]> = [
      [['jobs'], /no jobs yet/],
      [['insights', 'list'], /no insights match/],
      [['patterns'], /no patterns yet/],
      [['playbook', '--format', 'table'], /no playbook rules yet/],
      [['metrics'], /no metrics snapshot yet/],
    ];
    for (const [argv, hint] of cases) {
      const r = await runBin(argv, { env: empty });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '', `${argv.join(' ')} printed:\n${r.stdout}`);
      assert.match(r.stderr, hint);
      assert.deepEqual(r.stderr.trim().split('\n').filter((line) => !line.startsWith('→ local engine')).length, 1, r.stderr);
    }
    const json = await runBin(['jobs', '--json'], { env: empty });
    assert.equal(json.stdout.trim(), '[]', 'JSON still says so');
  });

  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  test('relative times beside timestamps on a terminal only', { skip: hasScript ? false : 'util-linux `script` is not installed' }, async () => {
    const errFile = path.join(dir, 'pty-stderr');
    const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
    const command = `stty cols 120 rows 100; exec ${[process.execPath, BIN, 'status', jobId, '--local'].map(quote).join(' ')} 2>${quote(errFile)}`;
    const pty = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dir, TERM: 'xterm', NO_COLOR: '1', ...env }, timeout: 60_000 });
    assert.equal(pty.status, 0, readFileSync(errFile, 'utf8'));
    assert.match(pty.stdout, /│ completed_at\s+│ \d{4}-\d{2}-\d{2}T[\d:.]+Z \((just now|\d+ (s|min|h) ago)\)/);
    const piped = await runBin(['status', jobId, '--local'], { env });
    assert.match(piped.stdout, /^completed_at\s+\d{4}-\d{2}-\d{2}T[\d:.]+Z$/m, 'a pipe gets the timestamp alone');
  });
});
