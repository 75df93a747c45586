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
