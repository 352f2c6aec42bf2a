// Interleaved start-up of two builds of nex-compound (default: ../old and this tree), each command
// beside `node -e 0`, medians: node bench/startup-compare.mjs [rounds] [old-tree] [new-tree].
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = fileURLToPath(new URL('..', import.meta.url));
const trees = { old: path.resolve(process.argv[3] ?? path.join(here, '..', 'old')), new: path.resolve(process.argv[4] ?? here) };
const fake = spawn(process.execPath, ['-e', `
  const id = '3f1c2e4a-8b7d-4c6e-9f0a-1b2c3d4e5f60';
  const body = JSON.stringify({ job_run_id: id, job_type: 'metrics', workspace_id: 1, status: 'completed', dry_run: false });
  const server = require('node:http').createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));`]);
const port = await new Promise((r) => fake.stdout.once('data', (d) => r(d.toString().trim())));
const cases = (tree) => ({
  version: [path.join(tree, 'bin/nex-compound.js'), '--version'],
  help: [path.join(tree, 'bin/nex-compound.js'), '--help'],
  status: [path.join(tree, 'bin/nex-compound.js'), 'status', '3f1c2e4a-8b7d-4c6e-9f0a-1b2c3d4e5f60', '--json', '--base-url', `http://127.0.0.1:${port}`],
  trigger: [path.join(tree, 'bin/nex-compound.js'), 'trigger', 'metrics', '--local', '--json', '-q'],
});
const dirs = { old: mkdtempSync(path.join(os.tmpdir(), 'su-')), new: mkdtempSync(path.join(os.tmpdir(), 'su-')) };
const envFor = (k) => ({ ...process.env, NEX_API_KEY: 'bench-key-0000000000', NEX_COMPOUND_DB: path.join(dirs[k], 'e.db'), NEX_COMPOUND_CONFIG_DIR: dirs[k], XDG_DATA_HOME: dirs[k], CI: '' });
const times = {};
const runs = Number(process.argv[2] ?? 15);
const time = (label, args, env) => { const t = process.hrtime.bigint(); const r = spawnSync(process.execPath, args, { env, stdio: 'ignore' }); if (r.status !== 0) throw new Error(label + ' exit ' + r.status); (times[label] ??= []).push(Number(process.hrtime.bigint() - t) / 1e6); };
for (let i = 0; i < runs + 2; i++) {
  time('node -e 0', ['-e', '0'], process.env);
  for (const k of ['old', 'new']) for (const [name, args] of Object.entries(cases(trees[k]))) time(`${k} ${name}`, args, envFor(k));
}
const med = (a) => { const s = a.slice(2).sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const base = med(times['node -e 0']);
console.log(`node -e 0: ${base.toFixed(1)} ms`);
for (const name of ['version', 'help', 'status', 'trigger']) {
  const o = med(times[`old ${name}`]), n = med(times[`new ${name}`]);
  console.log(`${name.padEnd(8)} old ${o.toFixed(1)} ms (${(o / base).toFixed(2)}×)  new ${n.toFixed(1)} ms (${(n / base).toFixed(2)}×)`);
}
fake.kill();
