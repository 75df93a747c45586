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
  /** Queries waiting for a Postgres connection. */
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
    return `${s.poolWaiting} queries waiting for a Postgres connection (over ${l.maxPoolWaiting})`;
  return null;
}
