/**
 * The real VerificationService over the in-memory store, a recording delivery and a fake clock:
 * what it sends and stores, single use, expiry, the per-contact lockout across verifications,
 * and the send limits per destination, country calling code and overall. Time only moves when a
 * test advances the clock.
 */
import type { Contact, FlowSettings } from '../../../src/domain';
import { DEFAULT_SETTINGS } from '../../../src/store/config-defaults';
import { deriveCode, hashVerificationCode, unsealCode } from '../../../src/verification/verification-code';
import {
  CustomCodeRequired,
  VerificationService,
  type LimitAlarm,
  type SendResult,
} from '../../../src/verification/verification-service';
import { FakeClock } from '../../fakes/fake-clock';
import { FakeCodeDelivery } from '../../fakes/fake-code-delivery';
import { FakeFlowLogger } from '../../fakes/fake-flow-logger';
import { FakeVerificationStore } from '../../fakes/fake-verification-store';

const SECRET = 'service-test-secret';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const ALICE: Contact = { id: 7, name: 'Alice', email: 'Alice@Example.com', mobile: '+12025550188' };
const BOB: Contact = { id: 8, name: 'Bob', email: 'bob@example.com', mobile: '+12025550199' };
const CAROL: Contact = { id: 9, name: 'Carol', email: 'carol@example.com', mobile: '+12025550177' };
const NIGEL: Contact = { id: 10, name: 'Nigel', email: 'nigel@example.co.uk', mobile: '+447700900123' };
const CONTACTS = [ALICE, BOB, CAROL, NIGEL];

function setup(overrides: Partial<FlowSettings> = {}) {
  const clock = new FakeClock();
  const store = new FakeVerificationStore();
  const delivery = new FakeCodeDelivery();
  const log = new FakeFlowLogger();
  const alarms: LimitAlarm[] = [];
  const settings: FlowSettings = { ...DEFAULT_SETTINGS, ...overrides };
  let n = 0;
  const service = new VerificationService({
    store,
    delivery,
    settings: async () => ({ ...settings }),
    contactById: async (id) => CONTACTS.find((c) => c.id === id) ?? null,
    clock,
    secret: SECRET,
    log,
    alarm: (a) => alarms.push(a),
    newId: () => `VE${(++n).toString(16).padStart(32, '0')}`,
  });
  const t0 = clock.now();
  return { clock, store, delivery, log, alarms, service, t0 };
}

type Setup = ReturnType<typeof setup>;

/** The verification of a start that must have been sent. */
function sentOf(result: SendResult) {
  if (result.kind !== 'sent') throw new Error(`expected sent, got ${JSON.stringify(result)}`);
  return result.verification;
}

/** A code that is certainly not `code`: every digit shifted by one. */
function wrong(code: string): string {
  return code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
}

async function startEmail(t: Setup, contact: Contact = ALICE) {
  return sentOf(await t.service.start({ contact, channel: 'email', origin: 'api', actor: 'api:test' }));
}

/** Makes `count` failed checks for the contact, over as many verifications as maxChecks needs. */
async function fail(t: Setup, count: number, contact: Contact = ALICE): Promise<string[]> {
  const ids: string[] = [];
  let left = count;
  while (left > 0) {
    const v = await startEmail(t, contact);
    ids.push(v.id);
    const code = t.delivery.lastCode();
    for (let i = 0; i < v.maxChecks && left > 0; i++, left--) {
      const r = await t.service.check(v.id, wrong(code));
      expect(r).toMatchObject({ kind: 'checked' });
    }
  }
  return ids;
}

/** A start for Alice by email with the given origin fields. */
async function startOf(
  t: Setup,
  extra: { origin: 'inbound_call' | 'api' | 'agent'; callId?: string; actor?: string },
) {
  return sentOf(await t.service.start({ contact: ALICE, channel: 'email', ...extra }));
}

