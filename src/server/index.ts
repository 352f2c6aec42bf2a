/** The server floor's entry point: `serve` builds the Nex compounding API over an open engine. */
export { buildServer } from './app.js';
