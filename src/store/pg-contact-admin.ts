/**
 * Editing the contact directory: used by the demo data and by ops tooling. Numbers must
 * already be E.164 (normalising user input with a default country is the caller's job);
 * they are checked here too so a bad number fails with a clear message, not a constraint name.
 */
import type { Pool } from 'pg';
import { withTransaction } from './db';
import type { Contact } from '../domain';

export const E164_PATTERN = /^\+[1-9][0-9]{6,14}$/;
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+$/;

export interface NewContact {
  name: string;
  email?: string | null;
  /** E.164 number that receives SMS. */
  mobile?: string | null;
  /** E.164 numbers the contact calls from; the caller ID is matched against these only. */
  phones: readonly string[];
}

export interface ContactWithPhones extends Contact {
  phones: string[];
}

/** Contacts with the numbers they call from; append WHERE, then GROUP BY c.id. */
export const CONTACTS_WITH_PHONES_SQL = `
  SELECT c.id, c.name, c.email, c.mobile,
         COALESCE(array_agg(p.e164 ORDER BY p.e164) FILTER (WHERE p.e164 IS NOT NULL), '{}') AS phones
    FROM contacts c
    LEFT JOIN contact_phones p ON p.contact_id = c.id`;

export class PgContactAdmin {
  constructor(private readonly pool: Pool) {}

  /** Inserts the contact and its phones in one transaction; returns the new id. */
  async addContact(contact: NewContact): Promise<number> {
    const name = contact.name.trim();
    const email = contact.email?.trim() || null;
    const mobile = contact.mobile?.trim() || null;
    const phones = [...new Set(contact.phones.map((p) => p.trim()))];
    if (!name) throw new RangeError('contact name is empty');
    if (email !== null && !EMAIL_PATTERN.test(email)) throw new RangeError(`not an email address: ${email}`);
    for (const number of mobile === null ? phones : [mobile, ...phones]) {
      if (!E164_PATTERN.test(number))
        throw new RangeError(`not an E.164 number (like +12025550101): ${number}`);
    }

    return withTransaction(this.pool, async (client) => {
      const inserted = await client.query<{ id: number }>(
        'INSERT INTO contacts (name, email, mobile) VALUES ($1, $2, $3) RETURNING id',
        [name, email, mobile],
      );
      const id = inserted.rows[0]?.id;
      if (id === undefined) throw new Error('insert into contacts returned no id');
      if (phones.length > 0) {
        await client.query('INSERT INTO contact_phones (contact_id, e164) SELECT $1, unnest($2::text[])', [
          id,
          phones,
        ]);
      }

      return id;
    });
  }

  /** Deletes the contact and its phones; false when there was no such contact. Call history keeps the id. */
  async removeContact(id: number): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM contacts WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  async listContacts(): Promise<ContactWithPhones[]> {
    const { rows } = await this.pool.query<ContactWithPhones>(
      `${CONTACTS_WITH_PHONES_SQL} GROUP BY c.id ORDER BY c.name, c.id`,
    );
    return rows;
  }
}
