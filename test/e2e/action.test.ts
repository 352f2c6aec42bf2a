/**
 * action.yml, run the way GitHub runs a composite action: its steps in order, each `run:` step's
 * `${{ … }}` expressions substituted first (inputs with their defaults, github.action_path, an
 * earlier step's outputs, env), then its script run as `bash --noprofile --norc -eo pipefail`
 * with its own GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_PATH files, GITHUB_ACTIONS=true,
 * CI=true and INPUT_* in the environment; the first failing step ends the action; the action's
 * outputs are its `outputs:` values evaluated at the end. The commands talk to a real
 * `nex-compound serve` on 127.0.0.1 with a key from `keys create`.
 *
 * `uses:` steps (actions/setup-node, actions/cache) are not run: they are other repositories'
 * code, fetched from the network, which these tests do not have. The Node running the tests
 * stands in for setup-node; what actions/cache would restore is put in place by the test, from
 * the cache step's own evaluated `path`, `key` and `restore-keys`.
 *
 * The action's checkout is a copy of this work tree without dist/, and with node_modules as a
 * directory of links into this one's (a restore under the dependency key: node_modules, no
 * build), so the install step really builds dist/ with the checkout's own `npm run build`;
 * `npm ci`, which needs the registry, is checked to be what a cache miss runs, through a
 * stand-in npm on PATH.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { JOB_TYPES } from '../../src/contract/jobs.js';
import { jobOutputs } from '../../src/cli/ci/github.js';
import { BIN, ROOT, runBin, tempDir } from '../helpers/cli.js';
import { assertNoKeyPiece } from '../helpers/hostile-server.js';

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  with?: Record<string, string>;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
  'working-directory'?: string;
}
interface Action {
  inputs: Record<string, { default?: string; required?: boolean }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const action = parseYaml(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as Action;
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NODE_PATH = [path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);

// ---------------------------------------------------------------------------------------------
// A runner for composite actions

/** $GITHUB_OUTPUT as the runner reads it: name=value lines and name<<delimiter blocks. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const block = /^([A-Za-z0-9_-]+)<<(.+)$/.exec(line);
    if (block) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== block[2]; i++) value.push(lines[i]!);
      assert.ok(i < lines.length, `unterminated output ${block[1]}`);
      outputs[block[1]!] = value.join('\n');
    } else if (line !== '') {
      const at = line.indexOf('=');
      assert.ok(at > 0, `a line of GITHUB_OUTPUT that is neither name=value nor name<<delimiter: ${line}`);
      outputs[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return outputs;
}

interface StepRun {
  step: Step;
  /** Set for run: steps; a uses: step is skipped. */
  code?: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** What the step wrote to GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_PATH, raw. */
  files: string;
}

interface ActionRun {
  steps: StepRun[];
  /** The action's outputs, as the calling workflow's steps.<id>.outputs sees them. */
  outputs: Record<string, string>;
  /** The step that failed, if any (the ones after it did not run). */
  failed?: StepRun;
  summary: string;
  /** Directories the action added to PATH for later steps of the job. */
  paths: string[];
  /** Everything any step printed or wrote, for the secret check. */
  everything: string;
}

interface RunOptions {
  actionPath: string;
  inputs: Record<string, string>;
  /** The job's environment (what `env:` of the job and the runner give every step). */
  env?: Record<string, string>;
  /** Plays a skipped uses: step (e.g. puts the cache's restore in place); returns its outputs. */
  onUses?: (step: Step, evaluate: (text: string) => string) => Record<string, string>;
  /** Only these step ids run (the others are skipped). */
  only?: string[];
}