describe('start', () => {
  it('sends the code derived from the secret and the id to the contact, and stores only its hash', async () => {
    const t = setup();
    const result = await t.service.start({
      contact: ALICE,
      channel: 'email',
      origin: 'api',
      actor: 'api:ci',
    });
    const v = sentOf(result);
    expect(result).toMatchObject({ kind: 'sent', messageId: 'msg-1' });

    const code = deriveCode(SECRET, v.id, 6);
    expect(code).toMatch(/^\d{6}$/);
    expect(t.delivery.sent).toHaveLength(1);
    expect(t.delivery.sent[0]?.message).toEqual({
      channel: 'email',
      // Normalised to lower case, the form the limits count.
      contact: { ...ALICE, email: 'alice@example.com' },
      code,
      validityMinutes: 5,
      companyName: 'Example Corp',
    });

    expect(t.store.verifications).toEqual([
      {
        id: v.id,
        contactId: 7,
        channel: 'email',
        destination: 'alice@example.com',
        destinationMasked: 'a***@e***.com',
        origin: 'api',
        callId: null,
        actor: 'api:ci',
        status: 'pending',
        codeHash: hashVerificationCode(SECRET, v.id, code),
        codeLength: 6,
        customCode: false,
        createdAt: t.t0,
        expiresAt: new Date(t.t0.getTime() + 300_000),
        decidedAt: null,
        lastSentAt: t.t0,
        sends: 1,
        checks: 0,
        maxSends: 5,
        maxChecks: 3,
        failureReason: null,
      },
    ]);
  });

  it('keeps the code out of the store, the send-limit table and the log', async () => {
    const t = setup();
    await t.service.start({ contact: ALICE, channel: 'sms', origin: 'api' });
    const code = t.delivery.lastCode();
    expect(JSON.stringify(t.store.verifications)).not.toContain(code);
    // The send records hold a keyed hash of the address, never the number itself.
    const sends = JSON.stringify(t.store.sends);
    expect(sends).not.toContain(code);
    expect(sends).not.toContain('2025550188');
    expect(JSON.stringify(t.log.entries)).not.toContain(code);
    expect(JSON.stringify(t.log.entries)).not.toContain('2025550188');
  });

  it('sends an SMS to the contact mobile', async () => {
    const t = setup();
    const v = sentOf(await t.service.start({ contact: ALICE, channel: 'sms', origin: 'api' }));
    expect(v).toMatchObject({
      channel: 'sms',
      destination: '+12025550188',
      destinationMasked: '+*******0188',
    });
    expect(t.delivery.sent[0]?.message).toMatchObject({
      channel: 'sms',
      contact: { mobile: '+12025550188' },
    });
  });

  it.each([
    { origin: 'inbound_call' as const, callId: 'call-42', actor: undefined },
    { origin: 'api' as const, callId: undefined, actor: 'api:crm' },
    { origin: 'agent' as const, callId: undefined, actor: 'cli:bob' },
  ])('records origin $origin with its callId / actor', async ({ origin, callId, actor }) => {
    const t = setup();
    const v = await startOf(t, { origin, callId, actor });
    expect(t.store.verifications[0]).toMatchObject({
      id: v.id,
      origin,
      callId: callId ?? null,
      actor: actor ?? null,
    });
  });

  it('sends a customCode as given, and a check approves it', async () => {
    const t = setup();
    const v = sentOf(
      await t.service.start({ contact: ALICE, channel: 'email', origin: 'api', customCode: '97531' }),
    );
    expect(t.delivery.lastCode()).toBe('97531');
    expect(v).toMatchObject({ customCode: true, codeLength: 5 });
    expect(JSON.stringify(t.store.verifications)).not.toContain('97531');
    // The code the server would have derived is not the one that works.
    const derived = deriveCode(SECRET, v.id, 6);
    expect(await t.service.check(v.id, derived)).toMatchObject({ outcome: { kind: 'wrong', checksLeft: 2 } });
    expect(await t.service.check(v.id, '97531')).toMatchObject({ outcome: { kind: 'approved' } });
  });

  it('uses the configured code length and validity', async () => {
    const t = setup({ codeLength: 8, codeValiditySeconds: 120 });
    const v = await startEmail(t);
    expect(t.delivery.lastCode()).toMatch(/^\d{8}$/);
    expect(v.expiresAt.getTime() - t.t0.getTime()).toBe(120_000);
    expect(t.delivery.sent[0]?.message.validityMinutes).toBe(2);
  });

  it('throws when the contact has no address for the channel, and stores nothing', async () => {
    const t = setup();
    await expect(
      t.service.start({ contact: { ...ALICE, mobile: null }, channel: 'sms', origin: 'api' }),
    ).rejects.toThrow('contact 7 has no sms destination on file');
    expect(t.store.verifications).toEqual([]);
    expect(t.delivery.sent).toEqual([]);
  });

  it('fails the verification (delivery_failed) when the code cannot be sent', async () => {
    const t = setup();
    t.delivery.plan.push('fail');
    const result = await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' });
    if (result.kind !== 'delivery_failed') throw new Error(`expected delivery_failed, got ${result.kind}`);
    expect(result.verification).toMatchObject({
      status: 'failed',
      failureReason: 'delivery_failed',
      codeHash: null,
    });
    expect(t.store.verifications).toEqual([result.verification]);
    // The provider's message named the address: only the masked form is passed on.
    expect(result.error).not.toContain('alice@example.com');
    expect(result.error).toContain('a***@e***.com');
    expect(t.log.messages('warn')).toEqual(['sending the code failed']);
    // The code that never arrived cannot be used either.
    const code = t.delivery.lastCode();
    expect(await t.service.check(result.verification.id, code)).toMatchObject({
      outcome: { kind: 'decided', status: 'failed' },
    });
  });
});

