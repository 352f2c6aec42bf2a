#!/usr/bin/env node
// Thin entry point: build the real dependencies, run, and set the exit code (only here).
import module from 'node:module';

// Node ≥ 22.1 keeps the compiled code of the modules below on disk between runs; Node 20 has no such cache.
try {
  module.enableCompileCache?.();
} catch {
  // A cache directory that cannot be written only costs speed.
}
// The CLI as bundled at build time (scripts/bundle.mjs): --version and --help from a small bundle,
// everything else from one file instead of dozens.
const { createProcessDeps, quickAnswer } = await import('../dist/bundle/quick.js');

// A reader that went away (`nex-compound jobs | head -3`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  // The first Ctrl-C lets the command explain how to resume; a second one leaves at once.
  if (interrupts > 1) process.exit(130);
  controller.abort();
});
// SIGTERM (a service manager, `kill`) stops a command the way Ctrl-C does: serve shuts down cleanly.
process.on('SIGTERM', () => {
  if (controller.signal.aborted) process.exit(143);
  controller.abort();
});

const argv = process.argv.slice(2);
const deps = createProcessDeps(controller.signal);
if (!quickAnswer(argv, deps)) {
  const { runCli } = await import('../dist/bundle/cli.js');
  process.exitCode = await runCli(argv, deps);
}
