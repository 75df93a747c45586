/**
 * The admin HTTP API (fastify): the same operations as the CLI, for other systems. JSON in and
 * out, versioned paths (/v1), API keys (Authorization: Bearer <key>) checked against their
 * stored hashes, and one error handler: every failure is {error, message, problems?} with a 4xx
 * for the client's mistakes, 503 when a dependency is down, and never a stack trace.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { authenticateApiKey, scopeAllows, type ApiKeyScope } from '../ops/api-key-admin';
import { PbxUnreachableError } from '../ops/dialplan-checker';
import { OpsError, zodProblems, type FieldProblem } from '../ops/ops-error';
import type { OpsServices } from '../ops/ops-services';
import { describeDbError, isDbUnreachable } from '../store/db';
import { ENDPOINTS, scopeOf, type Endpoint } from './admin-endpoints';
import type { HealthReport } from './health-check';
import { buildOpenApi } from './openapi';
import type { RequestLimiter } from './request-limiter';
import { registerDesk, type DeskDeps } from '../desk/desk-endpoints';

export interface AdminLogger {
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

export interface AdminServerDeps {
  pool: Pool;
  /** The ops services acting as `actor` ("api:<key name>"). */
  ops(actor: string): OpsServices;
  health(): Promise<HealthReport>;
  log: AdminLogger;
  version?: string;
  /** Request budgets per client and failed authentications per address (absent: no limits). */
  limiter?: RequestLimiter;
  /** Prometheus text for GET /metrics (behind an API key); absent: no /metrics. */
  metrics?: { contentType: string; text(): Promise<string> };
  /** The agent's desk under /desk (absent: no desk). */
  desk?: DeskDeps;
}

const STATUS: Record<OpsError['kind'], number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  limited: 429,
  upstream: 502,
  unavailable: 503,
};

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly problems: readonly FieldProblem[] = [],
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

function send(
  reply: FastifyReply,
  status: number,
  error: string,
  message: string,
  problems: readonly FieldProblem[] = [],
) {
  return reply.code(status).send(problems.length > 0 ? { error, message, problems } : { error, message });
}

function tooManyAuthFailures(a: { retryAfterSeconds: number; limit: number }): HttpProblem {
  return new HttpProblem(
    429,
    'rate_limited',
    `too many failed API key attempts from this address: at most ${a.limit} a minute; retry in ${a.retryAfterSeconds} s`,
    [],
    a.retryAfterSeconds,
  );
}

function bearer(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    return m?.[1] ?? null;
  }
  const key = req.headers['x-api-key'];
  return typeof key === 'string' ? key : null;
}

