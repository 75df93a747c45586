/**
 * Route mode `pin` (src/flow/pin-flow.ts) and `pin_then_otp` through the whole call flow, over
 * the flow harness's fakes and fake clock: the right PIN verifies, wrong PINs are told and
 * counted toward the contact's lockout (over calls too), an unknown, shared or anonymous number
 * is asked and hears exactly what a wrong PIN hears, the caller's keys (*, #, silence, timers),
 * hangups at every step, a PinChecker that fails or hangs, the CRM webhook source, and the PIN
 * followed by a one-time code.
 */
import type { Contact, FlowSettings, Route } from '../../src/domain';
import type { PinCheckAnswer, PinCheckRequest, PinSourceSettings } from '../../src/flow/ports';
import type { PromptName } from '../../src/flow/prompts';
import {
  ALICE,
  ALICE_ENTRY,
  CALLER,
  code,
  createFlowHarness,
  expectVariables,
  on,
  SUPPORT_ROUTE,
  type CallerStep,
  type FinishedCall,
  type FlowHarness,
  type HarnessOptions,
} from '../fakes/flow-harness';

const PIN_ROUTE: Route = { ...SUPPORT_ROUTE, mode: 'pin' };
const PIN_THEN_OTP_ROUTE: Route = { ...SUPPORT_ROUTE, mode: 'pin_then_otp' };

const SUCCESS_DEST = '2001@pinverify-destinations:1';
const FAILED_DEST = '2901@pinverify-destinations:1';
const ROUTE_NAME = 'pinverify-support-autopin';

/** Alice's PIN, and PINs that are not hers (none of them appears in a log line or a date). */
const PIN = '2580';
const WRONG = ['9137', '4862', '7359'] as const;
const UNKNOWN_CALLER = '+12025550177';

const BOB: Contact = { id: 8, name: 'Bob Example', email: 'bob@example.com', mobile: null };

const WEBHOOK: Partial<FlowSettings> = {
  pinSource: 'webhook',
  pinWebhookUrl: 'https://crm.example/pin',
  pinWebhookTimeoutMs: 3000,
};

/** A PIN route, Alice known by CALLER with PIN 2580; options override any of it. */
function pinHarness(options: HarnessOptions = {}): FlowHarness {
  return createFlowHarness({ routes: [PIN_ROUTE], pins: { [ALICE.id]: PIN }, ...options });
}

/** Three wrong PINs, each keyed while its prompt plays. */
const THREE_WRONG: CallerStep[] = [
  on('enter-pin').press(`${WRONG[0]}#`),
  on('pin-wrong').press(`${WRONG[1]}#`),
  on('pin-wrong').press(`${WRONG[2]}#`),
];

const THREE_WRONG_PLAYBACKS: PromptName[][] = [
  ['enter-pin'],
  ['pin-wrong', 'enter-pin'],
  ['pin-wrong', 'enter-pin'],
  ['not-verified'],
];

/** The CRM knows Alice's PIN 2580 and names her when it matches. */
function crmKnowsAlice(req: PinCheckRequest): PinCheckAnswer {
  return req.pin === PIN ? { match: true, contactId: ALICE.id } : { match: false, contactId: null };
}

/** Records the AbortSignal of every PIN check (the fake itself ignores it). */
function captureCheckSignals(h: FlowHarness): AbortSignal[] {
  const signals: AbortSignal[] = [];
  const check = h.pins.check.bind(h.pins);
  h.pins.check = (req: PinCheckRequest, s: PinSourceSettings, signal?: AbortSignal) => {
    if (signal) signals.push(signal);
    return check(req, s);
  };
  return signals;
}

/** `count` wrong PINs for Alice recorded through the service, as another call would. */
async function failPinsElsewhere(h: FlowHarness, count: number): Promise<void> {
  const started = await h.service.startPin({
    contact: ALICE,
    caller: CALLER,
    callId: 'call-0',
    maxTries: count,
    maxLength: 8,
  });
  if (started.kind !== 'started') throw new Error(`pre-fill: startPin was ${started.kind}`);
  for (let i = 0; i < count; i++) await h.service.checkPin(started.verification.id, false);
}

/** `count` wrong one-time codes for Alice through the API (3 checks per code). */
async function failCodesElsewhere(h: FlowHarness, count: number): Promise<void> {
  let left = count;
  while (left > 0) {
    const started = await h.service.start({ contact: ALICE, channel: 'email', origin: 'api' });
    if (started.kind !== 'sent') throw new Error(`pre-fill: start was ${started.kind}`);
    const wrongCode = h.delivery.lastCode().replace(/\d/g, (d) => String((Number(d) + 1) % 10));
    for (let i = 0; i < started.verification.maxChecks && left > 0; i++, left--) {
      await h.service.check(started.verification.id, wrongCode);
    }
  }
}