async function runAction(options: RunOptions): Promise<ActionRun> {
  for (const name of Object.keys(options.inputs)) assert.ok(name in action.inputs, `the action declares an input ${name}`);
  const input = (name: string) => options.inputs[name] ?? action.inputs[name]?.default ?? '';
  const stepOutputs: Record<string, Record<string, string>> = {};
  const runnerTemp = tempDir('nex-compound-runner-temp-');
  const workspace = tempDir('nex-compound-workspace-');
  const jobEnv: Record<string, string> = { PATH: NODE_PATH, HOME: tempDir('nex-compound-runner-home-'), ...options.env };
  const env = (): Record<string, string> => ({ ...jobEnv });

  /** The runner's substitution: only the expressions this action may use; anything else fails the test. */
  const evaluate = (text: string): string =>
    text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_all, expression: string) => {
      let m: RegExpExecArray | null;
      if ((m = /^inputs\.([A-Za-z0-9_-]+)$/.exec(expression))) {
        assert.ok(m[1]! in action.inputs, `action.yml reads an undeclared input ${m[1]}`);
        return input(m[1]!);
      }
      if (expression === 'github.action_path') return options.actionPath;
      if ((m = /^steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/.exec(expression))) {
        assert.ok(action.runs.steps.some((s) => s.id === m![1]), `action.yml reads the outputs of an unknown step ${m[1]}`);
        return stepOutputs[m[1]!]?.[m[2]!] ?? '';
      }
      if ((m = /^env\.([A-Za-z0-9_]+)$/.exec(expression))) return jobEnv[m[1]!] ?? '';
      throw new Error(`action.yml uses an expression this runner does not evaluate: ${expression}`);
    });

  const run: ActionRun = { steps: [], outputs: {}, summary: '', paths: [], everything: '' };
  const paths: string[] = [];
  for (const [index, step] of action.runs.steps.entries()) {
    if (options.only && !options.only.includes(step.id ?? '')) continue;
    if (step.uses) {
      const outputs = options.onUses?.(step, evaluate) ?? {};
      if (step.id) stepOutputs[step.id] = outputs;
      run.steps.push({ step, stdout: '', stderr: '', outputs, summary: '', files: '' });
      continue;
    }
    // A condition on a run: step would need GitHub's expression language; this action has none.
    assert.equal(step.if, undefined, `step ${step.id ?? index} has an if:, which this runner does not evaluate`);
    assert.equal(step.shell, 'bash', `step ${step.id ?? index} runs in bash`);
    assert.ok(step.run, `step ${step.id ?? index} has a run:`);
    const dir = tempDir('nex-compound-step-');
    const files = { GITHUB_OUTPUT: path.join(dir, 'output'), GITHUB_STEP_SUMMARY: path.join(dir, 'summary'), GITHUB_PATH: path.join(dir, 'path'), GITHUB_ENV: path.join(dir, 'env') };
    for (const file of Object.values(files)) writeFileSync(file, '');
    const script = path.join(dir, 'script.sh');
    writeFileSync(script, evaluate(step.run));
    const inputsEnv = Object.fromEntries(Object.keys(action.inputs).map((name) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, input(name)]));
    const stepEnv: Record<string, string> = {
      ...env(),
      PATH: [...paths.slice().reverse(), jobEnv.PATH!].join(path.delimiter),
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTION_PATH: options.actionPath,
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: runnerTemp,
      ...files,
      ...inputsEnv,
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(String(v))])),
    };
    const cwd = step['working-directory'] ? evaluate(step['working-directory']) : workspace;
    const result = await spawnStep(['bash', '--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env: stepEnv });
    const outputText = readFileSync(files.GITHUB_OUTPUT, 'utf8');
    const summary = readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8');
    const added = readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean);
    assert.equal(readFileSync(files.GITHUB_ENV, 'utf8'), '', 'the action sets no environment for later steps');
    const done: StepRun = { step, code: result.code, stdout: result.stdout, stderr: result.stderr, outputs: parseOutputs(outputText), summary, files: `${outputText}\n${summary}\n${added.join('\n')}` };
    run.steps.push(done);
    run.everything += `${done.stdout}\n${done.stderr}\n${done.files}\n`;
    if (step.id) stepOutputs[step.id] = done.outputs;
    run.summary += summary;
    paths.push(...added);
    if (result.code !== 0) {
      run.failed = done;
      break;
    }
  }
  run.paths = paths;
  run.outputs = Object.fromEntries(Object.entries(action.outputs).map(([name, output]) => [name, evaluate(output.value)]));
  run.everything += JSON.stringify(run.outputs);
  return run;
}

