/**
 * One dedicated connection LISTENing on a channel (LISTEN does not mix with a pool, whose
 * connections come and go), reconnecting with backoff when it drops. Used for configuration
 * changes (pinverify_config), screen pops (pinverify_desk_pop) and webhook wake-ups (pinverify_webhooks).
 */
import { Client, Pool, type ClientConfig } from 'pg';
import { errorMessage, silentLogger, type StoreLogger } from './db';

export interface PgListenerOptions {
  logger?: StoreLogger;
  /** First reconnect delay; doubles on each failure up to maxReconnectDelayMs. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** For log lines: what listens. */
  name?: string;
}

export interface PgListener {
  /** Resolves once LISTEN is active for the first time. */
  readonly ready: Promise<void>;
  isListening(): boolean;
  close(): Promise<void>;
}

export interface PgListenerHandlers {
  onNotify(payload: string): void;
  /** LISTEN is active (again): whatever was announced meanwhile was missed. */
  onConnected?(): void;
  onLost?(): void;
}

export function startPgListener(
  source: Pool | string | ClientConfig,
  channel: string,
  handlers: PgListenerHandlers,
  options: PgListenerOptions = {},
): PgListener {
  const logger = options.logger ?? silentLogger;
  const name = options.name ?? `${channel} listener`;
  const initialDelay = options.reconnectDelayMs ?? 1000;
  const maxDelay = options.maxReconnectDelayMs ?? 30_000;
  const base: ClientConfig =
    source instanceof Pool
      ? { ...source.options }
      : typeof source === 'string'
        ? { connectionString: source }
        : source;
  // The listener is idle most of the time: TCP keepalive is what notices a dead server.
  const config: ClientConfig = { ...base, keepAlive: true, keepAliveInitialDelayMillis: 10_000 };

  let client: Client | null = null;
  let listening = false;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let delay = initialDelay;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const lost = (c: Client, err: unknown): void => {
    if (client !== c) return; // already handled (error followed by end, or closed by us)
    client = null;
    listening = false;
    c.end().catch(() => undefined);
    if (closed) return;
    logger.warn(`${name} lost its database connection, reconnecting`, {
      error: errorMessage(err),
      retryInMs: delay,
    });
    handlers.onLost?.();
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
    // Registered first and kept: an 'error' event without a listener would crash the process.
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('connection ended')));
    c.on('notification', (msg) => {
      if (msg.channel === channel) handlers.onNotify(msg.payload ?? '');
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      if (client !== c) return;
      listening = true;
      delay = initialDelay;
      handlers.onConnected?.();
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
      // Nobody waiting on `ready` is left hanging by a listener closed before it connected.
      markReady();
      if (c) await c.end().catch(() => undefined);
    },
  };
}
