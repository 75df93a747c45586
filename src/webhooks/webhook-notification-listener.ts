/**
 * Keeps one dedicated connection LISTENing on pinverify_webhooks (the fan-out trigger of
 * migration 016 notifies the endpoint id at commit) and hands each endpoint id to `onEndpoint`.
 * LISTEN needs a connection of its own: a pool's connections come and go. When the connection
 * drops it reconnects with backoff and calls `onReconnect`, since notifications sent meanwhile
 * are lost (the dispatcher sweeps then). Same shape as the config listener (pg-config-store.ts).
 */
import { Client, Pool, type ClientConfig } from 'pg';
import type { FlowLogger } from '../flow/ports';

export const WEBHOOK_CHANNEL = 'pinverify_webhooks';

export interface WebhookNotificationListenerOptions {
  pool: Pool;
  log: Pick<FlowLogger, 'warn'>;
  onEndpoint(endpointId: number): void;
  /** Called each time LISTEN is active again after a lost connection (not the first time). */
  onReconnect(): void;
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

export interface WebhookNotificationListener {
  /** Resolves once LISTEN is active for the first time. */
  readonly ready: Promise<void>;
  isListening(): boolean;
  close(): Promise<void>;
}

export function startWebhookNotificationListener(
  o: WebhookNotificationListenerOptions,
): WebhookNotificationListener {
  const initialDelay = o.reconnectDelayMs ?? 1000;
  const maxDelay = o.maxReconnectDelayMs ?? 30_000;
  // The listener is idle most of the time: TCP keepalive is what notices a dead server.
  const config: ClientConfig = { ...o.pool.options, keepAlive: true, keepAliveInitialDelayMillis: 10_000 };
  let client: Client | null = null;
  let listening = false;
  let closed = false;
  let everListened = false;
  let timer: NodeJS.Timeout | null = null;
  let delay = initialDelay;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const lost = (c: Client, err: unknown): void => {
    if (client !== c) return; // already handled (an error followed by end, or closed by us)
    client = null;
    listening = false;
    c.end().catch(() => undefined);
    if (closed) return;
    o.log.warn('webhook listener lost its database connection, reconnecting', {
      error: err instanceof Error ? err.message : String(err),
      retryInMs: delay,
    });
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, maxDelay);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new Client(config);
    client = c;
    // Registered first: an 'error' event without a listener would crash the process.
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('connection ended')));
    c.on('notification', (msg) => {
      if (msg.channel !== WEBHOOK_CHANNEL) return;
      const id = Number(msg.payload);
      if (Number.isInteger(id) && id > 0) o.onEndpoint(id);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${WEBHOOK_CHANNEL}`);
      if (client !== c) return;
      listening = true;
      delay = initialDelay;
      if (everListened) o.onReconnect();
      everListened = true;
      markReady();
    } catch (err) {
      lost(c, err);
    }
  };

  void connect();

  return {
    ready,
    isListening: () => listening,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const c = client;
      client = null;
      listening = false;
      markReady();
      if (c) await c.end().catch(() => undefined);
    },
  };
}
