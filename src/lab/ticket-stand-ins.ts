/**
 * The lab's stand-ins for the ticket systems pinverify writes notes to (src/tickets/). One HTTP
 * server (TICKET_STAND_IN_PORT, default 8027) answers the requests the products document, checks
 * them as the products would, and keeps every accepted one for tests:
 *
 *   PUT    /api/v2/tickets/{id}.json                         Zendesk "Update Ticket" (a comment)
 *   POST   /v4_6_release/apis/3.0/service/tickets/{id}/notes ConnectWise Manage "service ticket note"
 *   POST   /ticket-webhook                                   the generic webhook (Standard Webhooks)
 *
 *   GET    /requests[?system=zendesk|connectwise|webhook]    accepted requests, oldest first
 *   DELETE /requests                                         forget them (and the attempts)
 *   GET    /attempts                                         every product request: system, ticket, status
 *   POST   /fail?system=zendesk&count=N&status=503           the next N requests to that system fail
 *   GET    /health
 *
 * Tickets 1..99999 exist in both products; others are 404. Credentials are the lab's
 * (src/tickets/lab-ticket-credentials.ts) unless given. Stored requests keep their headers
 * without Authorization. Production never runs this.
 *
 * Error bodies follow the products' shapes: Zendesk {"error", "description", "details"?}
 * (401 {"error": "Couldn't authenticate you"}, 404 RecordNotFound, 422 RecordInvalid);
 * ConnectWise {"code", "message", "errors"?: [{code, message, resource, field}]}. The exact
 * wording of some messages is the stand-in's own.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import {
  LAB_CONNECTWISE_CLIENT_ID,
  LAB_CONNECTWISE_COMPANY_ID,
  LAB_CONNECTWISE_PRIVATE_KEY,
  LAB_CONNECTWISE_PUBLIC_KEY,
  LAB_TICKET_WEBHOOK_SECRET,
  LAB_ZENDESK_API_TOKEN,
  LAB_ZENDESK_EMAIL,
} from '../tickets/lab-ticket-credentials';
import { basicAuth, HttpError, readBody, sendJson } from './lab-http';

export {
  LAB_CONNECTWISE_CLIENT_ID,
  LAB_CONNECTWISE_COMPANY_ID,
  LAB_CONNECTWISE_PRIVATE_KEY,
  LAB_CONNECTWISE_PUBLIC_KEY,
  LAB_TICKET_WEBHOOK_SECRET,
  LAB_ZENDESK_API_TOKEN,
  LAB_ZENDESK_EMAIL,
} from '../tickets/lab-ticket-credentials';

export const TICKET_STAND_IN_PORT = 8027;
export const TICKET_WEBHOOK_PATH = '/ticket-webhook';
/** Tickets that exist in the stand-ins. */
export const LAB_TICKET_MIN = 1;
export const LAB_TICKET_MAX = 99_999;

export type StandInSystem = 'zendesk' | 'connectwise' | 'webhook';
const SYSTEMS: readonly StandInSystem[] = ['zendesk', 'connectwise', 'webhook'];

export interface TicketStandInsOptions {
  /** 0 picks a free port (tests). Default TICKET_STAND_IN_PORT. */
  port?: number;
  host?: string;
  zendesk?: { email: string; apiToken: string };
  connectwise?: { companyId: string; publicKey: string; privateKey: string; clientId: string };
  webhookSecret?: string;
}

export interface RecordedTicketRequest {
  seq: number;
  system: StandInSystem;
  /** The ticket id from the path (Zendesk, ConnectWise) or data.ticketRef (webhook). */
  ticketId: string;
  method: string;
  path: string;
  body: unknown;
  /** Lower-case names, without Authorization. */
  headers: Record<string, string>;
  receivedAt: string;
}

export interface TicketAttempt {
  system: StandInSystem;
  ticketId: string | null;
  status: number;
  at: string;
}

