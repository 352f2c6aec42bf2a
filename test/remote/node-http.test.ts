/**
 * The node:http transport against undici on the same hostile servers: the same answers, the same
 * error codes and messages, the same "never reached" / "reached, transient" classification — so
 * a run without a proxy (node:http) and one through a proxy (undici) behave as one client.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Agent } from 'undici';
import { NodeHttpTransport } from '../../src/remote/node-http.js';
import { KnownError } from '../../src/contract/errors.js';
import { RequestDeadlineError, createDispatcher, createTransport, describeNetworkError, errorCode, httpClientFor, isNeverReached, isReachedTransient, sendRequest, type Transport } from '../../src/remote/http.js';
import { reply, replyJson, serverPool, stall, trickle, type Responder } from '../helpers/hostile-server.js';

const { serve } = serverPool();
const SHORT = { connectMs: 2000, headersMs: 300, bodyMs: 300 };
const undiciShort = new Agent({ connect: { timeout: SHORT.connectMs }, headersTimeout: SHORT.headersMs, bodyTimeout: SHORT.bodyMs });
const undiciDefault = createDispatcher({});
const nodeShort = new NodeHttpTransport(SHORT);
const nodeDefault = new NodeHttpTransport();
after(async () => {
  nodeShort.close();
  nodeDefault.close();
  await Promise.all([undiciShort.destroy(), undiciDefault.destroy()]);
});

/** What a caller can see of one request: the answer, or the error's kind, code, message and class. */
async function outcome(transport: Transport, url: string, deadlineMs?: number): Promise<unknown> {
  try {
    const response = await sendRequest(
      { method: 'GET', url: new URL(url), headers: { accept: 'application/json', authorization: 'Bearer k' } },
      { dispatcher: transport, debug: () => undefined, now: Date.now, ...(deadlineMs ? { requestDeadlineMs: deadlineMs } : {}) },
    );
    const { date: _date, ...headers } = response.headers;
    return { status: response.status, text: response.text, headers, url: response.url.href };
  } catch (error) {
    return {
      // The class of a network error is each library's own; the client looks at codes only.
      error: error instanceof KnownError || error instanceof RequestDeadlineError ? error.constructor.name : 'network error',
      code: errorCode(error),
      message: describeNetworkError(error),
      neverReached: isNeverReached(error),
      transient: isReachedTransient(error),
    };
  }
}

const body = JSON.stringify({ job_run_id: 'x', status: 'completed' });
const SERVERS: Array<{ name: string; respond: Responder; short?: boolean; deadlineMs?: number }> = [
  { name: 'a plain JSON answer', respond: (_req, socket) => replyJson(socket, 200, { ok: true }) },
  { name: 'a header sent twice, and one sent once', respond: (_req, socket) => reply(socket, 200, body, { 'X-Twice': 'a', 'x-twice': 'b', 'Content-Type': 'application/json' }) },
  {
    name: 'a same-origin redirect',
    respond: (req, socket) => (req.path.endsWith('/moved') ? replyJson(socket, 200, { moved: true }) : reply(socket, 307, 'go', { Location: '/v1/moved' })),
  },
  { name: 'a redirect to another origin', respond: (_req, socket) => reply(socket, 302, '', { Location: 'http://127.0.0.2:9/x' }) },
  { name: 'a redirect without a Location', respond: (_req, socket) => reply(socket, 302, '') },
  { name: 'an interim 100 Continue before the answer', respond: (_req, socket) => { socket.write('HTTP/1.1 100 Continue\r\n\r\n'); replyJson(socket, 200, { after: 'continue' }); } },
  { name: 'a connection closed without an answer', respond: (_req, socket) => socket.end() },
  { name: 'a connection reset without an answer', respond: (_req, socket) => socket.resetAndDestroy() },
  { name: 'an answer that is not HTTP', respond: (_req, socket) => socket.end('HELLO THERE\r\n\r\n') },
  { name: 'a body cut short of its Content-Length', respond: (_req, socket) => { socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"a":'); socket.end(); } },
  {
    name: 'a body cut short of its Content-Length, on a connection the server said it would close',
    respond: (_req, socket) => { socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100\r\n\r\n'); socket.end('{"a":'); },
  },
  { name: 'a connection reset mid-body', respond: (_req, socket) => { socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"a":', () => setTimeout(() => socket.resetAndDestroy(), 20)); } },
  {
    name: 'a connection reset mid-body, on a connection the server said it would close',
    respond: (_req, socket) => { socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100\r\n\r\n{"a":', () => setTimeout(() => socket.resetAndDestroy(), 20)); },
  },
  { name: 'a chunked body cut short', respond: (_req, socket) => { socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n'); socket.end(); } },
  { name: 'a body over the size cap', respond: (_req, socket) => reply(socket, 200, 'x'.repeat(1024 * 1024 + 10)) },
  { name: 'no answer at all (headers timeout)', respond: () => stall(), short: true },
  { name: 'headers, then a body that stalls (body timeout)', respond: (_req, socket) => { socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{'); }, short: true },
  { name: 'a body trickled past the whole-request deadline', respond: (_req, socket) => void trickle(socket, 200, body, 100), deadlineMs: 600 },
];

describe('node:http and undici give the same outcome on the same server', { concurrency: 1 }, () => {
  for (const server of SERVERS) {
    test(server.name, async () => {
      const hostile = await serve(server.respond);
      const url = `${hostile.url}/v1/compounding/jobs/x`;
      const viaUndici = await outcome(server.short ? undiciShort : undiciDefault, url, server.deadlineMs);
      const viaNode = await outcome(server.short ? nodeShort : nodeDefault, url, server.deadlineMs);
      assert.deepEqual(viaNode, viaUndici);
    });
  }

  test('a refused connection: never reached, on both', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const url = `http://127.0.0.1:${port}/x`;
    const viaNode = await outcome(nodeDefault, url);
    assert.deepEqual(viaNode, await outcome(undiciDefault, url));
    assert.equal((viaNode as { neverReached: boolean }).neverReached, true);
  });

  test("an abort rejects with the signal's reason on both", async () => {
    const hostile = await serve(() => stall());
    for (const transport of [nodeDefault, undiciDefault]) {
      const controller = new AbortController();
      const reason = new Error('stop');
      setTimeout(() => controller.abort(reason), 50);
      await assert.rejects(sendRequest({ method: 'GET', url: new URL(hostile.url), headers: {}, signal: controller.signal }, { dispatcher: transport, debug: () => undefined, now: Date.now }), (error) => error === reason);
    }
  });
});

describe('which client a run uses', () => {
  test('node:http without a proxy, undici with one or when asked', () => {
    assert.equal(httpClientFor({}), 'node');
    assert.equal(httpClientFor({ HTTPS_PROXY: 'http://proxy:3128' }), 'undici');
    assert.equal(httpClientFor({ http_proxy: 'http://proxy:3128' }), 'undici');
    assert.equal(httpClientFor({ HTTP_PROXY: '', HTTPS_PROXY: 'http://proxy:3128' }), 'undici', 'an empty HTTP_PROXY does not hide the HTTPS proxy');
    assert.equal(httpClientFor({ NEX_COMPOUND_HTTP_CLIENT: 'undici' }), 'undici');
    assert.ok(createTransport({}) instanceof NodeHttpTransport);
    const proxied = createTransport({ HTTPS_PROXY: 'http://127.0.0.1:9' });
    assert.ok(!(proxied instanceof NodeHttpTransport));
    void proxied.close();
  });
});
