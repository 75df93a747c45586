/**
 * Verifications and their limits in Postgres. `atomically` is one transaction; the locks are
 * transaction-scoped advisory locks (released at commit or rollback, even if the process dies),
 * taken in one order (verification row, contact, send counters) so two instances never
 * deadlock and never both spend the last try or the last send. The send lock is taken only
 * inside pinverify_reserve_send, one statement, so it is never held across a round trip to the
 * app when a reservation runs on its own.
 */
import type { Pool, PoolClient } from 'pg';
import type {
  SendLimits,
  Verification,
  VerificationChannel,
  VerificationOrigin,
  VerificationStatus,
} from '../domain';
import type {
  SendRecord,
  SendReservation,
  VerificationFilter,
  VerificationStore,
  VerificationTx,
} from '../verification/verification-store';
import { withTransaction } from './db';

/** Advisory lock namespaces (first key of the two-key form); pinverify_lock_contact takes the same. */
const CONTACT_LOCK = 7486_1;
// The send lock (7486_2, 0) is taken inside pinverify_reserve_send (migration 019).

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

/** One call of pinverify_reserve_send (migration 019): lock, counts and record in one statement. */
async function reserveSend(
  db: Pool | PoolClient,
  send: SendRecord,
  limits: SendLimits,
): Promise<SendReservation> {
  const { rows } = await db.query<{
    reserved: boolean;
    dest_hour: string;
    oldest_hour: Date | null;
    dest_day: string;
    oldest_day: Date | null;
    country_hour: string | null;
    overall_hour: string;
  }>('SELECT * FROM pinverify_reserve_send($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
    send.verificationId,
    send.destinationKey,
    send.countryCode,
    send.channel,
    send.at,
    limits.maxSendsPerHour,
    limits.maxSendsPerCountryPerHour,
    limits.maxSendsPerDestinationPerHour,
    limits.maxSendsPerDestinationPerDay,
  ]);
  const r = rows[0];
  if (!r) throw new Error('pinverify_reserve_send: no row');
  return {
    reserved: r.reserved,
    counts: {
      destinationLastHour: Number(r.dest_hour),
      destinationLastDay: Number(r.dest_day),
      countryLastHour: r.country_hour === null ? null : Number(r.country_hour),
      overallLastHour: Number(r.overall_hour),
      oldestDestinationSendLastHour: r.oldest_hour,
      oldestDestinationSendLastDay: r.oldest_day,
    },
  };
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

  async save(v: Verification, failure?: { contactId: number; at: Date }): Promise<void> {
    const params = [
      v.id,
      v.status,
      v.codeHash,
      v.decidedAt,
      v.lastSentAt,
      v.sends,
      v.checks,
      v.failureReason,
    ];
    const update = `UPDATE verifications SET status = $2, code_hash = $3, decided_at = $4, last_sent_at = $5,
              sends = $6, checks = $7, failure_reason = $8
        WHERE id = $1`;
    if (!failure) {
      await this.client.query(update, params);
      return;
    }
    // One round trip for both (migration 020 says why round trips count here).
    await this.client.query(
      `WITH saved AS (${update})
       INSERT INTO verification_failures (contact_id, verification_id, at) VALUES ($9, $1, $10)`,
      [...params, failure.contactId, failure.at],
    );
  }

  async lockContact(contactId: number, since: Date): Promise<Date[]> {
    const { rows } = await this.client.query<{ at: Date }>('SELECT pinverify_lock_contact($1, $2) AS at', [
      contactId,
      since,
    ]);
    return rows.map((r) => r.at);
  }

  reserveSend(send: SendRecord, limits: SendLimits): Promise<SendReservation> {
    return reserveSend(this.client, send, limits);
  }
}

export class PgVerificationStore implements VerificationStore {
  constructor(private readonly pool: Pool) {}

  /** Outside a transaction: committed, and the send lock released, before the answer arrives. */
  reserveSend(send: SendRecord, limits: SendLimits): Promise<SendReservation> {
    return reserveSend(this.pool, send, limits);
  }

  async releaseSend(send: SendRecord): Promise<void> {
    // By destination and time first: that is the index the limits use.
    await this.pool.query(
      'DELETE FROM verification_sends WHERE destination_key = $1 AND sent_at = $2 AND verification_id = $3',
      [send.destinationKey, send.at, send.verificationId],
    );
  }

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
