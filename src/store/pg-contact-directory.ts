/**
 * Who is calling: contacts that have the caller's number among their phone numbers.
 */
import type { Contact, ContactDirectory } from '../flow/ports';
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
}
