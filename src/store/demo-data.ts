/**
 * Demo data for the lab, end-to-end tests and the README: four routes, a context without a
 * route, one contact per interesting lookup case, and a call profile per call mode. Numbers are
 * in the US 202-555-01xx fictional range. Loading is idempotent: demo routes and call profiles
 * are upserted and demo contacts replaced; nothing else is touched.
 */
import type { Pool } from 'pg';
import { withTransaction } from './db';
import type { CallProfile, RouteMode } from '../domain';
import { createPasswordHasher } from '../desk/agent-password';
import { createArgon2PinHasher } from '../pin/pin-hasher';
import type { NewContact } from './pg-contact-admin';
import { PgPinStore } from './pg-pin-store';
import { PROFILE_WRITTEN_COLUMNS, profileValues } from './pg-profile-store';

/** Caller IDs to dial from in the lab, by the case they exercise. */
export const DEMO_NUMBERS = Object.freeze({
  /** Alice Example: email and SMS, so the caller is offered the choice. */
  emailAndSms: '+12025550101',
  /** Bob Email: email only. */
  emailOnly: '+12025550102',
  /** Carol Sms: SMS only. */
  smsOnly: '+12025550103',
  /** Dan Shared and Erin Shared: two contacts, so the flow reports multi_match. */
  shared: '+12025550104',
  /** Nobody: no_match. */
  unknown: '+12025550199',
});

export const DEMO_ROUTES = Object.freeze({
  support: Object.freeze({
    title: 'Support PIN verification',
    previousHop: 'pinverify-support-autopin',
    successDestination: '2001',
    failedDestination: '2901',
    mode: 'otp',
  }),
  accounting: Object.freeze({
    title: 'Accounting PIN verification',
    previousHop: 'pinverify-accounting-autopin',
    successDestination: '2002',
    failedDestination: '2902',
    mode: 'otp',
  }),
  billing: Object.freeze({
    title: 'Billing security PIN',
    previousHop: 'pinverify-billing-pin',
    successDestination: '2005',
    failedDestination: '2905',
    mode: 'pin',
  }),
  fraud: Object.freeze({
    title: 'Fraud desk: PIN and one-time code',
    previousHop: 'pinverify-fraud-pinotp',
    successDestination: '2006',
    failedDestination: '2906',
    mode: 'pin_then_otp',
  }),
} satisfies Record<string, { mode: RouteMode } & Record<string, string>>);

/**
 * Call profiles of the lab, one per call mode, each with its own call-back number. Every field
 * is given, so loading resets an edited demo profile completely.
 */
export const DEMO_PROFILES = Object.freeze({
  input: Object.freeze({
    name: 'lab-input',
    title: 'Lab input mode',
    enabled: true,
    mode: 'input',
    codeSource: 'auto',
    codeLength: 6,
    callerId: '+12025550100',
    callbackNumber: '7100',
    repeats: 3,
    keyBeforeCode: true,
    smsAfterCall: 'off',
    locale: 'en',
    ringTimeoutSeconds: 30,
    retriesOnNoAnswer: 0,
    requireContact: true,
  }),
  read: Object.freeze({
    name: 'lab-read',
    title: 'Lab read mode',
    enabled: true,
    mode: 'read',
    codeSource: 'auto',
    codeLength: 6,
    callerId: '+12025550100',
    callbackNumber: '7101',
    repeats: 3,
    keyBeforeCode: true,
    smsAfterCall: 'not_answered',
    locale: 'en',
    ringTimeoutSeconds: 30,
    retriesOnNoAnswer: 0,
    requireContact: true,
  }),
} satisfies Record<string, Omit<CallProfile, 'id'>>);

/**
 * The demo contacts' static PINs (lab only; README's lab tables list them). Carol has none, so
 * her calls to a PIN route show reason no_pin.
 */
export const DEMO_PINS: Readonly<Record<string, string>> = Object.freeze({
  'Alice Example': '4721',
  'Bob Email': '3856',
  'Dan Shared': '5307',
  'Erin Shared': '6142',
});

/** A previous hop that deliberately has no route: calls from it use the default destinations. */
export const DEMO_NO_ROUTE_HOP = 'pinverify-noroute-autopin';
/** The lab's Sales sub-IVR: README's "Adding a department" walkthrough adds its route. */
export const DEMO_NEW_DEPARTMENT_HOP = 'pinverify-sales-autopin';

export const DEMO_CONTACTS: readonly Readonly<NewContact>[] = Object.freeze([
  {
    name: 'Alice Example',
    email: 'alice@example.com',
    mobile: DEMO_NUMBERS.emailAndSms,
    phones: [DEMO_NUMBERS.emailAndSms],
  },
  { name: 'Bob Email', email: 'bob@example.com', mobile: null, phones: [DEMO_NUMBERS.emailOnly] },
  { name: 'Carol Sms', email: null, mobile: DEMO_NUMBERS.smsOnly, phones: [DEMO_NUMBERS.smsOnly] },
  { name: 'Dan Shared', email: 'dan@example.com', mobile: null, phones: [DEMO_NUMBERS.shared] },
  { name: 'Erin Shared', email: 'erin@example.com', mobile: null, phones: [DEMO_NUMBERS.shared] },
]);

