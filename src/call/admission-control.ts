/**
 * Admission control: whether the app takes one more call into verification, or sheds it straight
 * to its route's failed destination (reason `overloaded`) in well under a second, so that a
 * surge degrades into "an agent verifies by hand" instead of ARI requests timing out, the pool
 * queueing and callers waiting in silence. A pure decision over signals read by the caller.
 */
export interface AdmissionSignals {
  /** Calls in the Stasis app now. */
  callsInApp: number;
  /** Event-loop delay p99 over the last second, in ms. */
  eventLoopLagMs: number;
  /** Queries waiting for a Postgres connection, the least seen over the last second. */
  poolWaiting: number;
}

export interface AdmissionLimits {
  maxCallsInApp: number;
  maxEventLoopLagMs: number;
  maxPoolWaiting: number;
}

/** Null to admit, or which limit is exceeded (for the log and the metric). */
export function admissionVerdict(s: AdmissionSignals, l: AdmissionLimits): string | null {
  if (s.callsInApp >= l.maxCallsInApp) return `calls in the app at the ceiling of ${l.maxCallsInApp}`;
  if (s.eventLoopLagMs > l.maxEventLoopLagMs)
    return `event-loop lag ${Math.round(s.eventLoopLagMs)} ms over ${l.maxEventLoopLagMs} ms`;
  if (s.poolWaiting > l.maxPoolWaiting)
    return `${s.poolWaiting} queries waiting for a Postgres connection (over ${l.maxPoolWaiting} for a second)`;
  return null;
}

/**
 * The lowest of the last `size` samples: a level that held through the whole window. The pool's
 * waiting count taken at one instant spikes for a few milliseconds whenever many calls reach the
 * same step together (at 40 calls/s on the 2-core lab, 25 waiting for an instant was common and
 * drained within 10 ms); shedding on such a blip sent callers to an agent for nothing. A queue
 * that stayed over the limit for a second is a database that is not keeping up.
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