describe('resend', () => {
  it('sends the same code again after the cooldown, counting the send', async () => {
    const t = setup();
    const v = await startEmail(t);
    await t.clock.advance(30_000);
    const result = await t.service.resend(v.id);
    expect(result).toMatchObject({ kind: 'sent', messageId: 'msg-2' });
    const [first, second] = t.delivery.sent.map((s) => s.message.code);
    expect(second).toBe(first);
    expect(t.store.verifications[0]).toMatchObject({
      sends: 2,
      lastSentAt: new Date(t.t0.getTime() + 30_000),
      status: 'pending',
    });
    // Validity is counted from the first send, not extended: 4.5 min left, rounded down.
    expect(t.delivery.sent[1]?.message.validityMinutes).toBe(4);
    expect(await t.service.check(v.id, first ?? '')).toMatchObject({ outcome: { kind: 'approved' } });
  });

  it('refuses within the cooldown, saying how long to wait, and sends nothing', async () => {
    const t = setup({ resendCooldownSeconds: 30 });
    const v = await startEmail(t);
    await t.clock.advance(10_000);
    expect(await t.service.resend(v.id)).toMatchObject({
      kind: 'refused',
      refusal: { error: 'rate_limited', limit: 'resend_cooldown', retryAfterSeconds: 20 },
    });
    expect(t.delivery.sent).toHaveLength(1);
    expect(t.store.verifications[0]).toMatchObject({ sends: 1, status: 'pending' });
  });

  it('stops at maxSendsPerVerification', async () => {
    const t = setup({ maxSendsPerVerification: 2, resendCooldownSeconds: 0 });
    const v = await startEmail(t);
    expect((await t.service.resend(v.id)).kind).toBe('sent');
    expect(await t.service.resend(v.id)).toMatchObject({
      kind: 'refused',
      refusal: { error: 'max_sends', message: 'max_sends: this verification was sent 2 times (limit 2)' },
    });
    expect(t.delivery.sent).toHaveLength(2);
  });

  it('needs the customCode again for a custom-code verification', async () => {
    const t = setup({ resendCooldownSeconds: 0 });
    const v = sentOf(
      await t.service.start({ contact: ALICE, channel: 'email', origin: 'api', customCode: '2468' }),
    );
    await expect(t.service.resend(v.id)).rejects.toBeInstanceOf(CustomCodeRequired);
    await expect(t.service.resend(v.id, { customCode: '1357' })).rejects.toBeInstanceOf(CustomCodeRequired);
    // Refused resends changed nothing.
    expect(t.store.verifications[0]?.sends).toBe(1);
    expect(t.delivery.sent).toHaveLength(1);
    // The same code again is sent as given.
    expect((await t.service.resend(v.id, { customCode: '2468' })).kind).toBe('sent');
    expect(t.delivery.sent.map((s) => s.message.code)).toEqual(['2468', '2468']);
  });

  // An API resend of a generated-code verification with { customCode } must not send a code the
  // stored hash can never approve (every try of it would count against the contact): it is refused.
  it('a resend of a generated-code verification always sends a code that approves', async () => {
    const t = setup({ resendCooldownSeconds: 0 });
    const v = await startEmail(t);
    const derived = t.delivery.lastCode();
    await expect(t.service.resend(v.id, { customCode: wrong(derived) })).rejects.toBeInstanceOf(
      CustomCodeRequired,
    );
    expect(t.delivery.sent).toHaveLength(1);
    // Without customCode the resend sends the code the verification accepts.
    expect((await t.service.resend(v.id)).kind).toBe('sent');
    expect(t.delivery.lastCode()).toBe(derived);
    expect(await t.service.check(v.id, t.delivery.lastCode())).toMatchObject({
      outcome: { kind: 'approved' },
    });
  });

  it('keeps the verification pending when the resend fails to deliver (the first code still works)', async () => {
    const t = setup({ resendCooldownSeconds: 0 });
    const v = await startEmail(t);
    const code = t.delivery.lastCode();
    t.delivery.plan.push('fail');
    const result = await t.service.resend(v.id);
    expect(result).toMatchObject({ kind: 'delivery_failed', verification: { status: 'pending', sends: 2 } });
    expect(t.store.verifications[0]).toMatchObject({ status: 'pending', failureReason: null });
    expect(await t.service.check(v.id, code)).toMatchObject({ outcome: { kind: 'approved' } });
  });

  it('expires a verification past its validity instead of sending', async () => {
    const t = setup();
    const v = await startEmail(t);
    await t.clock.advance(300_000);
    expect(await t.service.resend(v.id)).toMatchObject({
      kind: 'expired',
      verification: { status: 'expired' },
    });
    expect(t.store.verifications[0]?.status).toBe('expired');
    expect(t.delivery.sent).toHaveLength(1);
  });

  it('answers decided for a decided verification and not_found for an unknown id', async () => {
    const t = setup();
    const v = await startEmail(t);
    await t.service.check(v.id, t.delivery.lastCode());
    await t.clock.advance(60_000);
    expect(await t.service.resend(v.id)).toMatchObject({
      kind: 'decided',
      verification: { status: 'approved' },
    });
    expect(await t.service.resend('VE'.padEnd(34, 'f'))).toEqual({ kind: 'not_found' });
    expect(t.delivery.sent).toHaveLength(1);
  });
});