export interface TicketStandIns {
  readonly host: string;
  readonly port: number;
  /** http://host:port: ZENDESK_URL, CONNECTWISE_URL, and TICKET_WEBHOOK_URL = url + /ticket-webhook. */
  readonly url: string;
  /** The accepted requests (the same as GET /requests), for in-process tests. */
  requests(system?: StandInSystem): RecordedTicketRequest[];
  attempts(): TicketAttempt[];
  clear(): void;
  /** The next `count` requests to `system` fail with `status` (as POST /fail). */
  failNext(system: StandInSystem, count: number, status: number): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const MAX_KEPT = 1000;
const ZENDESK_PATH = /^\/api\/v2\/tickets\/([^/]+)\.json$/;
const CONNECTWISE_PATH = /^\/v4_6_release\/apis\/3\.0\/service\/tickets\/([^/]+)\/notes$/;

function headersWithoutAuth(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'authorization' || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function isJson(req: IncomingMessage): boolean {
  return /^application\/(?:[\w.+-]*\+)?json\b/i.test(req.headers['content-type'] ?? '');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function ticketExists(id: string): boolean {
  if (!/^[0-9]{1,9}$/.test(id)) return false;
  const n = Number(id);
  return n >= LAB_TICKET_MIN && n <= LAB_TICKET_MAX;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export async function startTicketStandIns(options: TicketStandInsOptions = {}): Promise<TicketStandIns> {
  const host = options.host ?? '127.0.0.1';
  const zd = options.zendesk ?? { email: LAB_ZENDESK_EMAIL, apiToken: LAB_ZENDESK_API_TOKEN };
  const cw = options.connectwise ?? {
    companyId: LAB_CONNECTWISE_COMPANY_ID,
    publicKey: LAB_CONNECTWISE_PUBLIC_KEY,
    privateKey: LAB_CONNECTWISE_PRIVATE_KEY,
    clientId: LAB_CONNECTWISE_CLIENT_ID,
  };
  const verifier = new Webhook(options.webhookSecret ?? LAB_TICKET_WEBHOOK_SECRET);

  let seq = 0;
  let nextId = 1000;
  let publicUrl = '';
  const kept: RecordedTicketRequest[] = [];
  const attempts: TicketAttempt[] = [];
  const faults = new Map<StandInSystem, { count: number; status: number }>();

  function attempt(system: StandInSystem, ticketId: string | null, status: number): void {
    attempts.push({ system, ticketId, status, at: new Date().toISOString() });
    if (attempts.length > MAX_KEPT) attempts.shift();
  }

  function keep(req: IncomingMessage, system: StandInSystem, ticketId: string, path: string, body: unknown) {
    kept.push({
      seq: ++seq,
      system,
      ticketId,
      method: req.method ?? '',
      path,
      body,
      headers: headersWithoutAuth(req),
      receivedAt: new Date().toISOString(),
    });
    if (kept.length > MAX_KEPT) kept.shift();
  }

  function failNext(system: StandInSystem, count: number, status: number): void {
    if (count <= 0) faults.delete(system);
    else faults.set(system, { count, status });
  }

  /** An injected failure for this system, answered in the product's shape; true when answered. */
  function injectedFault(res: ServerResponse, system: StandInSystem, ticketId: string | null): boolean {
    const fault = faults.get(system);
    if (!fault || fault.count <= 0) return false;
    fault.count--;
    if (fault.count === 0) faults.delete(system);
    const headers: Record<string, string> = fault.status === 429 ? { 'Retry-After': '1' } : {};
    const text = `pinverify lab stand-in fault (HTTP ${fault.status})`;
    attempt(system, ticketId, fault.status);
    if (system === 'zendesk') {
      sendJson(res, fault.status, { error: 'ServiceUnavailable', description: text }, headers);
    } else if (system === 'connectwise') {
      sendJson(res, fault.status, { code: 'ServiceUnavailable', message: text }, headers);
    } else {
      sendJson(res, fault.status, { error: 'unavailable', message: text }, headers);
    }
    return true;
  }

  async function zendesk(req: IncomingMessage, res: ServerResponse, id: string, path: string): Promise<void> {
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      attempt('zendesk', id, status);
      sendJson(res, status, body, headers);
    };
    if (req.method !== 'PUT') {
      return answer(405, { error: 'InvalidEndpoint', description: `${req.method} is not allowed here` });
    }
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (injectedFault(res, 'zendesk', id)) return;
    const auth = basicAuth(req);
    if (!auth || auth.user !== `${zd.email}/token` || auth.pass !== zd.apiToken) {
      return answer(
        401,
        { error: "Couldn't authenticate you" },
        { 'WWW-Authenticate': 'Basic realm="Web Password"' },
      );
    }
    if (!ticketExists(id)) return answer(404, { error: 'RecordNotFound', description: 'Not found' });
    const invalid = (field: string, description: string) =>
      answer(422, {
        error: 'RecordInvalid',
        description: 'Record validation errors',
        details: { [field]: [{ description, error: 'InvalidValue' }] },
      });
    if (!isJson(req)) return invalid('base', 'Content-Type must be application/json');
    const parsed = parseJson(raw);
    if (!parsed.ok)
      return answer(400, { error: 'InvalidJSON', description: 'The request body is not valid JSON' });
    const ticket = isObject(parsed.value) ? parsed.value.ticket : undefined;
    if (!isObject(ticket)) return invalid('ticket', 'Ticket: a "ticket" object is required');
    const comment = ticket.comment;
    if (!isObject(comment)) return invalid('comment', 'Comment: a "comment" object is required');
    if (typeof comment.body !== 'string' || comment.body.trim() === '') {
      return invalid('comment', 'Comment: body cannot be blank');
    }
    if (typeof comment.public !== 'boolean') {
      return invalid('comment', 'Comment: public must be true or false');
    }
    keep(req, 'zendesk', id, path, parsed.value);
    const now = new Date().toISOString();
    const commentId = ++nextId;
    answer(200, {
      ticket: {
        id: Number(id),
        url: `${publicUrl}/api/v2/tickets/${id}.json`,
        subject: `Lab ticket ${id}`,
        status: 'open',
        updated_at: now,
      },
      audit: {
        id: ++nextId,
        ticket_id: Number(id),
        created_at: now,
        author_id: 1,
        events: [
          { id: commentId, type: 'Comment', body: comment.body, public: comment.public, author_id: 1 },
        ],
      },
    });
  }

  async function connectwise(req: IncomingMessage, res: ServerResponse, id: string, path: string) {
    const answer = (status: number, body: unknown) => {
      attempt('connectwise', id, status);
      sendJson(res, status, body);
    };
    if (req.method !== 'POST') {
      return answer(405, { code: 'MethodNotAllowed', message: `${req.method} is not allowed on ${path}` });
    }
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (injectedFault(res, 'connectwise', id)) return;
    const auth = basicAuth(req);
    if (!auth || auth.user !== `${cw.companyId}+${cw.publicKey}` || auth.pass !== cw.privateKey) {
      return answer(401, { code: 'Unauthorized', message: 'Incorrect company, public key or private key' });
    }
    const clientId = req.headers.clientid;
    if (typeof clientId !== 'string' || clientId.toLowerCase() !== cw.clientId.toLowerCase()) {
      return answer(401, { code: 'Unauthorized', message: 'A valid clientId header is required' });
    }
    if (!ticketExists(id)) return answer(404, { code: 'NotFound', message: `Ticket Id ${id} not found` });
    const invalid = (field: string, code: string, message: string) =>
      answer(400, {
        code: 'InvalidObject',
        message: 'ticketNote object is invalid',
        errors: [{ code, message, resource: 'ticketNote', field }],
      });
    if (!isJson(req)) return answer(415, { code: 'UnsupportedMediaType', message: 'Use application/json' });
    const parsed = parseJson(raw);
    if (!parsed.ok || !isObject(parsed.value)) {
      return answer(400, { code: 'InvalidObject', message: 'The request body is not a JSON object' });
    }
    const note = parsed.value;
    if (typeof note.text !== 'string' || note.text.trim() === '') {
      return invalid('text', 'NullOrEmpty', 'text may not be null or empty');
    }
    const flags = ['detailDescriptionFlag', 'internalAnalysisFlag', 'resolutionFlag'] as const;
    for (const f of flags) {
      if (note[f] !== undefined && typeof note[f] !== 'boolean') {
        return invalid(f, 'InvalidField', `${f} must be true or false`);
      }
    }
    if (!flags.some((f) => note[f] === true)) {
      return invalid(
        'detailDescriptionFlag',
        'InvalidField',
        'One of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true',
      );
    }
    keep(req, 'connectwise', id, path, note);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    answer(201, {
      id: ++nextId,
      ticketId: Number(id),
      text: note.text,
      detailDescriptionFlag: note.detailDescriptionFlag === true,
      internalAnalysisFlag: note.internalAnalysisFlag === true,
      resolutionFlag: note.resolutionFlag === true,
      issueFlag: false,
      member: { id: 1, identifier: 'pinverify', name: 'pinverify API' },
      dateCreated: now,
      createdBy: 'pinverify',
      internalFlag: note.internalAnalysisFlag === true,
      externalFlag: false,
      _info: { lastUpdated: now, updatedBy: 'pinverify' },
    });
  }

  async function webhook(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = await readBody(req, MAX_BODY_BYTES);
    const parsed = parseJson(raw);
    const data = parsed.ok && isObject(parsed.value) ? parsed.value.data : undefined;
    const ticketId = isObject(data) && typeof data.ticketRef === 'string' ? data.ticketRef : null;
    const answer = (status: number, body?: unknown) => {
      attempt('webhook', ticketId, status);
      if (body === undefined) {
        res.writeHead(status);
        res.end();
      } else sendJson(res, status, body);
    };
    if (injectedFault(res, 'webhook', ticketId)) return;
    try {
      verifier.verify(raw, headersWithoutAuth(req));
    } catch (err) {
      return answer(401, {
        error: 'invalid_signature',
        message: err instanceof Error ? err.message : String(err),
      });
    }
    if (!parsed.ok || !isObject(parsed.value) || parsed.value.type !== 'ticket.note' || ticketId === null) {
      return answer(400, {
        error: 'invalid_payload',
        message: 'expected {type: "ticket.note", data: {ticketRef, ...}}',
      });
    }
    keep(req, 'webhook', ticketId, path, parsed.value);
    answer(204);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    const zdPath = ZENDESK_PATH.exec(url.pathname);
    if (zdPath) return zendesk(req, res, decodeURIComponent(zdPath[1] ?? ''), url.pathname);
    const cwPath = CONNECTWISE_PATH.exec(url.pathname);
    if (cwPath) return connectwise(req, res, decodeURIComponent(cwPath[1] ?? ''), url.pathname);
    if (url.pathname === TICKET_WEBHOOK_PATH) {
      if (method !== 'POST') throw new HttpError(405, 'POST only');
      return webhook(req, res, url.pathname);
    }
    switch (`${method} ${url.pathname}`) {
      case 'GET /requests': {
        const system = url.searchParams.get('system');
        if (system !== null && !SYSTEMS.includes(system as StandInSystem)) {
          throw new HttpError(400, `system must be one of ${SYSTEMS.join(', ')}`);
        }
        return sendJson(res, 200, system ? kept.filter((r) => r.system === system) : kept);
      }
      case 'DELETE /requests':
        kept.length = 0;
        attempts.length = 0;
        res.writeHead(204);
        res.end();
        return;
      case 'GET /attempts':
        return sendJson(res, 200, attempts);
      case 'POST /fail': {
        const system = url.searchParams.get('system') as StandInSystem | null;
        const count = Number(url.searchParams.get('count') ?? '1');
        const status = Number(url.searchParams.get('status') ?? '503');
        if (!system || !SYSTEMS.includes(system)) {
          throw new HttpError(400, `system must be one of ${SYSTEMS.join(', ')}`);
        }
        if (!Number.isInteger(count) || count < 0 || count > 1000)
          throw new HttpError(400, 'count must be 0..1000');
        if (!Number.isInteger(status) || status < 400 || status > 599) {
          throw new HttpError(400, 'status must be an HTTP error status (400..599)');
        }
        failNext(system, count, status);
        return sendJson(res, 200, { system, count, status });
      }
      case 'GET /health':
        return sendJson(res, 200, { ok: true });
      default:
        throw new HttpError(404, `no route for ${method} ${url.pathname}`);
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      const status = err instanceof HttpError ? err.status : 500;
      sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? TICKET_STAND_IN_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  publicUrl = `http://${urlHost}:${port}`;

  return {
    host,
    port,
    url: publicUrl,
    requests: (system) => (system ? kept.filter((r) => r.system === system) : [...kept]),
    attempts: () => [...attempts],
    clear: () => {
      kept.length = 0;
      attempts.length = 0;
    },
    failNext,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        setImmediate(() => server.closeAllConnections());
      }),
  };
}
