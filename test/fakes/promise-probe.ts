/** Watches a promise without awaiting it, so a test can assert "not settled yet". */
export interface PromiseProbe<T> {
  readonly settled: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
  readonly promise: Promise<T>;
}

export function probe<T>(promise: Promise<T>): PromiseProbe<T> {
  const state: { settled: boolean; value: T | undefined; error: unknown; promise: Promise<T> } = {
    settled: false,
    value: undefined,
    error: undefined,
    promise,
  };
  void promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (err: unknown) => {
      state.settled = true;
      state.error = err;
    },
  );
  return state;
}
