/**
 * The lab's stand-in for the Twilio REST API, and the home of the sink HTTP API.
 *
 * One HTTP server on 127.0.0.1 (TWILIO_SINK_PORT, default 8025) answers:
 *
 *   POST   /2010-04-01/Accounts/{AccountSid}/Messages.json   Twilio "create message" (form: To, From|MessagingServiceSid, Body)
 *   GET    /messages[?to=<addr>]                               stored email + SMS, oldest first
 *   DELETE /messages                                           forget them all
 *   GET    /messages/wait?to=<addr>[&after=<id>][&timeoutMs=]  long-poll: 200 + message, or 204 after timeoutMs (max 60 s)
 *   GET    /faults     POST /faults {smtp?, sms?: 'ok'|'fail'|'slow', slowMs?}
 *   GET    /health
 *
 * Keeping the sink API on the Twilio sink's port means the lab needs one HTTP port, not two; the
 * paths cannot collide with Twilio's, which all start with /2010-04-01/.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { SinkStore } from './sink-store';
import { basicAuth, HttpError, readBody, sendJson } from './lab-http';

export interface TwilioSinkOptions {
  store: SinkStore;
  /** The account the sink accepts; anything else gets Twilio's 401. */
  accountSid: string;
  authToken: string;
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
}

export interface TwilioSink {
  readonly host: string;
  readonly port: number;
  /** http://host:port, both the Twilio apiBaseUrl and the sink API base URL. */
  readonly url: string;
  close(): Promise<void>;
}

/** The credentials the lab uses unless told otherwise (twilio-node insists on an AC... SID). */
export const LAB_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const LAB_AUTH_TOKEN = 'lab-auth-token';

const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_WAIT_MS = 10_000;
const MAX_WAIT_MS = 60_000;
const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;

const faultMode = z.enum(['ok', 'fail', 'slow']);
const faultsBody = z
  .object({
    smtp: faultMode.optional(),
    sms: faultMode.optional(),
    slowMs: z.number().int().min(0).max(600_000).optional(),
  })
  .strict();

/** Twilio's legacy error shape, which twilio-node turns into a RestException. */
function twilioError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    status,
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    headers,
  );
}

