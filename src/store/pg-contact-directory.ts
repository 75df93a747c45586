/**
 * Who is calling: contacts that have the caller's number among their phone numbers.
 */
import type { ContactDirectory } from '../flow/ports';
import type { Contact } from '../domain';
import type { Queryable } from './db';

export class PgContactDirectory implements ContactDirectory {
  constructor(private readonly db: Queryable) {}

  async findByPhone(e164: string, limit: number): Promise<Contact[]> {
    // EXISTS rather than a join: one row per contact even if a number were stored twice.
    // Ordered so that the same caller always sees the same choice in the same order.
    const { rows } = await this.db.query<Contact>(
      `SELECT c.id, c.name, c.email, c.mobile
         FROM contacts c
        WHERE EXISTS (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND p.e164 = $1)
        ORDER BY c.id
        LIMIT $2`,
      [e164, Math.max(0, Math.floor(limit))],
    );
    return rows.map((row) => ({ id: row.id, name: row.name, email: row.email, mobile: row.mobile }));
  }

  async findById(id: number): Promise<Contact | null> {
    const { rows } = await this.db.query<Contact>(
      'SELECT id, name, email, mobile FROM contacts WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row ? { id: row.id, name: row.name, email: row.email, mobile: row.mobile } : null;
  }

  /**
   * Contacts a destination is on file for: an email address (case-insensitive) or an E.164
   * mobile number, the addresses codes are sent to. At most `limit`.
   */
  async findByDestination(destination: string, limit: number): Promise<Contact[]> {
    const { rows } = await this.db.query<Contact>(
      destination.includes('@')
        ? 'SELECT id, name, email, mobile FROM contacts WHERE lower(email) = lower($1) ORDER BY id LIMIT $2'
        : 'SELECT id, name, email, mobile FROM contacts WHERE mobile = $1 ORDER BY id LIMIT $2',
      [destination, limit],
    );
    return rows.map((row) => ({ id: row.id, name: row.name, email: row.email, mobile: row.mobile }));
  }
}