describe('pin flow: the right PIN', () => {
  it('verifies on the first try and continues at the route success destination', async () => {
    const h = pinHarness();
    const call = await h.run([on('enter-pin').press(`${PIN}#`)]);

    expect(call.outcome).toEqual({
      result: 'verified',
      reason: 'ok',
      method: 'pin',
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: SUCCESS_DEST,
    });
    expect(call.playbacks).toEqual([['enter-pin'], ['verified']]);
    expectVariables(call, 'verified', 'ok', 'pin', '7');
    expect(h.channel.continuedTo).toEqual({ exten: '2001', context: 'pinverify-destinations', priority: 1 });
    expect(call.audit).toEqual(['entered', 'route', 'lookup', 'pin_check', 'outcome']);
    expect(h.audit.details('route')).toEqual([
      { route: ROUTE_NAME, routeId: 1, title: 'Support', mode: 'pin' },
    ]);
    const [v] = h.verifications.verifications;
    expect(h.audit.details('pin_check')).toEqual([
      { ok: true, source: 'database', try: 1, triesLeft: 2, verificationId: v?.id },
    ]);
    // One PIN verification of the call: nothing sent, approved on its first check.
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({
        contactId: ALICE.id,
        channel: 'pin',
        destination: CALLER,
        destinationMasked: '+*******0123',
        origin: 'inbound_call',
        callId: 'call-1',
        status: 'approved',
        codeHash: null,
        sends: 0,
        checks: 1,
        maxChecks: 3,
        codeLength: 8,
      }),
    ]);
    expect(h.verifications.failures).toEqual([]);
    expect(h.pins.checks).toEqual([{ caller: CALLER, pin: PIN, route: ROUTE_NAME, contact: ALICE }]);
    expect(h.delivery.sent).toEqual([]);
    expect(h.publisher.published).toEqual([{ ...call.outcome, callId: 'call-1', channelId: 'chan-1' }]);
  });

  it('verifies a PIN keyed after the prompt finished', async () => {
    const h = pinHarness();
    const call = await h.run([on('enter-pin').pressAfter(`${PIN}#`)]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
  });

  it('takes a PIN of pinMaxLength digits without waiting for the pound', async () => {
    const h = pinHarness({ pins: { [ALICE.id]: '25807413' } });
    const start = h.clock.now().getTime();
    const call = await h.run([on('enter-pin').press('25807413')]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
    // No inter-digit timeout was waited for: only the short wait for more of the same entry.
    expect(h.clock.now().getTime() - start).toBe(500);
    expect(h.pins.checks.map((c) => c.pin)).toEqual(['25807413']);
  });

  it('verifies after a wrong PIN, telling the caller it was wrong', async () => {
    const h = pinHarness();
    const call = await h.run([on('enter-pin').press(`${WRONG[0]}#`), on('pin-wrong').press(`${PIN}#`)]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok', method: 'pin', contactId: 7 });
    expect(call.playbacks).toEqual([['enter-pin'], ['pin-wrong', 'enter-pin'], ['verified']]);
    expect(h.audit.details('pin_check')).toMatchObject([
      { ok: false, try: 1, triesLeft: 2 },
      { ok: true, try: 2, triesLeft: 1 },
    ]);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'approved', checks: 2 }),
    ]);
    // The wrong one still counts toward the lockout.
    expect(h.verifications.failures.map((f) => f.contactId)).toEqual([ALICE.id]);
  });

  it('keeps a pending PIN verification out of reach of the code check (not_a_code)', async () => {
    const h = pinHarness();
    let refused: unknown;
    const call = await h.run([
      on('enter-pin').do(async (c) => {
        const v = h.verifications.verifications[0];
        refused = await h.service.check(v?.id ?? '', PIN);
        c.press(`${PIN}#`);
      }),
    ]);
    expect(refused).toMatchObject({ kind: 'not_a_code', verification: { status: 'pending', checks: 0 } });
    expect(call.outcome.reason).toBe('ok');
    expect(h.verifications.verifications[0]?.checks).toBe(1);
    expect(h.verifications.failures).toEqual([]);
  });
});

