/**
 * The limits of the verification service as a caller meets them, through the whole call flow
 * (createFlowHarness): a contact locked by failed checks made anywhere hears no menu, a send
 * limit ends the call as rate_limited, wrong codes typed in a call count toward the lockout of
 * later calls, and a verification left pending by a hangup is canceled.
 */
import { ALICE, code, createFlowHarness, on, type Caller, type FlowHarness } from '../fakes/flow-harness';

const FAILED_DEST = '2901@pinverify-destinations:1';
const DAY = 24 * 3600_000;

/** Tries per code 3, lockout at 10; per-destination limits out of the way of the pre-filling. */
const LOCKOUT = {
  maxTriesPerCode: 3,
  maxFailedChecksPerContact: 10,
  maxSendsPerDestinationPerHour: 50,
  maxSendsPerDestinationPerDay: 50,
};

/** A code that is certainly not `c`: every digit shifted by one. */
function wrong(c: string): string {
  return c.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
}

/** The wrong version of the code the caller received, then '#'. */
const wrongCode = (caller: Caller) => `${wrong(caller.lastCode())}#`;

/** Makes `count` failed checks for Alice through the API, over as many verifications as needed. */
async function failThroughApi(h: FlowHarness, count: number): Promise<void> {
  let left = count;
  while (left > 0) {
    const started = await h.service.start({ contact: ALICE, channel: 'email', origin: 'api' });
    if (started.kind !== 'sent') throw new Error(`pre-fill: start was ${started.kind}`);
    const sentCode = h.delivery.lastCode();
    for (let i = 0; i < started.verification.maxChecks && left > 0; i++, left--) {
      await h.service.check(started.verification.id, wrong(sentCode));
    }
  }
}

describe('otp flow: a contact locked by failed checks', () => {
  it('hears "locked" with no menu, and nothing is sent', async () => {
    const h = createFlowHarness({ settings: LOCKOUT });
    // 10 failures over 4 verifications made through the API, before the call.
    await failThroughApi(h, 10);
    expect(h.verifications.failures).toHaveLength(10);
    const sentBefore = h.delivery.sent.length;

    const call = await h.run();

    expect(call.playbacks).toEqual([['locked', 'not-verified']]);
    expect(call.prompts).not.toContain('choose-method');
    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'locked',
      method: null,
      contactId: ALICE.id,
      route: 'pinverify-support-autopin',
      destination: FAILED_DEST,
    });
    expect(call.variables.__PINVERIFY_RESULT).toBe('failed');
    expect(call.variables.__PINVERIFY_REASON).toBe('locked');
    expect(call.audit).toEqual(['entered', 'route', 'lookup', 'refused', 'outcome']);
    expect(h.audit.details('refused')).toEqual([
      {
        error: 'locked',
        failures: 10,
        until: new Date(h.clock.now().getTime() + DAY).toISOString(),
      },
    ]);
    expect(h.delivery.sent).toHaveLength(sentBefore);
    expect(h.verifications.verifications.filter((v) => v.origin === 'inbound_call')).toEqual([]);
  });

  it('is not locked one failure below the limit', async () => {
    const h = createFlowHarness({ settings: LOCKOUT });
    await failThroughApi(h, 9);
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
  });

  it('is let in again once the failures are 24 h old', async () => {
    const h = createFlowHarness({ settings: LOCKOUT });
    await failThroughApi(h, 10);
    await h.clock.advance(DAY);
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
  });
});

