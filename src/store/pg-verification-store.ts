/**
 * Verifications and their limits in Postgres. `atomically` is one transaction; the locks are
 * transaction-scoped advisory locks (released at commit or rollback, even if the process dies),
 * taken in one order (verification row, contact, send counters) so two instances never
 * deadlock and never both spend the last try or the last send.
 */
import type { Pool, PoolClient } from 'pg';
import type {
  SendCounts,
  Verification,
  VerificationChannel,
  VerificationOrigin,
  VerificationStatus,
} from '../domain';
import type {
  SendRecord,
  VerificationFilter,
  VerificationStore,
  VerificationTx,
} from '../verification/verification-store';
import { withTransaction } from './db';

/** Advisory lock namespaces (first key of the two-key form). */
const CONTACT_LOCK = 7486_1;
const SENDS_LOCK = 7486_2;

interface Row {
  id: string;
  contact_id: number | null;
  channel: string;
  destination: string;
  destination_masked: string;
  origin: string;
  call_id: string | null;
  actor: string | null;
  status: string;
  code_hash: string | null;
  code_length: number;
  custom_code: boolean;
  created_at: Date;
  expires_at: Date;
  decided_at: Date | null;
  last_sent_at: Date | null;
  sends: number;
  checks: number;
  max_sends: number;
  max_checks: number;
  failure_reason: string | null;
}

const COLUMNS = `id, contact_id, channel, destination, destination_masked, origin, call_id, actor, status,
  code_hash, code_length, custom_code, created_at, expires_at, decided_at, last_sent_at, sends, checks,
  max_sends, max_checks, failure_reason`;

function fromRow(r: Row): Verification {
  return {
    id: r.id,
    contactId: r.contact_id,
    channel: r.channel as VerificationChannel,
    destination: r.destination,
    destinationMasked: r.destination_masked,
    origin: r.origin as VerificationOrigin,
    callId: r.call_id,
    actor: r.actor,
    status: r.status as VerificationStatus,
    codeHash: r.code_hash,
    codeLength: r.code_length,
    customCode: r.custom_code,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    decidedAt: r.decided_at,
    lastSentAt: r.last_sent_at,
    sends: r.sends,
    checks: r.checks,
    maxSends: r.max_sends,
    maxChecks: r.max_checks,
    failureReason: r.failure_reason,
  };
}

function values(v: Verification): unknown[] {
  return [
    v.id,
    v.contactId,
    v.channel,
    v.destination,
    v.destinationMasked,
    v.origin,
    v.callId,
    v.actor,
    v.status,
    v.codeHash,
    v.codeLength,
    v.customCode,
    v.createdAt,
    v.expiresAt,
    v.decidedAt,
    v.lastSentAt,
    v.sends,
    v.checks,
    v.maxSends,
    v.maxChecks,
    v.failureReason,
  ];
}

async function failuresSince(db: Pool | PoolClient, contactId: number, since: Date): Promise<Date[]> {
  const { rows } = await db.query<{ at: Date }>(
    `SELECT at FROM verification_failures
      WHERE contact_id = $1 AND at > $2 AND cleared_at IS NULL ORDER BY at`,
    [contactId, since],
  );
  return rows.map((r) => r.at);
}

class PgVerificationTx implements VerificationTx {
  constructor(private readonly client: PoolClient) {}