describe('pin flow: wrong PINs', () => {
  it('fails with max_attempts after three, saying "wrong" between tries and not after the last', async () => {
    const h = pinHarness();
    const call = await h.run(THREE_WRONG);

    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'max_attempts',
      method: 'pin',
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual(THREE_WRONG_PLAYBACKS);
    expect(call.prompts.filter((p) => p === 'pin-wrong')).toHaveLength(2);
    expect(call.playbacks[call.playbacks.length - 1]).not.toContain('pin-wrong');
    expectVariables(call, 'failed', 'max_attempts', 'pin', '7');
    expect(h.channel.continuedTo).toEqual({ exten: '2901', context: 'pinverify-destinations', priority: 1 });
    expect(h.audit.details('pin_check')).toMatchObject([
      { ok: false, try: 1, triesLeft: 2 },
      { ok: false, try: 2, triesLeft: 1 },
      { ok: false, try: 3, triesLeft: 0 },
    ]);
    const [v] = h.verifications.verifications;
    expect(v).toMatchObject({ status: 'max_attempts_reached', checks: 3 });
    // Each wrong PIN counts against the contact, beyond this call.
    expect(h.verifications.failures.map((f) => [f.contactId, f.verificationId])).toEqual([
      [ALICE.id, v?.id],
      [ALICE.id, v?.id],
      [ALICE.id, v?.id],
    ]);
    expect(await h.service.lockState(ALICE.id)).toMatchObject({ locked: false, failures: 3 });
    expect(h.pins.checks.map((c) => c.pin)).toEqual([...WRONG]);
  });

  it.each([1, 2, 4, 5])('gives maxPinTries %i tries', async (tries) => {
    const h = pinHarness({ settings: { maxPinTries: tries } });
    const script = Array.from({ length: tries }, (_, i) =>
      on(i === 0 ? 'enter-pin' : 'pin-wrong').press(`${WRONG[i % WRONG.length]}#`),
    );
    const call = await h.run(script);
    expect(call.outcome.reason).toBe('max_attempts');
    expect(call.prompts.filter((p) => p === 'enter-pin')).toHaveLength(tries);
    expect(call.prompts.filter((p) => p === 'pin-wrong')).toHaveLength(tries - 1);
    expect(h.verifications.verifications[0]).toMatchObject({ maxChecks: tries, checks: tries });
    expect(h.verifications.failures).toHaveLength(tries);
  });

  it('locks the contact with wrong PINs over two calls: the third call hears "locked" only', async () => {
    const h = pinHarness({ settings: { maxFailedChecksPerContact: 6 } });
    const first = await h.run(THREE_WRONG);
    expect(first.outcome.reason).toBe('max_attempts');

    const second = await h.anotherCall(2, THREE_WRONG);
    expect(second.outcome).toMatchObject({ result: 'failed', reason: 'max_attempts' });
    expect(second.playbacks).toEqual(THREE_WRONG_PLAYBACKS);
    expect(h.verifications.failures).toHaveLength(6);
    expect(await h.service.lockState(ALICE.id)).toMatchObject({ locked: true, failures: 6 });

    const third = await h.anotherCall(3);
    expect(third.outcome).toEqual({
      result: 'failed',
      reason: 'locked',
      method: null,
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(third.playbacks).toEqual([['locked', 'not-verified']]);
    // Asked nothing: no PIN verification, no check.
    expect(h.verifications.verifications).toHaveLength(2);
    expect(h.pins.checks).toHaveLength(6);
  });

  it('ends a call with "locked" when the lockout is reached mid-call, even on the right PIN', async () => {
    const h = pinHarness({ settings: { maxFailedChecksPerContact: 4 } });
    await h.run(THREE_WRONG);
    const second = await h.anotherCall(2, [
      on('enter-pin').press(`${WRONG[0]}#`), // the 4th failure locks the contact
      on('pin-wrong').press(`${PIN}#`),
    ]);
    expect(second.outcome).toMatchObject({ result: 'failed', reason: 'locked', method: 'pin' });
    expect(second.playbacks).toEqual([['enter-pin'], ['pin-wrong', 'enter-pin'], ['locked', 'not-verified']]);
    expect(h.verifications.verifications[1]).toMatchObject({
      status: 'failed',
      failureReason: 'locked',
      checks: 1,
    });
    expect(h.verifications.failures).toHaveLength(4);
  });

  it.each([
    ['wrong PINs', failPinsElsewhere],
    ['wrong one-time codes', failCodesElsewhere],
  ])('refuses a contact locked by %s made elsewhere, asking nothing', async (_what, fail) => {
    // Per-destination send limits out of the way of the pre-filling.
    const h = pinHarness({
      settings: { maxSendsPerDestinationPerHour: 50, maxSendsPerDestinationPerDay: 50 },
    });
    await fail(h, 10);
    const before = h.verifications.verifications.length;
    const call = await h.run();
    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'locked',
      method: null,
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['locked', 'not-verified']]);
    expect(call.prompts).not.toContain('enter-pin');
    expectVariables(call, 'failed', 'locked', '', '7');
    expect(call.audit).toEqual(['entered', 'route', 'lookup', 'refused', 'outcome']);
    expect(h.audit.details('refused')).toMatchObject([{ error: 'locked', failures: 10 }]);
    expect(h.verifications.verifications).toHaveLength(before);
    expect(h.pins.checks).toEqual([]);
  });

  it('asks again one failure below the lockout', async () => {
    const h = pinHarness();
    await failPinsElsewhere(h, 9);
    const call = await h.run([on('enter-pin').press(`${PIN}#`)]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
  });
});

describe('pin flow: who is calling', () => {
  it('connects a contact without a PIN to an agent (no_pin), asking nothing', async () => {
    const h = pinHarness({ pins: {} });
    const call = await h.run();
    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'no_pin',
      method: null,
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['connecting']]);
    expect(call.prompts).not.toContain('enter-pin');
    expectVariables(call, 'failed', 'no_pin', '', '7');
    expect(h.audit.details('refused')).toEqual([{ error: 'no_pin' }]);
    expect(h.verifications.verifications).toEqual([]);
    expect(h.pins.checks).toEqual([]);
  });

  const known = () => pinHarness();
  const unknown = () => pinHarness({ entry: { callerId: UNKNOWN_CALLER } });
  const shared = () => pinHarness({ contacts: [ALICE_ENTRY, { contact: BOB, phones: [CALLER] }] });
  const anonymous = () => pinHarness({ entry: { callerId: 'Anonymous' } });

  it.each([
    ['an unknown number', 'no_match', unknown, UNKNOWN_CALLER],
    ['a number two contacts share', 'multi_match', shared, CALLER],
    ['an anonymous caller ID', 'no_match', anonymous, null],
  ] as const)(
    'asks %s for the PIN and tells it "wrong" just like a known contact (%s)',
    async (_who, reason, harness, caller) => {
      const reference = await known().run(THREE_WRONG);
      const h = harness();
      const call = await h.run(THREE_WRONG);

      expect(call.outcome).toEqual({
        result: 'failed',
        reason,
        method: 'pin',
        contactId: null,
        route: ROUTE_NAME,
        destination: FAILED_DEST,
      });
      expect(call.playbacks).toEqual(reference.playbacks);
      expect(call.playbacks).toEqual(THREE_WRONG_PLAYBACKS);
      expectVariables(call, 'failed', reason, 'pin', '');
      // Every try judged (the real checker against a dummy hash), nothing counted against anyone.
      expect(h.pins.checks).toEqual(WRONG.map((pin) => ({ caller, pin, route: ROUTE_NAME, contact: null })));
      expect(h.audit.details('pin_check')).toEqual([
        { ok: false, source: 'database', try: 1, triesLeft: 2 },
        { ok: false, source: 'database', try: 2, triesLeft: 1 },
        { ok: false, source: 'database', try: 3, triesLeft: 0 },
      ]);
      expect(h.verifications.verifications).toEqual([]);
      expect(h.verifications.failures).toEqual([]);
    },
  );

  it('never verifies an unknown number, even with the PIN of the contact it pretends to be', async () => {
    const h = unknown();
    const call = await h.run([
      on('enter-pin').press(`${PIN}#`),
      on('pin-wrong').press(`${PIN}#`),
      on('pin-wrong').press(`${PIN}#`),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'no_match', contactId: null });
    expect(call.playbacks).toEqual(THREE_WRONG_PLAYBACKS);
  });

  it.each([
    ['a known contact', 'caller_bailed', known],
    ['an unknown number', 'no_match', unknown],
    ['an anonymous caller ID', 'no_match', anonymous],
  ] as const)('lets %s bail with * (%s), closing alike', async (_who, reason, harness) => {
    const h = harness();
    const call = await h.run([on('enter-pin').press('12*')]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason, method: null, destination: FAILED_DEST });
    expect(call.playbacks).toEqual([['enter-pin'], ['not-verified']]);
    expect(h.audit.details('pin_check')).toEqual([{ bailed: true, tries: 0 }]);
    expect(h.pins.checks).toEqual([]);
  });

  it('bails after a wrong PIN, keeping the failure', async () => {
    const h = pinHarness();
    const call = await h.run([on('enter-pin').press(`${WRONG[0]}#`), on('pin-wrong').press('*')]);
    expect(call.outcome).toMatchObject({ reason: 'caller_bailed', method: 'pin' });
    expect(h.audit.details('pin_check')).toMatchObject([{ ok: false }, { bailed: true, tries: 1 }]);
    // Pending when the call ended: canceled, with its one failure kept.
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', failureReason: 'call_ended', checks: 1 }),
    ]);
    expect(h.verifications.failures).toHaveLength(1);
  });
});