/** Twilio's dates look like "Thu, 30 Jul 2015 20:12:31 +0000". */
function twilioDate(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

export async function startTwilioSink(options: TwilioSinkOptions): Promise<TwilioSink> {
  const { store } = options;
  const host = options.host ?? '127.0.0.1';
  const held = new Set<NodeJS.Timeout>();

  async function createMessage(req: IncomingMessage, res: ServerResponse, pathSid: string): Promise<void> {
    const auth = basicAuth(req);
    if (!auth || auth.user !== options.accountSid || auth.pass !== options.authToken) {
      // What api.twilio.com answers for a wrong SID or token.
      sendJson(
        res,
        401,
        {
          code: 20003,
          detail: 'Your AccountSid or AuthToken was incorrect.',
          message: 'Authenticate',
          more_info: 'https://www.twilio.com/docs/errors/20003',
          status: 401,
        },
        { 'WWW-Authenticate': 'Basic realm="Twilio API"' },
      );
      return;
    }
    if (pathSid !== options.accountSid) {
      twilioError(
        res,
        404,
        20404,
        `The requested resource /2010-04-01/Accounts/${pathSid}/Messages.json was not found`,
      );
      return;
    }
    const form = new URLSearchParams(await readBody(req, MAX_BODY_BYTES));
    const to = form.get('To') ?? '';
    const from = form.get('From') ?? '';
    const service = form.get('MessagingServiceSid') ?? '';
    const body = form.get('Body') ?? '';
    if (!to) return twilioError(res, 400, 21604, "A 'To' phone number is required.");
    if (!/^\+?[1-9]\d{6,14}$/.test(to))
      return twilioError(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (!from && !service) {
      return twilioError(
        res,
        400,
        21603,
        "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
      );
    }
    if (!body) return twilioError(res, 400, 21602, 'Message body is required.');

    const answer = (): void => {
      const faults = store.getFaults();
      if (faults.sms === 'fail') {
        twilioError(res, 500, 20500, 'Internal Server Error (pinverify lab sink fault: sms=fail)');
        return;
      }
      const stored = store.add({ channel: 'sms', to, from: from || service, subject: null, body });
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const now = twilioDate(new Date(stored.receivedAt));
      const uri = `/2010-04-01/Accounts/${options.accountSid}/Messages/${sid}`;
      sendJson(res, 201, {
        account_sid: options.accountSid,
        api_version: '2010-04-01',
        body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: from || null,
        messaging_service_sid: service || null,
        num_media: '0',
        num_segments: String(Math.max(1, Math.ceil(body.length / 160))),
        price: null,
        price_unit: 'USD',
        sid,
        status: 'queued',
        subresource_uris: { media: `${uri}/Media.json` },
        to,
        uri: `${uri}.json`,
      });
    };

    const faults = store.getFaults();
    if (faults.sms !== 'slow') return answer();
    // Hold the request; if the client gives up first (its AbortSignal or timeout), nothing is stored.
    const timer = setTimeout(() => {
      held.delete(timer);
      if (!res.destroyed) answer();
    }, faults.slowMs);
    held.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      held.delete(timer);
    });
  }

  async function waitForMessage(url: URL, res: ServerResponse): Promise<void> {
    const to = url.searchParams.get('to');
    if (!to) throw new HttpError(400, 'query parameter "to" is required');
    const after = Number(url.searchParams.get('after') ?? '0');
    const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? DEFAULT_WAIT_MS);
    if (!Number.isInteger(after) || after < 0)
      throw new HttpError(400, '"after" must be a message id (integer >= 0)');
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new HttpError(400, '"timeoutMs" must be >= 0');
    // The client hanging up ends the wait, so abandoned long-polls do not pile up.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const message = await store.waitFor(to, after, Math.min(timeoutMs, MAX_WAIT_MS), gone.signal);
    if (res.destroyed) return;
    if (message) sendJson(res, 200, message);
    else {
      res.writeHead(204);
      res.end();
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sink');
    const method = req.method ?? 'GET';
    const twilioPath = MESSAGES_PATH.exec(url.pathname);
    if (twilioPath) {
      if (method !== 'POST') return twilioError(res, 405, 20004, 'Method not allowed');
      return createMessage(req, res, decodeURIComponent(twilioPath[1] ?? ''));
    }
    if (url.pathname.startsWith('/2010-04-01/')) {
      return twilioError(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
    }
    switch (`${method} ${url.pathname}`) {
      case 'GET /messages':
        return sendJson(res, 200, store.list(url.searchParams.get('to') ?? undefined));
      case 'DELETE /messages':
        store.clear();
        res.writeHead(204);
        res.end();
        return;
      case 'GET /messages/wait':
        return waitForMessage(url, res);
      case 'GET /faults':
        return sendJson(res, 200, store.getFaults());
      case 'POST /faults': {
        let json: unknown;
        try {
          json = JSON.parse((await readBody(req, MAX_BODY_BYTES)) || '{}');
        } catch {
          throw new HttpError(400, 'body must be JSON');
        }
        const parsed = faultsBody.safeParse(json);
        if (!parsed.success) {
          throw new HttpError(
            400,
            `expected {smtp?, sms?: "ok"|"fail"|"slow", slowMs?}: ${parsed.error.message}`,
          );
        }
        return sendJson(res, 200, store.setFaults(parsed.data));
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
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    host,
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of held) clearTimeout(timer);
        held.clear();
        store.close();
        server.close(() => resolve());
        // Keep-alive sockets (twilio's client) would otherwise hold close() open. One turn of the
        // event loop first, so the long-polls released above can still send their 204.
        setImmediate(() => server.closeAllConnections());
      }),
  };
}
