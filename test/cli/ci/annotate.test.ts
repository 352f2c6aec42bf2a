/**
 * In GitHub Actions every failing exit leaves an `::error::` annotation with its one-line message
 * (escaped as the toolkit escapes, secrets redacted), a failed job's exactly once: the built bin
 * against a fake Nex API on 127.0.0.1 answering 401 and 404, resetting a trigger, and a closed port.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startFakeNexServer, type FakeNexServer } from '../../helpers/fake-nex-server.js';
import { runBin, tempDir } from '../../helpers/cli.js';
import { assertNoKeyPiece, randomKey } from '../../helpers/hostile-server.js';

const KEY = 'test-key-123';
const JOB = '550e8400-e29b-41d4-a716-446655440000';

let server: FakeNexServer;
before(async () => {
  // Every job this server makes fails: the one case where a job's report annotates first.
  server = await startFakeNexServer({ defaultScript: () => [{ status: 'running' }, { status: 'failed', error_details: { reason: '100% of the batch was rejected' } }] });
});
after(() => server.close());

function actionsEnv(extra: Record<string, string>): Record<string, string> {
  const dir = tempDir('nex-compound-annotate-');
  const output = path.join(dir, 'output');
  const summary = path.join(dir, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  return { CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, NEX_BASE_URL: server.url, NO_COLOR: '1', ...extra };
}

/** The `::error` lines of stderr, and the `error:` line they must repeat. */
function annotations(stderr: string): { errors: string[]; message: string } {
  const lines = stderr.split('\n');
  const message = lines.find((l) => l.startsWith('error: '))?.slice('error: '.length);
  assert.ok(message, `an error line: ${stderr}`);
  return { errors: lines.filter((l) => l.startsWith('::error')), message };
}

/** The toolkit's escaping of a message, for comparison with what the bin wrote. */
const escaped = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

test('401 (exit 3): the annotation repeats the error line, escaped, with the echoed key redacted', async () => {
  const key = randomKey();
  // A server that echoes the key back, with a "%" and a line break that would end the command.
  server.inject('status', { kind: 'respond', status: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 401, message: `key ${key} is 100% wrong\n::warning::forged` }) });
  const r = await runBin(['status', JOB, '--retries', '0'], { env: actionsEnv({ NEX_API_KEY: key }) });
  assert.equal(r.code, 3, r.stderr);
  const { errors, message } = annotations(r.stderr);
  assert.deepEqual(errors, [`::error title=nex-compound::${escaped(message)}`]);
  assert.match(message, /401.*\[redacted\] is 100% wrong/);
  assert.match(errors[0]!, /100%25 wrong/);
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('::warning')).length, 0, 'the echoed command stays inside the message');
  assertNoKeyPiece(r.stderr + r.stdout, key, 'the output');
});

test('404 (exit 4): the job not found, annotated', async () => {
  const r = await runBin(['status', JOB, '--retries', '0'], { env: actionsEnv({ NEX_API_KEY: KEY }) });
  assert.equal(r.code, 4, r.stderr);
  const { errors, message } = annotations(r.stderr);
  assert.match(message, new RegExp(`job ${JOB} not found`));
  assert.deepEqual(errors, [`::error title=nex-compound::${escaped(message)}`]);
});

test('a closed port (exit 6) and a trigger whose answer never came (exit 7), annotated', async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  const closed = await runBin(['status', JOB, '--retries', '0'], { env: actionsEnv({ NEX_API_KEY: KEY, NEX_BASE_URL: `http://127.0.0.1:${port}` }) });
  assert.equal(closed.code, 6, closed.stderr);
  let seen = annotations(closed.stderr);
  assert.match(seen.message, /ECONNREFUSED/);
  assert.deepEqual(seen.errors, [`::error title=nex-compound::${escaped(seen.message)}`]);

  server.inject('trigger', { kind: 'process-then-reset' });
  const unknown = await runBin(['trigger', 'metrics', '--retries', '0'], { env: actionsEnv({ NEX_API_KEY: KEY }) });
  assert.equal(unknown.code, 7, unknown.stderr);
  seen = annotations(unknown.stderr);
  assert.match(seen.message, /may or may not have been created/);
  assert.deepEqual(seen.errors, [`::error title=nex-compound::${escaped(seen.message)}`]);
});

test('a usage error (exit 2) is annotated too; outside GitHub Actions no failure is', async () => {
  const usage = await runBin(['trigger', 'metrix'], { env: actionsEnv({ NEX_API_KEY: KEY }) });
  assert.equal(usage.code, 2, usage.stderr);
  assert.equal(annotations(usage.stderr).errors.length, 1, usage.stderr);

  const plain = await runBin(['status', JOB, '--retries', '0'], { env: { NEX_API_KEY: KEY, NEX_BASE_URL: server.url, CI: 'true' } });
  assert.equal(plain.code, 4, plain.stderr);
  assert.doesNotMatch(plain.stderr, /::error/);
});

test('a failed job (exit 1) is annotated once: by its watch report, not again by the exit', async () => {
  const r = await runBin(['trigger', 'consolidation', '--wait', '--interval', '50ms'], { env: actionsEnv({ NEX_API_KEY: KEY }) });
  assert.equal(r.code, 1, r.stderr);
  const { errors, message } = annotations(r.stderr);
  assert.match(message, /failed: 100% of the batch was rejected/);
  assert.deepEqual(errors, [`::error title=nex-compound::${escaped(message)}`]);
});
