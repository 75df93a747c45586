/**
 * Static security PINs as ops manage them, for the CLI (`pinverify pins set | clear | status`)
 * and the HTTP API (`/v1/contacts/{id}/pin`). A PIN is checked against the policy of the
 * settings (length, no trivial PINs, not the end of the contact's own number), stored only as
 * an argon2id hash, and never printed back, logged or written to the change log.
 */
import { z } from 'zod';
import { pinProblem, type FlowSettings, type LockState } from '../domain';
import { readLockState } from '../verification/verification-service';
import { createArgon2PinHasher, type PinHasher } from '../pin/pin-hasher';
import { withTransaction } from '../store/db';
import { readSettings } from '../store/pg-config-store';
import { CONTACTS_WITH_PHONES_SQL, type ContactWithPhones } from '../store/pg-contact-admin';
import { PgPinStore } from '../store/pg-pin-store';
import { PgVerificationStore } from '../store/pg-verification-store';
import { recordConfigChange } from './config-change-log';
import type { OpsDeps } from './ops-deps';
import { invalid, notFound, parseInput } from './ops-error';

export const setPinSchema = z
  .object({ pin: z.string({ error: 'pin is required (digits, as a string)' }).max(64) })
  .strict();

export interface PinStatus {
  contactId: number;
  pinSet: boolean;
  setAt: Date | null;
  setBy: string | null;
  /** Where calls check PINs (settings pinSource): PINs set here are used with `database`. */
  pinSource: FlowSettings['pinSource'];
  /** The contact's lockout, shared by PINs and codes (cleared by `contacts unlock`). */
  locked: boolean;
  failedChecks: number;
  lockedUntil: Date | null;
}

/** The numbers a PIN must not be the end of: the ones the contact calls from and the mobile. */
async function ownNumbers(deps: OpsDeps, contactId: number): Promise<string[] | null> {
  const { rows } = await deps.pool.query<ContactWithPhones>(
    `${CONTACTS_WITH_PHONES_SQL} WHERE c.id = $1 GROUP BY c.id`,
    [contactId],
  );
  const row = rows[0];
  if (!row) return null;
  return [...row.phones, ...(row.mobile ? [row.mobile] : [])];
}

export function createPinAdmin(deps: OpsDeps & { hasher?: PinHasher }) {
  const { pool } = deps;
  const store = new PgPinStore(pool);
  let hasher = deps.hasher;
  const hash = (pin: string) => (hasher ??= createArgon2PinHasher()).hash(pin);

  function contactId(idText: string | number): number {
    return parseInput(z.coerce.number().int().positive('a contact id'), idText, 'id');
  }

  /** Read straight from the failures table: the CLI needs no code secret to show it. */
  function lockOf(id: number, settings: FlowSettings): Promise<LockState> {
    return readLockState(new PgVerificationStore(pool), id, new Date(), settings.maxFailedChecksPerContact);
  }

  async function status(id: number): Promise<PinStatus> {
    const settings = await readSettings(pool);
    const [record, lock] = await Promise.all([store.get(id), lockOf(id, settings)]);
    return {
      contactId: id,
      pinSet: record !== null,
      setAt: record?.setAt ?? null,
      setBy: record?.setBy ?? null,
      pinSource: settings.pinSource,
      locked: lock.locked,
      failedChecks: lock.failures,
      lockedUntil: lock.until,
    };
  }

  return {
    async status(idText: string | number): Promise<PinStatus> {
      const id = contactId(idText);
      if ((await ownNumbers(deps, id)) === null) throw notFound(`no contact with id ${id}`);
      return status(id);
    },

    /** Sets or replaces the contact's PIN. Warnings say when calls will not use it. */
    async set(idText: string | number, body: unknown): Promise<PinStatus & { warnings: string[] }> {
      const id = contactId(idText);
      const { pin } = parseInput(setPinSchema, body);
      const numbers = await ownNumbers(deps, id);
      if (numbers === null) throw notFound(`no contact with id ${id}`);
      const settings = await readSettings(pool);
      const problem = pinProblem(pin, settings, numbers);
      if (problem) throw invalid([{ field: 'pin', message: problem }]);
      const hashed = await hash(pin);
      await withTransaction(pool, async (db) => {
        const pins = new PgPinStore(db);
        const before = await pins.get(id);
        await pins.set(id, hashed, deps.actor);
        // Never the PIN or its hash: only that it changed.
        await recordConfigChange(db, {
          actor: deps.actor,
          action: 'contact.pin.set',
          subject: String(id),
          detail: { replaced: before !== null },
        });
      });
      const warnings =
        settings.pinSource === 'webhook'
          ? [
              "pinSource is webhook: calls check PINs in the customer's CRM; this PIN is used once pinSource is database",
            ]
          : [];
      return { ...(await status(id)), warnings };
    },

    async clear(idText: string | number): Promise<PinStatus & { cleared: boolean }> {
      const id = contactId(idText);
      if ((await ownNumbers(deps, id)) === null) throw notFound(`no contact with id ${id}`);
      const cleared = await withTransaction(pool, async (db) => {
        const had = await new PgPinStore(db).clear(id);
        if (had)
          await recordConfigChange(db, {
            actor: deps.actor,
            action: 'contact.pin.clear',
            subject: String(id),
          });
        return had;
      });
      return { ...(await status(id)), cleared };
    },
  };
}

export type PinAdmin = ReturnType<typeof createPinAdmin>;