export function createAdminServer(deps: AdminServerDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    // Our own request ids: short, and in every error answer so an operator can find the log line.
    genReqId: () => randomUUID().slice(0, 8),
    bodyLimit: 1024 * 1024,
  });
  const openapi = buildOpenApi(ENDPOINTS, deps.version ?? '0.0.0');

  app.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpProblem) {
      if (err.retryAfterSeconds !== null) void reply.header('retry-after', String(err.retryAfterSeconds));
      return send(reply, err.status, err.error, err.message, err.problems);
    }
    if (err instanceof OpsError) {
      if (err.retryAfterSeconds !== null) void reply.header('retry-after', String(err.retryAfterSeconds));
      return send(reply, STATUS[err.kind], err.code, err.message, err.problems);
    }
    if (err instanceof PbxUnreachableError)
      return send(reply, 503, 'unavailable', `the PBX is unreachable: ${err.message}`);
    if (isDbUnreachable(err)) {
      deps.log.warn('admin API: database unavailable', { reqId: req.id, problem: describeDbError(err) });
      return send(reply, 503, 'unavailable', `database unavailable: ${describeDbError(err)}`);
    }
    // fastify's own client errors: malformed JSON, wrong content type, body too large.
    const status = (err as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message =
        (err as { code?: string }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? `unsupported content type ${String(req.headers['content-type'])}: send application/json (text/csv for imports)`
          : (err as { code?: string }).code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'the body is empty; send a JSON object'
            : /JSON/i.test(err instanceof Error ? err.message : '')
              ? 'the body is not valid JSON'
              : err instanceof Error
                ? err.message
                : 'bad request';
      return send(reply, status, 'invalid', message);
    }
    deps.log.error('admin API: internal error', {
      reqId: req.id,
      method: req.method,
      url: req.url,
      problem: err instanceof Error ? err.message : String(err),
    });
    return send(reply, 500, 'internal', `internal error (request ${req.id}); the app log has the details`);
  });

  app.setNotFoundHandler((req, reply) =>
    send(
      reply,
      404,
      'not_found',
      `no endpoint ${req.method} ${req.url.split('?')[0] ?? ''}; see GET /v1/openapi.json`,
    ),
  );

  /** The API key's name, or a 401 problem; a 403 when its scope is below `needs`. */
  async function authenticate(req: FastifyRequest, needs: ApiKeyScope = 'read'): Promise<string> {
    const key = bearer(req);
    if (!key)
      throw new HttpProblem(
        401,
        'unauthorized',
        'missing API key: send Authorization: Bearer <key> (create one with `pinverify api-keys create <name>`)',
      );
    const blocked = await deps.limiter?.authBlocked(req.ip);
    if (blocked && !blocked.ok) throw tooManyAuthFailures(blocked);
    const who = await authenticateApiKey(deps.pool, key);
    if (!who) {
      deps.log.warn('admin API: refused API key', { reqId: req.id, prefix: key.slice(0, 16) });
      const counted = await deps.limiter?.authFailure(req.ip);
      if (counted && !counted.ok) throw tooManyAuthFailures(counted);
      throw new HttpProblem(401, 'unauthorized', 'unknown or revoked API key');
    }
    if (!scopeAllows(who.scope, needs)) {
      deps.log.warn('admin API: key scope too narrow', {
        reqId: req.id,
        key: who.name,
        scope: who.scope,
        needs,
      });
      throw new HttpProblem(
        403,
        'forbidden',
        `API key ${who.name} has scope ${who.scope}; ${req.method} ${req.routeOptions.url ?? req.url} needs scope ${needs}`,
      );
    }
    return who.name;
  }

  if (deps.limiter) {
    const limiter = deps.limiter;
    // One budget per client: the API key's public prefix, or the address without a key.
    app.addHook('onRequest', async (req, reply) => {
      // The desk has its own limits (sign-in attempts) and sessions; a whole office behind one
      // address must not share the API's per-address budget.
      if (req.url === '/desk' || req.url.startsWith('/desk/')) return;
      const key = bearer(req);
      const m = key ? /^pvk_([0-9a-f]{12})_/.exec(key) : null;
      const client = m ? `key:${m[1]}` : `ip:${req.ip}`;
      const answer = await limiter.request(client);
      if (answer.ok) return;
      void reply.header('retry-after', String(answer.retryAfterSeconds));
      return send(
        reply,
        429,
        'rate_limited',
        `too many requests from this ${m ? 'API key' : 'address'}: at most ${answer.limit} a minute; retry in ${answer.retryAfterSeconds} s`,
      );
    });
  }

  // Liveness: the process answers. Says nothing else, so it may be open to anyone.
  app.get('/v1/health/live', (_req, reply) => reply.send({ status: 'ok' }));
  // Readiness: 200 or 503 for anyone (load balancers, systemd, monitors); what is wrong, with
  // versions and addresses, only with an API key.
  app.get('/v1/health', async (req, reply) => {
    const detailed = bearer(req) !== null;
    if (detailed) await authenticate(req);
    const report = await deps.health();
    const code = report.status === 'ok' ? 200 : 503;
    return reply.code(code).send(detailed ? report : { status: report.status });
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (req, reply) => {
      await authenticate(req);
      return reply.header('content-type', metrics.contentType).send(await metrics.text());
    });
  }
  app.get('/v1/openapi.json', (_req, reply) => reply.send(openapi));

  const register = (e: Endpoint): void => {
    app.route({
      method: e.method,
      url: e.url,
      handler: async (req, reply) => {
        const who = { name: await authenticate(req, scopeOf(e)) };
        let query: Record<string, unknown> = {};
        if (e.query) {
          const parsed = e.query.safeParse(req.query ?? {});
          if (!parsed.success)
            throw new HttpProblem(
              400,
              'invalid',
              'invalid query parameters',
              zodProblems(parsed.error, 'query'),
            );
          query = parsed.data;
        }
        if (e.csvBody && typeof req.body !== 'string')
          throw new HttpProblem(415, 'invalid', 'send the CSV as the body with Content-Type: text/csv');
        if (
          (e.method === 'POST' || e.method === 'PATCH' || e.method === 'PUT') &&
          !e.csvBody &&
          e.body &&
          req.body === undefined &&
          // A body that may be left out (resend without customCode).
          !e.body.safeParse(undefined).success
        )
          throw new HttpProblem(400, 'invalid', 'the body is empty; send a JSON object');
        const result = await e.handler({
          ops: deps.ops(`api:${who.name}`),
          params: (req.params ?? {}) as Record<string, string>,
          query,
          body: req.body,
        });
        deps.log.info('admin API', {
          reqId: req.id,
          key: who.name,
          method: req.method,
          url: req.routeOptions.url,
          status: e.status ?? 200,
        });
        return reply.code(e.status ?? 200).send(result);
      },
    });
  };
  ENDPOINTS.forEach(register);
  const desk = deps.desk;
  if (desk) void app.register(async (scope) => registerDesk(scope, desk));
  return app;
}
