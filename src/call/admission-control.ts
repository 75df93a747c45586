/**
 * Admission control: whether the app takes one more call into verification, or sheds it straight
 * to its route's failed destination (reason `overloaded`) in well under a second, so that a
 * surge degrades into "an agent verifies by hand" instead of ARI requests timing out, the pool
 * queueing and callers waiting in silence. A pure decision over signals read by the caller.
 */
export interface AdmissionSignals {
  /** Calls in the Stasis app now. */
  callsInApp: number;
  /** Event-loop delay p99 held over the last second (the lowest of four quarter-second p99s), in ms. */
  eventLoopLagMs: number;
  /**
   * How long a query now waits for a Postgres connection, estimated (estimatePoolWaitMs), the
   * least seen over the last second: a wait that held, not a blip.
   */
  poolWaitMs: number;
}

export interface AdmissionLimits {
  maxCallsInApp: number;
  maxEventLoopLagMs: number;
  maxPoolWaitMs: number;
}

/** Null to admit, or which limit is exceeded (for the log and the metric). */
export function admissionVerdict(s: AdmissionSignals, l: AdmissionLimits): string | null {
  if (s.callsInApp >= l.maxCallsInApp) return `calls in the app at the ceiling of ${l.maxCallsInApp}`;
  if (s.eventLoopLagMs > l.maxEventLoopLagMs)
    return `event-loop lag ${Math.round(s.eventLoopLagMs)} ms over ${l.maxEventLoopLagMs} ms`;
  if (s.poolWaitMs > l.maxPoolWaitMs)
    return Number.isFinite(s.poolWaitMs)
      ? `queries wait about ${Math.round(s.poolWaitMs)} ms for a Postgres connection (over ${l.maxPoolWaitMs} ms for a second)`
      : 'queries wait for a Postgres connection and none has finished for a second';
  return null;
}

/**
 * The wait a query meets in the pool's queue now, by Little's law: the queries waiting divided
 * by the rate connections come free (releases in the last second). A queue length alone says
 * little: at 60 calls/s on the 2-core lab 25 to 90 queries waited at times, yet each for a few
 * milliseconds, and shedding on the count sent callers who would have been fine to an agent.
 * Waiting with nothing released is a database that does not answer: an infinite wait.
 */
export function estimatePoolWaitMs(waiting: number, releasedLastSecond: number): number {
  if (waiting <= 0) return 0;
  if (releasedLastSecond <= 0) return Number.POSITIVE_INFINITY;
  return (waiting / releasedLastSecond) * 1000;
}

/**
 * The lowest of the last `size` samples: a level that held through the whole window. The pool's
 * queue taken at one instant spikes for a few milliseconds whenever many calls reach the same
 * step together, and the event loop stalls now and then for a collection; shedding on such a
 * blip sent callers to an agent for nothing. A wait or a lag that stayed over the limit for a
 * second is a database or a process that is not keeping up.
 */
export function createSustainedLevel(size: number): { sample(v: number): void; value(): number } {
  const samples: number[] = [];
  return {
    sample(v) {
      samples.push(v);
      if (samples.length > size) samples.shift();
    },
    value() {
      return samples.length === 0 ? 0 : Math.min(...samples);
    },
  };
}
