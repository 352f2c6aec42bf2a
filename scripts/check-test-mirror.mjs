#!/usr/bin/env node
// Every folder of src/ has a mirror folder in test/: src/X/Y -> test/X/Y exists and holds at least one
// *.test.ts somewhere below it. Folders with no *.ts at any depth (data such as OpenAPI documents or seed
// files) are skipped. Prints each folder without tests and exits 1; exits 0 when all have them.
// Usage: node scripts/check-test-mirror.mjs [src-dir] [test-dir]   (defaults: src test, from the repo root)
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folders of src/ (relative, with forward slashes) that need no tests of their own. Keep it short. */
const EXEMPT = new Set([]);

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const srcDir = path.resolve(root, process.argv[2] ?? 'src');
const testDir = path.resolve(root, process.argv[3] ?? 'test');

const isDir = (p) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const subdirs = (dir) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
    .map((e) => e.name)
    .sort();

/** Whether dir holds a file whose name ends with suffix, at any depth. */
const holds = (dir, suffix) =>
  readdirSync(dir, { withFileTypes: true }).some(
    (e) => (e.isFile() && e.name.endsWith(suffix)) || (e.isDirectory() && !e.name.startsWith('.') && holds(path.join(dir, e.name), suffix)),
  );

if (!isDir(srcDir)) {
  console.error(`check-test-mirror: ${path.relative(root, srcDir) || srcDir} is not a folder`);
  process.exit(2);
}

const problems = [];
let checked = 0;
const walk = (rel) => {
  for (const name of subdirs(path.join(srcDir, rel))) {
    const child = rel ? `${rel}/${name}` : name;
    walk(child);
    if (EXEMPT.has(child) || !holds(path.join(srcDir, child), '.ts')) continue;
    checked += 1;
    const mirror = path.join(testDir, child);
    const srcRel = path.relative(root, path.join(srcDir, child));
    const testRel = path.relative(root, mirror);
    if (!isDir(mirror)) problems.push(`${srcRel}/ has no test folder ${testRel}/`);
    else if (!holds(mirror, '.test.ts')) problems.push(`${srcRel}/ has a test folder ${testRel}/, but no *.test.ts in it or below it`);
  }
};
walk('');

if (problems.length > 0) {
  for (const problem of problems.sort()) console.error(`check-test-mirror: ${problem}`);
  console.error(`check-test-mirror: ${problems.length} of ${checked} src folders lack tests (mirror src/X/Y as test/X/Y with a *.test.ts below it)`);
  process.exit(1);
}
console.log(`check-test-mirror: all ${checked} src folders have tests`);
