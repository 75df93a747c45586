/**
 * The contact directory as ops manage it: add, list, find (how a caller number normalises and
 * whom it matches, i.e. why a caller was verified, no_match or multi_match), remove, and CSV
 * import. Numbers may be typed the way people write them ("(202) 555-0101"); they are stored
 * in E.164 using the defaultCountry setting, exactly as the flow normalises caller IDs.
 */
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { normalizeCaller } from '../phone/normalize-caller';
import { withTransaction, type Queryable } from '../store/db';
import { CONTACTS_WITH_PHONES_SQL, PgContactAdmin, type ContactWithPhones } from '../store/pg-contact-admin';
import { recordConfigChange } from './config-change-log';
import type { OpsDeps } from './ops-deps';
import { invalid, notFound, parseInput, zodProblems, type FieldProblem } from './ops-error';
import { readSettings } from '../store/pg-config-store';
import { pinProblem } from '../domain';
import { createArgon2PinHasher } from '../pin/pin-hasher';
import { PgPinStore } from '../store/pg-pin-store';

const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const newContactSchema = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters'),
    email: z
      .string()
      .trim()
      .regex(EMAIL_RE, 'not an email address')
      .max(254)
      .nullish()
      .or(z.literal('').transform(() => null)),
    mobile: z.string().trim().max(40).nullish(),
    /** Numbers the contact calls from; when none are given, the mobile. */
    phones: z.array(z.string().trim().max(40)).max(20, 'at most 20 numbers').default([]),
  })
  .strict();
export type NewContactInput = z.input<typeof newContactSchema>;

export interface NumberLookup {
  input: string;
  /** How the flow reads this caller ID: ok (with e164), anonymous or invalid. */
  kind: 'ok' | 'anonymous' | 'invalid';
  e164: string | null;
  defaultCountry: string;
  matches: ContactWithPhones[];
  /** What the flow would do with a call from this number. */
  verdict: 'verify' | 'no_match' | 'multi_match' | 'anonymous' | 'invalid';
  /** Contacts whose SMS number this is without it being a number they call from. */
  mobileOf: ContactWithPhones[];
}

export type ImportStatus = 'added' | 'updated' | 'unchanged' | 'rejected';

export interface ImportLine {
  /** Line number in the file (the header is line 1). */
  line: number;
  status: ImportStatus;
  id: number | null;
  name: string;
  problems: FieldProblem[];
}

export interface ImportReport {
  lines: ImportLine[];
  added: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** Lines that set a PIN (column pin); the PINs themselves are never part of a report. */
  pinsSet: number;
  /** False when nothing was written: a line was rejected (all-or-nothing) or it was a dry run. */
  written: boolean;
}

export interface ImportOptions {
  /** Write the good lines even when others are rejected. */
  partial?: boolean;
  /** Check only; write nothing. */
  dryRun?: boolean;
}

interface CleanContact {
  name: string;
  email: string | null;
  mobile: string | null;
  phones: string[];
}

function normalizeNumber(
  field: string,
  text: string,
  country: string,
  problems: FieldProblem[],
): string | null {
  const n = normalizeCaller(text, country);
  if (n.kind === 'ok') return n.e164;
  problems.push({
    field,
    message: `"${text}" is not a valid phone number (write +<country code><number>, or a ${country} number)`,
  });
  return null;
}

/** Validates and normalises one contact; problems name the field. */
function cleanContact(input: unknown, country: string, problems: FieldProblem[]): CleanContact | null {
  const parsed = newContactSchema.safeParse(input);
  if (!parsed.success) {
    problems.push(...zodProblems(parsed.error));
    return null;
  }
  const c = parsed.data;
  const before = problems.length;
  const mobile = c.mobile ? normalizeNumber('mobile', c.mobile, country, problems) : null;
  const phones = c.phones
    .filter((p) => p !== '')
    .map((p) => normalizeNumber('phones', p, country, problems))
    .filter((p): p is string => p !== null);
  if (problems.length > before) return null;
  const calling = phones.length > 0 ? phones : mobile ? [mobile] : [];
  if (calling.length === 0) {
    problems.push({
      field: 'phones',
      message: 'no number to recognise the caller by (give phones or mobile)',
    });
    return null;
  }
  return { name: c.name, email: c.email ?? null, mobile, phones: [...new Set(calling)].sort() };
}

