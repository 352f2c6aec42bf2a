/** Live progress in a CI log: a line per new status or stage at once, a moving count at most every few seconds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deps } from '../../../src/cli/deps.js';
import { createUi } from '../../../src/cli/ui.js';
import { CI_COUNT_EVERY_MS, createLineCounter, createWatchReporter } from '../../../src/cli/render/progress.js';
import type { JobStatus } from '../../../src/contract/jobs.js';
import { FakeTerminal } from '../../helpers/cli.js';

async function ciUi(clock: { t: number }, ndjson = false) {
  const stdout = new FakeTerminal();
  const stderr = new FakeTerminal();
  const deps = { stdout, stderr, stdin: [] as never, env: { CI: 'true' }, now: () => clock.t, sleep: async () => {}, random: () => 0.5, homedir: '/nonexistent', version: 'test' } as unknown as Deps;
  const ui = await createUi(deps, { json: ndjson, ndjson, quiet: false, color: false, debug: false });
  return { ui, stdout, stderr };
}

const ID = '11111111-2222-4333-8444-555555555555';
const running = (stage: string, progress: number): JobStatus => ({ job_run_id: ID, job_type: 'consolidation', status: 'running', stage, progress, attempts: 1 });

test('CI lines: a new stage at once, its moving count at most every CI_COUNT_EVERY_MS, the end at once; the stage quoted', async () => {
  const clock = { t: Date.parse('2026-12-03T12:00:00Z') };
  const { ui, stderr } = await ciUi(clock);
  const reporter = await createWatchReporter(ui, [ID], () => clock.t);
  // Polled every 100 ms for 12 s while the count moves: no line per poll.
  for (let i = 0; i < 120; i++) {
    reporter.change(running(`signing ${(i * 500).toLocaleString('en-US')}/60,000`, 3 + i / 2));
    clock.t += 100;
  }
  reporter.change(running('comparing candidates 0/9,698', 90));
  clock.t += 100;
  reporter.change(running('comparing candidates 1,024/9,698', 91));
  clock.t += 100;
  reporter.change({ job_run_id: ID, job_type: 'consolidation', status: 'completed', stage: 'done', progress: 100, attempts: 1, insights_scanned: 60_000 });
  reporter.stop();
  const lines = stderr.text.trim().split('\n');
  const stages = lines.map((line) => /stage=("[^"]*"|\S+)/.exec(line)?.[1]);
  assert.deepEqual(stages, ['"signing 0/60,000"', '"signing 25,000/60,000"', '"signing 50,000/60,000"', '"comparing candidates 0/9,698"', 'done'], stderr.text);
  assert.equal(CI_COUNT_EVERY_MS, 5_000);
  assert.match(lines.at(-1)!, /completed stage=done progress=100% attempt=1 scanned=60000$/);
});

test('--ndjson streams every change to stdout, even those the CI lines hold back', async () => {
  const clock = { t: Date.parse('2026-12-03T12:00:00Z') };
  const { ui, stdout } = await ciUi(clock, true);
  const reporter = await createWatchReporter(ui, [ID], () => clock.t);
  for (let i = 0; i < 5; i++) {
    reporter.change(running(`signing ${i * 1024}/5,000`, 3 + i));
    clock.t += 100;
  }
  const stages = stdout.text.trim().split('\n').map((line) => (JSON.parse(line) as { stage: string }).stage);
  assert.deepEqual(stages, ['signing 0/5,000', 'signing 1024/5,000', 'signing 2048/5,000', 'signing 3072/5,000', 'signing 4096/5,000']);
});

test('a line counter shows nothing outside an interactive terminal', async () => {
  const clock = { t: 0 };
  const { ui, stderr, stdout } = await ciUi(clock);
  const counter = await createLineCounter(ui, 'importing big.jsonl', () => clock.t);
  for (let i = 0; i < 20; i++) {
    clock.t += 1_000;
    counter.update(i * 10_000);
  }
  counter.stop();
  assert.equal(stderr.text + stdout.text, '');
});

test('on an interactive terminal a line counter appears after a moment and counts the lines read', async () => {
  const clock = { t: 0 };
  const stderr = new FakeTerminal(true);
  const deps = { stdout: new FakeTerminal(true), stderr, stdin: [] as never, env: {}, now: () => clock.t, sleep: async () => {}, random: () => 0.5, homedir: '/nonexistent', version: 'test' } as unknown as Deps;
  const ui = await createUi(deps, { json: false, ndjson: false, quiet: false, color: false, debug: false });
  const counter = await createLineCounter(ui, 'importing big\u001b[2J.jsonl', () => clock.t);
  counter.update(500);
  assert.equal(stderr.text, '', 'a short read shows nothing');
  clock.t = 300;
  counter.update(412_000);
  counter.stop();
  assert.match(stderr.text, /importing big\\x1b\[2J\.jsonl · 412,000 lines/, 'the label cleaned, the count grouped');
});
