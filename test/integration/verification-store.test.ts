/**
 * The verification service on the real Postgres, run as two independent app instances (two
 * pools, two config caches, two services) on one database: every limit must hold across them,
 * including under concurrent requests, because the locks are Postgres advisory locks and the
 * counts are rows, never one process's memory.
 */
import type { Pool } from 'pg';
import type { Clock } from '../../src/call/clock';
import type { Contact } from '../../src/domain';
import type { CodeDelivery, CodeMessage } from '../../src/flow/ports';
import { runHousekeepingIfDue } from '../../src/store/housekeeping';
import { PgConfigStore } from '../../src/store/pg-config-store';
import { createPgVerificationService } from '../../src/verification/create-pg-verification-service';
import { VerificationService } from '../../src/verification/verification-service';
import { freshDatabase, reseedConfig, recordingLogger, testPool } from './helpers';

const SECRET = 'integration-test-code-secret';

/** Records messages instead of sending them; the code is what a person would read. */
class CapturingDelivery implements CodeDelivery {
  readonly sent: CodeMessage[] = [];
  async send(message: CodeMessage): Promise<{ messageId: string | null }> {
    this.sent.push(message);
    return { messageId: `m${this.sent.length}` };
  }
  codeFor(destination: string): string {
    const m = [...this.sent]
      .reverse()
      .find((x) => (x.channel === 'email' ? x.contact.email : x.contact.mobile) === destination);
    if (!m) throw new Error(`nothing sent to ${destination}`);
    return m.code;
  }
}

/** A clock the test moves; both instances share it, as servers share NTP time. */
function movableClock(start = Date.now()) {
  let t = start;
  const clock: Clock = { now: () => new Date(t), setTimer: () => ({ cancel: () => undefined }) };
  return { clock, advance: (ms: number) => (t += ms) };
}

interface Instance {
  pool: Pool;
  config: PgConfigStore;
  service: VerificationService;
  delivery: CapturingDelivery;
  log: ReturnType<typeof recordingLogger>;
  alarms: unknown[];
}

