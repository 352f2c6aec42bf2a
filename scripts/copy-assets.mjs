#!/usr/bin/env node
// Runs after tsc (npm run build): copies what the built code reads at run time and tsc does not
// emit — the project's own copy of the OpenAPI contract that `serve` answers at GET /openapi.json.
import { copyFileSync, mkdirSync } from 'node:fs';

const assets = ['contract/openapi/nex-compounding.openapi.json'];
for (const asset of assets) {
  const target = new URL(`../dist/${asset}`, import.meta.url);
  mkdirSync(new URL('.', target), { recursive: true });
  copyFileSync(new URL(`../src/${asset}`, import.meta.url), target);
}