describe('otp flow: a send limit reached', () => {
  it('ends the call as rate_limited when the destination had its codes for the hour', async () => {
    const h = createFlowHarness({ settings: { maxSendsPerDestinationPerHour: 1 } });
    // The one code allowed this hour went out through the API.
    const pre = await h.service.start({ contact: ALICE, channel: 'email', origin: 'api' });
    expect(pre.kind).toBe('sent');

    const call = await h.run([on('choose-method').press('1')]);

    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'rate_limited',
      method: null,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([
      ['intro', 'choose-method'],
      ['sending'],
      ['rate-limited', 'not-verified'],
    ]);
    expect(call.variables.__PINVERIFY_REASON).toBe('rate_limited');
    expect(h.audit.details('refused')).toEqual([
      { channel: 'email', error: 'rate_limited', limit: 'destination_per_hour', kind: 'start' },
    ]);
    expect(h.delivery.sent).toHaveLength(1);
  });

  it('lets the caller use the other address, which has its own count', async () => {
    const h = createFlowHarness({ settings: { maxSendsPerDestinationPerHour: 1 } });
    await h.service.start({ contact: ALICE, channel: 'email', origin: 'api' });
    const call = await h.run([on('choose-method').press('2'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ result: 'verified', method: 'sms' });
  });
});

describe('otp flow: failures in a call count toward the lockout', () => {
  it('records each wrong code against the contact, so the next call is locked', async () => {
    const h = createFlowHarness({ settings: { maxTriesPerCode: 3, maxFailedChecksPerContact: 3 } });
    const first = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press(wrongCode),
      on('code-wrong').press(wrongCode),
      on('code-wrong').press(wrongCode),
    ]);
    expect(first.outcome.reason).toBe('max_attempts');
    const [v] = h.verifications.verifications;
    expect(h.verifications.failures.map((f) => [f.contactId, f.verificationId])).toEqual([
      [ALICE.id, v?.id],
      [ALICE.id, v?.id],
      [ALICE.id, v?.id],
    ]);

    const second = await h.anotherCall(2);
    expect(second.outcome).toMatchObject({ result: 'failed', reason: 'locked', contactId: ALICE.id });
    expect(second.playbacks).toEqual([['locked', 'not-verified']]);
    expect(second.variables.__PINVERIFY_REASON).toBe('locked');
    // No new verification, no new code for the locked caller.
    expect(h.verifications.verifications).toHaveLength(1);
    expect(h.delivery.sent).toHaveLength(1);
  });

  it('without the lock, the second call gets the menu (the silent caller times out)', async () => {
    const h = createFlowHarness({ settings: { maxTriesPerCode: 3, maxFailedChecksPerContact: 4 } });
    await h.run([
      on('choose-method').press('1'),
      on('enter-code').press(wrongCode),
      on('code-wrong').press(wrongCode),
      on('code-wrong').press(wrongCode),
    ]);
    const second = await h.anotherCall(2);
    expect(second.outcome.reason).toBe('no_input');
    expect(second.playbacks[0]).toEqual(['intro', 'choose-method']);
  });

  it('a lock reached mid-call ends the call at the next check, even with the right code', async () => {
    const h = createFlowHarness({ settings: { maxTriesPerCode: 5, maxFailedChecksPerContact: 2 } });
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press(wrongCode),
      on('code-wrong').press(wrongCode), // the 2nd failure locks the contact
      on('code-wrong').press(code()),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'locked', method: 'email' });
    expect(call.playbacks.slice(-1)).toEqual([['locked', 'not-verified']]);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'failed', failureReason: 'locked', checks: 2 }),
    ]);
    expect(h.verifications.failures).toHaveLength(2);
    expect(h.audit.details('refused')).toEqual([
      { error: 'locked', verificationId: h.verifications.verifications[0]?.id },
    ]);
  });
});

describe('otp flow: hanging up', () => {
  it('cancels the pending verification; its code no longer works', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('1'), on('enter-code').hangup()]);
    expect(call.outcome.reason).toBe('abandoned');
    const [v] = h.verifications.verifications;
    expect(v).toMatchObject({ status: 'canceled', failureReason: 'call_ended', codeHash: null });
    expect(await h.service.check(v?.id ?? '', h.delivery.lastCode())).toMatchObject({
      outcome: { kind: 'decided', status: 'canceled' },
    });
  });

  it('keeps the failures typed before the hangup', async () => {
    const h = createFlowHarness();
    await h.run([
      on('choose-method').press('1'),
      on('enter-code').press(wrongCode),
      on('code-wrong').hangup(),
    ]);
    expect(h.verifications.verifications[0]).toMatchObject({ status: 'canceled', checks: 1 });
    expect(h.verifications.failures).toHaveLength(1);
    expect((await h.service.lockState(ALICE.id)).failures).toBe(1);
  });
});
