/**
 * Our own connection supervisor for ARI. ari-client's own websocket gave up reconnecting after
 * about 43 s (then the app used to exit), never retried a first connect, and never noticed a
 * half-open websocket; the app's events now come over its own socket (ari-event-socket.ts) and
 * ari-client makes the requests. This one:
 *
 * - connects, and reconnects, forever, with capped and jittered exponential backoff (several app
 *   instances restarting together do not hammer Asterisk in step), the first connect included;
 * - pings the websocket every `pingIntervalMs` and treats a missing pong after `pongDeadlineMs`
 *   as a dead connection, so a silent drop is noticed within interval + deadline (<= 10 s);
 * - on every (re)connect builds a fresh client, hands it to `onConnected` (which registers the
 *   event handlers, starts the Stasis app and reclaims calls stranded meanwhile), and reports
 *   its state for /v1/health.
 *
 * Nothing reconnects by itself: any sign of a lost websocket ends that connection and the
 * supervisor starts a new one.
 */
import type { Clock, TimerHandle } from '../call/clock';

/** The part of a connection the supervisor uses (ari-connection.ts; fakes in unit tests). */
export interface SupervisedClient {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  ping(): void;
  stop(): void;
}

export type AriState = 'connecting' | 'connected' | 'stopped';

export interface AriSupervisorOptions<C extends SupervisedClient> {
  /** Opens a new client (ari.connect: REST discovery over HTTP). */
  connect(): Promise<C>;
  /** Registers handlers on the new client and starts the app; a rejection counts as a failed connect. */
  onConnected(client: C): Promise<void>;
  clock: Clock;
  log: {
    info(m: string, meta?: Record<string, unknown>): void;
    warn(m: string, meta?: Record<string, unknown>): void;
    error(m: string, meta?: Record<string, unknown>): void;
  };
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  pingIntervalMs?: number;
  pongDeadlineMs?: number;
  /** Deadline for connect and onConnected together: a half-open TCP must not stall the loop. */
  connectTimeoutMs?: number;
  /** 0..1, for jitter (Math.random in production). */
  random?: () => number;
}

export interface AriSupervisor<C> {
  readonly state: AriState;
  /** The connected client, or null while (re)connecting. */
  readonly client: C | null;
  /** Failed connects since the last success (for health). */
  readonly failures: number;
  readonly lastError: string | null;
  /** Resolves once connected for the first time (never rejects: it keeps trying). */
  ready(): Promise<void>;
  stop(): void;
}

export const ARI_SUPERVISOR_DEFAULTS = {
  initialBackoffMs: 500,
  maxBackoffMs: 10_000,
  pingIntervalMs: 4000,
  pongDeadlineMs: 5000,
  connectTimeoutMs: 10_000,
};

