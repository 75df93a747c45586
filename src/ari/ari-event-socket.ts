/**
 * The app's ARI events from its own websocket (`/ari/events?app=...`), parsed once and handed on
 * as plain data: `(event, subject)`, where the subject is the event's channel or playback.
 *
 * ari-client turns every event into resource objects first: a search of the ~60 event models
 * by name, a Resource per channel or playback with every field copied, instance-listener
 * bookkeeping, two emits. The app reads three or four fields of each event, and a wrong-code
 * call brings about 25 of them (every key is one). Measured side by side (npm run bench with
 * BENCH_BASELINE_DIST, README "Benchmark"): app + Asterisk CPU per wrong-code call 0.87 of
 * what it was with ari-client's events; no difference on bail-out calls. ari-client stays for the
 * REST side (originate, reclaim, the event filter); the supervisor (ari-supervisor.ts) pings
 * this socket and replaces the whole connection when it closes.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';

/** An ARI event as Asterisk sends it (the fields the app reads; everything else is kept). */
export interface AriEvent {
  type: string;
  application?: string;
  timestamp?: string;
  args?: string[];
  digit?: string;
  cause?: number;
  tech_cause?: number;
  channel?: AriChannelData;
  playback?: AriPlaybackData;
  [field: string]: unknown;
}

export interface AriChannelData {
  id: string;
  state?: string;
  caller?: { number?: string; name?: string };
  dialplan?: { context?: string; exten?: string; app_name?: string; app_data?: string };
}

export interface AriPlaybackData {
  id: string;
  target_uri?: string;
}

/** The event's subject, as ari-client's second listener argument was: its channel or playback. */
export type AriSubject = AriChannelData | AriPlaybackData;

export type AriEventListener = (event: AriEvent, subject: AriSubject) => void;

/** Where handlers register (this socket in the app, an EventEmitter in unit tests). */
export interface AriEventSource {
  on(type: string, listener: AriEventListener): unknown;
}

export interface AriEventSocketOptions {
  /** The ARI base URL (http://host:8088); the socket goes to ws://host:8088/ari/events. */
  url: string;
  user: string;
  password: string;
  app: string;
  log: { warn(m: string, meta?: Record<string, unknown>): void };
}

/** `/ari/events` of the ARI base URL, with the application and the credentials. */
export function ariEventsUrl(o: Pick<AriEventSocketOptions, 'url' | 'user' | 'password' | 'app'>): string {
  const base = new URL(o.url);
  const protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = `${encodeURIComponent(o.user)}:${encodeURIComponent(o.password)}`;
  return `${protocol}//${base.host}/ari/events?app=${encodeURIComponent(o.app)}&api_key=${key}`;
}

function frameText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Parses one websocket frame and emits it; a frame that is not an event is logged and dropped. */
export function dispatchAriFrame(
  emitter: EventEmitter,
  frame: string,
  log: AriEventSocketOptions['log'],
): void {
  let event: AriEvent;
  try {
    event = JSON.parse(frame) as AriEvent;
  } catch {
    log.warn('ARI sent a websocket frame that is not JSON; ignored', { length: frame.length });
    return;
  }
  if (typeof event !== 'object' || event === null || typeof event.type !== 'string') return;
  const subject = event.channel ?? event.playback;
  // Events the app acts on are about a channel or a playback; one without is not for it.
  if (!subject || typeof subject.id !== 'string') return;
  // Each listener on its own: a handler's bug must not take the connection (and every call on
  // it) down, nor keep the event from the other handlers (the Stasis app and the dialer both
  // listen for ChannelDestroyed).
  for (const listener of emitter.listeners(event.type) as AriEventListener[]) {
    try {
      listener(event, subject);
    } catch (err) {
      log.warn('an ARI event handler threw', { type: event.type, problem: String(err) });
    }
  }
}

/**
 * One websocket to ARI. Emits each event by its type, `pong` for the answer to ping(), and
 * `WebSocketReconnecting` (ari-client's name for it, which the supervisor listens for) once when
 * an open socket closes. `close()` is quiet.
 */
export class AriEventSocket extends EventEmitter implements AriEventSource {
  private ws: WebSocket | null = null;
  private closedByUs = false;

  constructor(private readonly opts: AriEventSocketOptions) {
    super();
  }

  /** Opens the socket (registering the application in Asterisk); rejects if it cannot. */
  open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(ariEventsUrl(this.opts));
      this.ws = ws;
      let opened = false;
      ws.on('open', () => {
        opened = true;
        resolve();
      });
      ws.on('message', (data: WebSocket.RawData) => dispatchAriFrame(this, frameText(data), this.opts.log));
      ws.on('pong', () => this.emit('pong'));
      ws.on('error', (err) => {
        if (!opened) reject(err);
        // After the open, the close that follows makes the supervisor reconnect; this says why.
        else this.opts.log.warn('ARI websocket error', { problem: err.message });
      });
      ws.on('close', (code, reason) => {
        if (!opened)
          reject(new Error(`ARI websocket closed before it opened (${code} ${reason.toString()})`));
        else if (!this.closedByUs)
          this.emit('WebSocketReconnecting', new Error(`websocket closed (${code})`));
      });
    });
  }

  /** Throws when the socket is not open: the supervisor takes that as a lost connection. */
  ping(): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error('the ARI websocket is not open');
    this.ws.ping();
  }

  close(): void {
    this.closedByUs = true;
    this.ws?.terminate();
    this.ws = null;
  }
}
