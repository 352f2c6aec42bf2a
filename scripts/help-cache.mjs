#!/usr/bin/env node
// Runs after tsc (npm run build): renders the top-level --help once, as a pipe sees it (80
// columns, no color), into dist/help.txt. `nex-compound --help` piped or in CI prints that file
// instead of loading commander and building the command tree (~40 ms of a ~150 ms start on a
// small VM). test/bin.test.ts checks the file against what commander renders now.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env, NO_COLOR: '1', NEX_COMPOUND_HELP_CACHE: 'off' };
delete env.FORCE_COLOR;
const help = execFileSync(process.execPath, ['bin/nex-compound.js', 'help'], { cwd: root, env, encoding: 'utf8' });
writeFileSync(new URL('../dist/help.txt', import.meta.url), help);
