/**
 * The local engine's commands through the real bin: insights, import errors, jobs,
 * metrics, demo, and the remote job history.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { startFakeNexServer, type FakeNexServer } from '../../helpers/fake-nex-server.js';
import { runBin, runBinAsUnprivileged, tempDir } from '../../helpers/cli.js';
import { openDatabaseWith } from '../../../src/engine/store/db.js';

function engineEnv() {
  const dir = tempDir('nex-compound-cli-');
  return { dir, env: { NEX_COMPOUND_DB: path.join(dir, 'engine.db'), NEX_COMPOUND_CONFIG_DIR: dir, XDG_DATA_HOME: dir } };
}

describe('insights', () => {
  test('an import onto a full disk exits 8 with one line, and the store stays intact and usable', async (t) => {
    const { spawnSync } = await import('node:child_process');
    const { dir, env } = engineEnv();
    const small = path.join(dir, 'small');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(small);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]).status !== 0) {
      t.skip('cannot mount a small tmpfs here (needs root)');
      return;
    }
    try {
      const db = path.join(small, 'engine.db');
      const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ text: `note ${i} ${'padding '.repeat(8)}${(i * 7919).toString(36)}` }));
      writeFileSync(path.join(dir, 'big.jsonl'), `${lines.join('\n')}\n`);
      const r = await runBin(['insights', 'import', path.join(dir, 'big.jsonl')], { env: { ...env, NEX_COMPOUND_DB: db }, timeoutMs: 60_000 });
      assert.equal(r.code, 8, r.stderr);
      assert.match(r.stderr, /^error: the disk holding .* is full$/m);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      const check = new Sqlite(db, { readonly: true });
      try {
        assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        check.close();
      }
      const list = await runBin(['insights', 'list', '--limit', '1', '--json'], { env: { ...env, NEX_COMPOUND_DB: db } });
      assert.equal(list.code, 0, list.stderr);
    } finally {
      spawnSync('umount', [small]);
    }
  });

  test('a re-export killed with -9 half way leaves the previous export whole; a failing one too', async () => {
    const { dir, env } = engineEnv();
    const lines = Array.from({ length: 60_000 }, (_, i) => JSON.stringify({ text: `note ${i}: ${(i * 7919).toString(36)} renewal risk for account ${i % 977}`, source: 'crm', tags: ['t' + (i % 13)] }));
    writeFileSync(path.join(dir, 'in.jsonl'), `${lines.join('\n')}\n`);
    assert.equal((await runBin(['insights', 'import', path.join(dir, 'in.jsonl')], { env, timeoutMs: 60_000 })).code, 0);
    const backup = path.join(dir, 'backup.jsonl');
    assert.equal((await runBin(['insights', 'export', '--output', backup], { env, timeoutMs: 60_000 })).code, 0);
    const before = readFileSync(backup, 'utf8');
    assert.equal(before.split('\n').filter(Boolean).length, 60_000);
    // The next export differs (one more insight), so a file that is neither is a broken one.
    assert.equal((await runBin(['insights', 'add', 'one more insight'], { env })).code, 0);

    let killedMidWrite = 0;
    for (let attempt = 0; attempt < 10 && killedMidWrite === 0; attempt++) {
      const { spawn } = await import('node:child_process');
      const { BIN } = await import('../../helpers/cli.js');
      const child = spawn(process.execPath, [BIN, 'insights', 'export', '--output', backup], { env: { ...process.env, ...env }, stdio: 'ignore' });
      const closed = new Promise((resolve) => child.once('close', resolve));
      const { readdirSync } = await import('node:fs');
      const deadline = Date.now() + 20_000;
      let temporary: string | undefined;
      while (!temporary && Date.now() < deadline && child.exitCode === null) {
        temporary = readdirSync(dir).find((f) => f.startsWith('.backup.jsonl.') && f.endsWith('.tmp') && statSync(path.join(dir, f)).size > 0);
        if (!temporary) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      child.kill('SIGKILL');
      await closed;
      if (temporary && readFileSync(backup, 'utf8') === before) killedMidWrite++;
      else assert.equal(readFileSync(backup, 'utf8').split('\n').filter(Boolean).length, 60_001, 'a finished export is the new one, whole');
    }
    assert.equal(killedMidWrite, 1, 'the export was killed while writing, and the old backup stayed whole');
    assert.equal(readFileSync(backup, 'utf8'), before);

    // An output that cannot be written: the old file stays, one line, exit 2.
    const blocked = path.join(dir, 'sub', 'backup.jsonl');
    const r = await runBin(['insights', 'export', '--output', blocked], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: cannot write /m);
    assert.equal(readFileSync(backup, 'utf8'), before);
  });

  test('add, reinforce, list, show, export — and export round-trips through import', async () => {
    const { dir, env } = engineEnv();
    const add = await runBin(['insights', 'add', 'Acme renews in Q3.', '--source', 'gong-call', '--confidence', '0.6', '--tags', 'renewal,enterprise', '--json'], { env });
    assert.equal(add.code, 0, add.stderr);
    const first = JSON.parse(add.stdout);
    assert.equal(first.reinforced, false);
    assert.equal(statSync(env.NEX_COMPOUND_DB).mode & 0o777, 0o600, 'the database is owner-only');
    assert.deepEqual(first.tags, ['renewal', 'enterprise']);
    const again = await runBin(['insights', 'add', '  acme RENEWS in q3 ', '--confidence', '0.9', '--json'], { env });
    const second = JSON.parse(again.stdout);
    assert.equal(second.reinforced, true);
    assert.equal(second.id, first.id);
    assert.equal(second.reinforcement_count, 2);
    assert.equal(second.base_confidence, 0.9);
    await runBin(['insights', 'add', 'Globex asked for SSO.', '--source', 'zendesk'], { env });

    const list = await runBin(['insights', 'list', '--json'], { env });
    assert.equal(JSON.parse(list.stdout).length, 2);
    const search = await runBin(['insights', 'list', '--search', 'globex', '--json'], { env });
    assert.equal(JSON.parse(search.stdout).length, 1);
    const show = await runBin(['insights', 'show', String(first.id)], { env });
    assert.equal(show.code, 0);
    assert.match(show.stdout, /Acme renews in Q3/);
    assert.equal((await runBin(['insights', 'show', '9999'], { env })).code, 4);

    const exported = await runBin(['insights', 'export'], { env });
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.id), [1, 2]);
    const file = path.join(dir, 'backup.jsonl');
    assert.equal((await runBin(['insights', 'export', '--output', file], { env })).code, 0);
    const { env: fresh } = engineEnv();
    const imported = await runBin(['insights', 'import', file, '--json'], { env: fresh });
    assert.equal(imported.code, 0, imported.stderr);
    const reexported = await runBin(['insights', 'export'], { env: fresh });
    const strip = (text: string) => text.trim().split('\n').map((l) => {
      const { text: t, source, tags, confidence, created_at, last_reinforced_at } = JSON.parse(l);
      return { t, source, tags, confidence, created_at, last_reinforced_at };
    });
    assert.deepEqual(strip(reexported.stdout), strip(readFileSync(file, 'utf8')));
  });

  test('import feedback: a binary file, an empty one, CSV read as JSONL, an empty text, 20 bad lines then a count, plurals', async () => {
    const { dir, env } = engineEnv();
    const binary = path.join(dir, 'photo.jsonl');
    writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]));
    const b = await runBin(['insights', 'import', binary], { env });
    assert.equal(b.code, 2);
    assert.match(b.stderr, /^error: .*photo\.jsonl looks like a binary file, not JSONL$/m);
    assert.equal(b.stderr.split('\n').filter((l) => l.includes('invalid JSON')).length, 0);

    const empty = path.join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const e = await runBin(['insights', 'import', empty], { env });
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, /^warning: .*empty\.jsonl is empty: nothing was imported$/m);

    const csv = await runBin(['insights', 'import', '-'], { env, input: 'text,source\nAcme renews,crm\nGlobex churns,crm\n' });
    assert.equal(csv.code, 9);
    assert.match(csv.stderr, /^hint: if stdin is CSV, pass --format csv$/m);

    const lines = [JSON.stringify({ text: '' }), JSON.stringify({ text: 'one good line' }), ...Array.from({ length: 30 }, () => '{nope')];
    const many = path.join(dir, 'many.jsonl');
    writeFileSync(many, lines.join('\n'));
    const m = await runBin(['insights', 'import', many], { env });
    assert.equal(m.code, 9);
    assert.match(m.stderr, /many\.jsonl:1: empty "text"/);
    assert.equal(m.stderr.split('\n').filter((l) => /many\.jsonl:\d+:/.test(l)).length, 20);
    assert.match(m.stderr, /^… and 11 more bad lines$/m);
    assert.match(m.stderr, /^error: imported 1 line; skipped 31 bad lines$/m);
  });

  test('bad input: confidence, status filter, unknown format, a directory, a missing file', async () => {
    const { dir, env } = engineEnv();
    assert.equal((await runBin(['insights', 'add', 'x', '--confidence', '1.5'], { env })).code, 2);
    assert.equal((await runBin(['insights', 'list', '--status', 'gone'], { env })).code, 2);
    assert.equal((await runBin(['insights', 'import', 'data.txt'], { env })).code, 2);
    assert.equal((await runBin(['insights', 'import', dir, '--format', 'jsonl'], { env })).code, 2);
    assert.equal((await runBin(['insights', 'import', path.join(dir, 'nope.jsonl')], { env })).code, 2);
    const unwritable = await runBin(['insights', 'export', '--output', path.join(dir, 'missing', 'out.jsonl')], { env });
    assert.equal(unwritable.code, 2);
    assert.match(unwritable.stderr, /cannot write/);
  });

  test('an unreadable import file, small or large enough for the parsing worker: exit 2, one line, no database touched', async (t) => {
    const dir = tempDir('nex-compound-cli-unreadable-');
    chmodSync(dir, 0o777);
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const check = (r: { code: number | null; stderr: string }, file: string, code: string, hint: string, db: string) => {
      assert.equal(r.code, 2, `${file}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: cannot read ${escape(file)} \\(${code}\\)\n${hint}$`), file);
      assert.equal(existsSync(db), false, `${file}: the database was not created`);
    };

    // A socket cannot be opened for reading by anyone, root included.
    const socket = path.join(dir, 'in.jsonl');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const db = path.join(dir, 'socket.db');
      check(await runBin(['insights', 'import', socket], { env: { NEX_COMPOUND_DB: db, NEX_COMPOUND_CONFIG_DIR: dir } }), socket, 'ENXIO', 'hint: pass a regular file, or - to read standard input\n', db);
    } finally {
      server.close();
    }

    // A file without read permission (as root, the bin runs as nobody: see runBinAsUnprivileged).
    const line = `${JSON.stringify({ text: 'a note long enough to make the file large', source: 'x' })}\n`;
    for (const [size, text] of Object.entries({ small: line, large: line.repeat(Math.ceil((5 * 1024 * 1024) / line.length)) })) {
      const file = path.join(dir, `${size}.jsonl`);
      writeFileSync(file, text);
      chmodSync(file, 0o000);
      const db = path.join(dir, `${size}.db`);
      const env = { HOME: dir, NEX_COMPOUND_DB: db, NEX_COMPOUND_CONFIG_DIR: dir };
      const r = runBinAsUnprivileged(['insights', 'import', file], env);
      if (!r) {
        t.skip('EACCES part skipped: running as root, and the user nobody cannot run this Node or read this checkout');
        return;
      }
      check(r, file, 'EACCES', "hint: check the file's permissions and owner\n", db);
    }
  });

  test('bad import lines: reported with line numbers; good lines imported, exit 9; --strict writes nothing', async () => {
    const { dir, env } = engineEnv();
    const file = path.join(dir, 'mixed.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ text: 'Initech churned after the price increase.', source: 'hubspot', confidence: 0.7 }),
        '{not json',
        JSON.stringify({ source: 'no text here' }),
        JSON.stringify({ text: 'Confidence out of range', confidence: 1.7 }),
        JSON.stringify({ text: 'Bad date', created_at: 'yesterday-ish' }),
        JSON.stringify({ text: 'Umbrella wants a Snowflake integration.', tags: ['integrations'] }),
      ].join('\n') + '\n',
    );
    const strict = await runBin(['insights', 'import', file, '--strict'], { env });
    assert.equal(strict.code, 9);
    assert.match(strict.stderr, /nothing was imported/);
    assert.equal(JSON.parse((await runBin(['insights', 'list', '--json'], { env })).stdout).length, 0);

    const lenient = await runBin(['insights', 'import', file], { env });
    assert.equal(lenient.code, 9);
    for (const line of [2, 3, 4, 5]) assert.match(lenient.stderr, new RegExp(`mixed\\.jsonl:${line}: `));
    assert.doesNotMatch(lenient.stderr, /mixed\.jsonl:(1|6): /);
    assert.match(lenient.stderr, /skipped 4 bad lines/);
    assert.equal(JSON.parse((await runBin(['insights', 'list', '--json'], { env })).stdout).length, 2);
  });

  test('CSV from stdin with --format', async () => {
    const { env } = engineEnv();
    const csv = 'text,source,confidence,tags\n"Hooli needs SOC 2, Type II",email,0.8,"security;enterprise"\nPied Piper expands seats,slack,0.6,expansion\n';
    const r = await runBin(['insights', 'import', '-', '--format', 'csv', '--json'], { env, input: csv });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).imported, 2);
    const list = JSON.parse((await runBin(['insights', 'list', '--json'], { env })).stdout) as Array<{ text: string; tags: string[] }>;
    assert.ok(list.some((i) => i.text === 'Hooli needs SOC 2, Type II' && i.tags.includes('security')));
  });

  test('a large file and JSONL on stdin go through the parsing worker with the same results', async () => {
    const { dir, env } = engineEnv();
    const file = path.join(dir, 'large.jsonl');
    // ~5 MiB: above the size where the import parses in a worker thread.
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      lines.push(i === 31_337 ? '{"text": ' : JSON.stringify({ text: `Account ${i % 30_000} asked about SSO pricing for the ${(i % 30_000) % 7}th region, again and again.`, source: 'zendesk', tags: ['sso', 'pricing'] }));
    }
    writeFileSync(file, lines.join('\n') + '\n');
    assert.ok(statSync(file).size > 4 * 1024 * 1024);
    const r = await runBin(['insights', 'import', file, '--json'], { env });
    assert.equal(r.code, 9, r.stderr);
    assert.match(r.stderr, /large\.jsonl:31338: invalid JSON/);
    assert.deepEqual(JSON.parse(r.stdout), { lines: 40_000, imported: 30_000, reinforced: 9_999, skipped: 1, written: true });

    const piped = await runBin(['insights', 'import', '-', '--json'], { env, input: lines.slice(0, 100).join('\n') });
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual(JSON.parse(piped.stdout), { lines: 100, imported: 0, reinforced: 100, skipped: 0, written: true });
  });

  test('8 processes importing and triggering at once: everything recorded, no SQLITE_BUSY reaches the user', async () => {
    const { dir, env } = engineEnv();
    const files = Array.from({ length: 4 }, (_, f) => {
      const file = path.join(dir, `part${f}.jsonl`);
      writeFileSync(file, Array.from({ length: 5000 }, (_, i) => JSON.stringify({ text: `part ${f} insight ${i}`, confidence: 0.5 })).join('\n'));
      return file;
    });
    const runs = await Promise.all([
      ...files.map((file) => runBin(['insights', 'import', file, '--json'], { env })),
      ...Array.from({ length: 4 }, (_, i) => runBin(['trigger', i % 2 ? 'metrics' : 'decay_sweep', '--local', '--json'], { env })),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /SQLITE_BUSY|database is locked/);
    }
    const ids = runs.slice(4).map((r) => JSON.parse(r.stdout).job_run_id as string);
    const watch = await runBin(['watch', ...ids, '--local', '--timeout', '60s'], { env });
    assert.equal(watch.code, 0, watch.stderr);
    const db = openDatabaseWith(Sqlite, env.NEX_COMPOUND_DB, { create: false });
    assert.equal((db.prepare('SELECT count(*) AS n FROM insights').get() as { n: number }).n, 20_000);
    assert.equal((db.prepare(`SELECT count(*) AS n FROM jobs WHERE status = 'completed'`).get() as { n: number }).n, 4);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
  });
});

describe('insights export and import --restore', () => {
  const exportOf = async (env: Record<string, string>, ...extra: string[]) => {
    const r = await runBin(['insights', 'export', ...extra], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const restore = (env: Record<string, string>, file: string, ...extra: string[]) => runBin(['insights', 'import', '--restore', file, ...extra], { env, timeoutMs: 60_000 });

  test('the demo store: export → import --restore into a fresh database → export is byte-identical', async () => {
    const { dir, env } = engineEnv();
    const demo = await runBin(['demo', '--db', env.NEX_COMPOUND_DB, '--json'], { env, timeoutMs: 60_000 });
    assert.equal(demo.code, 0, demo.stderr);
    const workspace = String(JSON.parse(demo.stdout).workspace_id);
    const original = await exportOf(env, '--workspace', workspace);
    const records = original.trim().split('\n').map((l) => JSON.parse(l) as { status: string; base_confidence: number; confidence: number; reinforcement_count: number });
    for (const status of ['active', 'merged', 'archived']) assert.ok(records.some((r) => r.status === status), `the demo store has ${status} insights`);
    assert.ok(records.some((r) => r.confidence < r.base_confidence) && records.some((r) => r.reinforcement_count > 1), 'decayed and reinforced insights');
    const file = path.join(dir, 'demo.jsonl');
    writeFileSync(file, original);

    const fresh = { ...env, NEX_COMPOUND_DB: path.join(dir, 'restored.db') };
    const r = await restore(fresh, file, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { lines: records.length, restored: records.length, skipped: 0, written: true, id_offset: 0 });
    assert.equal(await exportOf(fresh), original);
    const csv = await exportOf(fresh, '--format', 'csv');
    assert.equal(await exportOf(env, '--workspace', workspace, '--format', 'csv'), csv);
  });

  test('merged, archived, reinforced and non-ASCII insights come back exactly; history too; a shared database shifts the ids', async () => {
    const { dir, env } = engineEnv();
    const day = 86_400_000;
    const old = (days: number) => new Date(Date.now() - days * day).toISOString();
    const texts = [
      { text: 'Zürich office asks for SAML single sign-on before the renewal', source: 'gong', tags: ['sso', 'renewal'], last_reinforced_at: old(2) },
      { text: 'Zürich office asks for SAML single sign-on before renewal', source: 'gong', tags: ['sso'], last_reinforced_at: old(3) },
      { text: 'العميل يريد تسجيل الدخول الموحد 🔐 — e\u0301 combining, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢', source: 'zendesk', tags: ['i18n'], last_reinforced_at: old(1) },
      { text: 'Globex stopped using the dashboards last spring', source: 'crm', tags: ['churn'], confidence: 0.3, last_reinforced_at: old(400) },
      { text: 'Initech pays annually "by wire", with\na note on two lines', source: null, tags: [], last_reinforced_at: old(5) },
    ];
    const input = path.join(dir, 'in.jsonl');
    writeFileSync(input, `${texts.map((t) => JSON.stringify(t)).join('\n')}\n`);
    assert.equal((await runBin(['insights', 'import', input], { env })).code, 0);
    assert.equal((await runBin(['insights', 'add', 'initech PAYS annually "by wire", with\na note on two lines', '--confidence', '0.9'], { env })).code, 0);
    for (const job of ['consolidation', 'decay_sweep']) assert.equal((await runBin(['trigger', job, '--local', '--wait', '-q'], { env, timeoutMs: 60_000 })).code, 0);
    const original = await exportOf(env);
    const statuses = original.trim().split('\n').map((l) => JSON.parse(l) as { status: string; reinforcement_count: number });
    assert.deepEqual(statuses.map((s) => s.status).sort(), ['active', 'active', 'active', 'archived', 'merged']);
    assert.ok(statuses.some((s) => s.reinforcement_count === 2));
    const file = path.join(dir, 'backup.jsonl');
    writeFileSync(file, original);
    const merged = (JSON.parse(original.trim().split('\n').find((l) => l.includes('"merged"'))!) as { id: number }).id;
    const showOf = async (e: Record<string, string>, id: number) => JSON.parse((await runBin(['insights', 'show', String(id), '--json'], { env: e })).stdout) as unknown;

    const fresh = { ...env, NEX_COMPOUND_DB: path.join(dir, 'fresh.db') };
    assert.equal((await restore(fresh, file)).code, 0);
    assert.equal(await exportOf(fresh), original);
    assert.deepEqual(await showOf(fresh, merged), await showOf(env, merged));

    // Workspace 2 of the original database: the ids are taken, so each is raised by the highest in use.
    const second = await restore(env, file, '--workspace', '2');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /^warning: other workspaces of this database use ids up to 5: every restored id was raised by 5/m);
    const shifted = (await exportOf(env, '--workspace', '2')).trim().split('\n').map((l) => JSON.parse(l) as { id: number; merged_into: number | null });
    const originalRecords = original.trim().split('\n').map((l) => JSON.parse(l) as { id: number; merged_into: number | null });
    assert.deepEqual(shifted, originalRecords.map((r) => ({ ...r, id: r.id + 5, merged_into: r.merged_into === null ? null : r.merged_into + 5 })));

    // Not into a workspace that holds insights: exit 10, nothing written.
    const refused = await restore(env, file);
    assert.equal(refused.code, 10, refused.stderr);
    assert.match(refused.stderr, /^error: workspace 1 already holds 5 insights; a restore goes into an empty workspace$/m);
    assert.equal(await exportOf(env), original);
  });

  test('a CSV export read back by plain import keeps every active insight\'s text, source, tags, base confidence, count and dates', async () => {
    const { dir, env } = engineEnv();
    const input = [
      { text: 'Acme said "renew, but only with SSO",\nthen hung up', source: 'gong, call', tags: ['renewal', 'sso'], confidence: 0.8, reinforcement_count: 3, created_at: '2026-01-02T03:04:05.678Z', last_reinforced_at: '2026-02-03T04:05:06.789Z' },
      { text: '  Zürich office — 🔐 SAML  ', source: null, tags: [], confidence: 0.25, created_at: '2025-12-31T23:59:59.999Z' },
    ];
    const file = path.join(dir, 'in.jsonl');
    writeFileSync(file, input.map((i) => JSON.stringify(i)).join('\n'));
    assert.equal((await runBin(['insights', 'import', file], { env })).code, 0);
    const csvFile = path.join(dir, 'out.csv');
    assert.equal((await runBin(['insights', 'export', '--format', 'csv', '--output', csvFile], { env })).code, 0);
    assert.match(readFileSync(csvFile, 'utf8'), /^id,text,source,tags,confidence,base_confidence,reinforcement_count,status,merged_into,created_at,last_reinforced_at\r\n/);
    const fresh = { ...env, NEX_COMPOUND_DB: path.join(dir, 'fresh.db') };
    const imported = await runBin(['insights', 'import', csvFile], { env: fresh });
    assert.equal(imported.code, 0, imported.stderr);
    const kept = (text: string) =>
      text.trim().split('\n').map((l) => {
        const { text: t, source, tags, base_confidence, reinforcement_count, created_at, last_reinforced_at } = JSON.parse(l) as Record<string, unknown>;
        return { t, source, tags, base_confidence, reinforcement_count, created_at, last_reinforced_at };
      });
    assert.deepEqual(kept(await exportOf(fresh)), kept(await exportOf(env)));
  });

  test('a restore reads an export\'s bytes exactly: a line that is not UTF-8 restores nothing', async () => {
    const { dir, env } = engineEnv();
    const line = (id: number, text: string) => JSON.stringify({ id, text, source: null, tags: [], confidence: 0.5, base_confidence: 0.5, reinforcement_count: 1, status: 'active', merged_into: null, created_at: '2026-11-01T00:00:00.000Z', last_reinforced_at: '2026-11-01T00:00:00.000Z' });
    const file = path.join(dir, 'latin1.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from(`${line(1, 'fine')}\n`), Buffer.from(`${line(2, 'caf\u00e9')}\n`, 'latin1')]));
    const r = await restore(env, file);
    assert.equal(r.code, 9, r.stderr);
    assert.match(r.stderr, /latin1\.jsonl:2: not valid UTF-8/);
    assert.equal(await exportOf(env), '');
  });

  test('a restore is all or nothing: a bad line, a lone surrogate, an open merge link or a CSV file restores nothing', async () => {
    const { dir, env } = engineEnv();
    const record = (id: number, extra: Record<string, unknown> = {}) => ({
      id, text: `insight number ${id}`, source: null, tags: [], confidence: 0.5, base_confidence: 0.5, reinforcement_count: 1,
      status: 'active', merged_into: null, created_at: '2026-11-01T00:00:00.000Z', last_reinforced_at: '2026-11-01T00:00:00.000Z', ...extra,
    });
    const cases: Array<[string, string, RegExp]> = [
      ['surrogate', `${JSON.stringify(record(1))}\n${JSON.stringify(record(2)).replace('insight number 2', 'lone \\ud800 here')}\n`, /surrogate\.jsonl:2: "text" is not valid Unicode/],
      ['link', `${JSON.stringify(record(1))}\n${JSON.stringify(record(2, { status: 'merged', merged_into: 7 }))}\n`, /link\.jsonl: insight 2 is merged into 7, whose merge chain does not end/],
      ['loop', `${JSON.stringify(record(1, { status: 'merged', merged_into: 2 }))}\n${JSON.stringify(record(2, { status: 'merged', merged_into: 1 }))}\n`, /loop\.jsonl: insight 1 is merged into 2/],
      ['twice', `${JSON.stringify(record(1))}\n${JSON.stringify(record(1, { text: 'another text' }))}\n`, /twice\.jsonl:2: id 1 appears twice in the file/],
      ['copy', `${JSON.stringify(record(1))}\n${JSON.stringify(record(2, { text: 'INSIGHT number 1' }))}\n`, /copy\.jsonl:2: an active insight with the same text is already in the file \(id 1\)/],
      ['plain', `${JSON.stringify(record(1))}\n${JSON.stringify({ text: 'a plain import line' })}\n`, /plain\.jsonl:2: missing "id": a restore needs every field/],
      ['extra', `${JSON.stringify(record(1, { workspace: 3 }))}\n`, /extra\.jsonl:1: unknown field "workspace"/],
    ];
    for (const [name, text, message] of cases) {
      const file = path.join(dir, `${name}.jsonl`);
      writeFileSync(file, text);
      const r = await restore(env, file);
      assert.equal(r.code, 9, `${name}: ${r.stderr}`);
      assert.match(r.stderr, message, name);
      assert.match(r.stderr, /a restore is all or nothing, so nothing was restored/);
      assert.equal(await exportOf(env), '', `${name}: nothing was written`);
    }
    writeFileSync(path.join(dir, 'x.csv'), 'text\nhello\n');
    const csv = await restore(env, path.join(dir, 'x.csv'));
    assert.equal(csv.code, 2);
    assert.match(csv.stderr, /^error: --restore reads the JSONL that `insights export` writes$/m);
  });
});

describe('jobs, metrics and demo', () => {
  test('metrics: a snapshot per run, the latest shown with its trend', async () => {
    const { env } = engineEnv();
    await runBin(['insights', 'add', 'Acme renews in Q3', '--confidence', '0.95'], { env });
    await runBin(['insights', 'add', 'Globex pays annually', '--confidence', '0.15'], { env });
    for (let i = 0; i < 2; i++) assert.equal((await runBin(['trigger', 'metrics', '--local', '--wait', '-q'], { env })).code, 0);
    const r = await runBin(['metrics', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const { latest, trend } = JSON.parse(r.stdout);
    assert.equal(latest.insights.active, 2);
    assert.equal(latest.confidence_histogram[9], 1);
    assert.equal(latest.confidence_histogram[1], 1);
    assert.equal(trend.length, 2);
    assert.equal(latest.jobs.metrics.completed >= 1, true);
    const human = await runBin(['metrics'], { env });
    assert.match(human.stdout, /trend \(2 snapshots\)/);
  });

  test('jobs lists the local history, newest first', async () => {
    const { env } = engineEnv();
    await runBin(['trigger', 'metrics', '--local', '--wait', '-q'], { env });
    await runBin(['trigger', 'decay_sweep', '--local', '--dry-run', '--wait', '-q'], { env });
    const r = await runBin(['jobs', '--local', '--json'], { env });
    const jobs = JSON.parse(r.stdout) as Array<{ job_type: string; dry_run: boolean }>;
    assert.deepEqual(jobs.map((j) => j.job_type), ['decay_sweep', 'metrics']);
    assert.equal(jobs[0]!.dry_run, true);
  });

  test('demo loads the sample dataset into a fresh database and runs every available job', async () => {
    const { env } = engineEnv();
    const { NEX_COMPOUND_DB: _ignored, ...demoEnv } = env;
    void _ignored;
    const r = await runBin(['demo', '--json'], { env: demoEnv, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.ok(result.imported >= 300, `imported ${result.imported}`);
    assert.deepEqual(result.jobs.map((j: { job_type: string }) => j.job_type), ['consolidation', 'pattern_detection', 'playbook_synthesis', 'decay_sweep', 'metrics']);
    assert.ok(result.jobs.every((j: { status: string }) => j.status === 'completed'));
    assert.ok(result.jobs[0].candidates_created >= 30, 'most of the 40 planted duplicate groups merge');
    assert.ok(result.jobs[1].candidates_created > 0, 'the planted themes make patterns');
    assert.ok(result.jobs[2].candidates_created > 0, 'and the patterns make rules');
    assert.ok(result.jobs[3].insights_affected > 0, 'the planted stale items decay');
    const rerun = await runBin(['demo', '--json'], { env: demoEnv, timeoutMs: 60_000 });
    assert.equal(JSON.parse(rerun.stdout).imported, result.imported, 'each demo starts from a fresh database');
  });
});

describe('remote job history', () => {
  let server: FakeNexServer;
  before(async () => {
    server = await startFakeNexServer();
  });
  after(() => server.close());

  test('jobs triggered on the remote API are kept locally and listed by `jobs`', async () => {
    const { env } = engineEnv();
    const remoteEnv = { ...env, NEX_API_KEY: 'test-key-123', NEX_BASE_URL: server.url };
    const t1 = JSON.parse((await runBin(['trigger', 'metrics', '--json'], { env: remoteEnv })).stdout);
    const t2 = JSON.parse((await runBin(['trigger', 'decay_sweep', '--dry-run', '--json'], { env: remoteEnv })).stdout);
    const r = await runBin(['jobs', '--json'], { env: remoteEnv });
    assert.equal(r.code, 0, r.stderr);
    const jobs = JSON.parse(r.stdout) as Array<{ job_run_id: string; dry_run: boolean; base_url: string }>;
    assert.deepEqual(jobs.map((j) => j.job_run_id), [t2.job_run_id, t1.job_run_id]);
    assert.equal(jobs[0]!.dry_run, true);
    assert.ok(jobs[0]!.base_url.startsWith(server.url));
    assert.ok(!r.stdout.includes('test-key-123'));
  });
});
