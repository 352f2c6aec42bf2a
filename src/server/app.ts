/**
 * `serve`: the Nex compounding API (src/contract/openapi/nex-compounding.openapi.yaml) answered by
 * the local engine. Fastify does the HTTP — routing, body limits, JSON parsing, timeouts — and
 * this file the contract: `{code, message}` errors, 202 on trigger, optional fields omitted,
 * Bearer keys scoped to a workspace, Idempotency-Key replay, and a Host allow-list against DNS
 * rebinding. Loaded only by `serve`, so no other command pays for fastify.
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { JOB_TYPES, type JobType } from '../contract/jobs.js';
import type { ApiKeyRow, Engine } from '../engine/index.js';
import { STATUS_BODY_SCHEMA, statusBodies } from './status-bodies.js';

export interface ServerOptions {
  engine: Engine;
  paramsFor?: (jobType: JobType) => Record<string, unknown> | undefined;
  /** Host header values this server answers to (host:port forms); anything else is refused. */
  allowedHosts: ReadonlySet<string>;
  version: string;
  /** Where request errors (never sent to clients) are reported. */
  logError?: (error: unknown) => void;
}

const BODY_LIMIT = 1024 * 1024;
const WORKER_CHECK_MS = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyRow;
  }
}

const JSON_UTF8 = 'application/json; charset=utf-8';

const problem = (reply: Pick<FastifyReply, 'code'>, code: number, message: string) => reply.code(code).type('application/json').send({ code, message });