describe('check', () => {
  it('counts a wrong code against the verification and the contact', async () => {
    const t = setup();
    const v = await startEmail(t);
    const r = await t.service.check(v.id, wrong(t.delivery.lastCode()));
    expect(r).toMatchObject({ kind: 'checked', outcome: { kind: 'wrong', checksLeft: 2 } });
    expect(t.store.verifications[0]).toMatchObject({ status: 'pending', checks: 1 });
    expect(t.store.failures).toEqual([{ contactId: 7, verificationId: v.id, at: t.t0, clearedAt: null }]);
  });

  it('approves the right code and forgets its hash', async () => {
    const t = setup();
    const v = await startEmail(t);
    await t.clock.advance(42_000);
    const r = await t.service.check(v.id, t.delivery.lastCode());
    expect(r).toMatchObject({ kind: 'checked', outcome: { kind: 'approved' } });
    expect(t.store.verifications[0]).toMatchObject({
      status: 'approved',
      codeHash: null,
      checks: 1,
      decidedAt: new Date(t.t0.getTime() + 42_000),
    });
    expect(t.store.failures).toEqual([]);
    expect(t.log.messages('info')).toContain('verification approved');
  });

  it('is single use: the same right code again is "decided", not approved twice', async () => {
    const t = setup();
    const v = await startEmail(t);
    const code = t.delivery.lastCode();
    await t.service.check(v.id, code);
    expect(await t.service.check(v.id, code)).toMatchObject({
      outcome: { kind: 'decided', status: 'approved' },
      verification: { status: 'approved', checks: 1 },
    });
    expect(t.store.failures).toEqual([]);
  });

  it('ends at maxTriesPerCode: max_attempts_reached, then max_attempts even for the right code', async () => {
    const t = setup({ maxTriesPerCode: 3 });
    const v = await startEmail(t);
    const code = t.delivery.lastCode();
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.service.check(v.id, wrong(code));
      outcomes.push(r.kind === 'checked' ? r.outcome.kind : r.kind);
    }
    expect(outcomes).toEqual(['wrong', 'wrong', 'max_attempts_reached']);
    expect(t.store.verifications[0]).toMatchObject({
      status: 'max_attempts_reached',
      checks: 3,
      codeHash: null,
    });
    expect(await t.service.check(v.id, code)).toMatchObject({ outcome: { kind: 'max_attempts' } });
    expect(t.store.failures).toHaveLength(3);
  });

  it('approves 1 ms before expiry and expires at expiresAt (fake clock)', async () => {
    const early = setup();
    const v1 = await startEmail(early);
    await early.clock.advance(299_999);
    expect(await early.service.check(v1.id, early.delivery.lastCode())).toMatchObject({
      outcome: { kind: 'approved' },
    });

    const late = setup();
    const v2 = await startEmail(late);
    await late.clock.advance(300_000);
    expect(await late.service.check(v2.id, late.delivery.lastCode())).toMatchObject({
      outcome: { kind: 'expired' },
      verification: { status: 'expired', codeHash: null },
    });
    expect(late.store.verifications[0]?.status).toBe('expired');
    // An expired code is not a guess: nothing counted against the contact.
    expect(late.store.failures).toEqual([]);
  });

  it('answers not_found for an unknown id', async () => {
    const t = setup();
    expect(await t.service.check('VE'.padEnd(34, '0'), '123456')).toEqual({ kind: 'not_found' });
  });
});