function sameContact(a: CleanContact, b: ContactWithPhones): boolean {
  return (
    a.name === b.name &&
    a.email === b.email &&
    a.mobile === b.mobile &&
    a.phones.join(',') === [...b.phones].sort().join(',')
  );
}

async function writeContact(db: Queryable, id: number | null, c: CleanContact): Promise<number> {
  let contactId = id;
  if (contactId === null) {
    const { rows } = await db.query<{ id: number }>(
      'INSERT INTO contacts (name, email, mobile) VALUES ($1, $2, $3) RETURNING id',
      [c.name, c.email, c.mobile],
    );
    contactId = rows[0]?.id ?? null;
    if (contactId === null) throw new Error('insert into contacts returned no id');
  } else {
    await db.query('UPDATE contacts SET name = $2, email = $3, mobile = $4 WHERE id = $1', [
      contactId,
      c.name,
      c.email,
      c.mobile,
    ]);
    await db.query('DELETE FROM contact_phones WHERE contact_id = $1', [contactId]);
  }
  await db.query('INSERT INTO contact_phones (contact_id, e164) SELECT $1, unnest($2::text[])', [
    contactId,
    c.phones,
  ]);
  return contactId;
}

const KNOWN_COLUMNS = ['id', 'name', 'email', 'mobile', 'phones', 'pin'] as const;
/** Lines (contacts) in one CSV import. */
export const MAX_IMPORT_ROWS = 10_000;

