/**
 * The one error type the senders reject with. Its message is written for an operator reading a
 * log ("SMTP 127.0.0.1:2525 refused connection") and is already free of the code and of full
 * addresses, so callers may log it as is.
 */
export type DeliveryFailure =
  /** Nothing answered at the configured host and port. */
  | 'unreachable'
  /** A connection, greeting or request timeout of the transport itself. */
  | 'timeout'
  /** The caller's AbortSignal fired (usually sendTimeoutMs of the flow). */
  | 'aborted'
  /** Credentials rejected (SMTP login, Twilio account SID / auth token). */
  | 'auth'
  /** The server answered and refused the message or the recipient. */
  | 'rejected'
  /** Nothing to send to, or a template that cannot produce a usable message. */
  | 'invalid'
  | 'unknown';

export class DeliveryError extends Error {
  readonly failure: DeliveryFailure;
  /** SMTP reply code or Twilio HTTP status, when the server answered. */
  readonly status: number | null;

  constructor(message: string, failure: DeliveryFailure, status: number | null = null) {
    super(message);
    this.name = 'DeliveryError';
    this.failure = failure;
    this.status = status;
  }
}

/** Rejects as soon as `signal` aborts, whatever `work` is doing; `work` is left to clean up after itself. */
export function abortable<T>(
  work: Promise<T>,
  signal: AbortSignal,
  onAbort: () => DeliveryError,
): Promise<T> {
  if (signal.aborted) {
    // The work was already started by the caller; keep its eventual rejection from going unhandled.
    work.catch(() => undefined);
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
