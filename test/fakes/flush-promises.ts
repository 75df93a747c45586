/**
 * Lets every pending promise callback run. Node drains the whole microtask queue (including
 * callbacks queued while draining) before it runs a setImmediate callback, so after this resolves
 * every chain of in-memory fakes has gone as far as it can without a timer. No time passes.
 */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