describe('pin flow: keys and timers', () => {
  it.each([
    ['a known contact', 'no_input', () => pinHarness()],
    ['an unknown number', 'no_match', () => pinHarness({ entry: { callerId: UNKNOWN_CALLER } })],
  ] as const)('gives %s up after maxMenuPrompts silences (%s)', async (_who, reason, harness) => {
    const h = harness();
    const start = h.clock.now().getTime();
    const call = await h.run();
    expect(call.outcome).toMatchObject({ result: 'failed', reason, method: null });
    expect(call.playbacks).toEqual([['enter-pin'], ['enter-pin'], ['enter-pin'], ['not-verified']]);
    // Three first-digit timeouts of firstDigitTimeoutMs each.
    expect(h.clock.now().getTime() - start).toBe(30_000);
    expect(h.pins.checks).toEqual([]);
  });

  it('honours maxMenuPrompts for the silences', async () => {
    const h = pinHarness({ settings: { maxMenuPrompts: 1 } });
    const call = await h.run();
    expect(call.outcome.reason).toBe('no_input');
    expect(call.playbacks).toEqual([['enter-pin'], ['not-verified']]);
  });

  it('counts only consecutive silences', async () => {
    const h = pinHarness();
    const call = await h.run([
      on('enter-pin').pressAfter(''), // silence 1
      on('enter-pin').pressAfter(''), // silence 2
      on('enter-pin').press(`${WRONG[0]}#`), // a try: the count starts again
      on('pin-wrong').pressAfter(''),
      on('enter-pin').pressAfter(''),
      on('enter-pin').press(`${PIN}#`),
    ]);
    expect(call.outcome.reason).toBe('ok');
  });

  it('repeats the prompt on # alone without spending a try', async () => {
    const h = pinHarness({ settings: { maxPinTries: 1 } });
    const call = await h.run([
      on('enter-pin').press('#'),
      on('enter-pin').press('#'),
      on('enter-pin').press(`${PIN}#`),
    ]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
    expect(call.playbacks).toEqual([['enter-pin'], ['enter-pin'], ['enter-pin'], ['verified']]);
    expect(h.pins.checks).toHaveLength(1);
    expect(h.verifications.verifications[0]?.checks).toBe(1);
  });

  it('repeats only "enter your PIN" on # after a wrong PIN', async () => {
    const h = pinHarness();
    const call = await h.run([
      on('enter-pin').press(`${WRONG[0]}#`),
      on('pin-wrong').press('#'),
      on('enter-pin').press(`${WRONG[1]}#`),
      on('pin-wrong').press(`${PIN}#`),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(call.playbacks).toEqual([
      ['enter-pin'],
      ['pin-wrong', 'enter-pin'],
      ['enter-pin'],
      ['pin-wrong', 'enter-pin'],
      ['verified'],
    ]);
  });

  it('judges an entry longer than pinMaxLength as one try, not two', async () => {
    const h = pinHarness();
    // Twelve digits and the pound, keyed in one go: judged whole, as one wrong entry.
    const call = await h.run([on('enter-pin').press('963074185274#'), on('pin-wrong').press(`${PIN}#`)]);
    expect(h.pins.checks.map((c) => c.pin)).toEqual(['963074185274', PIN]);
    expect(h.verifications.failures).toHaveLength(1);
    expect(call.outcome.reason).toBe('ok');
  });

  it('ends a call that only ever presses # (runaway guard) without judging anything', async () => {
    const h = pinHarness();
    const hashes = Array.from({ length: 30 }, () => on('enter-pin').press('#'));
    const call = await h.run(hashes);
    expect(call.outcome).toMatchObject({ result: 'failed', method: null });
    expect(call.prompts.filter((p) => p === 'enter-pin')).toHaveLength(30);
    expect(h.pins.checks).toEqual([]);
    expect(h.verifications.failures).toEqual([]);
  });

  it('waits firstDigitTimeoutMs after the prompt for the first digit', async () => {
    const h = pinHarness();
    const call = await h.run([
      on('enter-pin').do(async (c) => {
        c.finishPrompt();
        await c.advance(9_999);
        c.press(`${PIN}#`);
      }),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(call.playbacks).toEqual([['enter-pin'], ['verified']]);
  });

  it('asks again once firstDigitTimeoutMs passed in silence', async () => {
    const h = pinHarness();
    const call = await h.run([
      on('enter-pin').do(async (c) => {
        c.finishPrompt();
        await c.advance(10_000);
      }),
      on('enter-pin').press(`${PIN}#`),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(call.playbacks).toEqual([['enter-pin'], ['enter-pin'], ['verified']]);
    expect(h.verifications.verifications[0]?.checks).toBe(1);
  });

  it('waits interDigitTimeoutMs between digits', async () => {
    const h = pinHarness();
    const call = await h.run([
      on('enter-pin').do(async (c) => {
        c.press(PIN.slice(0, 2));
        await c.advance(4_999);
        c.press(`${PIN.slice(2)}#`);
      }),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.pins.checks.map((c) => c.pin)).toEqual([PIN]);
  });

  it('takes the digits keyed before an inter-digit timeout as a try', async () => {
    const h = pinHarness();
    const call = await h.run([
      on('enter-pin').do(async (c) => {
        c.press(WRONG[0]);
        await c.advance(5_000);
      }),
      on('pin-wrong').press(`${PIN}#`),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.pins.checks.map((c) => c.pin)).toEqual([WRONG[0], PIN]);
    expect(h.audit.details('pin_check')).toMatchObject([{ ok: false }, { ok: true }]);
  });

  it('ends with no_input when the PIN verification expires mid-call', async () => {
    const h = pinHarness();
    const call = await h.run([
      on('enter-pin').do(async (c) => {
        await c.advance(600_000);
        c.press(`${PIN}#`);
      }),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'no_input', method: 'pin' });
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'expired', checks: 0 }),
    ]);
    expect(h.verifications.failures).toEqual([]);
  });
});

describe('pin flow: the caller hangs up', () => {
  function expectAbandoned(h: FlowHarness, call: FinishedCall, step: string) {
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'abandoned', destination: '' });
    expect(h.audit.details('hangup')).toEqual([{ step }]);
    expect(call.audit).not.toContain('outcome');
    expect(h.audit.closed?.outcome).toEqual(call.outcome);
    expect(h.publisher.published).toEqual([{ ...call.outcome, callId: 'call-1', channelId: 'chan-1' }]);
    expect(h.channel.continuedTo).toBeNull();
    expect(h.channel.attempts.length).toBe(h.channel.attemptsWhenGone);
  }

  it.each<[string, CallerStep[], string, number]>([
    ['during "enter your PIN"', [on('enter-pin').hangup()], 'pin', 0],
    ['mid-entry', [on('enter-pin').pressThenHangup('25')], 'pin', 0],
    [
      'during "that PIN is not correct"',
      [on('enter-pin').press(`${WRONG[0]}#`), on('pin-wrong').hangup()],
      'pin',
      1,
    ],
    [
      'during "not verified" after a *',
      [on('enter-pin').press('*'), on('not-verified').hangup()],
      'result',
      0,
    ],
  ])('%s: abandoned, the pending PIN verification canceled', async (_when, script, step, checks) => {
    const h = pinHarness();
    const call = await h.run(script);
    expectAbandoned(h, call, step);
    expect(call.variables).toEqual({});
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', failureReason: 'call_ended', checks }),
    ]);
    expect(h.verifications.failures).toHaveLength(checks);
  });

  it('while the PIN is being checked: abandoned at once, the check aborted', async () => {
    const h = pinHarness();
    const signals: AbortSignal[] = [];
    h.pins.check = (_req: PinCheckRequest, _s: PinSourceSettings, signal?: AbortSignal) => {
      if (signal) signals.push(signal);
      h.channel.hangupCaller();
      return new Promise<PinCheckAnswer>(() => undefined);
    };
    const start = h.clock.now().getTime();
    const call = await h.run([on('enter-pin').press(`${PIN}#`)]);
    expectAbandoned(h, call, 'pin_check');
    expect(call.outcome.method).toBe('pin');
    expect(h.clock.now().getTime() - start).toBeLessThan(3000);
    expect(signals.map((s) => s.aborted)).toEqual([true]);
    // A hangup is no check failure.
    expect(h.audit.details('pin_check')).toEqual([]);
    expect(h.audit.details('error')).toEqual([]);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', failureReason: 'call_ended', checks: 0 }),
    ]);
  });

  it('during "verified": abandoned, the approved verification stays approved', async () => {
    const h = pinHarness();
    const call = await h.run([on('enter-pin').press(`${PIN}#`), on('verified').hangup()]);
    expectAbandoned(h, call, 'result');
    expect(call.outcome).toMatchObject({ method: 'pin', contactId: ALICE.id });
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'approved', checks: 1, failureReason: null }),
    ]);
  });
});

