/** `demo`: the sample as of today, one demo at a time per database. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { sampleAsOfToday } from '../../../src/cli/commands/demo.js';
import { THEMES } from '../../../scripts/make-demo-data.mjs';
import { BIN, runBin, tempDir } from '../../helpers/cli.js';

const DAY = 86_400_000;

test('the sample is as old on any day: every insight\'s age is the same whenever the demo runs', () => {
  const ages = (now: number) =>
    sampleAsOfToday(now).map((line) => {
      const record = JSON.parse(line) as { created_at: string; last_reinforced_at: string };
      return [now - Date.parse(record.created_at), now - Date.parse(record.last_reinforced_at)];
    });
  const today = Date.parse('2026-12-03T12:00:00Z');
  const aYearOn = today + 365 * DAY;
  assert.ok(ages(today).length >= 300);
  assert.deepEqual(ages(aYearOn), ages(today));
  // Nothing lies in the future of the day it runs.
  assert.ok(ages(today).every(([created, reinforced]) => created! >= 0 && reinforced! >= 0));
});

test('a second demo on the same database while one runs is refused (exit 2) and the first completes', async () => {
  const dir = tempDir('nex-compound-demo-');
  const env = { XDG_DATA_HOME: dir, NEX_COMPOUND_CONFIG_DIR: dir, HOME: dir };
  // The first demo's jobs are slowed (each progress report blocks 300 ms), so it is surely still
  // running when the second starts, however loaded the machine.
  const first = spawn(process.execPath, [BIN, 'demo', '--json'], { env: { PATH: process.env.PATH ?? '', ...env, NEX_COMPOUND_JOB_SLOWDOWN_MS: '300' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  first.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const firstDone = new Promise<number | null>((resolve) => first.once('close', resolve));
  // Wait until the first holds its database (it has announced it).
  const deadline = Date.now() + 20_000;
  while (!/local engine at/.test(stderr) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.match(stderr, /local engine at/, 'the first demo started');
  const second = await runBin(['demo'], { env, timeoutMs: 20_000 });
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /^error: another `nex-compound demo` is running on .*demo\.db$/m);
  assert.equal(await firstDone, 0, stderr);
  // Once it is done, the next demo runs.
  const third = await runBin(['demo', '--json'], { env, timeoutMs: 60_000 });
  assert.equal(third.code, 0, third.stderr);
  assert.ok(path.isAbsolute(JSON.parse(third.stdout).database));
});

test("the demo's playbook is short and states the themes planted in its sample", async () => {
  const dir = tempDir('nex-compound-demo-playbook-');
  const env = { NEX_COMPOUND_DB: path.join(dir, 'demo.db'), NEX_COMPOUND_CONFIG_DIR: dir };
  const demo = await runBin(['demo', '--json'], { env, timeoutMs: 60_000 });
  assert.equal(demo.code, 0, demo.stderr);
  const patterns = JSON.parse((await runBin(['patterns', '--json'], { env })).stdout) as { total: number };
  const playbook = JSON.parse((await runBin(['playbook', '--json', '--all'], { env })).stdout) as { rules: Array<{ status: string; antecedent_labels: string[]; consequent_labels: string[]; examples: unknown[] }> };
  const rules = playbook.rules.filter((r) => r.status === 'active');
  assert.ok(patterns.total > 0 && patterns.total <= 30, `≤ 30 patterns: ${patterns.total}`);
  assert.ok(rules.length > 0 && rules.length <= 20, `≤ 20 rules: ${rules.length}`);
  const stated = (theme: (typeof THEMES)[number]) =>
    rules.some((r) => {
      const labels = [...r.antecedent_labels, ...r.consequent_labels];
      return theme.tags.every((tag) => labels.includes(`#${tag}`)) && (!theme.cue || labels.some((l) => !l.startsWith('#') && l.includes(theme.cue!)));
    });
  const missed = THEMES.filter((t) => !stated(t)).map((t) => t.name);
  assert.ok(missed.length <= THEMES.length * 0.1, `≥ 90 % of the ${THEMES.length} planted themes stated; missed: ${missed.join('; ')}`);
  for (const r of rules) assert.equal(r.examples.length, 2, 'two quoted insights per rule');
  // The text a person reads: numbered findings, their figures, the quotes.
  const text = (await runBin(['playbook'], { env })).stdout;
  assert.match(text, /^1\. When insights mention .+, they (are tagged|also mention) .+$/m);
  assert.match(text, /^ {3}\d+ insights \(\d+ more than chance\) · confidence \d\.\d\d · lift \d+\.\d · R-[0-9a-f]{10}$/m);
  assert.match(text, /^ {3}“.+” \(#\d+\)$/m);
});
