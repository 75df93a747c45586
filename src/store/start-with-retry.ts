/**
 * Starts a service that needs the database (the pg-boss queues: ticket notes, webhooks, outbound
 * calls) and, when that fails, keeps trying until it works.
 *
 * Why: the app starts and takes calls while PostgreSQL is down (calls take the technical-problem
 * path until it is back), but these services used to be started once, at boot. A database that
 * was down or slow at that moment left them unstarted until someone restarted the process, while
 * webhooks and ticket notes waited in Postgres with nothing to deliver them. Now the start is
 * retried with the capped, jittered exponential backoff of the ARI supervisor (several instances
 * restarting together do not hammer a recovering database in step), on the injected clock so
 * tests drive it with a fake one.
 *
 * One attempt at a time: the next is scheduled only once the last has failed. A start that hangs
 * is waited for (pg's connection and statement timeouts end most; the webhook listener connects
 * by itself once the database is back).
 */
import { backoffMs } from '../ari/ari-supervisor';
import type { Clock, TimerHandle } from '../call/clock';
import { errorMessage } from './db';

export interface StartWithRetryOptions<T> {
  /** What starts, for log lines and errors: "webhook dispatcher". */
  name: string;
  start(): Promise<T>;
  /** What does not work until it starts, for the operator reading the log. */
  meanwhile?: string;
  clock: Clock;
  log: {
    info(m: string, meta?: Record<string, unknown>): void;
    warn(m: string, meta?: Record<string, unknown>): void;
  };
  /** One line naming the problem (describeDbError with the pool's URL); default: the error's message. */
  describe?: (err: unknown) => string;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** 0..1, for jitter (Math.random in production). */
  random?: () => number;
}

export type RetryingStartState = 'starting' | 'started' | 'stopped';

export interface RetryingStart<T> {
  readonly state: RetryingStartState;
  /** Failed attempts since the start began (0 once started). */
  readonly failures: number;
  /** The last attempt's problem, or null (none yet, or started). */
  readonly lastError: string | null;
  /**
   * The started service, or null while it is not started yet. Still the service after stop(), so
   * code holding the handle during a shutdown behaves as it did holding the service itself.
   */
  current(): T | null;
  /**
   * fn with the started service; while there is none, a rejection with a ServiceNotStartedError
   * saying why in words (for an agent at the desk, an API client): the way its users reach it.
   */
  use<R>(fn: (service: T) => Promise<R>): Promise<R>;
  /** Resolves with the service once started; rejects only when stop() came first. */
  ready(): Promise<T>;
  /** Resolves once the first attempt has ended, started or failed (never rejects). */
  firstAttempt(): Promise<void>;
  /**
   * Cancels a pending retry and stops the service if it was started (and has a stop method). An
   * attempt under way is not waited for (it may wait for the database for ever, and a shutdown
   * must not): a service it starts after all is stopped at once.
   */
  stop(): Promise<void>;
}

/** What a caller of a service that is not started yet gets: a message meant for people. */
export class ServiceNotStartedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceNotStartedError';
  }
}

export const START_WITH_RETRY_DEFAULTS = { initialBackoffMs: 1000, maxBackoffMs: 30_000 };

function hasStop(service: unknown): service is { stop(): unknown } {
  return (
    typeof service === 'object' &&
    service !== null &&
    typeof (service as { stop?: unknown }).stop === 'function'
  );
}

async function stopService(service: unknown): Promise<void> {
  if (hasStop(service)) await service.stop();
}

export function startWithRetry<T>(opts: StartWithRetryOptions<T>): RetryingStart<T> {
  const initialBackoffMs = opts.initialBackoffMs ?? START_WITH_RETRY_DEFAULTS.initialBackoffMs;
  const maxBackoffMs = opts.maxBackoffMs ?? START_WITH_RETRY_DEFAULTS.maxBackoffMs;
  const random = opts.random ?? Math.random;
  const describe = opts.describe ?? errorMessage;
  let state: RetryingStartState = 'starting';
  let service: T | null = null;
  let failures = 0;
  let lastError: string | null = null;
  let retryTimer: TimerHandle | null = null;

  let resolveReady: (service: T) => void = () => undefined;
  let rejectReady: (err: Error) => void = () => undefined;
  const readyPromise = new Promise<T>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Rejected only by stop(); whoever asks ready() handles it, nobody else must see it unhandled.
  readyPromise.catch(() => undefined);
  let endFirstAttempt: () => void = () => undefined;
  const firstAttemptPromise = new Promise<void>((resolve) => (endFirstAttempt = resolve));

  // A function, so TypeScript does not narrow `state` across the awaits.
  const isStopped = () => state === 'stopped';

  async function attempt(): Promise<void> {
    if (isStopped()) return;
    let started: T;
    try {
      started = await opts.start();
    } catch (err) {
      endFirstAttempt();
      // Stopped meanwhile: the failure is the shutdown's (a pool ended under it), not news.
      if (isStopped()) return;
      failures += 1;
      lastError = describe(err);
      const wait = backoffMs(failures, initialBackoffMs, maxBackoffMs, random);
      opts.log.warn(`${opts.name} not started; retrying`, {
        problem: lastError,
        failures,
        retryInMs: wait,
        ...(opts.meanwhile ? { meanwhile: opts.meanwhile } : {}),
      });
      retryTimer = opts.clock.setTimer(wait, () => {
        retryTimer = null;
        run();
      });
      return;
    }
    endFirstAttempt();
    if (isStopped()) {
      await stopService(started).catch((err: unknown) =>
        opts.log.warn(`${opts.name} started during shutdown and did not stop`, { problem: describe(err) }),
      );
      return;
    }
    service = started;
    state = 'started';
    if (failures > 0) opts.log.info(`${opts.name} started`, { afterFailures: failures });
    failures = 0;
    lastError = null;
    resolveReady(started);
  }

  function run(): void {
    // attempt() handles start()'s failures; this only keeps a throwing logger from going unhandled.
    attempt().catch((err: unknown) =>
      opts.log.warn(`${opts.name}: starting failed unexpectedly`, { problem: errorMessage(err) }),
    );
  }

  run();

  return {
    get state() {
      return state;
    },
    get failures() {
      return failures;
    },
    get lastError() {
      return lastError;
    },
    current: () => service,
    use(fn) {
      if (service !== null) return fn(service);
      return Promise.reject(
        new ServiceNotStartedError(
          isStopped()
            ? `the ${opts.name} is stopped: pinverify is shutting down`
            : failures > 0
              ? `the ${opts.name} is not started yet because the database could not be reached (pinverify keeps trying)`
              : `the ${opts.name} is still starting`,
        ),
      );
    },
    ready: () => readyPromise,
    firstAttempt: () => firstAttemptPromise,
    async stop() {
      if (isStopped()) return;
      state = 'stopped';
      retryTimer?.cancel();
      retryTimer = null;
      endFirstAttempt();
      rejectReady(new ServiceNotStartedError(`the ${opts.name} was stopped before it started`));
      if (service !== null) await stopService(service);
    },
  };
}

/**
 * For a pg-boss start that fails half-way (the database lost just after pg-boss started): stops
 * that pg-boss and its workers, then rethrows, so startWithRetry tries again with a new one and
 * nothing of the failed try keeps running. Use as `.catch(abandonBoss(boss))`.
 */
export function abandonBoss(boss: {
  stop(options: { graceful: boolean; close: boolean }): Promise<void>;
}): (err: unknown) => Promise<never> {
  return async (err) => {
    await boss.stop({ graceful: false, close: false }).catch(() => undefined);
    throw err;
  };
}
