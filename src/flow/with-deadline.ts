/**
 * Bounds how long the flow waits for a dependency. A caller on the line must never wait forever
 * because a database or an SMTP server stopped answering; the clock is injected so unit tests
 * reach the deadline without waiting.
 */
import type { Clock } from '../call/clock';

export class DeadlineError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/**
 * Settles like `work`, or rejects with DeadlineError after `ms` (calling `onTimeout` first, e.g.
 * to abort the work). A late result or rejection of `work` is ignored, never left unhandled.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  clock: Clock,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = clock.setTimer(ms, () => {
      if (settled) return;
      settled = true;
      try {
        onTimeout?.();
      } finally {
        reject(new DeadlineError(what, ms));
      }
    });
    void work.then(
      (value) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