describe('lockout: failed checks per contact in a rolling 24 h', () => {
  // Many starts to one address: raise the per-destination limits out of the way.
  const LOCKOUT = {
    maxTriesPerCode: 3,
    maxFailedChecksPerContact: 10,
    maxSendsPerDestinationPerHour: 100,
    maxSendsPerDestinationPerDay: 100,
  };

  it('counts failures across verifications; at the limit a start is refused as locked', async () => {
    const t = setup(LOCKOUT);
    const ids = await fail(t, 9);
    expect(ids).toHaveLength(3);
    expect(await t.service.lockState(ALICE.id)).toEqual({
      locked: false,
      failures: 9,
      limit: 10,
      until: null,
    });
    await fail(t, 1);
    const sentBefore = t.delivery.sent.length;

    const refused = await t.service.start({ contact: ALICE, channel: 'sms', origin: 'api' });
    expect(refused).toEqual({
      kind: 'refused',
      refusal: {
        error: 'locked',
        until: new Date(t.t0.getTime() + DAY),
        message: expect.stringContaining('10 failed checks in 24 h (limit 10)') as unknown,
      },
    });
    expect(t.delivery.sent).toHaveLength(sentBefore);
    expect(t.log.messages('warn')).toContain('verification refused');
    // Another contact is not affected.
    expect((await t.service.start({ contact: BOB, channel: 'email', origin: 'api' })).kind).toBe('sent');
  });

  it("refuses a pending verification's check once the contact is locked, even with the right code", async () => {
    const t = setup(LOCKOUT);
    const open = await startEmail(t);
    const code = t.delivery.lastCode();
    await fail(t, 10);
    const failures = t.store.failures.length;

    const r = await t.service.check(open.id, code);
    expect(r).toMatchObject({
      outcome: { kind: 'locked', until: new Date(t.t0.getTime() + DAY) },
      verification: { status: 'failed', failureReason: 'locked', checks: 0 },
    });
    expect(t.store.failures).toHaveLength(failures);
  });

  it('refuses a resend of a pending verification once the contact is locked', async () => {
    const t = setup(LOCKOUT);
    const open = await startEmail(t);
    await fail(t, 10);
    await t.clock.advance(60_000);
    expect(await t.service.resend(open.id)).toMatchObject({ kind: 'refused', refusal: { error: 'locked' } });
  });

  it('a new verification does not reset the count', async () => {
    const t = setup(LOCKOUT);
    await fail(t, 2);
    const fresh = await startEmail(t);
    expect((await t.service.lockState(ALICE.id)).failures).toBe(2);
    await t.service.check(fresh.id, wrong(t.delivery.lastCode()));
    expect((await t.service.lockState(ALICE.id)).failures).toBe(3);
  });

  it('an approval does not erase failures', async () => {
    const t = setup(LOCKOUT);
    await fail(t, 4);
    const v = await startEmail(t);
    expect(await t.service.check(v.id, t.delivery.lastCode())).toMatchObject({
      outcome: { kind: 'approved' },
    });
    expect(await t.service.lockState(ALICE.id)).toMatchObject({ locked: false, failures: 4 });
  });

  it('lifts by itself 24 h after the failures (not a millisecond earlier)', async () => {
    const t = setup(LOCKOUT);
    await fail(t, 10);
    await t.clock.advance(DAY - 1);
    expect(await t.service.lockState(ALICE.id)).toMatchObject({ locked: true, failures: 10 });
    expect((await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).kind).toBe('refused');
    await t.clock.advance(1);
    expect(await t.service.lockState(ALICE.id)).toEqual({
      locked: false,
      failures: 0,
      limit: 10,
      until: null,
    });
    expect((await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).kind).toBe('sent');
  });

  it('lifts when the failures spread over the day age out one by one', async () => {
    const t = setup({ ...LOCKOUT, maxFailedChecksPerContact: 3 });
    await fail(t, 1); // T0
    await t.clock.advance(2 * HOUR);
    await fail(t, 1); // T0 + 2 h
    await t.clock.advance(2 * HOUR);
    await fail(t, 1); // T0 + 4 h: locked until the first ages out
    expect((await t.service.lockState(ALICE.id)).until).toEqual(new Date(t.t0.getTime() + DAY));
    await t.clock.advance(DAY - 4 * HOUR);
    expect(await t.service.lockState(ALICE.id)).toMatchObject({ locked: false, failures: 2 });
  });

  it('lifts on unlock(contact): failures kept as evidence but cleared, send counts reset', async () => {
    const t = setup({ ...LOCKOUT, maxSendsPerDestinationPerHour: 4 });
    await fail(t, 10); // 4 sends to Alice's email
    expect((await t.service.lockState(ALICE.id)).locked).toBe(true);

    const cleared = await t.service.unlock(ALICE);
    expect(cleared).toEqual({ failuresCleared: 10, sendsCleared: 4 });
    expect(t.store.failures).toHaveLength(10);
    expect(t.store.failures.every((f) => f.clearedAt?.getTime() === t.t0.getTime())).toBe(true);
    expect(await t.service.lockState(ALICE.id)).toEqual({
      locked: false,
      failures: 0,
      limit: 10,
      until: null,
    });
    // Both the lock and the per-destination hour limit (4 reached) are gone.
    expect((await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).kind).toBe('sent');
    expect(t.log.messages('info')).toContain('contact unlocked');
  });
});

