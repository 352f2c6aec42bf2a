/**
 * Issue 20, item 4: a server answers a status whose job_type, stage, status and error_details
 * carry terminal escapes (OSC title, clear screen, cursor moves, a bare CR, C1 CSI, bidi override)
 * and GitHub Actions workflow commands after newlines. None of it may reach the terminal, the CI
 * log or the step output files raw; it must be shown escaped, not silently dropped.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  assertRun,
  cleanEnv,
  FAST,
  JOB_A,
  randomKey,
  replyJson,
  runTimed,
  serverPool,
  startHostileServer,
  type TimedResult,
} from '../helpers/hostile-server.js';

const { track } = serverPool();


/** Every trick at once. */
const INJECTED = [
  'A\u001b]0;title\u0007',
  'B\u001b[2J',
  'C\u001b[1A\u001b[2K',
  'D\rE',
  '\n::error::pwned',
  '\n::add-mask::x',
  '\n::stop-commands::tok',
  '\nF\u009bG\u202eH',
].join('');

/** Raw bytes that must never be written: ESC, BEL, C1 CSI, RIGHT-TO-LEFT OVERRIDE, and a bare CR. */
const FORBIDDEN: Array<[string, string]> = [
  ['\u001b', 'ESC'],
  ['\u0007', 'BEL'],
  ['\u009b', 'C1 CSI (U+009B)'],
  ['\u202e', 'RIGHT-TO-LEFT OVERRIDE (U+202E)'],
];
const INJECTED_WORDS = /pwned|add-mask|stop-commands/;
/** How an ESC may be shown visibly. */
const VISIBLE_ESC = /\\u001b|\\x1b|\\e|\\033|\^\[|\\u\{1b\}/i;

const BODIES = {
  /** status itself is injected: a state no mapping knows, so a watch polls on to its deadline. */
  'injected status': {
    job_run_id: JOB_A,
    job_type: `metrics${INJECTED}`,
    stage: `computing${INJECTED}`,
    status: `running${INJECTED}`,
    dry_run: false,
    insights_scanned: 3,
  },
  /** failed, with the injection in error_details.message (and job_type, stage). */
  'failed, injected error_details': {
    job_run_id: JOB_A,
    job_type: `metrics${INJECTED}`,
    stage: `computing${INJECTED}`,
    status: 'failed',
    dry_run: false,
    insights_scanned: 3,
    error_details: { message: `boom${INJECTED}` },
  },
} as const;
type BodyName = keyof typeof BODIES;

/** Every problem at once (one per kind and place), so a failure says all that is wrong. */
function checkOutput(r: TimedResult, files: Record<string, string>): void {
  const problems: string[] = [];
  const near = (text: string, at: number) => JSON.stringify(text.slice(Math.max(0, at - 50), at + 50));
  const texts: Record<string, string> = { stdout: r.stdout, stderr: r.stderr, ...files };
  for (const [where, text] of Object.entries(texts)) {
    for (const [char, name] of FORBIDDEN) {
      const at = text.indexOf(char);
      if (at !== -1) problems.push(`raw ${name} in ${where}: ${near(text, at)}`);
    }
  }
  for (const [where, text] of Object.entries({ stdout: r.stdout, stderr: r.stderr })) {
    const at = text.search(/\r(?!\n)/);
    if (at !== -1) problems.push(`a bare CR in ${where}: ${near(text, at)}`);
    // A workflow command is read at the start of a line (leading white space allowed).
    for (const line of text.split(/\r\n|\n|\r/)) {
      const trimmed = line.trimStart();
      if (!trimmed.startsWith('::')) continue;
      // The tool's own commands may quote the server's words, escaped and on the command's one line:
      // a runner reads a command only at the start of a line, so the words inside are just text.
      const command = /^::(group|endgroup|error|warning)(?: [^:]*)?::(.*)$/.exec(trimmed);
      if (!command) problems.push(`a line of ${where} starts a workflow command the tool does not emit: ${JSON.stringify(line)}`);
      else if (INJECTED_WORDS.test(command[2]!) && !/\\(n|r|x0a|x0d|u2028|u2029)/.test(command[2]!)) problems.push(`the tool's own ::${command[1]}:: line in ${where} carries injected words without their escaped line break: ${JSON.stringify(line.slice(0, 160))}`);
    }
  }
  const shown = `${r.stdout}\n${r.stderr}`;
  if (!VISIBLE_ESC.test(shown)) problems.push('the injected ESC is not shown escaped (\\u001b, \\x1b, ^[) anywhere on stdout/stderr');
  if (!/pwned/.test(shown)) problems.push('the injected text ("pwned") was dropped instead of shown escaped');
  const unique = [...new Set(problems)];
  assert.deepEqual(unique, [], `${unique.length} problem(s):\n  ${unique.join('\n  ')}`);
}

const CI_CASES = [
  { name: 'CI=true GITHUB_ACTIONS=true', ci: true },
  { name: 'no CI', ci: false },
] as const;

const COMMANDS: Array<{ name: string; argv: string[]; code: Record<BodyName, number> }> = [
  { name: 'status <id>', argv: ['status', JOB_A, '--retries', '0'], code: { 'injected status': 0, 'failed, injected error_details': 0 } },
  { name: 'watch <id> --timeout 1s', argv: ['watch', JOB_A, '--timeout', '1s', '--interval', '200ms'], code: { 'injected status': 5, 'failed, injected error_details': 1 } },
];

describe('4. escapes and workflow commands in a status: nothing raw reaches the terminal, the CI log or the step files', { concurrency: 4 }, () => {
  for (const bodyName of Object.keys(BODIES) as BodyName[]) {
    for (const command of COMMANDS) {
      for (const ci of CI_CASES) {
        const code = command.code[bodyName];
        test(`${command.name}, ${bodyName}, ${ci.name} → exit ${code}, escaped`, async () => {
          const server = await startHostileServer((_req, socket) => replyJson(socket, 200, BODIES[bodyName]));
          track(server);
          const key = randomKey();
          const env = cleanEnv({ NEX_API_KEY: key });
          const files: Record<string, string> = {};
          if (ci.ci) {
            const dir = path.dirname(env.HOME!);
            Object.assign(env, { CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: path.join(dir, 'github-output'), GITHUB_STEP_SUMMARY: path.join(dir, 'step-summary') });
          }
          const r = await runTimed([...command.argv, '--remote', '--base-url', server.url], env, FAST);
          assertRun(r, { code, maxMs: 6000, keys: [key] });
          if (ci.ci) {
            for (const name of ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY']) files[name] = existsSync(env[name]!) ? readFileSync(env[name]!, 'utf8') : '';
          }
          checkOutput(r, files);
        });
      }
    }
  }

  test('status <id> --json, injected status: no raw escape, bidi or C1 byte in the JSON either', async () => {
    const server = await startHostileServer((_req, socket) => replyJson(socket, 200, BODIES['injected status']));
    track(server);
    const key = randomKey();
    const r = await runTimed(['status', JOB_A, '--retries', '0', '--json', '--remote', '--base-url', server.url], cleanEnv({ NEX_API_KEY: key }), FAST);
    assertRun(r, { code: 0, maxMs: 6000, keys: [key] });
    checkOutput(r, {});
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, BODIES['injected status'].status, 'the JSON still carries the exact value, escaped as JSON');
  });

  test('`insights add "evil\\e[2J text"` then `insights list --local`: no raw ESC in the listing', async () => {
    const env = cleanEnv({ NEX_API_KEY: randomKey() });
    const db = path.join(path.dirname(env.HOME!), 'insights.db');
    const add = await runTimed(['insights', 'add', '--local', '--db', db, 'evil\u001b[2J text'], env, FAST);
    assertRun(add, { code: [0, 2], maxMs: 6000 });
    const problems: string[] = [];
    for (const [where, text] of Object.entries({ 'add stdout': add.stdout, 'add stderr': add.stderr })) {
      if (text.includes('\u001b')) problems.push(`raw ESC in ${where}: ${JSON.stringify(text.slice(0, 200))}`);
    }
    if (add.code === 2) {
      if (!VISIBLE_ESC.test(add.stderr)) problems.push(`a refusal shows the ESC escaped: ${JSON.stringify(add.stderr)}`);
    } else {
      const list = await runTimed(['insights', 'list', '--local', '--db', db], env, FAST);
      assertRun(list, { code: 0, maxMs: 6000 });
      for (const [where, text] of Object.entries({ 'list stdout': list.stdout, 'list stderr': list.stderr })) {
        if (text.includes('\u001b')) problems.push(`raw ESC in ${where}: ${JSON.stringify(text.slice(0, 300))}`);
      }
      if (!/evil/.test(list.stdout)) problems.push('the insight is not listed');
      if (!VISIBLE_ESC.test(list.stdout)) problems.push(`the listing does not show the ESC escaped: ${JSON.stringify(list.stdout.slice(0, 300))}`);
    }
    assert.deepEqual(problems, [], `${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  });
});