/** Backoff before retry `attempt` (1-based): doubling from initial, capped, then jittered into [50%, 100%]. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + 0.5 * random()));
}

export function superviseAri<C extends SupervisedClient>(opts: AriSupervisorOptions<C>): AriSupervisor<C> {
  const o = { ...ARI_SUPERVISOR_DEFAULTS, ...opts };
  const random = opts.random ?? Math.random;
  let state: AriState = 'connecting';
  let client: C | null = null;
  /** A client between connect and onConnected, so a loss then still closes it. */
  let candidate: C | null = null;
  let failures = 0;
  let lastError: string | null = null;
  let retryTimer: TimerHandle | null = null;
  let pingTimer: TimerHandle | null = null;
  let pongTimer: TimerHandle | null = null;
  /** Bumped per connection, so events of an abandoned client are ignored. */
  let generation = 0;
  let resolveReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve));

  // A function, so TypeScript does not narrow `state` across the awaits.
  const isStopped = () => state === 'stopped';
  const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

  /** A connection's stop() may throw (ari-client's did when no websocket was open yet). */
  function safeStop(c: C): void {
    try {
      c.stop();
    } catch {
      // Nothing to close.
    }
  }

  function clearTimers(): void {
    for (const t of [retryTimer, pingTimer, pongTimer]) t?.cancel();
    retryTimer = pingTimer = pongTimer = null;
  }

  function scheduleRetry(): void {
    if (state === 'stopped') return;
    const wait = backoffMs(failures, o.initialBackoffMs, o.maxBackoffMs, random);
    retryTimer = o.clock.setTimer(wait, () => {
      retryTimer = null;
      void attempt();
    });
  }

  /** The current connection is dead: drop it and start again. */
  function lost(gen: number, why: string): void {
    if (gen !== generation || state === 'stopped') return;
    generation += 1;
    clearTimers();
    const old = client;
    client = null;
    state = 'connecting';
    lastError = why;
    o.log.warn('ARI connection lost; reconnecting', { problem: why });
    if (old) safeStop(old);
    if (candidate) safeStop(candidate);
    candidate = null;
    failures = Math.max(failures, 1);
    scheduleRetry();
  }

  function heartbeat(gen: number, c: C): void {
    pingTimer = o.clock.setTimer(o.pingIntervalMs, () => {
      pingTimer = null;
      if (gen !== generation) return;
      try {
        c.ping();
      } catch (err) {
        lost(gen, `websocket ping failed: ${describe(err)}`);
        return;
      }
      pongTimer = o.clock.setTimer(o.pongDeadlineMs, () => {
        pongTimer = null;
        lost(gen, `no pong within ${o.pongDeadlineMs} ms (half-open websocket)`);
      });
    });
  }

  /** `work` under the connect deadline, on the injected clock. */
  function withDeadline<T>(work: Promise<T>, what: string, deadlineAt: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const left = Math.max(0, deadlineAt - o.clock.now().getTime());
      const t = o.clock.setTimer(left, () =>
        reject(new Error(`${what} did not finish within ${o.connectTimeoutMs} ms`)),
      );
      work.then(
        (v) => {
          t.cancel();
          resolve(v);
        },
        (err: unknown) => {
          t.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  async function attempt(): Promise<void> {
    if (state === 'stopped') return;
    const gen = ++generation;
    // One deadline for connect and onConnected together.
    const deadlineAt = o.clock.now().getTime() + o.connectTimeoutMs;
    let c: C;
    try {
      c = await withDeadline(o.connect(), 'connecting to ARI', deadlineAt);
    } catch (err) {
      if (gen !== generation) return;
      failures += 1;
      lastError = describe(err);
      o.log.warn('ARI not reachable; will retry', { problem: lastError, failures });
      scheduleRetry();
      return;
    }
    if (gen !== generation || isStopped()) {
      safeStop(c);
      return;
    }
    candidate = c;
    c.on('pong', () => {
      // Only the answer to our own ping re-arms the heartbeat (an unsolicited pong would start
      // a second ping loop).
      if (gen !== generation || pongTimer === null) return;
      pongTimer.cancel();
      pongTimer = null;
      heartbeat(gen, c);
    });
    // The socket says it closed (ari-client's event names, kept for any client that uses them):
    // we take over at the first sign.
    c.on('WebSocketReconnecting', () => lost(gen, 'websocket closed'));
    c.on('WebSocketMaxRetries', () => lost(gen, 'websocket retries exhausted'));
    try {
      await withDeadline(o.onConnected(c), 'starting the ARI application', deadlineAt);
    } catch (err) {
      if (gen !== generation) return;
      generation += 1;
      failures += 1;
      lastError = describe(err);
      o.log.warn('starting the ARI application failed; will retry', { problem: lastError });
      candidate = null;
      safeStop(c);
      scheduleRetry();
      return;
    }
    if (gen !== generation) return;
    candidate = null;
    client = c;
    state = 'connected';
    if (failures > 0) o.log.info('ARI connection back', { after: failures });
    failures = 0;
    lastError = null;
    heartbeat(gen, c);
    resolveReady();
  }

  void attempt();

  return {
    get state() {
      return state;
    },
    get client() {
      return client;
    },
    get failures() {
      return failures;
    },
    get lastError() {
      return lastError;
    },
    ready: () => readyPromise,
    stop() {
      state = 'stopped';
      generation += 1;
      clearTimers();
      if (client) safeStop(client);
      if (candidate) safeStop(candidate);
      client = null;
      candidate = null;
    },
  };
}