function spawnStep(argv: string[], options: { cwd: string; env: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // A safety net for a hung step, not an assertion: the build is the slow part.
    const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const stepOf = (run: ActionRun, id: string) => {
  const found = run.steps.find((s) => s.step.id === id);
  assert.ok(found, `step ${id} ran`);
  return found;
};
const describeRun = (run: ActionRun) => run.steps.map((s) => `--- ${s.step.id ?? s.step.uses} (exit ${s.code ?? 'skipped'})\n${s.stdout}\n${s.stderr}`).join('\n');

// ---------------------------------------------------------------------------------------------
// The action's checkout, and a server

/** A copy of the work tree as GitHub checks an action out: sources, no dist/, no node_modules. */
function checkout(): string {
  const dir = path.join(tempDir('nex-compound-action-'), 'nex-compound');
  const left = new Set(['node_modules', 'dist', '.git', '.bench', 'coverage', 'test', 'bench']);
  cpSync(ROOT, dir, { recursive: true, filter: (source) => !left.has(path.relative(ROOT, source).split(path.sep)[0] ?? '') && !source.endsWith('.tgz') });
  return dir;
}

/**
 * What a restore under the dependency key leaves: node_modules as `npm ci` made it, here links
 * into this work tree's (a directory of its own, so the stamp written into it stays in the copy).
 */
function restoreNodeModules(actionPath: string, depsKey: string): void {
  const target = path.join(actionPath, 'node_modules');
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry.startsWith('.nex-compound') || existsSync(path.join(target, entry))) continue;
    symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(target, entry));
  }
  writeFileSync(path.join(target, '.nex-compound-deps-key'), `${depsKey}\n`);
}

interface Serve {
  url: string;
  child: ChildProcess;
  stderr: () => string;
}

async function startServe(env: Record<string, string>): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: { PATH: NODE_PATH, HOME: tempDir('nex-compound-home-'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      if (stdout.includes('\n') && /^ready:/m.test(stderr)) resolve(stdout.split('\n')[0]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('close', (code) => reject(new Error(`serve exited ${code} before it was ready: ${stderr}`)));
  });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  return { url, child, stderr: () => stderr };
}

// ---------------------------------------------------------------------------------------------

