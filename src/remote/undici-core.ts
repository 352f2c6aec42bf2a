/**
 * The parts of undici this client uses — Agent, EnvHttpProxyAgent and the request API — loaded
 * from undici's own modules rather than its index, which also loads fetch, WebSocket, caches,
 * mocks and interceptors: about 65 ms of a remote command's ~280 ms start on a small VM.
 * undici ships no "exports" map, so these files are reachable; should a later undici move them,
 * the index is loaded instead and everything works as before, only slower to start.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

export interface UndiciCore {
  Agent: typeof Undici.Agent;
  EnvHttpProxyAgent: typeof Undici.EnvHttpProxyAgent;
  buildConnector: typeof Undici.buildConnector;
}

let loaded: UndiciCore | undefined;

export function undiciCore(): UndiciCore {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    const { prototype } = require('undici/lib/dispatcher/dispatcher.js') as { prototype: Record<string, unknown> };
    // What undici's index does at load: the request API lives on every dispatcher.
    if (typeof prototype.request !== 'function') Object.assign(prototype, require('undici/lib/api/index.js'));
    loaded = {
      Agent: require('undici/lib/dispatcher/agent.js') as UndiciCore['Agent'],
      EnvHttpProxyAgent: require('undici/lib/dispatcher/env-http-proxy-agent.js') as UndiciCore['EnvHttpProxyAgent'],
      buildConnector: require('undici/lib/core/connect.js') as UndiciCore['buildConnector'],
    };
    if (typeof loaded.Agent !== 'function' || typeof loaded.EnvHttpProxyAgent !== 'function' || typeof loaded.buildConnector !== 'function') throw new Error('undici layout changed');
  } catch {
    const undici = require('undici') as typeof Undici;
    loaded = { Agent: undici.Agent, EnvHttpProxyAgent: undici.EnvHttpProxyAgent, buildConnector: undici.buildConnector };
  }
  return loaded;
}