describe('pin flow: the PinChecker failing', () => {
  it('plays a technical problem when reading whether the contact has a PIN fails', async () => {
    const h = pinHarness();
    h.pins.behaviour = 'fail';
    const call = await h.run();
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'internal_error', method: null });
    expect(call.playbacks).toEqual([['technical-problem', 'not-verified']]);
    expect(h.audit.details('error')).toEqual([
      { step: 'pin_lookup', error: 'Error: hasPin: connection refused' },
    ]);
    expect(h.verifications.verifications).toEqual([]);
  });

  it('plays a technical problem when the check fails, and never verifies', async () => {
    const h = pinHarness();
    const call = await h.run([
      on('enter-pin').do((c) => {
        h.pins.behaviour = 'fail';
        c.press(`${PIN}#`);
      }),
    ]);
    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'internal_error',
      method: 'pin',
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['enter-pin'], ['technical-problem', 'not-verified']]);
    expectVariables(call, 'failed', 'internal_error', 'pin', '7');
    expect(h.audit.details('pin_check')).toEqual([
      { source: 'database', error: 'Error: check: connection refused', try: 1 },
    ]);
    expect(h.audit.details('error')).toEqual([
      { step: 'pin_check', error: 'Error: check: connection refused' },
    ]);
    // Not a wrong PIN: nothing counted; the verification is canceled with the call.
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', failureReason: 'call_ended', checks: 0 }),
    ]);
    expect(h.verifications.failures).toEqual([]);
  });

  it('gives up on a hanging check after the dependency deadline and aborts it', async () => {
    const h = pinHarness();
    const signals = captureCheckSignals(h);
    let pressedAt = 0;
    const call = await h.run([
      on('enter-pin').do((c) => {
        h.pins.behaviour = 'hang';
        pressedAt = h.clock.now().getTime();
        c.press(`${PIN}#`);
      }),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'internal_error', method: 'pin' });
    expect(call.playbacks.slice(-1)).toEqual([['technical-problem', 'not-verified']]);
    expect((h.audit.closed?.at.getTime() ?? 0) - pressedAt).toBe(3000);
    expect(h.audit.details('error')).toEqual([
      { step: 'pin_check', error: 'DeadlineError: checking the PIN did not answer within 3000 ms' },
    ]);
    expect(signals.map((s) => s.aborted)).toEqual([true]);
    expect(h.verifications.verifications[0]).toMatchObject({ status: 'canceled', checks: 0 });
  });

  it('plays a technical problem for an unknown number too', async () => {
    const h = pinHarness({ entry: { callerId: UNKNOWN_CALLER } });
    h.pins.behaviour = 'fail';
    const call = await h.run([on('enter-pin').press(`${PIN}#`)]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'internal_error', contactId: null });
    expect(call.playbacks.slice(-1)).toEqual([['technical-problem', 'not-verified']]);
  });
});

