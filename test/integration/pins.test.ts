/**
 * Static security PINs on the real Postgres: argon2id hashes through PgPinStore (PHC string with
 * today's parameters, salted, a malformed hash matching nothing, re-hashing on use when the
 * parameters were raised), the database PinChecker, PINs set by the ops layer, the CLI and a
 * CSV import and then checked through two verification service instances on two pools (wrong
 * PINs lock the contact across both; an unlock clears it), no PIN in clear in any table or log
 * line, the PIN policy and the settings that bound it, and the webhook source against a local
 * CRM stand-in that verifies every request's Standard Webhooks signature.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import * as argon2 from 'argon2';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import type { Contact, FlowSettings } from '../../src/domain';
import type { PinCheckAnswer, PinChecker } from '../../src/flow/ports';
import { OpsError } from '../../src/ops/ops-error';
import { createOpsServices, type OpsServices } from '../../src/ops/ops-services';
import { createPinChecker, PinWebhookError } from '../../src/pin/pin-checker';
import { createArgon2PinHasher, PIN_HASH_OPTIONS, type PinHasher } from '../../src/pin/pin-hasher';
import { PgConfigStore } from '../../src/store/pg-config-store';
import { PgPinStore } from '../../src/store/pg-pin-store';
import { createPgVerificationService } from '../../src/verification/create-pg-verification-service';
import type { VerificationService } from '../../src/verification/verification-service';
import { freshDatabase, recordingLogger, reseedConfig, testPool, waitFor } from './helpers';
import { cli } from './ops/cli-harness';

/** PINs no id, timestamp, port or hash segment can hold as a whole value by accident. */
const ALICE_PIN = '583920';
const BOB_PIN = '704261';
const DORA_PIN = '918273';
const WRONG_PIN = '640175';
const ALL_PINS = [ALICE_PIN, BOB_PIN, DORA_PIN, WRONG_PIN];

const ALICE_MOBILE = '+12025550101';
const ALICE_PHONE = '+12025550177';
const BOB_PHONE = '+12025550102';
const ROUTE = 'pinverify-billing-pin';

/** A PHC argon2id string with today's parameters: 16-byte salt, 32-byte hash (unpadded base64). */
const TODAY_PHC = /^\$argon2id\$v=19\$m=19456,p=1,t=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

/**
 * Where `pin` appears in `value` as a whole value, a JSON string or a word of a text: a string
 * equal to it or holding it between non-alphanumerics, or the same number. A base64 run (a
 * hash) holding the digits by chance is not a leak; neither is a longer number.
 */
function pinPlaces(value: unknown, pin: string, path = ''): string[] {
  if (typeof value === 'string') {
    const word = new RegExp(`(?<![0-9A-Za-z+/$])${pin}(?![0-9A-Za-z+/])`);
    return value === pin || word.test(value) ? [path] : [];
  }
  if (typeof value === 'number') return value === Number(pin) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => pinPlaces(v, pin, `${path}[${i}]`));
  if (value instanceof Date || value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => pinPlaces(v, pin, path ? `${path}.${k}` : k));
}

/** Every column of every table of the schema, as JSON (text, json, arrays alike), scanned for the PINs. */
async function pinsInDatabase(pool: Pool, pins: readonly string[]): Promise<string[]> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  expect(tables.map((t) => t.name)).toEqual(
    expect.arrayContaining(['contact_pins', 'config_changes', 'verifications', 'verification_failures']),
  );
  const leaks: string[] = [];
  for (const { name } of tables) {
    const { rows } = await pool.query<{ row: Record<string, unknown> }>(
      `SELECT to_jsonb(t) AS row FROM "${name}" t`,
    );
    for (const [i, { row }] of rows.entries())
      for (const pin of pins)
        for (const at of pinPlaces(row, pin)) leaks.push(`${pin} in ${name}[${i}].${at}`);
  }
  return leaks;
}

/** A full garbage collection, as the app's heap makes one at any time. */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * What `promise` settled with (its value, or its rejection reason), or 'still pending' after
 * `ms`: a bound on waiting for real I/O, so a check that never ends fails the test instead of
 * hanging it.
 */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('still pending'), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => value,
        (reason: unknown) => reason,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function refusal(promise: Promise<unknown>): Promise<OpsError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OpsError) return err;
    throw err;
  }
  throw new Error('expected an OpsError, but it was accepted');
}

/** A hasher that counts hash() calls: a re-hash is started synchronously with the answer. */
function countingHasher(inner: PinHasher = createArgon2PinHasher()): PinHasher & { hashes: number } {
  const counted = {
    hashes: 0,
    hash: (pin: string) => {
      counted.hashes += 1;
      return inner.hash(pin);
    },
    verify: (hash: string | null, pin: string) => inner.verify(hash, pin),
    needsRehash: (hash: string) => inner.needsRehash(hash),
  };
  return counted;
}

/**
 * Today's options with some parameters lowered, as a hash set before they were raised. (The
 * hasher's options are typed as today's constants, so other values need the cast.)
 */
function weakerThanToday(
  lowered: Partial<Record<'memoryCost' | 'timeCost', number>>,
): typeof PIN_HASH_OPTIONS {
  return { ...PIN_HASH_OPTIONS, ...lowered } as unknown as typeof PIN_HASH_OPTIONS;
}