describe('action.yml, run as GitHub runs a composite action', () => {
  let actionPath: string;
  let serve: Serve;
  let key: string;
  let imported: number;
  const engineDir = tempDir('nex-compound-action-engine-');
  const engineEnv = { NEX_COMPOUND_DB: path.join(engineDir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: path.join(engineDir, 'config'), XDG_DATA_HOME: path.join(engineDir, 'data'), NO_COLOR: '1' };
  /** The cache step's restore: node_modules with its stamp, no dist/ (a build of other sources). */
  const partialRestore = (step: Step, evaluate: (text: string) => string): Record<string, string> => {
    assert.match(step.uses!, /^actions\/cache@v\d+$/);
    const paths = evaluate(step.with!.path!).split('\n').filter(Boolean);
    assert.deepEqual(paths, [path.join(actionPath, 'node_modules'), path.join(actionPath, 'dist')], 'the cache keeps node_modules and dist/ of the action');
    const cacheKey = evaluate(step.with!.key!);
    const restoreKey = evaluate(step.with!['restore-keys']!);
    assert.ok(cacheKey.startsWith(restoreKey) && restoreKey.length < cacheKey.length, `the restore key ${restoreKey} is a prefix of the key ${cacheKey}`);
    restoreNodeModules(actionPath, restoreKey.replace(/-$/, ''));
    return { 'cache-hit': 'false' };
  };

  before(
    async () => {
      actionPath = checkout();
      const imports = await runBin(['insights', 'import', path.join(ROOT, 'data', 'demo-insights.jsonl'), '--json'], { env: engineEnv });
      assert.equal(imports.code, 0, imports.stderr);
      imported = (JSON.parse(imports.stdout) as { imported: number }).imported;
      assert.ok(imported > 0);
      const created = await runBin(['keys', 'create', '--scope', 'record.write', '--json'], { env: engineEnv });
      assert.equal(created.code, 0, created.stderr);
      key = (JSON.parse(created.stdout) as { key: string }).key;
      serve = await startServe(engineEnv);
    },
    { timeout: 60_000 },
  );

  after(async () => {
    if (serve && serve.child.exitCode === null) {
      const closed = new Promise((resolve) => serve.child.once('close', resolve));
      serve.child.kill('SIGTERM');
      await closed;
    }
    if (actionPath) rmSync(path.dirname(actionPath), { recursive: true, force: true });
  });

  test('declares an output for everything the tool writes: one job, run per job type, job_run_ids, exit_code, version', () => {
    const fields = Object.keys(jobOutputs({ job_run_id: 'x', status: 'completed' } as Parameters<typeof jobOutputs>[0]));
    const expected = [...fields, 'job_run_ids', 'exit_code', 'version', ...JOB_TYPES.flatMap((type) => fields.map((f) => `${type}_${f}`))];
    assert.deepEqual(Object.keys(action.outputs).sort(), expected.sort());
    assert.equal(action.runs.using, 'composite');
    // Composite steps get no INPUT_* from GitHub (this runner sets them all the same): reading one would work here only.
    for (const step of action.runs.steps) assert.doesNotMatch(step.run ?? '', /INPUT_/, `step ${step.id}`);
    // The key goes through the environment only: no script text holds an input.
    for (const step of action.runs.steps) assert.doesNotMatch(step.run ?? '', /\$\{\{\s*inputs\./, `step ${step.id} splices an input into its script`);
  });

  test('trigger --wait against serve: installs (builds dist/ from the checkout), runs, outputs and summary; the key shows nowhere', { timeout: 6 * 60_000 }, async () => {
    assert.ok(!existsSync(path.join(actionPath, 'dist')), 'the checkout has no build');
    const run = await runAction({
      actionPath,
      inputs: { command: 'trigger consolidation', args: '--wait --interval 50ms', 'api-key': key, 'base-url': serve.url, timeout: '5m' },
      onUses: (step, evaluate) => (step.uses!.startsWith('actions/cache@') ? partialRestore(step, evaluate) : {}),
    });
    assert.equal(run.failed, undefined, describeRun(run));
    assert.deepEqual(
      run.steps.filter((s) => s.step.uses).map((s) => s.step.uses!.replace(/@.*/, '')),
      ['actions/setup-node', 'actions/cache'],
    );

    const install = stepOf(run, 'install');
    assert.match(install.stdout, /dependencies restored; building dist\//);
    assert.ok(existsSync(path.join(actionPath, 'dist', 'cli', 'entry.js')), 'the build is in the checkout');
    assert.equal(readFileSync(path.join(actionPath, 'dist', '.nex-compound-build-key'), 'utf8').trim(), stepOf(run, 'key').outputs['build-key']);
    assert.equal(run.outputs.version, VERSION);

    const { outputs } = run;
    assert.match(outputs.job_run_id!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(outputs.status, 'completed');
    assert.equal(outputs.exit_code, '0');
    assert.equal(outputs.insights_scanned, String(imported), 'every imported insight was scanned on the server');
    for (const name of ['insights_affected', 'candidates_created', 'errors']) assert.match(outputs[name]!, /^\d+$/, name);
    assert.equal(outputs.consolidation_status, '', 'one job: plain output names only');
    assert.ok(run.summary.includes(`| consolidation | \`${outputs.job_run_id}\` | ✅ completed | ${imported} |`), run.summary);
    // The job is the server's: serve answers for it with the same key.
    const status = await runBin(['status', outputs.job_run_id!, '--json'], { env: { NEX_API_KEY: key, NEX_BASE_URL: serve.url } });
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { status: string }).status, 'completed');

    // Later steps of the job find nex-compound on PATH.
    assert.equal(run.paths.length, 1);
    const onPath = await spawnStep(['bash', '-c', 'nex-compound --version'], { cwd: actionPath, env: { PATH: [run.paths[0]!, NODE_PATH].join(path.delimiter) } });
    assert.equal(onPath.stdout.trim(), VERSION, onPath.stderr);

    assertNoKeyPiece(run.everything, key, 'the steps\' output, outputs or summary');
    assertNoKeyPiece(serve.stderr(), key, 'serve\'s log');
  });

  test('run --jobs again in the same job: nothing to install (no rebuild); per-job outputs', { timeout: 3 * 60_000 }, async () => {
    const entry = path.join(actionPath, 'dist', 'cli', 'entry.js');
    const built = statSync(entry).mtimeMs;
    const run = await runAction({
      actionPath,
      // No api-key input: the job's NEX_API_KEY is used.
      inputs: { command: 'run', args: '--jobs consolidation,metrics --interval 50ms', 'base-url': serve.url },
      env: { NEX_API_KEY: key },
      // The stamps are in place already: the cache step restores nothing over them.
      onUses: () => ({}),
    });
    assert.equal(run.failed, undefined, describeRun(run));
    assert.match(stepOf(run, 'install').stdout, /nothing to install/);
    assert.equal(statSync(entry).mtimeMs, built, 'dist/ was not rebuilt');
    const { outputs } = run;
    assert.equal(outputs.status, 'completed');
    assert.equal(outputs.consolidation_status, 'completed');
    assert.equal(outputs.metrics_status, 'completed');
    // The first test's consolidation merged some: fewer remain to scan.
    assert.ok(Number(outputs.consolidation_insights_scanned) > 0 && Number(outputs.consolidation_insights_scanned) <= imported, outputs.consolidation_insights_scanned);
    assert.equal(outputs.pattern_detection_status, '', 'a job not in --jobs has no outputs');
    assert.deepEqual(outputs.job_run_ids!.split(','), [outputs.consolidation_job_run_id, outputs.metrics_job_run_id]);
    assert.equal(outputs.job_run_id, '', 'run: per-job names only');
    assert.match(run.summary, /### nex-compound run/);
    assertNoKeyPiece(run.everything, key, 'the steps\' output, outputs or summary');
  });

  test('a wrong key fails the step with exit 3, an ::error:: annotation and the exit_code output; neither key shows', { timeout: 60_000 }, async () => {
    const wrong = `nxk_${'w'.repeat(8)}${key.slice(-36).split('').reverse().join('')}`;
    const run = await runAction({ actionPath, inputs: { command: 'status', args: '00000000-0000-4000-8000-000000000000', 'api-key': wrong, 'base-url': serve.url }, onUses: () => ({}) });
    assert.equal(run.failed?.step.id, 'run', describeRun(run));
    assert.equal(run.failed.code, 3);
    assert.equal(run.outputs.exit_code, '3');
    assert.match(run.failed.stderr, /^::error title=nex-compound::.*401/m);
    assertNoKeyPiece(run.everything, wrong, 'the steps\' output');
    assertNoKeyPiece(run.everything, key, 'the steps\' output');
  });

  test('local: true, and args split as a shell splits words without running any of them', { timeout: 60_000 }, async () => {
    const dir = path.join(tempDir('nex-compound-action-local-'), 'a db dir');
    const db = path.join(dir, 'engine.db');
    mkdirSync(dir);
    const local = await runAction({ actionPath, inputs: { command: 'trigger metrics', args: `--wait --interval 50ms --db '${db}'`, local: 'true' }, onUses: () => ({}) });
    assert.equal(local.failed, undefined, describeRun(local));
    assert.equal(local.outputs.status, 'completed');
    assert.ok(existsSync(db), 'the quoted path with a space is one argument');

    const pwned = path.join(dir, 'pwned');
    const hostile = await runAction({
      actionPath,
      inputs: { command: 'run', args: `--dry-run "$(touch ${pwned})" \`touch ${pwned}\` ';touch ${pwned}'`, local: 'true', 'api-key': '' },
      env: { NEX_COMPOUND_DB: db },
      onUses: () => ({}),
    });
    assert.equal(hostile.failed?.step.id, 'run', describeRun(hostile));
    assert.equal(hostile.failed.code, 2, 'the words reach nex-compound, which refuses them');
    assert.match(hostile.failed.stderr, /^error: /m);
    assert.ok(hostile.failed.stdout.includes(`nex-compound --local run --dry-run \\$\\(touch\\ ${pwned.replace(/ /g, '\\ ')}\\)`), hostile.failed.stdout);
    assert.ok(!existsSync(pwned), 'nothing in args was run');

    const bad = await runAction({ actionPath, inputs: { command: 'run', local: 'yes' }, onUses: () => ({}) });
    assert.equal(bad.failed?.code, 2);
    assert.match(bad.failed.stdout, /^::error title=nex-compound::the local input must be true or false$/m);
    const unbalanced = await runAction({ actionPath, inputs: { command: 'run', args: "--jobs 'consolidation", local: 'true' }, onUses: () => ({}) });
    assert.equal(unbalanced.failed?.code, 2);
    assert.match(unbalanced.failed.stdout, /^::error title=nex-compound::the args input has an unbalanced quote$/m);
  });

  test('the keys follow what the install is made of; with nothing restored the install is npm ci', { timeout: 60_000 }, async () => {
    const keys = async () => (await runAction({ actionPath, inputs: {}, only: ['key'] })).steps[0]!.outputs;
    const before = await keys();
    assert.match(before['deps-key']!, new RegExp(`^nex-compound-${process.platform}-${process.arch}-node${process.versions.modules}-[0-9a-f]{20}$`));
    assert.ok(before['build-key']!.startsWith(`${before['deps-key']}-`));

    const source = path.join(actionPath, 'src', 'cli', 'ci', 'detect.ts');
    const text = readFileSync(source, 'utf8');
    writeFileSync(source, `${text}// changed\n`);
    const changedSource = await keys();
    writeFileSync(source, text);
    assert.equal(changedSource['deps-key'], before['deps-key'], 'a source change keeps the dependencies');
    assert.notEqual(changedSource['build-key'], before['build-key'], 'a source change needs another build');
    const lock = path.join(actionPath, 'package-lock.json');
    const lockText = readFileSync(lock, 'utf8');
    writeFileSync(lock, `${lockText}\n`);
    const changedLock = await keys();
    writeFileSync(lock, lockText);
    assert.notEqual(changedLock['deps-key'], before['deps-key'], 'a lockfile change needs another npm ci');

    // Nothing restored (a cache miss on a new runner): the step must run `npm ci` in the checkout.
    // A stand-in npm records the call and fails as an offline npm would; a real one needs the registry.
    rmSync(path.join(actionPath, 'node_modules', '.nex-compound-deps-key'));
    const fake = tempDir('nex-compound-fake-npm-');
    const calls = path.join(fake, 'calls');
    writeFileSync(path.join(fake, 'npm'), `#!/usr/bin/env bash\necho "$PWD: $*" >> ${JSON.stringify(calls)}\necho "npm: offline" >&2\nexit 1\n`);
    chmodSync(path.join(fake, 'npm'), 0o755);
    const miss = await runAction({ actionPath, inputs: { command: 'run' }, env: { PATH: [fake, NODE_PATH].join(path.delimiter) }, onUses: () => ({ 'cache-hit': 'false' }) });
    assert.equal(miss.failed?.step.id, 'install', describeRun(miss));
    assert.equal(readFileSync(calls, 'utf8'), `${actionPath}: ci --no-audit --no-fund\n`);
    assert.ok(!existsSync(path.join(actionPath, 'node_modules', '.nex-compound-deps-key')), 'a failed install leaves no stamp');
  });
});
