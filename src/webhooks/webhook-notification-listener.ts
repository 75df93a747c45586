/**
 * Keeps one dedicated connection LISTENing on pinverify_webhooks (the fan-out trigger of
 * migration 016 notifies the endpoint id at commit) and hands each endpoint id to `onEndpoint`.
 * LISTEN needs a connection of its own: a pool's connections come and go. When the connection
 * drops it reconnects with backoff and calls `onReconnect`, since notifications sent meanwhile
 * are lost (the dispatcher sweeps then). The connection handling is the shared startPgListener.
 */
import type { Pool } from 'pg';
import type { FlowLogger } from '../flow/ports';
import { startPgListener, type PgListener } from '../store/pg-listener';

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

export type WebhookNotificationListener = PgListener;

export function startWebhookNotificationListener(
  o: WebhookNotificationListenerOptions,
): WebhookNotificationListener {
  let everListened = false;
  return startPgListener(
    o.pool,
    WEBHOOK_CHANNEL,
    {
      onNotify(payload) {
        const id = Number(payload);
        if (Number.isInteger(id) && id > 0) o.onEndpoint(id);
      },
      onConnected() {
        if (everListened) o.onReconnect();
        everListened = true;
      },
    },
    {
      logger: o.log,
      name: 'webhook listener',
      ...(o.reconnectDelayMs !== undefined ? { reconnectDelayMs: o.reconnectDelayMs } : {}),
      ...(o.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: o.maxReconnectDelayMs } : {}),
    },
  );
}