/**
 * Lab values of settings. Test runs call as Alice all day, so the per-destination send limits
 * (production defaults 3 per hour, 10 per day) are raised in the lab; every other limit,
 * including the lockout after failed checks, keeps its production default.
 */
export const DEMO_SETTINGS = Object.freeze({
  maxSendsPerDestinationPerHour: 1000,
  maxSendsPerDestinationPerDay: 10_000,
});

/**
 * The lab's desk agents (/desk): Sam answers Support's phone 2001 and its queue 2901, Lee the
 * default destinations. One published lab password: never use these outside the lab.
 */
export const DEMO_AGENT_PASSWORD = 'lab-desk-password';
export const DEMO_AGENTS = Object.freeze([
  { login: 'sam', name: 'Sam Support', extensions: ['2001', '2901'], role: 'agent' },
  { login: 'lee', name: 'Lee Lead', extensions: ['2000', '2900'], role: 'supervisor' },
] as const);

/** Serialises concurrent loads (two lab scripts), which would otherwise both insert contacts. */
const DEMO_LOCK_KEY = '7486172302';

export async function loadDemoData(
  pool: Pool,
): Promise<{ routes: number; contacts: number; profiles: number }> {
  // Hashed before the transaction: argon2id takes its time on purpose.
  const hasher = createArgon2PinHasher();
  const pinHashes = new Map(
    await Promise.all(
      Object.entries(DEMO_PINS).map(async ([name, pin]) => [name, await hasher.hash(pin)] as const),
    ),
  );
  const agentHash = await createPasswordHasher().hash(DEMO_AGENT_PASSWORD);
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [DEMO_LOCK_KEY]);

    for (const a of DEMO_AGENTS)
      await client.query(
        `INSERT INTO agents (login, name, extensions, role, password_hash) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (login) DO UPDATE SET name = EXCLUDED.name, extensions = EXCLUDED.extensions,
           role = EXCLUDED.role, password_hash = EXCLUDED.password_hash`,
        [a.login, a.name, a.extensions, a.role, agentHash],
      );

    const routes = Object.values(DEMO_ROUTES);
    for (const r of routes) {
      await client.query(
        `INSERT INTO routes (title, previous_hop, success_destination, failed_destination, enabled, mode)
         VALUES ($1, $2, $3, $4, true, $5)
         ON CONFLICT (previous_hop) DO UPDATE
           SET title = EXCLUDED.title,
               success_destination = EXCLUDED.success_destination,
               failed_destination = EXCLUDED.failed_destination,
               enabled = true,
               mode = EXCLUDED.mode`,
        [r.title, r.previousHop, r.successDestination, r.failedDestination, r.mode],
      );
    }
    // Loading the demo data resets the lab: the walkthrough's route is added again by hand.
    await client.query('DELETE FROM routes WHERE previous_hop = ANY($1::text[])', [
      [DEMO_NO_ROUTE_HOP, DEMO_NEW_DEPARTMENT_HOP],
    ]);

    // Demo contacts are recognised by name plus a demo number, so a real contact that happens
    // to share a name is left alone.
    await client.query(
      `DELETE FROM contacts c
        WHERE c.name = ANY($1::text[])
          AND EXISTS (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND p.e164 = ANY($2::text[]))`,
      [DEMO_CONTACTS.map((c) => c.name), Object.values(DEMO_NUMBERS)],
    );
    for (const c of DEMO_CONTACTS) {
      const inserted = await client.query<{ id: number }>(
        'INSERT INTO contacts (name, email, mobile) VALUES ($1, $2, $3) RETURNING id',
        [c.name, c.email ?? null, c.mobile ?? null],
      );
      const id = inserted.rows[0]?.id;
      await client.query('INSERT INTO contact_phones (contact_id, e164) SELECT $1, unnest($2::text[])', [
        id,
        c.phones,
      ]);
      const hash = pinHashes.get(c.name);
      if (id !== undefined && hash) await new PgPinStore(client).set(id, hash, 'demo-data');
    }

    for (const [key, value] of Object.entries(DEMO_SETTINGS)) {
      await client.query(
        `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, JSON.stringify(value)],
      );
    }

    const profiles = Object.values(DEMO_PROFILES);
    for (const p of profiles) {
      await client.query(
        `INSERT INTO call_profiles (${PROFILE_WRITTEN_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (name) DO UPDATE
           SET (${PROFILE_WRITTEN_COLUMNS}) =
               (EXCLUDED.name, EXCLUDED.title, EXCLUDED.enabled, EXCLUDED.mode, EXCLUDED.code_source,
                EXCLUDED.code_length, EXCLUDED.caller_id, EXCLUDED.callback_number, EXCLUDED.repeats,
                EXCLUDED.key_before_code, EXCLUDED.sms_after_call, EXCLUDED.locale,
                EXCLUDED.ring_timeout_seconds, EXCLUDED.retries_on_no_answer, EXCLUDED.require_contact)`,
        profileValues(p),
      );
    }

    return { routes: routes.length, contacts: DEMO_CONTACTS.length, profiles: profiles.length };
  });
}
