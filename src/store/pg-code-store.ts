/**
 * One-time codes, stored only as keyed hashes (HMAC computed by the caller of this store).
 * check() runs in a transaction holding the code's row lock, so two checks of the same call
 * (a retried request, a second app instance) cannot both spend the same try or both consume
 * the code.
 */
import type { Pool } from 'pg';
import { withTransaction } from './db';
import type { CodeCheck, CodeStore } from '../flow/ports';

interface CodeRow {
  code_hash: string;
  expires_at: Date;
  tries_left: number;
  consumed_at: Date | null;
}

export class PgCodeStore implements CodeStore {
  constructor(private readonly pool: Pool) {}

  async put(callId: string, codeHash: string, expiresAt: Date, maxTries: number): Promise<void> {
    if (!Number.isInteger(maxTries) || maxTries < 1)
      throw new RangeError(`maxTries must be >= 1, got ${maxTries}`);
    // A resend replaces the previous code: the old one stops working and tries start afresh.
    await this.pool.query(
      `INSERT INTO call_codes (call_id, code_hash, expires_at, tries_left)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (call_id) DO UPDATE
         SET code_hash = EXCLUDED.code_hash,
             expires_at = EXCLUDED.expires_at,
             tries_left = EXCLUDED.tries_left,
             consumed_at = NULL,
             created_at = now()`,
      [callId, codeHash, expiresAt, maxTries],
    );
  }

  async check(callId: string, codeHash: string, now: Date): Promise<CodeCheck> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<CodeRow>(
        'SELECT code_hash, expires_at, tries_left, consumed_at FROM call_codes WHERE call_id = $1 FOR UPDATE',
        [callId],
      );
      const row = rows[0];
      let result: CodeCheck;
      // Order matters: a used code is gone; an expired one is reported as such even with tries left.
      if (!row || row.consumed_at !== null) {
        result = { kind: 'missing' };
      } else if (row.expires_at.getTime() <= now.getTime()) {
        result = { kind: 'expired' };
      } else if (row.tries_left <= 0) {
        result = { kind: 'exhausted' };
      } else if (row.code_hash === codeHash) {
        // Hashes are HMACs of the code: comparing them reveals nothing useful about the code.
        await client.query('UPDATE call_codes SET consumed_at = $2 WHERE call_id = $1', [callId, now]);
        result = { kind: 'ok' };
      } else {
        const updated = await client.query<{ tries_left: number }>(
          'UPDATE call_codes SET tries_left = tries_left - 1 WHERE call_id = $1 RETURNING tries_left',
          [callId],
        );
        result = { kind: 'wrong', triesLeft: updated.rows[0]?.tries_left ?? 0 };
      }

      return result;
    });
  }

  async discard(callId: string): Promise<void> {
    await this.pool.query('DELETE FROM call_codes WHERE call_id = $1', [callId]);
  }

  /**
   * Deletes codes that expired before `before` (calls that ended without discard, e.g. after a
   * crash). Returns how many were deleted. Meant for a periodic housekeeping job.
   */
  async purgeExpired(before: Date): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM call_codes WHERE expires_at < $1', [before]);
    return rowCount ?? 0;
  }
}
