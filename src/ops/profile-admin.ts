/**
 * Call profiles as ops edit them: named configurations of outbound OTP voice calls (what the
 * call says or asks, the caller ID shown, the number to call back, retries). API clients name
 * a profile when they start a call verification. Every write is recorded in config_changes; the
 * NOTIFY trigger of migration 011 tells running apps to reload.
 */
import { z } from 'zod';
import { CALL_MODES, CODE_SOURCES, SMS_AFTER_CALL, type CallProfile } from '../domain';
import { withTransaction, type Queryable } from '../store/db';
import {
  PROFILE_COLUMNS,
  PROFILE_WRITTEN_COLUMNS,
  profileFromRow,
  profileValues,
  type ProfileRow,
} from '../store/pg-profile-store';
import { recordConfigChange } from './config-change-log';
import type { OpsDeps } from './ops-deps';
import { invalid, isUniqueViolation, notFound, OpsError, parseInput } from './ops-error';

/** The largest id Postgres' integer holds: a longer run of digits cannot be an id. */
const MAX_ID = 2_147_483_647;

/** Text with a message of its own when missing or not a string. */
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'required' : 'must be text') });

const wholeNumber = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.number({ error: message }).int(message).min(min, message).max(max, message);
};

const flag = () => z.boolean({ error: 'must be true or false' });

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

