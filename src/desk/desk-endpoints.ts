/**
 * The desk on the admin API's port: the page (/desk/, three static files, no build step on the
 * user's side) and its JSON API (/desk/api/*, contract in desk-api.ts) with the screen-pop stream.
 *
 * Sessions are an HTTP-only, SameSite=Strict cookie holding a random token (only its hash is
 * stored); a cross-site page can neither read it nor make the browser send it. On top, a POST
 * must be JSON and, when the browser says where it comes from (Origin), come from this host.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../call/clock';
import { OpsError, zodProblems } from '../ops/ops-error';
import type { FlowSettings } from '../domain';
import type { MeResponse } from './desk-api';
import type { DeskService } from './desk-service';
import type { LoginLimiter } from './login-limiter';
import type { PasswordHasher } from './agent-password';
import { SESSION_COOKIE, SESSION_TTL_MS, type Agent, type PgAgentStore } from './pg-agent-store';
import type { PopHub } from './screen-pops';

export interface DeskDeps {
  agents: PgAgentStore;
  hasher: PasswordHasher;
  limiter: LoginLimiter;
  service: DeskService;
  pops: PopHub;
  settings(): Promise<FlowSettings>;
  /** 'none' | 'webhook' | 'zendesk' | 'connectwise' */
  ticketSystem: string;
  clock: Clock;
  /** Secure cookies (HTTPS in front, as in production); off only for plain-HTTP labs. */
  secureCookie: boolean;
  log: {
    info(m: string, meta?: Record<string, unknown>): void;
    warn(m: string, meta?: Record<string, unknown>): void;
  };
  /** Where index.html, desk.js and desk.css are (default: ./public next to this file). */
  publicDir?: string;
  /** Screen-pop stream keep-alive, in ms. */
  heartbeatMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    deskAgent?: Agent;
  }
}

const STATIC: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'desk.js': 'text/javascript; charset=utf-8',
  'desk.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