describe('send limits', () => {
  it('per destination per hour (3): the 4th is refused until the oldest send is an hour old', async () => {
    const t = setup({ maxSendsPerDestinationPerHour: 3 });
    for (let i = 0; i < 3; i++) await startEmail(t);
    const refused = await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' });
    expect(refused).toMatchObject({
      kind: 'refused',
      refusal: { error: 'rate_limited', limit: 'destination_per_hour', retryAfterSeconds: 3600 },
    });
    expect(t.delivery.sent).toHaveLength(3);
    expect(t.store.verifications).toHaveLength(3);
    // A person asking too often is not a pump: no alarm.
    expect(t.alarms).toEqual([]);
    expect(t.log.messages('error')).toEqual([]);
    // The same contact's other address has its own count.
    expect((await t.service.start({ contact: ALICE, channel: 'sms', origin: 'api' })).kind).toBe('sent');
    // The email address case does not matter: it is normalised before counting.
    const shouty = { ...ALICE, email: 'ALICE@EXAMPLE.COM' };
    expect((await t.service.start({ contact: shouty, channel: 'email', origin: 'api' })).kind).toBe(
      'refused',
    );

    await t.clock.advance(HOUR - 1);
    expect((await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).kind).toBe('refused');
    await t.clock.advance(1);
    expect((await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).kind).toBe('sent');
  });

  it('counts resends toward the per-destination limit', async () => {
    const t = setup({ maxSendsPerDestinationPerHour: 2, resendCooldownSeconds: 0 });
    const v = await startEmail(t);
    expect((await t.service.resend(v.id)).kind).toBe('sent');
    expect(await t.service.resend(v.id)).toMatchObject({
      kind: 'refused',
      refusal: { limit: 'destination_per_hour' },
      verification: { sends: 2 },
    });
    expect(t.store.verifications[0]?.sends).toBe(2);
  });

  it('per destination per day: retry after the oldest send of the day ages out', async () => {
    const t = setup({ maxSendsPerDestinationPerHour: 3, maxSendsPerDestinationPerDay: 4 });
    for (let i = 0; i < 3; i++) await startEmail(t);
    await t.clock.advance(HOUR);
    await startEmail(t);
    expect(await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).toMatchObject({
      kind: 'refused',
      refusal: { limit: 'destination_per_day', retryAfterSeconds: 23 * 3600 },
    });
    expect(t.alarms).toEqual([]);
  });

  it('per country calling code per hour: refused with an alarm, logged as an error', async () => {
    const t = setup({ maxSendsPerCountryPerHour: 2 });
    await t.service.start({ contact: ALICE, channel: 'sms', origin: 'api' });
    await t.service.start({ contact: BOB, channel: 'sms', origin: 'api' });
    const refused = await t.service.start({ contact: CAROL, channel: 'sms', origin: 'api' });
    expect(refused).toMatchObject({
      kind: 'refused',
      refusal: { error: 'rate_limited', limit: 'country_per_hour', retryAfterSeconds: 60 },
    });
    expect(t.alarms).toEqual([
      {
        limit: 'country_per_hour',
        channel: 'sms',
        message: 'rate_limited: limit of 2 codes per hour to country calling code +1 reached',
      },
    ]);
    expect(t.log.entries.filter((e) => e.level === 'error')).toEqual([
      {
        level: 'error',
        msg: 'send limit alarm: possible SMS pumping or a runaway client',
        meta: t.alarms[0],
      },
    ]);
    // Another country, and email (no country), still go out.
    expect((await t.service.start({ contact: NIGEL, channel: 'sms', origin: 'api' })).kind).toBe('sent');
    expect((await t.service.start({ contact: CAROL, channel: 'email', origin: 'api' })).kind).toBe('sent');
  });

  it('records the country calling code of each SMS send ("+1..." -> "1") and none for email', async () => {
    const t = setup();
    await t.service.start({ contact: ALICE, channel: 'sms', origin: 'api' });
    await t.service.start({ contact: NIGEL, channel: 'sms', origin: 'api' });
    await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' });
    expect(t.store.sends.map((s) => [s.channel, s.countryCode])).toEqual([
      ['sms', '1'],
      ['sms', '44'],
      ['email', null],
    ]);
    expect(t.store.sends.every((s) => /^[0-9a-f]{64}$/.test(s.destinationKey))).toBe(true);
  });

  it('overall per hour, every channel: refused with an alarm', async () => {
    const t = setup({ maxSendsPerHour: 3 });
    await startEmail(t, ALICE);
    await startEmail(t, BOB);
    await t.service.start({ contact: CAROL, channel: 'sms', origin: 'api' });
    expect(await t.service.start({ contact: NIGEL, channel: 'email', origin: 'api' })).toMatchObject({
      kind: 'refused',
      refusal: { limit: 'overall_per_hour' },
    });
    expect(t.alarms).toEqual([
      {
        limit: 'overall_per_hour',
        channel: 'email',
        message: expect.stringContaining('3 codes per hour') as unknown,
      },
    ]);
    expect(t.log.messages('error')).toEqual(['send limit alarm: possible SMS pumping or a runaway client']);
    await t.clock.advance(HOUR);
    expect((await t.service.start({ contact: NIGEL, channel: 'email', origin: 'api' })).kind).toBe('sent');
  });

  // Found at the unlocked first look, or only under the contact's lock when that look is from
  // before the failure that locked the contact (another instance): either way no send stays counted.
  it.each([
    ['at the first look', false],
    ['between the first look and its lock (the reserved send is given back)', true],
  ])('a locked contact is refused %s, and no send stays counted', async (_when, stale) => {
    const t = setup({ maxFailedChecksPerContact: 1, maxSendsPerDestinationPerHour: 100 });
    await fail(t, 1);
    const before = t.store.sends.length;
    t.store.staleFailureReads = stale;
    expect(await t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).toMatchObject({
      kind: 'refused',
      refusal: { error: 'locked' },
    });
    expect(t.store.sends).toHaveLength(before);
    expect(t.delivery.sent).toHaveLength(before);
  });

  it('a verification that cannot be inserted gives its reserved send back and the error goes up', async () => {
    const t = setup();
    t.store.behaviour.insert = 'fail';
    await expect(t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).rejects.toThrow(
      'verification insert: connection refused',
    );
    expect(t.store.sends).toEqual([]);
    expect(t.store.verifications).toEqual([]);
    expect(t.delivery.sent).toEqual([]);
  });

  it('a reservation that cannot be given back stays counted (the safe error), with a warning', async () => {
    const t = setup();
    t.store.behaviour.insert = 'fail';
    t.store.behaviour.release = 'fail';
    await expect(t.service.start({ contact: ALICE, channel: 'email', origin: 'api' })).rejects.toThrow(
      'verification insert: connection refused',
    );
    expect(t.store.sends).toHaveLength(1);
    expect(t.store.verifications).toEqual([]);
    expect(t.log.messages('warn')).toEqual([
      'a reserved send could not be given back: it counts toward the send limits for up to 24 h',
    ]);
  });

  it('a resend refused by a send limit leaves the verification as it was', async () => {
    const t = setup({ maxSendsPerHour: 1, resendCooldownSeconds: 0 });
    const v = await startEmail(t);
    expect(await t.service.resend(v.id)).toMatchObject({
      kind: 'refused',
      refusal: { limit: 'overall_per_hour' },
    });
    expect(t.store.verifications).toEqual([v]);
    expect(t.store.sends).toHaveLength(1);
  });
});

