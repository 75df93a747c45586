/**
 * The backlog gauges of /metrics (src/metrics/app-metrics.ts): what waits in Postgres for webhook
 * subscribers and the ticket system, counted over every app instance (it is one database).
 */
import type { Pool } from 'pg';
import type { Backlog } from '../metrics/app-metrics';
import { TICKET_NOTE_QUEUE } from '../tickets/ticket-note-queue';

export async function readBacklog(pool: Pool, ticketQueue: string = TICKET_NOTE_QUEUE): Promise<Backlog> {
  const { rows } = await pool.query<{
    pending: string;
    oldest: string;
    disabled: string;
    boss: string | null;
  }>(
    `SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
            (SELECT coalesce(extract(epoch FROM now() - min(e.occurred_at)), 0)
               FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
              WHERE d.status = 'pending') AS oldest,
            (SELECT count(*) FROM webhook_endpoints WHERE NOT enabled) AS disabled,
            to_regclass('pgboss.job')::text AS boss`,
  );
  const r = rows[0];
  // pg-boss's own table exists once any queue has started (a table named in a query must exist,
  // so it is asked about first).
  let notes = 0;
  if (r?.boss) {
    const q = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry', 'active')`,
      [ticketQueue],
    );
    notes = Number(q.rows[0]?.n ?? 0);
  }
  return {
    webhookDeliveriesPending: Number(r?.pending ?? 0),
    webhookOldestPendingSeconds: Math.max(0, Number(r?.oldest ?? 0)),
    webhookEndpointsDisabled: Number(r?.disabled ?? 0),
    ticketNotesWaiting: notes,
  };
}