describe('pin flow: the CRM webhook source', () => {
  it('verifies a known contact the CRM says matches', async () => {
    const h = pinHarness({ settings: WEBHOOK, pins: {} });
    h.pins.crm = crmKnowsAlice;
    const call = await h.run([on('enter-pin').press(`${PIN}#`)]);
    expect(call.outcome).toEqual({
      result: 'verified',
      reason: 'ok',
      method: 'pin',
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: SUCCESS_DEST,
    });
    expectVariables(call, 'verified', 'ok', 'pin', '7');
    expect(h.pins.checks).toEqual([{ caller: CALLER, pin: PIN, route: ROUTE_NAME, contact: ALICE }]);
    expect(h.audit.details('pin_check')).toMatchObject([{ ok: true, source: 'webhook', try: 1 }]);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ channel: 'pin', status: 'approved', checks: 1 }),
    ]);
  });

  it('verifies an unknown number as the contact the CRM names', async () => {
    const h = pinHarness({ settings: WEBHOOK, pins: {}, entry: { callerId: UNKNOWN_CALLER } });
    h.pins.crm = crmKnowsAlice;
    const call = await h.run([on('enter-pin').press(`${WRONG[0]}#`), on('pin-wrong').press(`${PIN}#`)]);
    expect(call.outcome).toMatchObject({
      result: 'verified',
      reason: 'ok',
      method: 'pin',
      contactId: ALICE.id,
      destination: SUCCESS_DEST,
    });
    expectVariables(call, 'verified', 'ok', 'pin', '7');
    expect(h.pins.checks.map((c) => [c.caller, c.contact])).toEqual([
      [UNKNOWN_CALLER, null],
      [UNKNOWN_CALLER, null],
    ]);
    expect(h.audit.details('pin_check')).toEqual([
      { ok: false, source: 'webhook', try: 1, triesLeft: 2 },
      { ok: true, source: 'webhook', try: 2, triesLeft: 1 },
    ]);
  });

  it('names the contact the CRM gives on a match for a known caller', async () => {
    const h = pinHarness({
      settings: WEBHOOK,
      pins: {},
      contacts: [ALICE_ENTRY, { contact: BOB, phones: ['+12025550199'] }],
    });
    h.pins.crm = () => ({ match: true, contactId: BOB.id });
    const call = await h.run([on('enter-pin').press(`${PIN}#`)]);
    expect(call.outcome).toMatchObject({ result: 'verified', contactId: BOB.id });
    expect(call.variables.__PINVERIFY_CONTACT_ID).toBe('8');
  });

  it.each([
    ['a known contact', {}, ALICE.id],
    ['an unknown number', { entry: { callerId: UNKNOWN_CALLER } }, null],
  ] as const)('fails %s with max_attempts after three CRM "no match"', async (_who, extra, contactId) => {
    const h = pinHarness({ settings: WEBHOOK, pins: {}, ...extra });
    h.pins.crm = crmKnowsAlice;
    const call = await h.run(THREE_WRONG);
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'max_attempts',
      method: 'pin',
      contactId,
    });
    expect(call.playbacks).toEqual(THREE_WRONG_PLAYBACKS);
    expect(h.pins.checks).toHaveLength(3);
  });

  it('counts a known contact\'s CRM "no match" toward the lockout', async () => {
    const h = pinHarness({ settings: WEBHOOK, pins: {} });
    h.pins.crm = crmKnowsAlice;
    await h.run(THREE_WRONG);
    expect(h.verifications.failures.map((f) => f.contactId)).toEqual([ALICE.id, ALICE.id, ALICE.id]);
  });

  it('asks a known contact for a PIN the CRM keeps (no no_pin refusal)', async () => {
    const h = pinHarness({ settings: WEBHOOK, pins: {} });
    h.pins.crm = crmKnowsAlice;
    const call = await h.run([on('enter-pin').press(`${PIN}#`)]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.audit.details('refused')).toEqual([]);
  });

  it('gives up on a hanging CRM after pinWebhookTimeoutMs plus a second, and aborts the request', async () => {
    const h = pinHarness({ settings: WEBHOOK, pins: {} });
    h.pins.behaviour = 'hang';
    const signals = captureCheckSignals(h);
    let pressedAt = 0;
    const call = await h.run([
      on('enter-pin').do((c) => {
        pressedAt = h.clock.now().getTime();
        c.press(`${PIN}#`);
      }),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'internal_error', method: 'pin' });
    expect(call.playbacks).toEqual([['enter-pin'], ['technical-problem', 'not-verified']]);
    expect((h.audit.closed?.at.getTime() ?? 0) - pressedAt).toBe(4000);
    expect(h.audit.details('pin_check')).toEqual([
      {
        source: 'webhook',
        error: 'DeadlineError: checking the PIN did not answer within 4000 ms',
        try: 1,
      },
    ]);
    expect(signals.map((s) => s.aborted)).toEqual([true]);
    expect(h.verifications.failures).toEqual([]);
  });

  it('follows pinWebhookTimeoutMs', async () => {
    const h = pinHarness({ settings: { ...WEBHOOK, pinWebhookTimeoutMs: 500 }, pins: {} });
    h.pins.behaviour = 'hang';
    let pressedAt = 0;
    await h.run([
      on('enter-pin').do((c) => {
        pressedAt = h.clock.now().getTime();
        c.press(`${PIN}#`);
      }),
    ]);
    expect((h.audit.closed?.at.getTime() ?? 0) - pressedAt).toBe(1500);
  });

  it('never verifies a contact locked by failed checks, even when the CRM names it for an unknown number', async () => {
    const h = pinHarness({ settings: WEBHOOK, pins: {}, entry: { callerId: UNKNOWN_CALLER } });
    await failPinsElsewhere(h, 10);
    expect((await h.service.lockState(ALICE.id)).locked).toBe(true);
    h.pins.crm = crmKnowsAlice;
    // The right PIN of a locked contact is told as wrong: the words do not reveal the lock.
    const call = await h.run([
      on('enter-pin').press(`${PIN}#`),
      on('pin-wrong').press(`${PIN}#`),
      on('pin-wrong').press(`${PIN}#`),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'max_attempts', contactId: null });
    expect(call.variables.__PINVERIFY_RESULT).toBe('failed');
    expect(call.playbacks.slice(-1)).toEqual([['not-verified']]);
    expect(h.audit.details('refused')).toMatchObject([
      { error: 'locked', contactId: ALICE.id, named: true },
      { error: 'locked', contactId: ALICE.id, named: true },
      { error: 'locked', contactId: ALICE.id, named: true },
    ]);
    expect(h.audit.details('pin_check').map((d) => d.ok)).toEqual([false, false, false]);
  });

  it('never verifies a locked contact the CRM names for a known caller', async () => {
    const h = pinHarness({
      settings: WEBHOOK,
      pins: {},
      contacts: [ALICE_ENTRY, { contact: BOB, phones: ['+12025550199'] }],
    });
    const started = await h.service.startPin({
      contact: BOB,
      caller: '+12025550199',
      callId: 'call-0',
      maxTries: 10,
      maxLength: 8,
    });
    if (started.kind !== 'started') throw new Error('pre-fill: startPin refused');
    for (let i = 0; i < 10; i++) await h.service.checkPin(started.verification.id, false);
    h.pins.crm = () => ({ match: true, contactId: BOB.id });
    const call = await h.run([
      on('enter-pin').press(`${PIN}#`),
      on('pin-wrong').press(`${PIN}#`),
      on('pin-wrong').press(`${PIN}#`),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'max_attempts', contactId: ALICE.id });
    // Counted against the caller's own contact, whose verification is not left approved.
    expect((await h.service.lockState(ALICE.id)).failures).toBe(3);
    const [v] = await h.service.list({ contactId: ALICE.id });
    expect(v?.status).toBe('max_attempts_reached');
  });
});

