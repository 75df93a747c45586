/** PIN hashes in table contact_pins (migration 007). Only argon2id hashes are ever written. */
import type { PinRecord, PinStore } from '../pin/pin-store';
import type { Queryable } from './db';

export class PgPinStore implements PinStore {
  constructor(private readonly db: Queryable) {}

  async get(contactId: number): Promise<PinRecord | null> {
    const { rows } = await this.db.query<{ hash: string; set_at: Date; set_by: string }>(
      'SELECT pin_hash AS hash, set_at, set_by FROM contact_pins WHERE contact_id = $1',
      [contactId],
    );
    const row = rows[0];
    return row ? { contactId, hash: row.hash, setAt: row.set_at, setBy: row.set_by } : null;
  }

  async set(contactId: number, hash: string, setBy: string): Promise<void> {
    await this.db.query(
      `INSERT INTO contact_pins (contact_id, pin_hash, set_at, set_by) VALUES ($1, $2, now(), $3)
       ON CONFLICT (contact_id) DO UPDATE SET pin_hash = EXCLUDED.pin_hash, set_at = now(), set_by = EXCLUDED.set_by`,
      [contactId, hash, setBy],
    );
  }

  async rehash(contactId: number, previous: string, hash: string): Promise<void> {
    await this.db.query('UPDATE contact_pins SET pin_hash = $3 WHERE contact_id = $1 AND pin_hash = $2', [
      contactId,
      previous,
      hash,
    ]);
  }

  async clear(contactId: number): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM contact_pins WHERE contact_id = $1', [contactId]);
    return (rowCount ?? 0) > 0;
  }
}
