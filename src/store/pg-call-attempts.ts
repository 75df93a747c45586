/** Outbound call attempts in verification_calls (migration 012); see src/outbound/outbound-caller.ts. */
import type { CallAttemptEnd, CallAttemptRecord, CallAttemptStore } from '../outbound/outbound-caller';
import type { Pool } from 'pg';
import { withTransaction } from './db';

/** Fixed, arbitrary: serialises the "calls at once" check-and-record across instances. */
const CALL_CAP_LOCK_KEY = '7486172305';
/** A call row older than this still "calling" was left by a crashed instance: not counted. */
const STALE_CALL_MINUTES = 15;

export class PgCallAttemptStore implements CallAttemptStore {
  constructor(private readonly db: Pool) {}

  async startBelow(a: CallAttemptRecord, cap: number): Promise<boolean> {
    if (!Number.isFinite(cap)) {
      await this.started(a);
      return true;
    }
    return withTransaction(this.db, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CALL_CAP_LOCK_KEY]);
      const { rows } = await tx.query<{ n: string }>(
        `SELECT count(*) AS n FROM verification_calls
          WHERE status IN ('calling', 'answered') AND created_at > now() - make_interval(mins => $1)`,
        [STALE_CALL_MINUTES],
      );
      if (Number(rows[0]?.n ?? 0) >= cap) return false;
      await tx.query(
        `INSERT INTO verification_calls (verification_id, profile, attempt, status, channel_id)
         VALUES ($1, $2, $3, 'calling', $4)`,
        [a.verificationId, a.profile, a.attempt, a.channelId],
      );
      return true;
    });
  }

  /**
   * The pace of outbound calls over every instance: takes the next slot, `intervalMs` after the
   * last one taken, and returns how long to wait for it (0: now).
   */
  async nextSlotIn(intervalMs: number): Promise<number> {
    const { rows } = await this.db.query<{ wait_ms: string }>(
      `UPDATE outbound_pacing
          SET next_at = greatest(next_at, clock_timestamp()) + make_interval(secs => $1 / 1000.0)
        RETURNING greatest(0, extract(epoch FROM (next_at - make_interval(secs => $1 / 1000.0) - clock_timestamp())) * 1000) AS wait_ms`,
      [intervalMs],
    );
    return Math.ceil(Number(rows[0]?.wait_ms ?? 0));
  }

  async started(a: CallAttemptRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO verification_calls (verification_id, profile, attempt, status, channel_id)
       VALUES ($1, $2, $3, 'calling', $4)`,
      [a.verificationId, a.profile, a.attempt, a.channelId],
    );
  }

  async pendingFor(
    e164: string,
    profile: string,
  ): Promise<{ verificationId: string; codeLength: number; attempt: number; customCode: boolean } | null> {
    const { rows } = await this.db.query<{
      id: string;
      code_length: number;
      custom_code: boolean;
      attempts: number;
    }>(
      `SELECT v.id, v.code_length, v.custom_code, max(c.attempt) AS attempts
         FROM verifications v JOIN verification_calls c ON c.verification_id = v.id
        WHERE v.channel = 'call' AND v.status = 'pending' AND v.expires_at > now()
          AND v.destination = $1 AND c.profile = $2
        GROUP BY v.id, v.code_length, v.custom_code, v.created_at
        ORDER BY v.created_at DESC LIMIT 1`,
      [e164, profile],
    );
    const row = rows[0];
    return row
      ? {
          verificationId: row.id,
          codeLength: row.code_length,
          attempt: Number(row.attempts) + 1,
          customCode: row.custom_code,
        }
      : null;
  }

  async ended(verificationId: string, attempt: number, end: CallAttemptEnd): Promise<void> {
    await this.db.query(
      `UPDATE verification_calls
          SET status = $3, cause = $4, sip_code = $5, answered_at = $6, times_said = $7, checks = $8,
              ended_at = now()
        WHERE verification_id = $1 AND attempt = $2`,
      [
        verificationId,
        attempt,
        end.status,
        end.cause ?? null,
        end.sipCode ?? null,
        end.answeredAt ?? null,
        end.timesSaid ?? 0,
        end.checks ?? 0,
      ],
    );
  }
}