/** The project's copy of the contract this server answers, as JSON (GET /openapi.json). */
let openapi: string | undefined;
const openapiDocument = () => (openapi ??= readFileSync(new URL('../contract/openapi/nex-compounding.openapi.json', import.meta.url), 'utf8'));

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { engine } = options;
  const verify = await engine.keys.verifier();
  const statusBody = statusBodies(engine, await engine.versionReader());
  // Refusals say which server refused: its keys come from `nex-compound keys create`, and the
  // client's hint says so (the header is on 401 and 403 only, so other answers cost nothing).
  const serverName = `nex-compound/${options.version}`;
  const refuse = (reply: FastifyReply, code: 401 | 403, message: string) => problem(reply.header('server', serverName), code, message);
  /** The active key an Authorization header carries, if any. */
  const keyOf = (header: string | undefined): ApiKeyRow | undefined => {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    return match ? verify(match[1]!) : undefined;
  };
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    // Slow or stalled clients are cut off: headers within 10 s, a whole request within 30 s.
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
    logger: false,
    // Hosts are checked below, against the address we serve.
    trustProxy: false,
    // Long ids reach the route (and get the contract's 404) instead of fastify's own 414.
    routerOptions: { maxParamLength: 2_048 },
    // A request line Node's parser rejects (spaces or control bytes in the path) still gets {code, message}.
    clientErrorHandler: (error, socket) => {
      const code = (error as { code?: string }).code;
      if (code === 'ECONNRESET' || socket.destroyed) return;
      // As Node does: never a second answer on a connection that already got one (a 413 whose
      // client kept sending, say).
      const answered = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
      if (socket.writable && !answered) {
        const [status, text, message] =
          code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request Timeout', 'the request did not arrive in time']
            : code === 'HPE_HEADER_OVERFLOW'
              ? [431, 'Request Header Fields Too Large', 'request headers too large']
              : [400, 'Bad Request', 'malformed HTTP request'];
        const body = JSON.stringify({ code: status, message });
        socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      }
      socket.destroy(error);
    },
    // A URL fastify cannot route (a bad %-escape) still answers in the contract's terms.
    frameworkErrors: (error, request, reply) => {
      if (error.code !== 'FST_ERR_BAD_URL' && error.code !== 'FST_ERR_MAX_PARAM_LENGTH') void problem(reply, 400, `malformed request: ${error.message}`);
      else if (!keyOf(request.headers.authorization)) void refuse(reply, 401, 'missing or invalid API key: send Authorization: Bearer <key>');
      else void problem(reply, 404, 'not found');
    },
  });
  app.server.headersTimeout = 10_000;
  // Declared up front, so every request object has the same shape.
  app.decorateRequest('apiKey', undefined);

  app.setErrorHandler((error: { statusCode?: number; code?: string; message?: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem(reply, 413, `request body over ${BODY_LIMIT} bytes`);
    // The contract documents no 415: another media type is a malformed body.
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return problem(reply, 400, 'malformed request: send the body as application/json');
    if (status === 400) return problem(reply, 400, `malformed request: ${error.message ?? 'invalid body'}`);
    if (status < 500) return problem(reply, status, error.message ?? 'request refused');
    options.logError?.(error);
    // Never a stack trace, nor an internal message, to a client.
    return problem(reply, 500, 'internal error');
  });
  app.setNotFoundHandler((request, reply) => problem(reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`));

  // DNS rebinding: a browser page on evil.example resolving to 127.0.0.1 still sends its own Host.
  // Hooks here are synchronous (done callbacks): an async hook costs every request a promise.
  app.addHook('onRequest', (request, reply, done) => {
    const host = (request.headers.host ?? '').toLowerCase();
    if (options.allowedHosts.has(host)) done();
    else void problem(reply, 400, `this server does not answer for host "${host.slice(0, 100)}"`);
  });

  // Polls re-claim a killed worker's job; checking the worker table on every poll would cost
  // each request two queries, so it is done at most once per WORKER_CHECK_MS.
  let lastWorkerCheck = 0;
  const ensureWorkerThrottled = () => {
    const now = Date.now();
    if (now - lastWorkerCheck < WORKER_CHECK_MS) return;
    lastWorkerCheck = now;
    engine.ensureWorker(false);
  };

  const authenticate = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const key = keyOf(request.headers.authorization);
    if (key) {
      request.apiKey = key;
      return done();
    }
    const bearer = /^Bearer\s+\S+$/i.test(request.headers.authorization ?? '');
    void refuse(reply, 401, bearer ? 'invalid or revoked API key' : 'missing API key: send Authorization: Bearer <key>');
  };

  app.get('/healthz', async () => ({ status: 'ok', version: options.version }));
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(openapiDocument()));

  app.post('/v1/compounding/trigger', { onRequest: authenticate }, async (request, reply) => {
    const key = request.apiKey!;
    if (!key.scopes.includes('record.write')) return refuse(reply, 403, 'this API key lacks the record.write scope');
    const body = request.body as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return problem(reply, 400, 'the body must be a JSON object with job_type');
    const { job_type: jobType, dry_run: dryRun = false, ...rest } = body as Record<string, unknown>;
    if (typeof jobType !== 'string' || !(JOB_TYPES as readonly string[]).includes(jobType)) {
      // Never JSON.stringify an object or array a client sent: a deeply nested one overflows the stack (a 500).
      const got = typeof jobType === 'object' && jobType !== null ? (Array.isArray(jobType) ? 'an array' : 'an object') : JSON.stringify(jobType)?.slice(0, 60);
      return problem(reply, 400, `job_type must be one of ${JOB_TYPES.join(', ')}${jobType === undefined ? '' : `, got ${got}`}`);
    }
    if (typeof dryRun !== 'boolean') return problem(reply, 400, 'dry_run must be a boolean');
    if (Object.keys(rest).length > 0) return problem(reply, 400, `unknown field ${Object.keys(rest)[0]!.slice(0, 60)}`);

    const idempotencyKey = request.headers['idempotency-key'];
    if (Array.isArray(idempotencyKey) || (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255))) {
      return problem(reply, 400, 'Idempotency-Key must be one value of 1–255 characters');
    }
    const params = options.paramsFor?.(jobType as JobType);
    const outcome = await engine.workspace(key.workspace_id).jobs.trigger({
      jobType: jobType as JobType,
      dryRun,
      ...(params ? { params } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    });
    if ('conflict' in outcome) return problem(reply, 422, 'this Idempotency-Key was used with a different body in the last 24 hours');
    if (outcome.replay) reply.header('idempotent-replayed', 'true');
    return reply.code(202).send(outcome.job);
  });

  // The contract's fields, plus progress, stage and attempts (extensions nex-compound's watch shows).
  app.get('/v1/compounding/jobs/:job_run_id', { onRequest: authenticate, schema: { response: { 200: STATUS_BODY_SCHEMA } } }, (request, reply) => {
    const { job_run_id: id } = request.params as { job_run_id: string };
    // Another workspace's job is answered exactly like a missing one.
    const body = UUID.test(id) ? statusBody(request.apiKey!.workspace_id, id.toLowerCase(), (status) => reply.serialize(status) as string) : undefined;
    if (body === undefined) return problem(reply, 404, `job ${id.slice(0, 64)} not found`);
    ensureWorkerThrottled();
    return reply.type(JSON_UTF8).send(body);
  });

  return app;
}
