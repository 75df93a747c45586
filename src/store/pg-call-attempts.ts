/** Outbound call attempts in verification_calls (migration 012); see src/outbound/outbound-caller.ts. */
import type { CallAttemptEnd, CallAttemptRecord, CallAttemptStore } from '../outbound/outbound-caller';
import type { Queryable } from './db';

export class PgCallAttemptStore implements CallAttemptStore {
  constructor(private readonly db: Queryable) {}

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
  ): Promise<{ verificationId: string; codeLength: number; attempt: number } | null> {
    const { rows } = await this.db.query<{ id: string; code_length: number; attempts: number }>(
      `SELECT v.id, v.code_length, max(c.attempt) AS attempts
         FROM verifications v JOIN verification_calls c ON c.verification_id = v.id
        WHERE v.channel = 'call' AND v.status = 'pending' AND v.expires_at > now()
          AND v.destination = $1 AND c.profile = $2
        GROUP BY v.id, v.code_length, v.created_at
        ORDER BY v.created_at DESC LIMIT 1`,
      [e164, profile],
    );
    const row = rows[0];
    return row
      ? { verificationId: row.id, codeLength: row.code_length, attempt: Number(row.attempts) + 1 }
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