const SECURITY_HEADERS = {
  // No inline script or style, nothing from elsewhere, no framing (clickjacking).
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const loginBody = z.object({
  login: z.string().trim().toLowerCase().min(1).max(64),
  password: z.string().min(1).max(200),
});
const sendBody = z.strictObject({
  contactId: z.number().int().positive(),
  channel: z.enum(['sms', 'email']),
  ticketRef: z.string().max(200).optional(),
  overrideDestination: z.string().max(200).optional(),
  overrideReason: z.string().max(500).optional(),
  callId: z.string().max(64).optional(),
});
const checkBody = z.strictObject({ code: z.string().max(20) });
const outcomeBody = z.strictObject({
  outcome: z.enum(['completed', 'incomplete']),
  ticketRef: z.string().max(200).optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success)
    throw new OpsError('invalid', 'the request is not what the desk sends', zodProblems(r.error));
  return r.data;
}

function agentView(a: Agent) {
  return { login: a.login, name: a.name, role: a.role, extensions: a.extensions };
}

export async function registerDesk(app: FastifyInstance, deps: DeskDeps): Promise<void> {
  await app.register(fastifyCookie);
  const dir = deps.publicDir ?? join(__dirname, 'public');
  // Read once: three small files, served from memory.
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(STATIC)) files.set(name, readFileSync(join(dir, name)));
  const heartbeatMs = deps.heartbeatMs ?? 15_000;

  const cookieOptions = () => ({
    path: '/desk',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: deps.secureCookie,
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  });

  app.get('/desk', (_req, reply) => reply.redirect('/desk/'));
  for (const [name, type] of Object.entries(STATIC)) {
    app.get(name === 'index.html' ? '/desk/' : `/desk/${name}`, (_req, reply) =>
      reply
        .headers({ ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-cache' })
        .send(files.get(name)),
    );
  }

  async function me(agent: Agent): Promise<MeResponse> {
    const s = await deps.settings();
    return {
      agent: agentView(agent),
      settings: {
        requireTicket: s.requireTicket,
        ticketNoteIncludesCode: s.ticketNoteIncludesCode,
        ticketSystem: deps.ticketSystem,
        codeLength: s.codeLength,
      },
    };
  }

  function refuse(reply: FastifyReply, status: number, error: string, message: string) {
    return reply.code(status).headers(SECURITY_HEADERS).send({ error, message });
  }

  /** The signed-in agent, or a 401 answer. */
  async function signedIn(req: FastifyRequest, reply: FastifyReply): Promise<Agent | null> {
    const token = req.cookies[SESSION_COOKIE];
    const agent = token ? await deps.agents.sessionAgent(token, deps.clock.now()) : null;
    if (!agent) {
      if (token) void reply.clearCookie(SESSION_COOKIE, { path: '/desk' });
      await refuse(reply, 401, 'not_signed_in', 'Sign in to use the desk.');
      return null;
    }
    return agent;
  }

  /** A browser's POST from another site: refused even though SameSite would keep the cookie out. */
  function foreignOrigin(req: FastifyRequest): boolean {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || origin === '') return false;
    try {
      return new URL(origin).host !== req.headers.host;
    } catch {
      return true;
    }
  }

  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/desk/api/')) return;
    void reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' });
    if (req.method === 'POST' && foreignOrigin(req))
      return refuse(reply, 403, 'forbidden', 'Requests from other sites are refused.');
    if (req.url === '/desk/api/login') return;
    const agent = await signedIn(req, reply);
    if (agent) req.deskAgent = agent;
  });

  const agentOf = (req: FastifyRequest): Agent => {
    if (!req.deskAgent) throw new Error('desk route without a signed-in agent');
    return req.deskAgent;
  };

  app.post('/desk/api/login', async (req, reply) => {
    const body = parse(loginBody, req.body);
    const wait = await deps.limiter.blocked(body.login, req.ip);
    if (wait > 0) {
      deps.log.warn('desk sign-in refused: too many failures', { login: body.login, address: req.ip });
      return reply
        .code(429)
        .header('retry-after', String(wait))
        .send({
          error: 'rate_limited',
          message: `Too many failed sign-ins; try again in ${wait} s.`,
          retryAfterSeconds: wait,
        });
    }
    const agent = await deps.agents.byLogin(body.login);
    const ok = await deps.hasher.verify(agent?.passwordHash ?? null, body.password);
    if (!agent || !ok) {
      await deps.limiter.failed(body.login, req.ip);
      await deps.agents.record({
        agentLogin: body.login,
        action: 'login.failed',
        detail: { address: req.ip },
      });
      deps.log.warn('desk sign-in failed', { login: body.login, address: req.ip });
      return reply.code(401).send({ error: 'invalid_login', message: 'Wrong login or password.' });
    }
    await deps.limiter.succeeded(body.login, req.ip);
    const token = await deps.agents.createSession(agent.id, deps.clock.now());
    await deps.agents.record({ agentLogin: agent.login, action: 'login', detail: { address: req.ip } });
    deps.log.info('desk sign-in', { login: agent.login });
    return reply.setCookie(SESSION_COOKIE, token, cookieOptions()).send(await me(agent));
  });

  app.post('/desk/api/logout', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await deps.agents.endSession(token);
    await deps.agents.record({ agentLogin: agentOf(req).login, action: 'logout' });
    return reply.clearCookie(SESSION_COOKIE, { path: '/desk' }).code(204).send();
  });

  app.get('/desk/api/me', async (req) => me(agentOf(req)));

  app.get('/desk/api/contacts', async (req) => {
    const q = parse(z.object({ q: z.string().max(200).default('') }), req.query);
    return { contacts: await deps.service.search(agentOf(req), q.q) };
  });

  app.get('/desk/api/contacts/:id', async (req) => {
    const { id } = parse(z.object({ id: z.coerce.number().int().positive() }), req.params);
    return deps.service.contact(agentOf(req), id);
  });

  app.post('/desk/api/verifications', async (req, reply) => {
    const body = parse(sendBody, req.body);
    return reply.code(201).send(await deps.service.send(agentOf(req), body));
  });

  const idParam = z.object({ id: z.string().max(40) });
  app.post('/desk/api/verifications/:id/resend', async (req) =>
    deps.service.resend(agentOf(req), parse(idParam, req.params).id),
  );
  app.post('/desk/api/verifications/:id/check', async (req) =>
    deps.service.check(agentOf(req), parse(idParam, req.params).id, parse(checkBody, req.body).code),
  );
  app.post('/desk/api/verifications/:id/outcome', async (req) =>
    deps.service.outcome(agentOf(req), parse(idParam, req.params).id, parse(outcomeBody, req.body)),
  );

  app.get('/desk/api/pops', async (req) => ({ pops: await deps.service.recentPops(agentOf(req)) }));

  // The screen-pop stream (server-sent events): one `pop` event per call reaching the agent's
  // extensions. The session is checked again at every heartbeat: a removed agent or a changed
  // password ends the stream too.
  app.get('/desk/api/events', (req, reply) => {
    const agent = agentOf(req);
    const token = req.cookies[SESSION_COOKIE] ?? '';
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies (nginx) must pass events on at once.
      'x-accel-buffering': 'no',
    });
    raw.write(`retry: 3000\n: signed in as ${agent.login}\n\n`);
    const unsubscribe = deps.pops.subscribe({
      extensions: agent.extensions,
      send(pop) {
        raw.write(`id: ${pop.id}\nevent: pop\ndata: ${JSON.stringify(pop)}\n\n`);
      },
    });
    const heartbeat = setInterval(() => {
      raw.write(': keep-alive\n\n');
      deps.agents.sessionAgent(token, deps.clock.now()).then(
        (still) => {
          if (!still) raw.end();
        },
        () => undefined,
      );
    }, heartbeatMs);
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    req.raw.on('close', end);
    raw.on('close', end);
  });
}