export const PROFILE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const E164_PATTERN = /^\+[1-9][0-9]{6,14}$/;
export const CALLBACK_NUMBER_PATTERN = /^[0-9*#+]{0,40}$/;
export const LOCALE_PATTERN = /^[a-z]{2}(_[A-Z]{2})?$/;

/** Bounds as in migration 011; what each field means is in src/domain/profile.ts. */
export const profileFields = {
  name: text()
    .trim()
    .regex(
      PROFILE_NAME_PATTERN,
      'lower case letters, digits and "-", at most 40 characters, starting with a letter or digit',
    )
    // Digits alone are read as an id wherever a profile is named (show, update, remove).
    .refine((name) => !/^[0-9]+$/.test(name), 'must not be digits only (it would read as an id)')
    .describe('unique, what API clients call the profile: lower case letters, digits and "-"'),
  title: text()
    .trim()
    .min(1, 'must not be empty')
    .max(100, 'at most 100 characters')
    .describe('a name for people'),
  enabled: flag().describe('a disabled profile starts no calls'),
  mode: oneOf(CALL_MODES).describe(
    'read: the call says the code; input: the person keys the code they were shown',
  ),
  codeSource: oneOf(CODE_SOURCES).describe(
    'auto: pinverify makes the code; manual: the client sends its own (customCode)',
  ),
  codeLength: wholeNumber(4, 10).describe('digits in a generated code'),
  callerId: text()
    .trim()
    .regex(E164_PATTERN, 'must be an E.164 number like +12025550100')
    .describe('the caller ID the called person sees, E.164'),
  callbackNumber: text()
    .trim()
    .regex(CALLBACK_NUMBER_PATTERN, 'digits, *, # and + only, at most 40 (empty for none)')
    .describe(
      'the number (DID or extension) a person who missed the call dials back, unique; empty for none',
    ),
  repeats: wholeNumber(1, 5).describe('times the code is said (read) or the question asked (input)'),
  keyBeforeCode: flag().describe(
    '"press any key to hear your code" first, so a voicemail box never hears it',
  ),
  smsAfterCall: oneOf(SMS_AFTER_CALL).describe(
    'also send the code by SMS after the call: off, always, or when not answered',
  ),
  locale: text()
    .trim()
    .regex(LOCALE_PATTERN, 'a language like en, or language_COUNTRY like en_US')
    .describe('the prompt set'),
  ringTimeoutSeconds: wholeNumber(5, 120).describe('seconds the call rings before it counts as not answered'),
  retriesOnNoAnswer: wholeNumber(0, 3).describe('further attempts after no answer or busy'),
  requireContact: flag().describe('call only numbers that belong to a contact on file'),
};

/** The defaults of a new profile (src/domain/profile.ts; migration 011 has the same). */
export const PROFILE_DEFAULTS = Object.freeze({
  enabled: true,
  mode: 'read',
  codeSource: 'auto',
  codeLength: 6,
  callbackNumber: '',
  repeats: 3,
  keyBeforeCode: true,
  smsAfterCall: 'off',
  locale: 'en',
  ringTimeoutSeconds: 30,
  retriesOnNoAnswer: 0,
  requireContact: true,
} satisfies Partial<Omit<CallProfile, 'id'>>);

export const newProfileSchema = z
  .object({
    ...profileFields,
    enabled: profileFields.enabled.default(PROFILE_DEFAULTS.enabled),
    mode: profileFields.mode.default(PROFILE_DEFAULTS.mode),
    codeSource: profileFields.codeSource.default(PROFILE_DEFAULTS.codeSource),
    codeLength: profileFields.codeLength.default(PROFILE_DEFAULTS.codeLength),
    callbackNumber: profileFields.callbackNumber.default(PROFILE_DEFAULTS.callbackNumber),
    repeats: profileFields.repeats.default(PROFILE_DEFAULTS.repeats),
    keyBeforeCode: profileFields.keyBeforeCode.default(PROFILE_DEFAULTS.keyBeforeCode),
    smsAfterCall: profileFields.smsAfterCall.default(PROFILE_DEFAULTS.smsAfterCall),
    locale: profileFields.locale.default(PROFILE_DEFAULTS.locale),
    ringTimeoutSeconds: profileFields.ringTimeoutSeconds.default(PROFILE_DEFAULTS.ringTimeoutSeconds),
    retriesOnNoAnswer: profileFields.retriesOnNoAnswer.default(PROFILE_DEFAULTS.retriesOnNoAnswer),
    requireContact: profileFields.requireContact.default(PROFILE_DEFAULTS.requireContact),
  })
  .strict();
export const profilePatchSchema = z.object(profileFields).partial().strict();

export type NewProfile = z.input<typeof newProfileSchema>;
export type ProfilePatch = z.input<typeof profilePatchSchema>;

/** A profile is named by its id or its name, whichever the user has at hand. */
async function findProfile(db: Queryable, ref: string | number): Promise<CallProfile> {
  const key = String(ref).trim();
  const byId = /^[0-9]+$/.test(key);
  const missing = () => notFound(`no profile ${byId ? 'with id' : 'named'} ${key}`);
  if (byId && Number(key) > MAX_ID) throw missing();
  const { rows } = await db.query<ProfileRow>(
    `SELECT ${PROFILE_COLUMNS} FROM call_profiles WHERE ${byId ? 'id = $1::int' : 'name = $1'}`,
    [key],
  );
  const row = rows[0];
  if (!row) throw missing();
  return profileFromRow(row);
}

/** The columns written by add and update, in the order of their values ($2 onwards in update). */
export function createProfileAdmin(deps: OpsDeps) {
  const { pool } = deps;

  /** A unique violation as a 409 naming the field: the name, or the call-back number and its holder. */
  async function duplicate(err: unknown, p: Pick<CallProfile, 'name' | 'callbackNumber'>): Promise<OpsError> {
    const constraint = (err as { constraint?: string }).constraint;
    if (constraint === 'call_profiles_callback_number_idx') {
      const { rows } = await pool
        .query<{ name: string }>('SELECT name FROM call_profiles WHERE callback_number = $1', [
          p.callbackNumber,
        ])
        .catch(() => ({ rows: [] as { name: string }[] }));
      const holder = rows[0]?.name;
      const message = `already the call-back number of ${holder ? `profile ${holder}` : 'another profile'}`;
      return new OpsError(
        'conflict',
        `callbackNumber: ${p.callbackNumber} is ${message}`,
        [{ field: 'callbackNumber', message }],
        { cause: err },
      );
    }
    return new OpsError(
      'conflict',
      `name: a profile named ${p.name} already exists`,
      [{ field: 'name', message: `a profile named ${p.name} already exists` }],
      { cause: err },
    );
  }

  return {
    async list(): Promise<CallProfile[]> {
      const { rows } = await pool.query<ProfileRow>(
        `SELECT ${PROFILE_COLUMNS} FROM call_profiles ORDER BY name`,
      );
      return rows.map(profileFromRow);
    },

    show(ref: string | number): Promise<CallProfile> {
      return findProfile(pool, ref);
    },

    async add(input: unknown): Promise<CallProfile> {
      const profile = parseInput(newProfileSchema, input);
      try {
        return await withTransaction(pool, async (db) => {
          const { rows } = await db.query<ProfileRow>(
            `INSERT INTO call_profiles (${PROFILE_WRITTEN_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             RETURNING ${PROFILE_COLUMNS}`,
            profileValues(profile),
          );
          const value = profileFromRow(rows[0] as ProfileRow);
          await recordConfigChange(db, {
            actor: deps.actor,
            action: 'profile.add',
            subject: value.name,
            detail: { profile: value },
          });
          return value;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw await duplicate(err, profile);
        throw err;
      }
    },

    async update(ref: string | number, input: unknown): Promise<CallProfile> {
      const patch = parseInput(profilePatchSchema, input);
      if (Object.keys(patch).length === 0)
        throw invalid([{ field: 'body', message: 'nothing to change: give at least one field' }]);
      const before = await findProfile(pool, ref);
      const changed: Partial<CallProfile> = {};
      for (const [key, value] of Object.entries(patch) as [keyof CallProfile, never][]) {
        if (before[key] !== value) (changed as Record<string, unknown>)[key] = value;
      }
      const after: CallProfile = { ...before, ...patch };
      try {
        return await withTransaction(pool, async (db) => {
          const { rows } = await db.query<ProfileRow>(
            `UPDATE call_profiles SET (${PROFILE_WRITTEN_COLUMNS}) =
                    ROW($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
              WHERE id = $1 RETURNING ${PROFILE_COLUMNS}`,
            [before.id, ...profileValues(after)],
          );
          const row = rows[0];
          if (!row) throw notFound(`profile ${before.id} was removed meanwhile`);
          const value = profileFromRow(row);
          await recordConfigChange(db, {
            actor: deps.actor,
            action: 'profile.update',
            subject: value.name,
            detail: { before, changed },
          });
          return value;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw await duplicate(err, after);
        throw err;
      }
    },

    async remove(ref: string | number): Promise<CallProfile> {
      const profile = await findProfile(pool, ref);
      await withTransaction(pool, async (db) => {
        const { rowCount } = await db.query('DELETE FROM call_profiles WHERE id = $1', [profile.id]);
        if (rowCount === 0) throw notFound(`profile ${profile.id} was removed meanwhile`);
        await recordConfigChange(db, {
          actor: deps.actor,
          action: 'profile.remove',
          subject: profile.name,
          detail: { profile },
        });
      });
      return profile;
    },
  };
}

export type ProfileAdmin = ReturnType<typeof createProfileAdmin>;
