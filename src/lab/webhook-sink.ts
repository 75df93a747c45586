/**
 * The lab's webhook receiver: an HTTP server on 127.0.0.1 (WEBHOOK_SINK_PORT, default 8026) that
 * verifies each delivery as a subscriber would (the `standardwebhooks` library, with the lab
 * secret) and keeps them in memory for tests.
 *
 *   POST   /                       a delivery: verified, kept, answered 204 (or the failure asked for)
 *   GET    /deliveries             what arrived, oldest first: {id, type, timestamp, data, verified, receivedAt}
 *   DELETE /deliveries             forget them
 *   POST   /fail?count=N&status=S  answer the next N deliveries with S (default 1 and 503), for retry tests
 *   GET    /health
 *
 * A delivery whose signature does not verify is still kept (verified: false) and answered 204:
 * tests assert on `verified`, and refusing would only make pinverify retry it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { readBody, sendJson } from './lab-http';

export const WEBHOOK_SINK_DEFAULT_PORT = 8026;

/**
 * The lab endpoint's signing secret (base64 of "pinverify-lab-webhook-secret!!!!"). Lab only:
 * subscribe the sink with `pinverify webhooks add http://127.0.0.1:8026/ --secret <this>`.
 */
export const LAB_WEBHOOK_SECRET = 'whsec_cGludmVyaWZ5LWxhYi13ZWJob29rLXNlY3JldCEhISE=';

export interface WebhookSinkOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** The secret deliveries are verified with (default LAB_WEBHOOK_SECRET). */
  secret?: string;
  /** Called for each delivery kept (the sinks process prints them). */
  onDelivery?(d: SinkDelivery): void;
}

export interface SinkDelivery {
  /** webhook-id: the event id. */
  id: string | null;
  type: string | null;
  timestamp: string | null;
  data: unknown;
  verified: boolean;
  /** Why it did not verify. */
  problem: string | null;
  receivedAt: string;
}

export interface WebhookSink {
  /** http://host:port/, the URL to subscribe. */
  readonly url: string;
  readonly port: number;
  /** What arrived so far (tests in the same process). */
  deliveries(): SinkDelivery[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 256 * 1024;

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === 'string' ? v : null;
}

export async function startWebhookSink(o: WebhookSinkOptions): Promise<WebhookSink> {
  const host = o.host ?? '127.0.0.1';
  const verifier = new Webhook(o.secret ?? LAB_WEBHOOK_SECRET);
  const kept: SinkDelivery[] = [];
  let failNext = 0;
  let failStatus = 503;

  async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (failNext > 0) {
      failNext -= 1;
      res.writeHead(failStatus).end();
      return;
    }
    const headers = {
      'webhook-id': header(req, 'webhook-id') ?? '',
      'webhook-timestamp': header(req, 'webhook-timestamp') ?? '',
      'webhook-signature': header(req, 'webhook-signature') ?? '',
    };
    let verified = false;
    let problem: string | null = null;
    let parsed: unknown;
    try {
      parsed = verifier.verify(body, headers);
      verified = true;
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = null;
      }
    }
    const p = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const delivery: SinkDelivery = {
      id: headers['webhook-id'] || null,
      type: typeof p.type === 'string' ? p.type : null,
      timestamp: typeof p.timestamp === 'string' ? p.timestamp : null,
      data: p.data ?? null,
      verified,
      problem,
      receivedAt: new Date().toISOString(),
    };
    kept.push(delivery);
    o.onDelivery?.(delivery);
    res.writeHead(204).end();
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sink');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    const handle = async (): Promise<void> => {
      switch (route) {
        case 'POST /':
          return receive(req, res);
        case 'GET /deliveries':
          return sendJson(res, 200, kept);
        case 'DELETE /deliveries':
          kept.length = 0;
          res.writeHead(204).end();
          return;
        case 'POST /fail': {
          const count = Number(url.searchParams.get('count') ?? '1');
          const status = Number(url.searchParams.get('status') ?? '503');
          if (
            !Number.isInteger(count) ||
            count < 0 ||
            !Number.isInteger(status) ||
            status < 100 ||
            status > 599
          )
            return sendJson(res, 400, { error: 'count must be an integer >= 0, status 100-599' });
          failNext = count;
          failStatus = status;
          return sendJson(res, 200, { failNext, status });
        }
        case 'GET /health':
          return sendJson(res, 200, { ok: true });
        default:
          return sendJson(res, 404, { error: `no route ${route}` });
      }
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    deliveries: () => [...kept],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