export function createContactAdmin(deps: OpsDeps) {
  const { pool } = deps;

  async function country(): Promise<string> {
    return (await readSettings(pool)).defaultCountry;
  }

  async function byIds(db: Queryable, ids: number[]): Promise<ContactWithPhones[]> {
    if (ids.length === 0) return [];
    const { rows } = await db.query<ContactWithPhones>(
      `${CONTACTS_WITH_PHONES_SQL} WHERE c.id = ANY($1::int[]) GROUP BY c.id ORDER BY c.name, c.id`,
      [ids],
    );
    return rows;
  }

  return {
    async add(input: unknown): Promise<ContactWithPhones> {
      const problems: FieldProblem[] = [];
      const contact = cleanContact(input, await country(), problems);
      if (!contact) throw invalid(problems);
      const id = await withTransaction(pool, async (db) => {
        const newId = await writeContact(db, null, contact);
        await recordConfigChange(db, {
          actor: deps.actor,
          action: 'contact.add',
          subject: String(newId),
          detail: { phones: contact.phones.length },
        });
        return newId;
      });
      const [saved] = await byIds(pool, [id]);
      if (!saved) throw new Error(`contact ${id} vanished after insert`);
      return saved;
    },

    async list(search?: string): Promise<ContactWithPhones[]> {
      if (!search) return new PgContactAdmin(pool).listContacts();
      const { rows } = await pool.query<ContactWithPhones>(
        `${CONTACTS_WITH_PHONES_SQL}
          WHERE c.name ILIKE $1 OR c.email ILIKE $1 OR c.mobile LIKE $1
             OR EXISTS (SELECT 1 FROM contact_phones q WHERE q.contact_id = c.id AND q.e164 LIKE $1)
          GROUP BY c.id ORDER BY c.name, c.id`,
        [`%${search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`],
      );
      return rows;
    },

    async find(number: string): Promise<NumberLookup> {
      const defaultCountry = await country();
      const n = normalizeCaller(number, defaultCountry);
      const base = { input: number, defaultCountry, matches: [], mobileOf: [] };
      if (n.kind !== 'ok') return { ...base, kind: n.kind, e164: null, verdict: n.kind };
      const { rows } = await pool.query<{ id: number; calls_from: boolean }>(
        `SELECT DISTINCT c.id, EXISTS (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND p.e164 = $1) AS calls_from
           FROM contacts c LEFT JOIN contact_phones p ON p.contact_id = c.id
          WHERE p.e164 = $1 OR c.mobile = $1`,
        [n.e164],
      );
      const matches = await byIds(
        pool,
        rows.filter((r) => r.calls_from).map((r) => r.id),
      );
      const mobileOf = await byIds(
        pool,
        rows.filter((r) => !r.calls_from).map((r) => r.id),
      );
      const verdict = matches.length === 0 ? 'no_match' : matches.length === 1 ? 'verify' : 'multi_match';
      return { ...base, kind: 'ok', e164: n.e164, matches, mobileOf, verdict };
    },

    async remove(idText: string | number): Promise<ContactWithPhones> {
      const id = parseInput(z.coerce.number().int().positive('a contact id'), idText, 'id');
      return withTransaction(pool, async (db) => {
        const [contact] = await byIds(db, [id]);
        if (!contact) throw notFound(`no contact with id ${id}`);
        await db.query('DELETE FROM contacts WHERE id = $1', [id]);
        await recordConfigChange(db, { actor: deps.actor, action: 'contact.remove', subject: String(id) });
        return contact;
      });
    },

    /**
     * Imports a CSV with a header line naming its columns: name, email, mobile, phones (several
     * numbers separated by ";"), and optionally id and pin (set when given, left as it is when
     * empty; checked against the PIN policy; stored only as a hash). A line updates an existing contact when its
     * id is given, or else when exactly one contact has its email; otherwise it adds one.
     * All-or-nothing unless `partial`: one rejected line and nothing is written.
     */
    async importCsv(csv: string, options: ImportOptions = {}): Promise<ImportReport> {
      let records: { record: string[]; info: { lines: number } }[];
      try {
        records = parse(csv, {
          info: true,
          relax_column_count: true,
          skip_empty_lines: true,
          trim: true,
          bom: true,
        }) as unknown as { record: string[]; info: { lines: number } }[];
      } catch (err) {
        const e = err as { message?: string; lines?: number };
        throw invalid([
          { field: `line ${e.lines ?? '?'}`, message: `not readable as CSV: ${e.message ?? String(err)}` },
        ]);
      }
      // A bound on one import: argon2 hashing and one transaction per file must stay short, and a
      // runaway export should be split rather than hold the contacts table for minutes.
      if (records.length - 1 > MAX_IMPORT_ROWS)
        throw invalid([
          {
            field: 'file',
            message: `${records.length - 1} lines; at most ${MAX_IMPORT_ROWS.toLocaleString('en-US')} per import (split the file)`,
          },
        ]);
      const header = records.shift();
      if (!header)
        throw invalid([
          { field: 'file', message: 'empty file: expected a header line (name,email,mobile,phones)' },
        ]);
      const columns = header.record.map((h) => h.trim().toLowerCase());
      const unknown = columns.filter((c) => !(KNOWN_COLUMNS as readonly string[]).includes(c));
      const headerProblems: FieldProblem[] = unknown.map((c) => ({
        field: 'header',
        message: `unknown column "${c}" (known: ${KNOWN_COLUMNS.join(', ')})`,
      }));
      if (!columns.includes('name'))
        headerProblems.push({ field: 'header', message: 'a "name" column is required' });
      if (new Set(columns).size !== columns.length)
        headerProblems.push({ field: 'header', message: 'a column appears twice' });
      if (headerProblems.length > 0) throw invalid(headerProblems);

      const settings = await readSettings(pool);
      const defaultCountry = settings.defaultCountry;
      const existing = await new PgContactAdmin(pool).listContacts();
      const byId = new Map(existing.map((c) => [c.id, c]));
      const byEmail = new Map<string, ContactWithPhones[]>();
      for (const c of existing) {
        if (!c.email) continue;
        const key = c.email.toLowerCase();
        byEmail.set(key, [...(byEmail.get(key) ?? []), c]);
      }

      const lines: ImportLine[] = [];
      const plan: { index: number; id: number | null; contact: CleanContact; pin: string | null }[] = [];
      const claimed = new Map<string, number>(); // contact id or email -> line, for duplicates in the file
      for (const { record, info } of records) {
        const line = info.lines;
        const problems: FieldProblem[] = [];
        if (record.length !== columns.length)
          problems.push({
            field: 'line',
            message: `has ${record.length} fields, the header has ${columns.length}`,
          });
        const row = Object.fromEntries(columns.map((c, i) => [c, record[i] ?? '']));
        const name = row.name ?? '';
        const contact =
          problems.length > 0
            ? null
            : cleanContact(
                {
                  name,
                  email: row.email || null,
                  mobile: row.mobile || null,
                  phones: (row.phones ?? '')
                    .split(/[;|]/)
                    .map((p) => p.trim())
                    .filter(Boolean),
                },
                defaultCountry,
                problems,
              );
        let id: number | null = null;
        if (contact && row.id) {
          id = /^[0-9]+$/.test(row.id) ? Number(row.id) : null;
          if (id === null || !byId.has(id))
            problems.push({ field: 'id', message: `no contact with id ${row.id}` });
        } else if (contact?.email) {
          const same = byEmail.get(contact.email.toLowerCase()) ?? [];
          if (same.length > 1)
            problems.push({
              field: 'email',
              message: `${same.length} contacts have this email; add an id column to say which`,
            });
          else id = same[0]?.id ?? null;
        }
        const key = id !== null ? `id:${id}` : contact?.email ? `email:${contact.email.toLowerCase()}` : null;
        if (contact && key && claimed.has(key))
          problems.push({
            field: key.startsWith('id') ? 'id' : 'email',
            message: `same contact as line ${claimed.get(key)}`,
          });
        const pin = row.pin ? row.pin : null;
        if (contact && pin !== null) {
          // The message never repeats the PIN: import reports end up in terminals and tickets.
          const problem = pinProblem(pin, settings, [
            ...contact.phones,
            ...(contact.mobile ? [contact.mobile] : []),
          ]);
          if (problem) problems.push({ field: 'pin', message: problem });
        }
        if (!contact || problems.length > 0) {
          lines.push({ line, status: 'rejected', id, name, problems });
          continue;
        }
        if (key) claimed.set(key, line);
        const current = id === null ? undefined : byId.get(id);
        // A PIN cannot be compared with its stored hash cheaply: a line with one always writes it.
        const status: ImportStatus = !current
          ? 'added'
          : sameContact(contact, current) && pin === null
            ? 'unchanged'
            : 'updated';
        lines.push({ line, status, id, name: contact.name, problems: [] });
        if (status !== 'unchanged') plan.push({ index: lines.length - 1, id, contact, pin });
      }

      const count = (s: ImportStatus) => lines.filter((l) => l.status === s).length;
      const rejected = count('rejected');
      const write = !options.dryRun && (rejected === 0 || options.partial === true) && plan.length > 0;
      const pinsSet = plan.filter((p) => p.pin !== null).length;
      if (write) {
        // Hashed before the transaction (argon2id is slow on purpose), a few at a time.
        const hashes = new Map<number, string>();
        const withPins = plan.filter((p) => p.pin !== null);
        const hasher = createArgon2PinHasher();
        for (let i = 0; i < withPins.length; i += 4) {
          await Promise.all(
            withPins.slice(i, i + 4).map(async (p) => hashes.set(p.index, await hasher.hash(p.pin ?? ''))),
          );
        }
        await withTransaction(pool, async (db) => {
          const pins = new PgPinStore(db);
          for (const step of plan) {
            const id = await writeContact(db, step.id, step.contact);
            const entry = lines[step.index];
            if (entry) entry.id = id;
            const hash = hashes.get(step.index);
            if (hash) await pins.set(id, hash, deps.actor);
          }
          await recordConfigChange(db, {
            actor: deps.actor,
            action: 'contact.import',
            subject: `${plan.length} contacts`,
            detail: { added: count('added'), updated: count('updated'), rejected, pinsSet },
          });
        });
      }
      return {
        lines,
        added: count('added'),
        updated: count('updated'),
        unchanged: count('unchanged'),
        rejected,
        pinsSet,
        written: write,
      };
    },
  };
}

export type ContactAdmin = ReturnType<typeof createContactAdmin>;