describe('cancel, get, list, lockState', () => {
  it('cancels a pending verification; its code no longer works', async () => {
    const t = setup();
    const v = await startEmail(t);
    await t.clock.advance(5000);
    expect(await t.service.cancel(v.id, 'canceled by api:test')).toEqual({
      canceled: true,
      verification: expect.objectContaining({
        status: 'canceled',
        failureReason: 'canceled by api:test',
        codeHash: null,
        decidedAt: new Date(t.t0.getTime() + 5000),
      }) as unknown,
    });
    expect(await t.service.check(v.id, t.delivery.lastCode())).toMatchObject({
      outcome: { kind: 'decided', status: 'canceled' },
    });
  });

  it('leaves a decided verification alone (canceled: false) and answers null for an unknown id', async () => {
    const t = setup();
    const v = await startEmail(t);
    await t.service.check(v.id, t.delivery.lastCode());
    expect(await t.service.cancel(v.id)).toMatchObject({
      canceled: false,
      verification: { status: 'approved', failureReason: null },
    });
    expect(t.store.verifications[0]?.status).toBe('approved');
    expect(await t.service.cancel('VE'.padEnd(34, 'a'))).toBeNull();
  });

  it('get and list read the store', async () => {
    const t = setup();
    const a = await startEmail(t, ALICE);
    await t.clock.advance(1000);
    const b = await startEmail(t, BOB);
    expect(await t.service.get(a.id)).toEqual(a);
    expect(await t.service.get('VE'.padEnd(34, 'b'))).toBeNull();
    expect((await t.service.list({})).map((v) => v.id)).toEqual([b.id, a.id]);
    expect((await t.service.list({ contactId: ALICE.id })).map((v) => v.id)).toEqual([a.id]);
  });

  it('lockState reports the failures in the window against the configured limit', async () => {
    const t = setup({ maxFailedChecksPerContact: 4 });
    expect(await t.service.lockState(ALICE.id)).toEqual({
      locked: false,
      failures: 0,
      limit: 4,
      until: null,
    });
    await fail(t, 2);
    expect(await t.service.lockState(ALICE.id)).toEqual({
      locked: false,
      failures: 2,
      limit: 4,
      until: null,
    });
    await fail(t, 2);
    expect(await t.service.lockState(ALICE.id)).toEqual({
      locked: true,
      failures: 4,
      limit: 4,
      until: new Date(t.t0.getTime() + DAY),
    });
    expect((await t.service.lockState(BOB.id)).failures).toBe(0);
  });
});

