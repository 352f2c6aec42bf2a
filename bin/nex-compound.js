#!/usr/bin/env node
// Thin entry point: build the real dependencies, run, and set the exit code (only here).
import { createProcessDeps } from '../dist/cli/process-deps.js';
import { runCli } from '../dist/cli/entry.js';

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

process.exitCode = await runCli(process.argv.slice(2), createProcessDeps(controller.signal));
