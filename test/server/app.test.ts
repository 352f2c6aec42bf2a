/** The server over the engine's entry point, in-process (fastify's inject): the contract it serves and a round trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { openEngine } from '../../src/engine/index.js';
import { buildServer } from '../../src/server/index.js';
import { ROOT, tempDir } from '../helpers/cli.js';

async function withServer(run: (server: Awaited<ReturnType<typeof buildServer>>, key: string) => Promise<void>): Promise<void> {
  const engine = await openEngine(path.join(tempDir('nex-compound-app-'), 'engine.db'), { create: true, env: { NEX_COMPOUND_LEASE_MS: '600000' }, now: Date.now });
  const server = await buildServer({ engine, allowedHosts: new Set(['localhost:80']), version: '0.0.0-test' });
  try {
    await run(server, (await engine.keys.create(1, ['record.read', 'record.write'])).key);
  } finally {
    await server.close();
    engine.close();
  }
}

test('GET /openapi.json answers the project\'s own copy of the contract, the same document as its YAML', async () => {
  await withServer(async (server) => {
    const r = await server.inject({ method: 'GET', url: '/openapi.json', headers: { host: 'localhost:80' } });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const yaml = parseYaml(readFileSync(path.join(ROOT, 'src', 'contract', 'openapi', 'nex-compounding.openapi.yaml'), 'utf8')) as unknown;
    assert.deepEqual(r.json(), yaml);
  });
});

test('a trigger through the server is a job of the key\'s workspace that status then reads; another Host is refused', async () => {
  await withServer(async (server, key) => {
    const headers = { host: 'localhost:80', authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const accepted = await server.inject({ method: 'POST', url: '/v1/compounding/trigger', headers, payload: { job_type: 'metrics', dry_run: true } });
    assert.equal(accepted.statusCode, 202, accepted.body);
    const job = accepted.json() as { job_run_id: string; workspace_id: number; status: string };
    assert.deepEqual([job.workspace_id, job.status], [1, 'accepted']);
    const status = await server.inject({ method: 'GET', url: `/v1/compounding/jobs/${job.job_run_id.toUpperCase()}`, headers });
    assert.equal(status.statusCode, 200, status.body);
    assert.equal((status.json() as { job_run_id: string }).job_run_id, job.job_run_id);
    const rebound = await server.inject({ method: 'GET', url: `/v1/compounding/jobs/${job.job_run_id}`, headers: { ...headers, host: 'evil.example' } });
    assert.equal(rebound.statusCode, 400);
  });
});
