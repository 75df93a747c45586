/**
 * Prometheus metrics of a running app (`GET /metrics`), with the maintained `prom-client`: its
 * default Node.js metrics (event-loop lag with p50/p90/p99, heap, GC, CPU) plus pinverify's own.
 * Names follow Prometheus conventions (snake_case, `_total` counters, base units: seconds).
 * Labels never hold a phone number, an email or a code: only bounded words (results, reasons,
 * channels, statuses, ARI operations).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallOutcome } from '../domain';

export interface VerificationObserver {
  /** A verification was created (status pending) or reached a decided status. */
  verification(channel: string, status: string): void;
  /** A code went out, a delivery failed, or a limit refused the send. */
  send(channel: string, result: 'sent' | 'failed' | 'refused'): void;
}

export interface AriObserver {
  /** One ARI REST request and how long it took. */
  ariRequest(operation: string, seconds: number, ok: boolean): void;
  /** From a DTMF event to the next ARI command for that channel. */
  dtmfToAction(seconds: number): void;
}

/** Work waiting in Postgres for someone outside: webhook subscribers and the ticket system. */
export interface Backlog {
  webhookDeliveriesPending: number;
  /** Age of the oldest event still waiting for an endpoint (0 when none). */
  webhookOldestPendingSeconds: number;
  webhookEndpointsDisabled: number;
  ticketNotesWaiting: number;
}

export interface AppMetrics extends VerificationObserver, AriObserver {
  readonly registry: Registry;
  callEnded(outcome: Pick<CallOutcome, 'result' | 'reason'>): void;
  /** Scrape-time gauges: read when /metrics is asked. */
  gauges(read: {
    callsInApp(): number;
    poolWaiting(): number;
    poolTotal(): number;
    ariConnected(): boolean;
    /** Read from Postgres once per scrape; a failed read leaves the last values. */
    backlog?(): Promise<Backlog>;
  }): void;
}

export function createAppMetrics(options: { defaultMetrics?: boolean } = {}): AppMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

  const calls = new Counter({
    name: 'pinverify_calls_total',
    help: 'Calls that left pinverify, by result and reason (PINVERIFY_RESULT, PINVERIFY_REASON)',
    labelNames: ['result', 'reason'] as const,
    registers: [registry],
  });
  const verifications = new Counter({
    name: 'pinverify_verifications_total',
    help: 'Verifications created (status pending) and decided, by channel and status',
    labelNames: ['channel', 'status'] as const,
    registers: [registry],
  });
  const sends = new Counter({
    name: 'pinverify_sends_total',
    help: 'Codes sent, failed by the provider, or refused by a limit, by channel',
    labelNames: ['channel', 'result'] as const,
    registers: [registry],
  });
  const ari = new Histogram({
    name: 'pinverify_ari_request_duration_seconds',
    help: 'ARI REST requests made for calls, by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const dtmf = new Histogram({
    name: 'pinverify_dtmf_to_action_seconds',
    help: 'From a DTMF event to the next ARI command the app sends for that channel',
    // Fine around the 50 ms target (README, Benchmark), so a p99 can be told from it.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  let read: Parameters<AppMetrics['gauges']>[0] | null = null;
  new Gauge({
    name: 'pinverify_calls_in_app',
    help: 'Calls in the Stasis application now',
    registers: [registry],
    collect() {
      if (read) this.set(read.callsInApp());
    },
  });
  new Gauge({
    name: 'pinverify_db_pool_waiting',
    help: 'Queries waiting for a Postgres connection from the pool',
    registers: [registry],
    collect() {
      if (read) this.set(read.poolWaiting());
    },
  });
  new Gauge({
    name: 'pinverify_db_pool_connections',
    help: 'Open Postgres connections in the pool',
    registers: [registry],
    collect() {
      if (read) this.set(read.poolTotal());
    },
  });
  new Gauge({
    name: 'pinverify_ari_connected',
    help: '1 while the app is connected to ARI, 0 while it reconnects',
    registers: [registry],
    collect() {
      if (read) this.set(read.ariConnected() ? 1 : 0);
    },
  });

  // One read per scrape serves the four backlog gauges (prom-client asks each in turn).
  let backlogRead: { at: number; value: Promise<Backlog | null> } | null = null;
  const backlog = (): Promise<Backlog | null> => {
    const r = read;
    if (!r?.backlog) return Promise.resolve(null);
    const now = Date.now();
    if (!backlogRead || now - backlogRead.at > 1000)
      backlogRead = { at: now, value: (r.backlog?.() ?? Promise.resolve(null)).catch(() => null) };
    return backlogRead.value;
  };
  const backlogGauge = (name: string, help: string, pick: (b: Backlog) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const b = await backlog();
        if (b) this.set(pick(b));
      },
    });
  backlogGauge(
    'pinverify_webhook_deliveries_pending',
    'Webhook deliveries not yet accepted by their endpoint (all app instances)',
    (b) => b.webhookDeliveriesPending,
  );
  backlogGauge(
    'pinverify_webhook_oldest_pending_seconds',
    'Age of the oldest event still waiting for a webhook endpoint; 0 when none waits',
    (b) => b.webhookOldestPendingSeconds,
  );
  backlogGauge(
    'pinverify_webhook_endpoints_disabled',
    'Webhook endpoints disabled after failing for a day (pinverify webhooks list says why)',
    (b) => b.webhookEndpointsDisabled,
  );
  backlogGauge(
    'pinverify_ticket_notes_waiting',
    'Desk ticket notes queued or being retried for the ticket system',
    (b) => b.ticketNotesWaiting,
  );

  return {
    registry,
    callEnded: (o) => calls.inc({ result: o.result, reason: o.reason }),
    verification: (channel, status) => verifications.inc({ channel, status }),
    send: (channel, result) => sends.inc({ channel, result }),
    ariRequest: (operation, seconds, ok) => ari.observe({ operation, outcome: ok ? 'ok' : 'error' }, seconds),
    dtmfToAction: (seconds) => dtmf.observe(seconds),
    gauges(r) {
      read = r;
    },
  };
}