describe('pin_then_otp flow', () => {
  function pinThenOtp(options: HarnessOptions = {}): FlowHarness {
    return pinHarness({ routes: [PIN_THEN_OTP_ROUTE], ...options });
  }

  it.each([
    ['2', 'sms', 'pin+sms'],
    ['1', 'email', 'pin+email'],
  ] as const)(
    'verifies the right PIN, then the code sent by menu key %s (%s)',
    async (key, channel, method) => {
      const h = pinThenOtp();
      const call = await h.run([
        on('enter-pin').press(`${PIN}#`),
        on('choose-method').press(key),
        on('enter-code').press(code()),
      ]);
      expect(call.outcome).toEqual({
        result: 'verified',
        reason: 'ok',
        method,
        contactId: ALICE.id,
        route: ROUTE_NAME,
        destination: SUCCESS_DEST,
      });
      expect(call.playbacks).toEqual([
        ['enter-pin'],
        ['pin-accepted'],
        ['intro', 'choose-method'],
        ['sending'],
        [`sent-${channel}`, 'enter-code'],
        ['verified'],
      ]);
      expectVariables(call, 'verified', 'ok', method, '7');
      expect(h.audit.details('route')).toMatchObject([{ mode: 'pin_then_otp' }]);
      expect(h.verifications.verifications.map((v) => [v.channel, v.status])).toEqual([
        ['pin', 'approved'],
        [channel, 'approved'],
      ]);
      expect(h.delivery.sent.map((s) => s.message.channel)).toEqual([channel]);
    },
  );

  it('fails three wrong PINs with max_attempts and never sends a code', async () => {
    const h = pinThenOtp();
    const call = await h.run(THREE_WRONG);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'max_attempts', method: 'pin' });
    expect(call.playbacks).toEqual(THREE_WRONG_PLAYBACKS);
    expect(call.prompts).not.toContain('pin-accepted');
    expect(call.prompts).not.toContain('choose-method');
    expect(h.delivery.sent).toEqual([]);
    expect(h.verifications.verifications.map((v) => v.channel)).toEqual(['pin']);
  });

  it('ends with caller_bailed and method pin when the caller bails at the code menu', async () => {
    const h = pinThenOtp();
    const call = await h.run([on('enter-pin').press(`${PIN}#`), on('choose-method').press('*')]);
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'caller_bailed',
      method: 'pin',
      contactId: ALICE.id,
      destination: FAILED_DEST,
    });
    expectVariables(call, 'failed', 'caller_bailed', 'pin', '7');
    expect(call.playbacks.slice(-1)).toEqual([['not-verified']]);
    expect(h.delivery.sent).toEqual([]);
  });

  it('fails with max_attempts and method pin+sms after the right PIN and three wrong codes', async () => {
    const h = pinThenOtp();
    const call = await h.run([
      on('enter-pin').press(`${PIN}#`),
      on('choose-method').press('2'),
      on('enter-code').press('000000'),
      on('code-wrong').press('111111#'),
      on('code-wrong').press('222222#'),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'max_attempts', method: 'pin+sms' });
    // The wrong codes count toward the same lockout as wrong PINs.
    expect(h.verifications.failures).toHaveLength(3);
  });

  it('sends no code to a contact without a PIN (no_pin)', async () => {
    const h = pinThenOtp({ pins: {} });
    const call = await h.run();
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'no_pin', method: null });
    expect(call.playbacks).toEqual([['connecting']]);
    expect(h.delivery.sent).toEqual([]);
  });
});