  async load(id: string): Promise<Verification | null> {
    const { rows } = await this.client.query<Row>(
      `SELECT ${COLUMNS} FROM verifications WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async insert(v: Verification): Promise<void> {
    await this.client.query(
      `INSERT INTO verifications (${COLUMNS})
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)`,
      values(v),
    );
  }

  async save(v: Verification): Promise<void> {
    await this.client.query(
      `UPDATE verifications SET status = $2, code_hash = $3, decided_at = $4, last_sent_at = $5,
              sends = $6, checks = $7, failure_reason = $8
        WHERE id = $1`,
      [v.id, v.status, v.codeHash, v.decidedAt, v.lastSentAt, v.sends, v.checks, v.failureReason],
    );
  }

  async lockContact(contactId: number): Promise<void> {
    await this.client.query('SELECT pg_advisory_xact_lock($1, $2)', [CONTACT_LOCK, contactId]);
  }

  failuresSince(contactId: number, since: Date): Promise<Date[]> {
    return failuresSince(this.client, contactId, since);
  }

  async recordFailure(contactId: number, verificationId: string, at: Date): Promise<void> {
    await this.client.query(
      'INSERT INTO verification_failures (contact_id, verification_id, at) VALUES ($1, $2, $3)',
      [contactId, verificationId, at],
    );
  }

  async lockSends(): Promise<void> {
    await this.client.query('SELECT pg_advisory_xact_lock($1, 0)', [SENDS_LOCK]);
  }

  async sendCounts(destinationKey: string, countryCode: string | null, now: Date): Promise<SendCounts> {
    const hourAgo = new Date(now.getTime() - 3600_000);
    const dayAgo = new Date(now.getTime() - 24 * 3600_000);
    // Three index range scans rather than one pass over the day's sends. No upper bound at
    // `now`: a concurrent request that took its clock reading a moment later may have
    // committed its send first, and it must count (the advisory lock orders the commits, not
    // the clock readings).
    const { rows } = await this.client.query<{
      dest_hour: string;
      dest_day: string;
      oldest_hour: Date | null;
      oldest_day: Date | null;
      country_hour: string | null;
      overall_hour: string;
    }>(
      `SELECT
         (SELECT count(*) FROM verification_sends WHERE destination_key = $1 AND sent_at > $2) AS dest_hour,
         (SELECT min(sent_at) FROM verification_sends WHERE destination_key = $1 AND sent_at > $2) AS oldest_hour,
         (SELECT count(*) FROM verification_sends WHERE destination_key = $1 AND sent_at > $3) AS dest_day,
         (SELECT min(sent_at) FROM verification_sends WHERE destination_key = $1 AND sent_at > $3) AS oldest_day,
         CASE WHEN $4::text IS NULL THEN NULL ELSE
           (SELECT count(*) FROM verification_sends WHERE country_code = $4 AND sent_at > $2) END AS country_hour,
         (SELECT count(*) FROM verification_sends WHERE sent_at > $2) AS overall_hour`,
      [destinationKey, hourAgo, dayAgo, countryCode],
    );
    const r = rows[0];
    if (!r) throw new Error('send counts: no row');
    return {
      destinationLastHour: Number(r.dest_hour),
      destinationLastDay: Number(r.dest_day),
      countryLastHour: r.country_hour === null ? null : Number(r.country_hour),
      overallLastHour: Number(r.overall_hour),
      oldestDestinationSendLastHour: r.oldest_hour,
      oldestDestinationSendLastDay: r.oldest_day,
    };
  }

  async recordSend(send: SendRecord): Promise<void> {
    await this.client.query(
      `INSERT INTO verification_sends (verification_id, destination_key, country_code, channel, sent_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [send.verificationId, send.destinationKey, send.countryCode, send.channel, send.at],
    );
  }
}

export class PgVerificationStore implements VerificationStore {
  constructor(private readonly pool: Pool) {}

  atomically<T>(work: (tx: VerificationTx) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, (client) => work(new PgVerificationTx(client)));
  }

  async get(id: string): Promise<Verification | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM verifications WHERE id = $1`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async list(filter: VerificationFilter): Promise<Verification[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.contactId !== undefined) {
      params.push(filter.contactId);
      where.push(`contact_id = $${params.length}`);
    }
    if (filter.status !== undefined) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    if (filter.callId !== undefined) {
      params.push(filter.callId);
      where.push(`call_id = $${params.length}`);
    }
    params.push(filter.limit ?? 50);
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM verifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id LIMIT $${params.length}`,
      params,
    );
    return rows.map(fromRow);
  }

  failuresSince(contactId: number, since: Date): Promise<Date[]> {
    return failuresSince(this.pool, contactId, since);
  }

  async clearFailures(contactId: number, since: Date, at: Date): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [CONTACT_LOCK, contactId]);
      const { rowCount } = await client.query(
        `UPDATE verification_failures SET cleared_at = $3
          WHERE contact_id = $1 AND at > $2 AND cleared_at IS NULL`,
        [contactId, since, at],
      );
      return rowCount ?? 0;
    });
  }

  async clearSends(destinationKeys: string[], since: Date): Promise<number> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM verification_sends WHERE destination_key = ANY($1::text[]) AND sent_at > $2',
      [destinationKeys, since],
    );
    return rowCount ?? 0;
  }
}