describe('verification service on Postgres, two instances', () => {
  let setupPool: Pool;
  let a: Instance;
  let b: Instance;
  const time = movableClock();

  function instance(pool: Pool): Instance {
    const config = new PgConfigStore(pool, { ttlSeconds: 1 });
    const delivery = new CapturingDelivery();
    const log = recordingLogger();
    const alarms: unknown[] = [];
    const service = createPgVerificationService({
      pool,
      config,
      delivery,
      secret: SECRET,
      log,
      clock: time.clock,
      alarm: (x) => alarms.push(x),
    });
    return { pool, config, service, delivery, log, alarms };
  }

  async function setSettings(values: Record<string, number>): Promise<void> {
    for (const [key, value] of Object.entries(values))
      await setupPool.query('UPDATE settings SET value = $2 WHERE key = $1', [key, JSON.stringify(value)]);
    // Both instances read the settings afresh (as NOTIFY would make them).
    a.config.invalidate();
    b.config.invalidate();
  }

  async function addContact(name: string, email: string | null, mobile: string | null): Promise<Contact> {
    const { rows } = await setupPool.query<{ id: number }>(
      'INSERT INTO contacts (name, email, mobile) VALUES ($1, $2, $3) RETURNING id',
      [name, email, mobile],
    );
    return { id: rows[0]?.id ?? 0, name, email, mobile };
  }

  beforeAll(async () => {
    setupPool = await freshDatabase();
    a = instance(testPool());
    b = instance(testPool());
  });
  beforeEach(async () => {
    await setupPool.query(
      'TRUNCATE contacts, verifications, verification_sends, verification_failures, scheduled_jobs, calls CASCADE',
    );
    await reseedConfig(setupPool);
    a.config.invalidate();
    b.config.invalidate();
    for (const x of [a, b]) {
      x.delivery.sent.length = 0;
      x.alarms.length = 0;
      x.log.entries.length = 0;
    }
    time.advance(3 * 24 * 3600_000); // every test starts clear of earlier windows
  });
  afterAll(async () => {
    a.config.close();
    b.config.close();
    await Promise.all([a.pool.end(), b.pool.end(), setupPool.end()]);
  });

  it('locks a contact by wrong checks spread over both instances and several verifications', async () => {
    await setSettings({ maxFailedChecksPerContact: 5, maxTriesPerCode: 3 });
    const alice = await addContact('Alice', 'alice@example.com', '+12025550101');
    const v1 = await a.service.start({ contact: alice, channel: 'email', origin: 'api' });
    const v2 = await b.service.start({
      contact: alice,
      channel: 'sms',
      origin: 'inbound_call',
      callId: 'c1',
    });
    if (v1.kind !== 'sent' || v2.kind !== 'sent') throw new Error('not sent');
    // Three wrong on the first (from both instances at once), two on the second.
    await Promise.all([
      a.service.check(v1.verification.id, '000000'),
      b.service.check(v1.verification.id, '000001'),
      a.service.check(v1.verification.id, '000002'),
    ]);
    await b.service.check(v2.verification.id, '000003');
    // A new verification never resets the count.
    const v3 = await a.service.start({ contact: alice, channel: 'email', origin: 'api' });
    expect(v3.kind).toBe('sent');
    await a.service.check(v2.verification.id, '000004');

    expect((await a.service.get(v1.verification.id))?.status).toBe('max_attempts_reached');
    const refused = await b.service.start({ contact: alice, channel: 'sms', origin: 'api' });
    expect(refused).toMatchObject({ kind: 'refused', refusal: { error: 'locked' } });
    if (refused.kind === 'refused')
      expect(refused.refusal.message).toMatch(/5 failed checks in 24 h \(limit 5\)/);
    // The still-pending v3 cannot be checked either, even with the right code.
    const right = a.delivery.codeFor('alice@example.com');
    const check = await b.service.check(v3.kind === 'sent' ? v3.verification.id : '', right);
    expect(check).toMatchObject({ kind: 'checked', outcome: { kind: 'locked' } });
    const { rows } = await setupPool.query<{ n: string }>(
      'SELECT count(*) AS n FROM verification_failures WHERE contact_id = $1',
      [alice.id],
    );
    expect(Number(rows[0]?.n)).toBe(5);

    // An operator's unlock (on either instance) lets the contact verify again.
    expect(await a.service.unlock(alice)).toMatchObject({ failuresCleared: 5 });
    expect((await b.service.lockState(alice.id)).locked).toBe(false);
    expect((await b.service.start({ contact: alice, channel: 'sms', origin: 'api' })).kind).toBe('sent');
  });

  it('spends each check of one verification once, whichever instance takes it', async () => {
    await setSettings({ maxTriesPerCode: 3 });
    const bob = await addContact('Bob', 'bob@example.com', null);
    const v = await a.service.start({ contact: bob, channel: 'email', origin: 'api' });
    if (v.kind !== 'sent') throw new Error('not sent');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).service.check(v.verification.id, `11111${i}`)),
    );
    const kinds = results.map((r) => (r.kind === 'checked' ? r.outcome.kind : r.kind)).sort();
    expect(kinds.filter((k) => k === 'wrong')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'max_attempts_reached')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'max_attempts')).toHaveLength(5);
    expect(await a.service.get(v.verification.id)).toMatchObject({
      checks: 3,
      status: 'max_attempts_reached',
    });
  });

  it('approves a code once: two instances checking the right code at once approve it once', async () => {
    const carol = await addContact('Carol', null, '+12025550103');
    const v = await b.service.start({ contact: carol, channel: 'sms', origin: 'api' });
    if (v.kind !== 'sent') throw new Error('not sent');
    const code = b.delivery.codeFor('+12025550103');
    const results = await Promise.all([
      a.service.check(v.verification.id, code),
      b.service.check(v.verification.id, code),
    ]);
    const kinds = results.map((r) => (r.kind === 'checked' ? r.outcome.kind : r.kind)).sort();
    expect(kinds).toEqual(['approved', 'decided']);
  });

  it('reaches a country calling code cap from both instances at once, exactly, and raises the alarm', async () => {
    await setSettings({ maxSendsPerCountryPerHour: 5 });
    const people = await Promise.all(
      Array.from({ length: 8 }, (_, i) => addContact(`P${i}`, null, `+1202555020${i}`)),
    );
    const results = await Promise.all(
      people.map((p, i) => (i % 2 ? a : b).service.start({ contact: p, channel: 'sms', origin: 'api' })),
    );
    expect(results.filter((r) => r.kind === 'sent')).toHaveLength(5);
    const refused = results.filter((r) => r.kind === 'refused');
    expect(refused).toHaveLength(3);
    for (const r of refused)
      expect(r).toMatchObject({ refusal: { error: 'rate_limited', limit: 'country_per_hour' } });
    expect(a.alarms.length + b.alarms.length).toBe(3);
    expect([...a.log.entries, ...b.log.entries].filter((e) => e.level === 'error').map((e) => e.msg)).toEqual(
      Array(3).fill('send limit alarm: possible SMS pumping or a runaway client'),
    );
    // Email is not counted against a country.
    const dora = await addContact('Dora', 'dora@example.com', null);
    expect((await a.service.start({ contact: dora, channel: 'email', origin: 'api' })).kind).toBe('sent');
    // An hour later the window has moved on.
    time.advance(3600_000 + 1000);
    expect(
      (await b.service.start({ contact: people[7] as Contact, channel: 'sms', origin: 'api' })).kind,
    ).toBe('sent');
  });

  it('reaches the overall cap from both instances at once, exactly: 30 starts, email and SMS, cap 12', async () => {
    await setSettings({ maxSendsPerHour: 12 });
    const people = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        addContact(`Q${i}`, `q${i}@example.com`, `+1202555${String(1000 + i).padStart(4, '0')}`),
      ),
    );
    const results = await Promise.all(
      people.map((p, i) =>
        (i % 2 ? a : b).service.start({ contact: p, channel: i % 3 ? 'sms' : 'email', origin: 'api' }),
      ),
    );
    expect(results.filter((r) => r.kind === 'sent')).toHaveLength(12);
    for (const r of results.filter((x) => x.kind !== 'sent'))
      expect(r).toMatchObject({ kind: 'refused', refusal: { limit: 'overall_per_hour' } });
    // A refused start leaves neither a verification nor a counted send behind.
    const { rows } = await setupPool.query<{ v: string; s: string }>(
      'SELECT (SELECT count(*) FROM verifications) AS v, (SELECT count(*) FROM verification_sends) AS s',
    );
    expect(rows[0]).toEqual({ v: '12', s: '12' });
    expect(a.delivery.sent.length + b.delivery.sent.length).toBe(12);
  });

  it('gives back the send a locked contact reserved, so it counts toward no limit', async () => {
    await setSettings({ maxFailedChecksPerContact: 1, maxTriesPerCode: 3, maxSendsPerHour: 2 });
    const fay = await addContact('Fay', 'fay@example.com', null);
    const v = await a.service.start({ contact: fay, channel: 'email', origin: 'api' });
    if (v.kind !== 'sent') throw new Error('not sent');
    await b.service.check(v.verification.id, '000000');
    for (let i = 0; i < 3; i++)
      expect(
        await (i % 2 ? a : b).service.start({ contact: fay, channel: 'email', origin: 'api' }),
      ).toMatchObject({ kind: 'refused', refusal: { error: 'locked' } });
    const { rows } = await setupPool.query<{ n: string }>('SELECT count(*) AS n FROM verification_sends');
    expect(rows[0]?.n).toBe('1');
    // The overall limit (2) still has room for one more person.
    const gus = await addContact('Gus', 'gus@example.com', null);
    expect((await b.service.start({ contact: gus, channel: 'email', origin: 'api' })).kind).toBe('sent');
  });

  it('caps sends to one destination per hour and per day across instances', async () => {
    await setSettings({
      maxSendsPerDestinationPerHour: 2,
      maxSendsPerDestinationPerDay: 3,
      resendCooldownSeconds: 0,
    });
    const erin = await addContact('Erin', 'erin@example.com', null);
    const v = await a.service.start({ contact: erin, channel: 'email', origin: 'api' });
    if (v.kind !== 'sent') throw new Error('not sent');
    expect((await b.service.resend(v.verification.id)).kind).toBe('sent');
    const third = await a.service.start({ contact: erin, channel: 'email', origin: 'api' });
    expect(third).toMatchObject({
      kind: 'refused',
      refusal: { error: 'rate_limited', limit: 'destination_per_hour' },
    });
    time.advance(3600_000 + 1000);
    expect((await b.service.start({ contact: erin, channel: 'email', origin: 'api' })).kind).toBe('sent');
    time.advance(3600_000 + 1000);
    expect(await a.service.start({ contact: erin, channel: 'email', origin: 'api' })).toMatchObject({
      refusal: { limit: 'destination_per_day' },
    });
    // Per-destination limits alarm no one: that is a person, not a pump.
    expect(a.alarms).toEqual([]);
  });

  it('sends a custom code as given and approves it, comparing in constant time', async () => {
    const frank = await addContact('Frank', 'frank@example.com', null);
    const v = await a.service.start({ contact: frank, channel: 'email', origin: 'api', customCode: '90210' });
    if (v.kind !== 'sent') throw new Error('not sent');
    expect(a.delivery.codeFor('frank@example.com')).toBe('90210');
    // The service's compiled module looks timingSafeEqual up on node:crypto at each call.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cryptoModule = require('node:crypto') as typeof import('node:crypto');
    const spy = jest.spyOn(cryptoModule, 'timingSafeEqual');
    try {
      expect(await b.service.check(v.verification.id, '90211')).toMatchObject({ outcome: { kind: 'wrong' } });
      expect(await b.service.check(v.verification.id, '90210')).toMatchObject({
        outcome: { kind: 'approved' },
      });
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps no code and no full number or address outside the contacts and the verification destination', async () => {
    const gina = await addContact('Gina', 'gina@example.com', '+12025550109');
    const s1 = await a.service.start({
      contact: gina,
      channel: 'sms',
      origin: 'inbound_call',
      callId: 'call-x',
    });
    const s2 = await b.service.start({ contact: gina, channel: 'email', origin: 'api', actor: 'api:ci' });
    if (s1.kind !== 'sent' || s2.kind !== 'sent') throw new Error('not sent');
    await a.service.check(s1.verification.id, '123123');
    await b.service.check(s2.verification.id, b.delivery.codeFor('gina@example.com'));
    await a.service.unlock(gina);
    const codes = [...a.delivery.sent, ...b.delivery.sent].map((m) => m.code);
    expect(codes).toHaveLength(2);
    const secrets = [...codes, '+12025550109', '2025550109', 'gina@example.com'];

    const { rows: tables } = await setupPool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name NOT IN ('contacts', 'contact_phones')`,
    );
    for (const { name } of tables) {
      const { rows } = await setupPool.query(`SELECT * FROM ${name}`);
      // The verification keeps its destination (a resend goes where the first send went); nothing else may.
      const text = JSON.stringify(
        name === 'verifications'
          ? rows.map((r: Record<string, unknown>) => ({ ...r, destination: null }))
          : rows,
      );
      for (const secret of secrets)
        expect({ table: name, leaked: text.includes(secret) ? secret : null }).toEqual({
          table: name,
          leaked: null,
        });
    }
    const logged = JSON.stringify([a.log.entries, b.log.entries]);
    for (const secret of secrets)
      expect({ log: logged.includes(secret) ? secret : null }).toEqual({ log: null });
  });

  it('runs housekeeping once across instances: expires stale codes, applies retention', async () => {
    await setSettings({ retentionDays: 30 });
    const hugo = await addContact('Hugo', 'hugo@example.com', null);
    // Verifications expire by the database's clock here (housekeeping uses now()): make one stale.
    const v = await a.service.start({ contact: hugo, channel: 'email', origin: 'api' });
    if (v.kind !== 'sent') throw new Error('not sent');
    await setupPool.query(`UPDATE verifications SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
      v.verification.id,
    ]);
    const old = await a.service.start({ contact: hugo, channel: 'email', origin: 'api' });
    if (old.kind !== 'sent') throw new Error('not sent');
    await setupPool.query(`UPDATE verifications SET created_at = now() - interval '31 days' WHERE id = $1`, [
      old.verification.id,
    ]);
    await setupPool.query(
      `INSERT INTO calls (call_id, started_at) VALUES ('old-call', now() - interval '31 days'), ('new-call', now())`,
    );
    await setupPool.query(
      `INSERT INTO call_events (uid, call_id, at, kind) VALUES (gen_random_uuid(), 'old-call', now() - interval '31 days', 'entered')`,
    );

    const log = { info: () => undefined, warn: () => undefined };
    const runs = await Promise.all([
      runHousekeepingIfDue({ pool: a.pool, config: a.config, runner: 'a', log }),
      runHousekeepingIfDue({ pool: b.pool, config: b.config, runner: 'b', log }),
      runHousekeepingIfDue({ pool: a.pool, config: a.config, runner: 'a', log }),
    ]);
    expect(runs.filter((r) => r.ran)).toHaveLength(1);
    expect(runs.find((r) => r.ran)?.result).toMatchObject({ expired: 1, verifications: 1, calls: 1 });
    expect(await a.service.get(v.verification.id)).toMatchObject({ status: 'expired', codeHash: null });
    expect(await a.service.get(old.verification.id)).toBeNull();
    const { rows } = await setupPool.query<{ call_id: string }>('SELECT call_id FROM calls');
    expect(rows.map((r) => r.call_id)).toEqual(['new-call']);
    const { rows: events } = await setupPool.query('SELECT 1 FROM call_events');
    expect(events).toHaveLength(0);
    // Not due again for a minute, on any instance.
    expect((await runHousekeepingIfDue({ pool: b.pool, config: b.config, runner: 'b', log })).ran).toBe(
      false,
    );
    const { rows: job } = await setupPool.query<{ last_runner: string }>(
      'SELECT last_runner FROM scheduled_jobs',
    );
    expect(['a', 'b']).toContain(job[0]?.last_runner);
  });
});
