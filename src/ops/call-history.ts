/**
 * The audit trail read back for ops: recent calls and one call's events. Everything in these
 * tables was masked before it was written (src/log/mask.ts), so it is shown as stored.
 */
import { z } from 'zod';
import type { Queryable } from '../store/db';
import { notFound, parseInput } from './ops-error';

export interface CallSummary {
  callId: string;
  channelId: string | null;
  caller: string | null;
  previousHop: string | null;
  startedAt: Date;
  endedAt: Date | null;
  result: string | null;
  reason: string | null;
  method: string | null;
  contactId: number | null;
  route: string | null;
  destination: string | null;
}

export interface CallEvent {
  at: Date;
  kind: string;
  detail: Record<string, unknown>;
}

export const recentQuerySchema = z
  .object({
    limit: z.coerce
      .number({ error: 'expected a whole number' })
      .int('expected a whole number')
      .min(1, 'at least 1')
      .max(1000, 'at most 1000')
      .default(20),
    result: z.enum(['verified', 'failed', 'open'], { error: 'expected verified, failed or open' }).optional(),
    since: z.coerce.date({ error: 'expected a date and time, e.g. 2026-11-22T10:00:00Z' }).optional(),
  })
  .strict();
export type RecentQuery = z.input<typeof recentQuerySchema>;

const SUMMARY = `call_id AS "callId", channel_id AS "channelId", caller_masked AS caller,
  previous_hop AS "previousHop", started_at AS "startedAt", ended_at AS "endedAt", result, reason,
  method, contact_id AS "contactId", route, destination`;

export function createCallHistory(db: Queryable) {
  return {
    async recent(query: unknown = {}): Promise<CallSummary[]> {
      const q = parseInput(recentQuerySchema, query);
      const where: string[] = [];
      const values: unknown[] = [];
      if (q.result === 'open') where.push('result IS NULL');
      else if (q.result) {
        values.push(q.result);
        where.push(`result = $${values.length}`);
      }
      if (q.since) {
        values.push(q.since);
        where.push(`started_at >= $${values.length}`);
      }
      values.push(q.limit);
      const { rows } = await db.query<CallSummary>(
        `SELECT ${SUMMARY} FROM calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY started_at DESC, call_id LIMIT $${values.length}`,
        values,
      );
      return rows;
    },

    /** One call by its pinverify call id, or by the Asterisk channel id (the AMI Uniqueid). */
    async show(id: string): Promise<CallSummary & { events: CallEvent[] }> {
      const ref = parseInput(z.string().trim().min(1, 'a call id').max(100), id, 'id');
      const { rows } = await db.query<CallSummary>(
        `SELECT ${SUMMARY} FROM calls WHERE call_id = $1 OR channel_id = $1 ORDER BY started_at DESC LIMIT 1`,
        [ref],
      );
      const call = rows[0];
      if (!call) throw notFound(`no call with id ${ref}`);
      const events = await db.query<CallEvent>(
        'SELECT at, kind, detail FROM call_events WHERE call_id = $1 ORDER BY at, id',
        [call.callId],
      );
      return { ...call, events: events.rows };
    },
  };
}

export type CallHistory = ReturnType<typeof createCallHistory>;