interface Instance {
  pool: Pool;
  config: PgConfigStore;
  service: VerificationService;
  pins: PinChecker;
  log: ReturnType<typeof recordingLogger>;
}

const noPbx = () => {
  throw new Error('no PBX check is expected in these tests');
};

describe('static PINs on Postgres', () => {
  let setupPool: Pool;
  let ops: OpsServices;
  let a: Instance;
  let b: Instance;

  function instance(pool: Pool): Instance {
    const config = new PgConfigStore(pool, { ttlSeconds: 1 });
    const log = recordingLogger();
    const service = createPgVerificationService({
      pool,
      config,
      delivery: {
        send: () => Promise.reject(new Error('a PIN verification must never send a message')),
      },
      secret: 'integration-test-pin-secret',
      log,
    });
    const pins = createPinChecker({ store: new PgPinStore(pool), hasher: createArgon2PinHasher(), log });
    return { pool, config, service, pins, log };
  }

  async function addContact(
    name: string,
    email: string | null,
    mobile: string | null,
    phones: string[],
  ): Promise<Contact> {
    const { rows } = await setupPool.query<{ id: number }>(
      'INSERT INTO contacts (name, email, mobile) VALUES ($1, $2, $3) RETURNING id',
      [name, email, mobile],
    );
    const id = rows[0]?.id ?? 0;
    await setupPool.query('INSERT INTO contact_phones (contact_id, e164) SELECT $1, unnest($2::text[])', [
      id,
      phones,
    ]);
    return { id, name, email, mobile };
  }

  async function storedHash(contactId: number): Promise<string | null> {
    return (await new PgPinStore(setupPool).get(contactId))?.hash ?? null;
  }

  async function settingsOf(x: Instance): Promise<FlowSettings> {
    x.config.invalidate();
    return x.config.getSettings();
  }

  /** One PIN try as the PIN flow makes it: the source judges, the service counts. */
  async function tryPin(x: Instance, verificationId: string, contact: Contact, caller: string, pin: string) {
    const answer: PinCheckAnswer = await x.pins.check(
      { caller, pin, route: ROUTE, contact },
      await x.config.getSettings(),
      new AbortController().signal,
    );
    return { answer, recorded: await x.service.checkPin(verificationId, answer.match) };
  }

  async function startPin(x: Instance, contact: Contact, caller: string) {
    const s = await x.config.getSettings();
    return x.service.startPin({
      contact,
      caller,
      callId: `call-${contact.id}-${Math.random().toString(36).slice(2)}`,
      maxTries: s.maxPinTries,
      maxLength: s.pinMaxLength,
    });
  }

  beforeAll(async () => {
    setupPool = await freshDatabase();
    ops = createOpsServices({ pool: setupPool, dialplan: noPbx, actor: 'api:pins-test' });
    a = instance(testPool());
    b = instance(testPool());
  });
  beforeEach(async () => {
    await setupPool.query(
      'TRUNCATE contacts, contact_pins, verifications, verification_sends, verification_failures, config_changes CASCADE',
    );
    await reseedConfig(setupPool);
    for (const x of [a, b]) {
      x.config.invalidate();
      x.log.entries.length = 0;
    }
  });
  afterAll(async () => {
    a.config.close();
    b.config.close();
    await Promise.all([a.pool.end(), b.pool.end(), setupPool.end()]);
  });

  describe('argon2id hashes in contact_pins', () => {
    it('stores a salted PHC argon2id hash with m=19456, t=2, p=1 that verifies only the right PIN', async () => {
      const alice = await addContact('Alice', null, ALICE_MOBILE, [ALICE_MOBILE]);
      const hasher = createArgon2PinHasher();
      const store = new PgPinStore(setupPool);
      await store.set(alice.id, await hasher.hash(ALICE_PIN), 'test');
      const record = await store.get(alice.id);
      expect(record).toEqual({
        contactId: alice.id,
        hash: expect.stringMatching(TODAY_PHC) as unknown,
        setAt: expect.any(Date) as unknown,
        setBy: 'test',
      });
      const hash = record?.hash ?? '';
      expect(hash).not.toContain(ALICE_PIN);
      expect(hasher.needsRehash(hash)).toBe(false);
      expect(await hasher.verify(hash, ALICE_PIN)).toBe(true);
      expect(await hasher.verify(hash, WRONG_PIN)).toBe(false);
      expect(await hasher.verify(hash, `${ALICE_PIN}0`)).toBe(false);
      expect(await hasher.verify(hash, '')).toBe(false);

      // Salted: the same PIN twice gives two hashes, each verifying the PIN.
      const again = await hasher.hash(ALICE_PIN);
      expect(again).toMatch(TODAY_PHC);
      expect(again).not.toBe(hash);
      expect(again.split('$')[4]).not.toBe(hash.split('$')[4]);
      expect(await hasher.verify(again, ALICE_PIN)).toBe(true);
    });

    it('refuses to store anything but an argon2id hash, and a malformed stored hash matches nothing', async () => {
      const alice = await addContact('Alice', null, ALICE_MOBILE, [ALICE_MOBILE]);
      const store = new PgPinStore(setupPool);
      // The table's CHECK: a PIN in clear (or a weaker scheme) cannot even be written.
      await expect(store.set(alice.id, ALICE_PIN, 'test')).rejects.toMatchObject({ code: '23514' });
      await expect(
        store.set(alice.id, await argon2.hash(ALICE_PIN, { type: argon2.argon2i }), 't'),
      ).rejects.toMatchObject({ code: '23514' });
      expect(await store.get(alice.id)).toBeNull();

      // Edited by hand into something argon2 cannot read: no match, no exception, for any PIN.
      await store.set(alice.id, '$argon2id$v=19$m=19456,p=1,t=2$not-base64!$garbage', 'hand-edit');
      const hasher = createArgon2PinHasher();
      expect(await hasher.verify('$argon2id$v=19$m=19456,p=1,t=2$not-base64!$garbage', ALICE_PIN)).toBe(
        false,
      );
      const checker = createPinChecker({ store, hasher, log: a.log });
      const s = await settingsOf(a);
      for (const pin of [ALICE_PIN, '', 'garbage'])
        expect(
          await checker.check(
            { caller: ALICE_MOBILE, pin, route: ROUTE, contact: alice },
            s,
            new AbortController().signal,
          ),
        ).toEqual({ match: false, contactId: alice.id });
      // A truncated real hash too.
      const real = await hasher.hash(ALICE_PIN);
      await store.set(alice.id, real.slice(0, -10), 'hand-edit');
      expect(
        (
          await checker.check(
            { caller: ALICE_MOBILE, pin: ALICE_PIN, route: ROUTE, contact: alice },
            s,
            new AbortController().signal,
          )
        ).match,
      ).toBe(false);
    });

    it('answers hasPin and checks with pinSource database; an unknown caller or one without a PIN never matches', async () => {
      const alice = await addContact('Alice', null, ALICE_MOBILE, [ALICE_MOBILE]);
      const carol = await addContact('Carol', null, '+12025550103', ['+12025550103']);
      const hasher = countingHasher();
      const store = new PgPinStore(setupPool);
      await store.set(alice.id, await createArgon2PinHasher().hash(ALICE_PIN), 'test');
      const checker = createPinChecker({ store, hasher, log: a.log });
      const s = await settingsOf(a);
      expect(s.pinSource).toBe('database');
      expect(await checker.hasPin(alice, s)).toBe(true);
      expect(await checker.hasPin(carol, s)).toBe(false);
      // With the webhook source pinverify cannot tell before a check.
      expect(await checker.hasPin(carol, { ...s, pinSource: 'webhook' })).toBeNull();

      const check = (pin: string, contact: Contact | null) =>
        checker.check(
          { caller: contact?.mobile ?? '+12025550199', pin, route: ROUTE, contact },
          s,
          new AbortController().signal,
        );
      expect(await check(ALICE_PIN, alice)).toEqual({ match: true, contactId: alice.id });
      expect(await check(WRONG_PIN, alice)).toEqual({ match: false, contactId: alice.id });
      expect(await check(ALICE_PIN, carol)).toEqual({ match: false, contactId: carol.id });
      expect(await check(ALICE_PIN, null)).toEqual({ match: false, contactId: null });
      // Today's parameters: nothing to re-hash on a match.
      expect(hasher.hashes).toBe(0);
    });

    it('re-hashes a PIN made with weaker parameters on its next match, and only then', async () => {
      const alice = await addContact('Alice', null, ALICE_MOBILE, [ALICE_MOBILE]);
      const store = new PgPinStore(setupPool);
      const weak = await createArgon2PinHasher(weakerThanToday({ memoryCost: 8192 })).hash(ALICE_PIN);
      expect(weak).toMatch(/^\$argon2id\$v=19\$m=8192,p=1,t=2\$/);
      await store.set(alice.id, weak, 'before-upgrade');
      const hasher = countingHasher();
      expect(hasher.needsRehash(weak)).toBe(true);
      const checker = createPinChecker({ store, hasher, log: a.log });
      const s = await settingsOf(a);
      const signal = new AbortController().signal;

      // A wrong PIN proves nothing: the weak hash stays.
      expect(
        await checker.check(
          { caller: ALICE_MOBILE, pin: WRONG_PIN, route: ROUTE, contact: alice },
          s,
          signal,
        ),
      ).toEqual({ match: false, contactId: alice.id });
      expect(hasher.hashes).toBe(0);
      expect(await storedHash(alice.id)).toBe(weak);

      // The weak hash still verifies the right PIN (the caller is let in) and is upgraded behind the answer.
      expect(
        await checker.check(
          { caller: ALICE_MOBILE, pin: ALICE_PIN, route: ROUTE, contact: alice },
          s,
          signal,
        ),
      ).toEqual({ match: true, contactId: alice.id });
      expect(hasher.hashes).toBe(1);
      await waitFor(async () => (await storedHash(alice.id)) !== weak, 5000);
      const upgraded = (await store.get(alice.id)) ?? { hash: '', setBy: '' };
      expect(upgraded.hash).toMatch(TODAY_PHC);
      expect(upgraded.setBy).toBe('before-upgrade');
      expect(await hasher.verify(upgraded.hash, ALICE_PIN)).toBe(true);
      expect(await hasher.verify(upgraded.hash, WRONG_PIN)).toBe(false);
      expect(a.log.entries.filter((e) => e.level !== 'info')).toEqual([]);

      // Upgraded: the next match re-hashes nothing.
      await checker.check({ caller: ALICE_MOBILE, pin: ALICE_PIN, route: ROUTE, contact: alice }, s, signal);
      expect(hasher.hashes).toBe(1);
    });

    it('never lets a re-hash undo a PIN set meanwhile', async () => {
      const alice = await addContact('Alice', null, ALICE_MOBILE, [ALICE_MOBILE]);
      const store = new PgPinStore(setupPool);
      const hasher = createArgon2PinHasher();
      const weak = await createArgon2PinHasher(weakerThanToday({ memoryCost: 8192 })).hash(ALICE_PIN);
      await store.set(alice.id, weak, 'old');
      // Ops set a new PIN while a call's re-hash of the old one was on its way.
      const fresh = await hasher.hash(BOB_PIN);
      await store.set(alice.id, fresh, 'new');
      await store.rehash(alice.id, weak, await hasher.hash(ALICE_PIN));
      expect(await storedHash(alice.id)).toBe(fresh);
      // With the previous hash still in place, a re-hash replaces it.
      const upgraded = await hasher.hash(BOB_PIN);
      await store.rehash(alice.id, fresh, upgraded);
      expect(await storedHash(alice.id)).toBe(upgraded);
    });
  });

  describe('PINs set by ops, the CLI and an import, checked through the verification service', () => {
    it('keeps no PIN in clear in any table or log line', async () => {
      const alice = await addContact('Alice', 'alice@example.com', ALICE_MOBILE, [ALICE_MOBILE]);
      const bob = await addContact('Bob', 'bob@example.com', null, [BOB_PHONE]);

      // The scanner finds a PIN wherever it could hide.
      expect(pinPlaces({ detail: { pin: ALICE_PIN } }, ALICE_PIN)).toEqual(['detail.pin']);
      expect(pinPlaces({ text: `{"pin":"${ALICE_PIN}"}` }, ALICE_PIN)).toEqual(['text']);
      expect(pinPlaces({ msg: `PIN ${ALICE_PIN} wrong` }, ALICE_PIN)).toEqual(['msg']);
      expect(pinPlaces({ n: Number(ALICE_PIN), list: [ALICE_PIN] }, ALICE_PIN)).toEqual(['n', 'list[0]']);
      expect(pinPlaces({ hash: `$argon2id$v=19$m=19456,p=1,t=2$${ALICE_PIN}abc$x` }, ALICE_PIN)).toEqual([]);

      // Alice through the ops layer (the API's path), Bob through the CLI, Dora by a CSV import.
      expect(await ops.pins.set(alice.id, { pin: ALICE_PIN })).toMatchObject({
        contactId: alice.id,
        pinSet: true,
        setBy: 'api:pins-test',
        warnings: [],
      });
      const outputs: string[] = [];
      const set = await cli(['pins', 'set', String(bob.id)], { stdin: `${BOB_PIN}\n` });
      outputs.push(set.out, set.err);
      expect(set).toMatchObject({ code: 0, out: `PIN set for contact ${bob.id}`, err: '' });
      const imported = await ops.contacts.importCsv(
        `name,email,mobile,pin\nDora Import,dora@example.com,+12025550140,${DORA_PIN}\n`,
      );
      expect(imported).toMatchObject({ added: 1, pinsSet: 1, written: true });
      const doraId = imported.lines[0]?.id ?? 0;
      const dora: Contact = {
        id: doraId,
        name: 'Dora Import',
        email: 'dora@example.com',
        mobile: '+12025550140',
      };
      for (const id of [alice.id, bob.id, doraId]) expect(await storedHash(id)).toMatch(TODAY_PHC);

      // Calls: a wrong PIN then the right one, spread over both instances.
      for (const [contact, caller, pin] of [
        [alice, ALICE_MOBILE, ALICE_PIN],
        [bob, BOB_PHONE, BOB_PIN],
        [dora, '+12025550140', DORA_PIN],
      ] as const) {
        const started = await startPin(a, contact, caller);
        if (started.kind !== 'started') throw new Error(`not started: ${JSON.stringify(started)}`);
        const wrong = await tryPin(a, started.verification.id, contact, caller, WRONG_PIN);
        expect(wrong).toMatchObject({
          answer: { match: false },
          recorded: { kind: 'checked', outcome: { kind: 'wrong', checksLeft: 2 } },
        });
        const right = await tryPin(b, started.verification.id, contact, caller, pin);
        expect(right).toMatchObject({
          answer: { match: true, contactId: contact.id },
          recorded: { kind: 'checked', outcome: { kind: 'approved' } },
        });
        expect(await a.service.get(started.verification.id)).toMatchObject({
          channel: 'pin',
          status: 'approved',
          checks: 2,
          codeHash: null,
        });
      }
      const status = await cli(['--json', 'pins', 'status', String(alice.id)]);
      outputs.push(status.out, status.err);
      expect(status.json()).toMatchObject({ pinSet: true, failedChecks: 1, locked: false });
      await ops.pins.set(alice.id, { pin: DORA_PIN });
      await a.service.unlock(alice);

      const { rows: failures } = await setupPool.query('SELECT contact_id FROM verification_failures');
      expect(failures).toHaveLength(3);
      const { rows: changes } = await setupPool.query<{ action: string }>(
        'SELECT action FROM config_changes ORDER BY id',
      );
      expect(changes.map((c) => c.action)).toEqual([
        'contact.pin.set',
        'contact.pin.set',
        'contact.import',
        'contact.pin.set',
      ]);

      expect(await pinsInDatabase(setupPool, ALL_PINS)).toEqual([]);
      const logged = [...a.log.entries, ...b.log.entries];
      expect(logged.map((e) => e.msg)).toEqual(expect.arrayContaining(['PIN verification started']));
      const logLeaks = ALL_PINS.flatMap((pin) => pinPlaces(logged, pin).map((at) => `${pin} at ${at}`));
      expect(logLeaks).toEqual([]);
      for (const text of outputs) for (const pin of ALL_PINS) expect(text).not.toContain(pin);
    });
  });

  describe('the lockout across two instances', () => {
    it('locks a contact after wrong PINs split over both instances, refuses startPin on both, and unlock clears it', async () => {
      await ops.settings.set({ maxFailedChecksPerContact: 4 });
      for (const x of [a, b]) expect((await settingsOf(x)).maxFailedChecksPerContact).toBe(4);
      const alice = await addContact('Alice', 'alice@example.com', ALICE_MOBILE, [ALICE_MOBILE]);
      await ops.pins.set(alice.id, { pin: ALICE_PIN });

      const v1 = await startPin(a, alice, ALICE_MOBILE);
      if (v1.kind !== 'started') throw new Error('not started');
      expect(v1.verification).toMatchObject({ channel: 'pin', status: 'pending', maxChecks: 3, sends: 0 });
      // A PIN verification is judged only by checkPin: a code check compares and counts nothing.
      expect(await b.service.check(v1.verification.id, ALICE_PIN)).toMatchObject({ kind: 'not_a_code' });
      // Two wrong PINs at once, one on each instance, on the same verification.
      const both = await Promise.all([
        tryPin(a, v1.verification.id, alice, ALICE_MOBILE, WRONG_PIN),
        tryPin(b, v1.verification.id, alice, ALICE_MOBILE, '640176'),
      ]);
      expect(both.map((r) => r.recorded.kind === 'checked' && r.recorded.outcome.kind).sort()).toEqual([
        'wrong',
        'wrong',
      ]);
      // A new call (verification) gives no fresh guesses.
      const v2 = await startPin(b, alice, ALICE_MOBILE);
      if (v2.kind !== 'started') throw new Error('not started');
      await tryPin(b, v2.verification.id, alice, ALICE_MOBILE, '640177');
      expect((await ops.pins.status(alice.id)).locked).toBe(false);
      const fourth = await tryPin(a, v2.verification.id, alice, ALICE_MOBILE, '640178');
      expect(fourth.recorded).toMatchObject({ kind: 'checked', outcome: { kind: 'wrong', checksLeft: 1 } });

      for (const x of [a, b]) {
        const refused = await startPin(x, alice, ALICE_MOBILE);
        expect(refused).toMatchObject({ kind: 'refused', refusal: { error: 'locked' } });
        if (refused.kind === 'refused')
          expect(refused.refusal.message).toMatch(/^locked: 4 failed checks in 24 h \(limit 4\)/);
        expect((await x.service.lockState(alice.id)).locked).toBe(true);
      }
      // Even the right PIN on the verification still open is refused, and not counted.
      const late = await tryPin(b, v1.verification.id, alice, ALICE_MOBILE, ALICE_PIN);
      expect(late.answer.match).toBe(true);
      expect(late.recorded).toMatchObject({ kind: 'checked', outcome: { kind: 'locked' } });
      expect(await ops.pins.status(alice.id)).toMatchObject({
        pinSet: true,
        locked: true,
        failedChecks: 4,
        lockedUntil: expect.any(Date) as unknown,
      });
      const { rows } = await setupPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM verification_failures WHERE contact_id = $1',
        [alice.id],
      );
      expect(rows[0]?.n).toBe(4);

      expect(await a.service.unlock(alice)).toMatchObject({ failuresCleared: 4 });
      for (const x of [a, b]) expect((await x.service.lockState(alice.id)).locked).toBe(false);
      expect((await ops.pins.status(alice.id)).locked).toBe(false);
      const v3 = await startPin(b, alice, ALICE_MOBILE);
      if (v3.kind !== 'started') throw new Error(`not started after unlock: ${JSON.stringify(v3)}`);
      expect((await tryPin(a, v3.verification.id, alice, ALICE_MOBILE, ALICE_PIN)).recorded).toMatchObject({
        outcome: { kind: 'approved' },
      });
    });
  });

  describe('policy', () => {
    it('refuses PINs too short, too long, not digits, trivial or the end of the own numbers, writing nothing', async () => {
      const alice = await addContact('Alice', null, ALICE_MOBILE, [ALICE_PHONE]);
      const cases: [string, string][] = [
        ['583', 'a PIN has 4 to 8 digits'],
        ['583920174', 'a PIN has 4 to 8 digits'],
        ['58a920', 'a PIN is digits only'],
        [' 583920', 'a PIN is digits only'],
        ['5555', 'too easy to guess: one digit repeated'],
        ['345678', 'too easy to guess: a run of digits up or down'],
        ['9876', 'too easy to guess: a run of digits up or down'],
        ['383838', 'too easy to guess: a pair of digits repeated'],
        ['550101', "too easy to guess: the end of the contact's own phone number"],
        ['2025550177', 'a PIN has 4 to 8 digits'],
        ['5550177', "too easy to guess: the end of the contact's own phone number"],
      ];
      for (const [pin, message] of cases) {
        const err = await refusal(ops.pins.set(alice.id, { pin }));
        expect({ pin, kind: err.kind, problems: err.problems }).toEqual({
          pin,
          kind: 'invalid',
          problems: [{ field: 'pin', message }],
        });
        expect(err.message).toBe(`pin: ${message}`);
      }
      expect((await refusal(ops.pins.set(alice.id, {}))).problems).toEqual([
        { field: 'pin', message: 'pin is required (digits, as a string)' },
      ]);
      expect((await refusal(ops.pins.set(alice.id, { pin: 583920 }))).problems).toMatchObject([
        { field: 'pin' },
      ]);
      expect(await refusal(ops.pins.set(999_999, { pin: ALICE_PIN }))).toMatchObject({
        kind: 'not_found',
        message: 'no contact with id 999999',
      });
      expect(await storedHash(alice.id)).toBeNull();
      const { rows } = await setupPool.query('SELECT 1 FROM config_changes');
      expect(rows).toEqual([]);
    });

    it('refuses a failure limit the shortest PIN does not make safe, and accepts it with longer PINs', async () => {
      const refused = await refusal(ops.settings.set({ maxFailedChecksPerContact: 50 }));
      expect(refused.kind).toBe('invalid');
      expect(refused.problems).toEqual([
        {
          field: 'maxFailedChecksPerContact',
          message:
            'pinMinLength 4 with maxFailedChecksPerContact 50 gives a PIN guesser more than 1 in 1,000 per ' +
            'contact per day (raise pinMinLength to 5 or lower maxFailedChecksPerContact to 10)',
        },
      ]);
      const settingValue = async (key: string) =>
        (await setupPool.query<{ value: unknown }>('SELECT value FROM settings WHERE key = $1', [key]))
          .rows[0]?.value;
      expect(await settingValue('maxFailedChecksPerContact')).toBe(10);

      const saved = await ops.settings.set({ maxFailedChecksPerContact: 50, pinMinLength: 5 });
      expect([...saved.changed].sort()).toEqual(['maxFailedChecksPerContact', 'pinMinLength']);
      expect(await settingValue('maxFailedChecksPerContact')).toBe(50);
      expect(await settingValue('pinMinLength')).toBe(5);
      // Back to 4 digits is now the unsafe change, and named as such.
      expect((await refusal(ops.settings.set({ pinMinLength: 4 }))).problems).toMatchObject([
        { field: 'pinMinLength', message: expect.stringContaining('raise pinMinLength to 5') as unknown },
      ]);
      // PINs follow the new floor.
      const alice = await addContact('Alice', null, ALICE_MOBILE, [ALICE_MOBILE]);
      expect((await refusal(ops.pins.set(alice.id, { pin: '5839' }))).problems).toEqual([
        { field: 'pin', message: 'a PIN has 5 to 8 digits' },
      ]);
      await ops.pins.set(alice.id, { pin: ALICE_PIN });
      expect(await storedHash(alice.id)).toMatch(TODAY_PHC);
    });

    it('refuses pinSource webhook without a URL and a plain http URL off this machine', async () => {
      expect((await refusal(ops.settings.set({ pinSource: 'webhook' }))).problems).toEqual([
        { field: 'pinSource', message: 'pinSource webhook needs pinWebhookUrl (set both at once)' },
      ]);
      expect((await refusal(ops.settings.set({ pinWebhookUrl: 'http://example.com/x' }))).problems).toEqual([
        {
          field: 'pinWebhookUrl',
          message: 'expected an https:// URL (plain http only to 127.0.0.1 or localhost)',
        },
      ]);
      expect((await refusal(ops.settings.set({ pinWebhookUrl: 'crm.example/pin' }))).problems).toMatchObject([
        { field: 'pinWebhookUrl' },
      ]);
      expect((await settingsOf(a)).pinWebhookUrl).toBe('');

      await ops.settings.set({ pinWebhookUrl: 'https://crm.example/pin' });
      await ops.settings.set({ pinSource: 'webhook' });
      expect(await settingsOf(a)).toMatchObject({
        pinSource: 'webhook',
        pinWebhookUrl: 'https://crm.example/pin',
      });
      // Emptying the URL under a webhook source is refused too.
      expect((await refusal(ops.settings.set({ pinWebhookUrl: '' }))).problems).toMatchObject([
        { field: 'pinSource' },
      ]);
      // A PIN set meanwhile is kept, with a warning that calls do not use it.
      const alice = await addContact('Alice', null, ALICE_MOBILE, [ALICE_MOBILE]);
      expect(await ops.pins.set(alice.id, { pin: ALICE_PIN })).toMatchObject({
        pinSet: true,
        pinSource: 'webhook',
        warnings: [expect.stringContaining('pinSource is webhook') as unknown],
      });
    });
  });

  describe('the webhook source', () => {
    type Reply =
      | { kind: 'json'; body: string }
      | { kind: 'status'; status: number }
      /** Never answers; `collect` runs a full garbage collection once the request is in. */
      | { kind: 'hang'; collect?: boolean }
      /** Sends 200 and the start of a JSON body, then nothing more. */
      | { kind: 'stall_body' };
    interface Received {
      raw: string;
      headers: Record<string, string>;
      verified: boolean;
    }
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const received: Received[] = [];
    let reply: Reply = { kind: 'json', body: '{"match":false}' };
    let server: Server;
    let url: string;
    let host: string;
    let alice: Contact;
    let settings: FlowSettings;
    let log: ReturnType<typeof recordingLogger>;
    let checker: PinChecker;

    const ask = (pin: string, s: FlowSettings = settings) =>
      checker.check(
        { caller: ALICE_MOBILE, pin, route: ROUTE, contact: alice },
        s,
        new AbortController().signal,
      );

    /** The check rejects with a PinWebhookError naming the problem and never the PIN. */
    async function webhookFailure(promise: Promise<unknown>): Promise<string> {
      return webhookProblem(
        await promise.then(
          () => new Error('expected the webhook check to fail, but it answered'),
          (e: unknown) => e,
        ),
      );
    }

    /** The message of a PinWebhookError (what a check rejected with), which must not hold the PIN. */
    function webhookProblem(err: unknown): string {
      expect(err).toBeInstanceOf(PinWebhookError);
      const message = (err as Error).message;
      expect(message).not.toContain(ALICE_PIN);
      return message;
    }

    beforeAll(async () => {
      server = createHttpServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
          let verified: boolean;
          try {
            new Webhook(secret).verify(raw, headers);
            verified = true;
          } catch {
            verified = false;
          }
          received.push({ raw, headers, verified });
          if (!verified) {
            res.writeHead(401).end('{"error":"bad signature"}');
            return;
          }
          if (reply.kind === 'hang') {
            if (reply.collect) collectGarbage();
            return;
          }
          if (reply.kind === 'stall_body') {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': '64' });
            res.write('{"match":');
            return;
          }
          if (reply.kind === 'status') {
            res.writeHead(reply.status, { 'content-type': 'application/json' }).end('{"error":"down"}');
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(reply.body);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      host = `127.0.0.1:${port}`;
      url = `http://${host}/pin-check`;
    });
    beforeEach(async () => {
      received.length = 0;
      alice = await addContact('Alice', 'alice@example.com', ALICE_MOBILE, [ALICE_MOBILE]);
      // Plain http is allowed to this machine only.
      await ops.settings.set({ pinSource: 'webhook', pinWebhookUrl: url, pinWebhookTimeoutMs: 500 });
      settings = await settingsOf(a);
      expect(settings).toMatchObject({ pinSource: 'webhook', pinWebhookUrl: url, pinWebhookTimeoutMs: 500 });
      log = recordingLogger();
      checker = createPinChecker({
        store: new PgPinStore(setupPool),
        hasher: createArgon2PinHasher(),
        webhookSecret: secret,
        log,
      });
    });
    afterEach(() => {
      // The log names the host and a masked caller, never the PIN or the full number.
      const logged = JSON.stringify(log.entries);
      expect(logged).not.toContain(ALICE_PIN);
      expect(logged).not.toContain(ALICE_MOBILE.slice(2));
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('POSTs exactly {caller, pin, route}, signed per Standard Webhooks, and takes a match with its contactId', async () => {
      reply = { kind: 'json', body: JSON.stringify({ match: true, contactId: 4242, note: 'extra ignored' }) };
      const before = Math.floor(Date.now() / 1000);
      expect(await ask(ALICE_PIN)).toEqual({ match: true, contactId: 4242 });
      expect(received).toHaveLength(1);
      const [request] = received as [Received];
      expect(request.verified).toBe(true);
      expect(JSON.parse(request.raw)).toEqual({ caller: ALICE_MOBILE, pin: ALICE_PIN, route: ROUTE });
      expect(Object.keys(JSON.parse(request.raw) as object)).toEqual(['caller', 'pin', 'route']);
      expect(request.headers).toMatchObject({
        'content-type': 'application/json',
        'webhook-id': expect.stringMatching(/^msg_[0-9a-f-]{36}$/) as unknown,
        'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]+=*$/) as unknown,
      });
      const timestamp = Number(request.headers['webhook-timestamp']);
      expect(timestamp).toBeGreaterThanOrEqual(before);
      expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));

      // Another secret, or a body changed on the way, fails verification.
      const otherSecret = `whsec_${randomBytes(32).toString('base64')}`;
      expect(() => new Webhook(otherSecret).verify(request.raw, request.headers)).toThrow(
        'No matching signature found',
      );
      const tampered = request.raw.replace(ALICE_PIN, WRONG_PIN);
      expect(tampered).not.toBe(request.raw);
      expect(() => new Webhook(secret).verify(tampered, request.headers)).toThrow();
      expect(new Webhook(secret).verify(request.raw, request.headers)).toEqual(JSON.parse(request.raw));

      // Each request has its own id.
      await ask(ALICE_PIN);
      expect(received[1]?.headers['webhook-id']).not.toBe(request.headers['webhook-id']);
      expect(log.entries.map((e) => e.msg)).toEqual(['PIN webhook answered', 'PIN webhook answered']);
      expect(log.entries[0]?.meta).toMatchObject({ host, status: 200, route: ROUTE });
    });

    it('takes a non-match, falling back to the contact asked about, and a contactId given as a string', async () => {
      reply = { kind: 'json', body: '{"match":false}' };
      expect(await ask(WRONG_PIN)).toEqual({ match: false, contactId: alice.id });
      reply = { kind: 'json', body: '{"match":true,"contactId":"17"}' };
      expect(await ask(ALICE_PIN)).toEqual({ match: true, contactId: 17 });
      expect(received.map((r) => r.verified)).toEqual([true, true]);
    });

    it('rejects an HTTP error, invalid JSON and an answer without a boolean match, naming each', async () => {
      reply = { kind: 'status', status: 500 };
      expect(await webhookFailure(ask(ALICE_PIN))).toBe(`the PIN webhook at ${host} answered HTTP 500`);
      reply = { kind: 'json', body: `match: ${ALICE_PIN}` };
      expect(await webhookFailure(ask(ALICE_PIN))).toBe(
        `the PIN webhook at ${host} answered something other than JSON`,
      );
      reply = { kind: 'json', body: '{"match":"yes"}' };
      expect(await webhookFailure(ask(ALICE_PIN))).toBe(
        `the PIN webhook at ${host} answered without a boolean "match" (expected {"match": true|false, "contactId"?})`,
      );
      reply = { kind: 'json', body: `{"match":true,"contactId":-1,"pin":"${ALICE_PIN}"}` };
      expect(await webhookFailure(ask(ALICE_PIN))).toContain('without a boolean "match"');
      expect(received.map((r) => r.verified)).toEqual([true, true, true, true]);
    });

    it('rejects a CRM that does not answer within pinWebhookTimeoutMs', async () => {
      reply = { kind: 'hang' };
      const started = Date.now();
      const outcome = await settledWithin(ask(ALICE_PIN), 3000);
      const took = Date.now() - started;
      expect(received).toHaveLength(1);
      expect(outcome).not.toBe('still pending');
      expect(webhookProblem(outcome)).toBe(`the PIN webhook at ${host} did not answer within 500 ms`);
      expect(took).toBeGreaterThanOrEqual(450);
      expect(took).toBeLessThan(2500);
      server.closeAllConnections();
    }, 10_000);

    it('rejects a silent CRM within pinWebhookTimeoutMs even when garbage is collected meanwhile', async () => {
      // An app does collect garbage while a CRM is slow; the deadline must not depend on it.
      reply = { kind: 'hang', collect: true };
      const started = Date.now();
      const outcome = await settledWithin(ask(ALICE_PIN), 3000);
      expect(received).toHaveLength(1);
      expect(outcome).not.toBe('still pending');
      expect(webhookProblem(outcome)).toBe(`the PIN webhook at ${host} did not answer within 500 ms`);
      expect(Date.now() - started).toBeLessThan(2500);
      server.closeAllConnections();
    }, 10_000);

    it('rejects a CRM that sends its headers and then stalls the body as not answering in time', async () => {
      reply = { kind: 'stall_body' };
      const started = Date.now();
      const outcome = await settledWithin(ask(ALICE_PIN), 3000);
      expect(received).toHaveLength(1);
      expect(outcome).not.toBe('still pending');
      expect(webhookProblem(outcome)).toBe(`the PIN webhook at ${host} did not answer within 500 ms`);
      expect(Date.now() - started).toBeLessThan(2500);
      server.closeAllConnections();
    }, 10_000);

    it('rejects when nothing listens, and without a secret or URL asks nobody', async () => {
      const closed = createNetServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      expect(
        await webhookFailure(ask(ALICE_PIN, { ...settings, pinWebhookUrl: `http://127.0.0.1:${port}/pin` })),
      ).toBe(`the PIN webhook at 127.0.0.1:${port} could not be reached (ECONNREFUSED)`);

      const unsigned = createPinChecker({
        store: new PgPinStore(setupPool),
        hasher: createArgon2PinHasher(),
        log,
      });
      const err = await webhookFailure(
        unsigned.check(
          { caller: ALICE_MOBILE, pin: ALICE_PIN, route: ROUTE, contact: alice },
          settings,
          new AbortController().signal,
        ),
      );
      expect(err).toBe('pinSource is webhook but PINVERIFY_PIN_WEBHOOK_SECRET is not set');
      expect(await webhookFailure(ask(ALICE_PIN, { ...settings, pinWebhookUrl: '' }))).toBe(
        'pinSource is webhook but pinWebhookUrl is empty',
      );
      expect(received).toEqual([]);
    });
  });
});