describe('call verifications (outbound voice calls)', () => {
  const INPUT = { name: 'lab-input', mode: 'input', codeSource: 'auto', codeLength: 6 } as const;
  const READ = { name: 'lab-read', mode: 'read', codeSource: 'auto', codeLength: 8 } as const;

  function withCalls(fail?: Error) {
    const s = setup();
    const placed: Array<{
      verificationId: string;
      profile: string;
      to: string;
      codeLength: number;
      sealedCode?: string;
    }> = [];
    const service = new VerificationService({
      store: s.store,
      delivery: s.delivery,
      settings: async () => ({ ...DEFAULT_SETTINGS }),
      contactById: async (id) => CONTACTS.find((c) => c.id === id) ?? null,
      clock: s.clock,
      secret: SECRET,
      log: s.log,
      calls: {
        async place(job) {
          if (fail) throw fail;
          placed.push(job);
        },
      },
    });
    return { ...s, service, placed };
  }

  it('input mode with a generated code: queued, the code shown once and checkable, nothing sent by SMS', async () => {
    const { service, placed, delivery, log } = withCalls();
    const r = await service.startCall({ contact: ALICE, to: ALICE.mobile ?? '', profile: INPUT });
    if (r.kind !== 'queued') throw new Error(JSON.stringify(r));
    expect(r.code).toMatch(/^[0-9]{6}$/);
    expect(r.verification).toMatchObject({
      channel: 'call',
      origin: 'api',
      status: 'pending',
      codeLength: 6,
    });
    expect(placed).toEqual([
      { verificationId: r.verification.id, profile: 'lab-input', to: ALICE.mobile, codeLength: 6 },
    ]);
    expect(delivery.sent).toEqual([]);
    expect(JSON.stringify(log.entries)).not.toContain(r.code ?? 'none');
    const checked = await service.check(r.verification.id, r.code ?? '');
    expect(checked).toMatchObject({ kind: 'checked', outcome: { kind: 'approved' } });
  });

  it('read mode: the code is not returned (the call says it), with the profile length', async () => {
    const { service } = withCalls();
    const r = await service.startCall({ contact: ALICE, to: ALICE.mobile ?? '', profile: READ });
    expect(r).toMatchObject({ kind: 'queued', code: null, verification: { codeLength: 8 } });
  });

  it('a call counts toward the send limits of its number, and a locked contact is refused', async () => {
    const { service } = withCalls();
    for (let i = 0; i < DEFAULT_SETTINGS.maxSendsPerDestinationPerHour; i++)
      expect((await service.startCall({ contact: BOB, to: BOB.mobile ?? '', profile: INPUT })).kind).toBe(
        'queued',
      );
    expect(await service.startCall({ contact: BOB, to: BOB.mobile ?? '', profile: INPUT })).toMatchObject({
      kind: 'refused',
      refusal: { error: 'rate_limited' },
    });
  });

  it('custom codes: required by a manual profile, refused by an auto one, sealed for the call', async () => {
    const { service, placed } = withCalls();
    const manual = { ...INPUT, codeSource: 'manual' } as const;
    await expect(
      service.startCall({ contact: ALICE, to: ALICE.mobile ?? '', profile: manual }),
    ).rejects.toThrow(CustomCodeRequired);
    await expect(
      service.startCall({ contact: ALICE, to: ALICE.mobile ?? '', profile: INPUT, customCode: '1234' }),
    ).rejects.toThrow(CustomCodeRequired);
    const read = { ...READ, codeSource: 'manual' } as const;
    const r = await service.startCall({
      contact: ALICE,
      to: ALICE.mobile ?? '',
      profile: read,
      customCode: '4711',
    });
    expect(r).toMatchObject({
      kind: 'queued',
      code: null,
      verification: { customCode: true, codeLength: 4 },
    });
    const job = placed.at(-1);
    // Sealed for the call that reads it, never in clear; only this verification's id opens it.
    expect(job?.sealedCode).toBeDefined();
    expect(job?.sealedCode).not.toContain('4711');
    expect(unsealCode(SECRET, job?.verificationId ?? '', job?.sealedCode ?? '')).toBe('4711');
    expect(() => unsealCode(SECRET, `VE${'f'.repeat(32)}`, job?.sealedCode ?? '')).toThrow();
  });

  it('a number not on file (contact null): no contact lock taken, wrong codes counted on no contact', async () => {
    const { service, store } = withCalls();
    const r = await service.startCall({ contact: null, to: '+12025550142', profile: INPUT });
    if (r.kind !== 'queued') throw new Error(JSON.stringify(r));
    expect(r.verification.contactId).toBeNull();
    for (let i = 0; i < 3; i++) await service.check(r.verification.id, '000000');
    expect(await service.check(r.verification.id, r.code ?? '')).toMatchObject({
      outcome: { kind: 'max_attempts' },
    });
    expect(store.failures).toEqual([]);
  });

  it('a call that cannot be placed fails the verification with the reason', async () => {
    const { service } = withCalls(new Error('ARI is not connected'));
    const r = await service.startCall({ contact: ALICE, to: ALICE.mobile ?? '', profile: INPUT });
    expect(r).toMatchObject({
      kind: 'failed',
      error: 'ARI is not connected',
      verification: { status: 'failed', failureReason: 'delivery_failed' },
    });
  });

  it('is not sent again by resend: a new call is a new verification', async () => {
    const { service, placed } = withCalls();
    const r = await service.startCall({ contact: ALICE, to: ALICE.mobile ?? '', profile: INPUT });
    if (r.kind !== 'queued') throw new Error('not queued');
    const again = await service.resend(r.verification.id);
    expect(again).toMatchObject({ kind: 'refused', refusal: { error: 'max_sends' } });
    expect(placed).toHaveLength(1);
  });
});
