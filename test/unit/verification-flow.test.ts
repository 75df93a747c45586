import type { CallVerbs } from '../../src/call/call-verbs';
import { CallGoneError } from '../../src/call/channel-control';
import { hashVerificationCode } from '../../src/verification/verification-code';
import type { Contact } from '../../src/domain';
import {
  ALICE,
  ALICE_ENTRY,
  CALLER,
  code,
  createFlowHarness,
  expectVariables,
  on,
  SUPPORT_ROUTE,
  type FinishedCall,
} from '../fakes/flow-harness';

const SUCCESS_DEST = '2001@pinverify-destinations:1';
const FAILED_DEST = '2901@pinverify-destinations:1';
const DEFAULT_FAILED_DEST = '2900@pinverify-destinations:1';

const SMS_ONLY: Contact = { ...ALICE, email: null };
const EMAIL_ONLY: Contact = { ...ALICE, mobile: null };

/** A second flow over the harness's fakes, for driving with a hand-made CallVerbs. */
function flow(h: ReturnType<typeof createFlowHarness>) {
  return h.flow;
}

function withContact(contact: Contact) {
  return { contacts: [{ contact, phones: [CALLER] }] };
}

describe('verification flow: success', () => {
  it('verifies by email', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);

    expect(call.outcome).toEqual({
      result: 'verified',
      reason: 'ok',
      method: 'email',
      contactId: 7,
      route: 'pinverify-support-autopin',
      destination: SUCCESS_DEST,
    });
    expect(call.playbacks).toEqual([
      ['intro', 'choose-method'],
      ['sending'],
      ['sent-email', 'enter-code'],
      ['verified'],
    ]);
    expectVariables(call, 'verified', 'ok', 'email', '7');
    expect(h.channel.continuedTo).toEqual({ exten: '2001', context: 'pinverify-destinations', priority: 1 });
    // Variables are set before the call continues, the call is answered first.
    const ops = h.channel.ops();
    expect(ops[0]).toBe('answer');
    expect(ops[ops.length - 1]).toBe('continueInDialplan');

    expect(call.audit).toEqual(['entered', 'route', 'lookup', 'choice', 'code_sent', 'attempt', 'outcome']);
    expect(h.audit.opened).toEqual({
      callId: 'call-1',
      channelId: 'chan-1',
      callerMasked: '+*******0123',
      previousHop: 'pinverify-support-autopin',
      startedAt: h.clock.now(),
    });
    expect(h.audit.details('route')).toEqual([
      { route: 'pinverify-support-autopin', routeId: 1, title: 'Support', mode: 'otp' },
    ]);
    expect(h.audit.details('lookup')).toEqual([{ count: 1 }]);
    expect(h.audit.details('choice')).toEqual([{ method: 'email', prompts: 1 }]);
    const [v] = h.verifications.verifications;
    expect(h.audit.details('code_sent')).toEqual([
      {
        channel: 'email',
        to: 'a***@e***.com',
        verificationId: v?.id,
        newCode: true,
        messageId: 'msg-1',
        sends: 1,
      },
    ]);
    expect(h.audit.details('attempt')).toEqual([{ ok: true, verificationId: v?.id }]);
    expect(h.audit.closed?.outcome).toEqual(call.outcome);
    expect(h.publisher.published).toEqual([{ ...call.outcome, callId: 'call-1', channelId: 'chan-1' }]);

    // One verification of the call, approved: its hash is gone once used (single use).
    const sentCode = h.delivery.lastCode();
    expect(sentCode).toMatch(/^\d{6}$/);
    const startedAt = h.audit.opened?.startedAt.getTime() ?? Number.NaN;
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({
        contactId: 7,
        channel: 'email',
        destination: 'alice@example.com',
        destinationMasked: 'a***@e***.com',
        origin: 'inbound_call',
        callId: 'call-1',
        status: 'approved',
        codeHash: null,
        expiresAt: new Date(startedAt + 300_000),
        sends: 1,
        checks: 1,
        maxChecks: 3,
      }),
    ]);
    expect(h.delivery.sent[0]?.message).toEqual({
      channel: 'email',
      contact: ALICE,
      code: sentCode,
      validityMinutes: 5,
      companyName: 'Example Corp',
    });
    expect(h.contacts.lookups).toEqual([{ e164: CALLER, limit: 5 }]);
  });

  it('verifies by SMS', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('2'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({
      result: 'verified',
      reason: 'ok',
      method: 'sms',
      destination: SUCCESS_DEST,
    });
    expect(call.playbacks[2]).toEqual(['sent-sms', 'enter-code']);
    expectVariables(call, 'verified', 'ok', 'sms', '7');
    expect(h.audit.details('code_sent')[0]).toMatchObject({ channel: 'sms', to: '+*******0188' });
    expect(h.delivery.sent[0]?.message.channel).toBe('sms');
  });

  it('accepts a choice and a code typed after the prompts finished', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').pressAfter('1'), on('enter-code').pressAfter(code(''))]);
    expect(call.outcome.reason).toBe('ok');
  });

  it('lets the caller choose during the intro', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('intro').press('2'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ result: 'verified', method: 'sms' });
    expect(h.channel.playbacks[0]?.state).toBe('stopped');
  });

  it('ignores the pound a caller adds after a complete code (it does not skip the next prompt)', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('111111#'),
      on('code-wrong').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(call.playbacks).toContainEqual(['code-wrong', 'enter-code']);
  });

  it('uses the route named by the Stasis argument route=', async () => {
    const other = {
      ...SUPPORT_ROUTE,
      id: 2,
      title: 'Accounting',
      previousHop: 'accounting',
      successDestination: '2002',
    };
    const h = createFlowHarness({
      routes: [SUPPORT_ROUTE, other],
      entry: { context: 'pinverify-support-autopin', args: { route: 'accounting' } },
    });
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ route: 'accounting', destination: '2002@pinverify-destinations:1' });
    expect(call.variables.__PINVERIFY_ROUTE).toBe('accounting');
    expect(h.audit.opened?.previousHop).toBe('accounting');
  });

  it('uses the default destinations when no route matches the previous hop', async () => {
    const h = createFlowHarness({ entry: { context: 'pinverify-noroute-autopin' } });
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ route: 'default', destination: '2000@pinverify-destinations:1' });
    expect(call.variables.__PINVERIFY_ROUTE).toBe('default');
    expect(h.audit.details('route')).toEqual([{ route: 'default', routeId: null, title: null, mode: 'otp' }]);
  });

  it('treats a disabled route as no route', async () => {
    const h = createFlowHarness({ routes: [{ ...SUPPORT_ROUTE, enabled: false }] });
    // The fake already skips disabled routes; make it return one anyway to test the flow's own check.
    h.config.findRoute = () => Promise.resolve({ ...SUPPORT_ROUTE, enabled: false });
    const call = await h.run([on('choose-method').press('*')]);
    expect(call.outcome).toMatchObject({ route: 'default', destination: DEFAULT_FAILED_DEST });
  });

  it('falls back to the default failed destination when the route destination is invalid', async () => {
    const h = createFlowHarness({ routes: [{ ...SUPPORT_ROUTE, successDestination: '2001@bad context' }] });
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({
      result: 'verified',
      reason: 'ok',
      destination: DEFAULT_FAILED_DEST,
    });
    expect(call.variables.__PINVERIFY_RESULT).toBe('verified');
    expect(h.log.messages('error')).toEqual(['invalid destination, using the default failed destination']);
  });

  it('falls back to the built-in destination when the settings hold invalid ones too', async () => {
    const h = createFlowHarness({
      routes: [{ ...SUPPORT_ROUTE, failedDestination: 'x y' }],
      settings: { defaultFailedDestination: '@' },
    });
    const call = await h.run([on('choose-method').press('*')]);
    expect(call.outcome.destination).toBe(DEFAULT_FAILED_DEST);
    expect(h.log.messages('error')).toHaveLength(2);
  });
});

describe('verification flow: the caller bails with *', () => {
  it('at the menu', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('*')]);
    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'caller_bailed',
      method: null,
      contactId: 7,
      route: 'pinverify-support-autopin',
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['intro', 'choose-method'], ['not-verified']]);
    expectVariables(call, 'failed', 'caller_bailed', '', '7');
    expect(h.channel.continuedTo).toEqual({ exten: '2901', context: 'pinverify-destinations', priority: 1 });
    expect(h.delivery.sent).toHaveLength(0);
    expect(h.audit.details('choice')).toEqual([{ method: null, bailed: true }]);
    expect(h.verifications.verifications).toEqual([]);
  });

  it('during the intro', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('intro').press('*')]);
    expect(call.outcome.reason).toBe('caller_bailed');
  });

  it('at code entry', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press('12*')]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'caller_bailed', method: 'email' });
    expect(call.playbacks[call.playbacks.length - 1]).toEqual(['not-verified']);
    expectVariables(call, 'failed', 'caller_bailed', 'email', '7');
    // Never checked; canceled with the call, so the emailed code is worthless now.
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', checks: 0, failureReason: 'call_ended', codeHash: null }),
    ]);
  });

  it('while the code is being sent', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('1'), on('sending').press('*')]);
    expect(call.outcome.reason).toBe('caller_bailed');
    // The * was type-ahead: the entry prompt never played.
    expect(call.prompts).not.toContain('enter-code');
  });

  it('after a wrong code', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('000000'),
      on('code-wrong').press('*'),
    ]);
    expect(call.outcome.reason).toBe('caller_bailed');
  });
});

describe('verification flow: who is calling', () => {
  it('sends an unknown number to an agent with no_match', async () => {
    const h = createFlowHarness({ entry: { callerId: '+12025550177' } });
    const call = await h.run();
    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'no_match',
      method: null,
      contactId: null,
      route: 'pinverify-support-autopin',
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['connecting']]);
    expectVariables(call, 'failed', 'no_match', '', '');
    expect(h.audit.details('lookup')).toEqual([{ count: 0 }]);
    expect(call.audit).toEqual(['entered', 'route', 'lookup', 'outcome']);
  });

  it('skips verification when two contacts share the number (multi_match)', async () => {
    const bob: Contact = { id: 8, name: 'Bob', email: 'bob@example.com', mobile: null };
    const h = createFlowHarness({ contacts: [ALICE_ENTRY, { contact: bob, phones: [CALLER] }] });
    const call = await h.run();
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'multi_match', contactId: null });
    expect(call.playbacks).toEqual([['connecting']]);
    expect(h.audit.details('lookup')).toEqual([{ count: 2, contactIds: [7, 8] }]);
    expect(h.delivery.sent).toHaveLength(0);
  });

  it('treats an anonymous caller as no_match without a lookup', async () => {
    const h = createFlowHarness({ entry: { callerId: 'Anonymous' } });
    const call = await h.run();
    expect(call.outcome.reason).toBe('no_match');
    expect(call.playbacks).toEqual([['connecting']]);
    expect(h.contacts.lookups).toEqual([]);
    expect(h.audit.details('lookup')).toEqual([{ count: 0, caller: 'anonymous' }]);
  });

  it('treats an invalid caller ID as no_match', async () => {
    const h = createFlowHarness({ entry: { callerId: '12' } });
    const call = await h.run();
    expect(call.outcome.reason).toBe('no_match');
    expect(h.audit.details('lookup')).toEqual([{ count: 0, caller: 'invalid' }]);
  });

  it('normalises a national caller ID with the default country before the lookup', async () => {
    const h = createFlowHarness({ entry: { callerId: '(202) 555-0123' } });
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.contacts.lookups).toEqual([{ e164: CALLER, limit: 5 }]);
  });

  it('fails with delivery_failed when the contact has no email and no mobile', async () => {
    const h = createFlowHarness(withContact({ ...ALICE, email: null, mobile: null }));
    const call = await h.run();
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'delivery_failed', contactId: 7 });
    expect(call.playbacks).toEqual([['not-verified']]);
  });
});

describe('verification flow: the menu', () => {
  it('gives up with no_input after maxMenuPrompts silent prompts', async () => {
    const h = createFlowHarness();
    const start = h.clock.now().getTime();
    const call = await h.run();
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'no_input', method: null });
    expect(call.playbacks).toEqual([
      ['intro', 'choose-method'],
      ['invalid-choice', 'choose-method'],
      ['invalid-choice', 'choose-method'],
      ['not-verified'],
    ]);
    // Three menu timeouts of menuTimeoutMs each.
    expect(h.clock.now().getTime() - start).toBe(15_000);
    expect(h.audit.details('choice')).toEqual([{ method: null, prompts: 3 }]);
  });

  it('re-prompts after an invalid key', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('9'),
      on('invalid-choice').press('2'),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome).toMatchObject({ result: 'verified', method: 'sms' });
    expect(h.audit.details('choice')).toEqual([{ method: 'sms', prompts: 2 }]);
  });

  it('counts invalid keys and silences together toward maxMenuPrompts', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('9'), on('invalid-choice').press('#')]);
    expect(call.outcome.reason).toBe('no_input');
    expect(call.playbacks.filter((p) => p.includes('choose-method'))).toHaveLength(3);
  });

  it('says there is no email on file when 1 is pressed without one, and re-prompts', async () => {
    const h = createFlowHarness(withContact(SMS_ONLY));
    const call = await h.run([
      on('choose-method').press('1'),
      on('no-email').press('2'),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome).toMatchObject({ result: 'verified', method: 'sms' });
    expect(call.playbacks[1]).toEqual(['no-email', 'choose-method']);
  });

  it('says there is no mobile on file when 2 is pressed without one', async () => {
    const h = createFlowHarness(withContact(EMAIL_ONLY));
    const call = await h.run([
      on('choose-method').press('2'),
      on('no-sms').press('1'),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome).toMatchObject({ result: 'verified', method: 'email' });
  });

  it('ends with no_input when the caller keeps choosing what is not on file', async () => {
    const h = createFlowHarness(withContact(SMS_ONLY));
    const call = await h.run([
      on('choose-method').press('1'),
      on('no-email').press('1'),
      on('no-email').press('1'),
    ]);
    expect(call.outcome.reason).toBe('no_input');
    expect(h.delivery.sent).toHaveLength(0);
  });
});

describe('verification flow: sending the code', () => {
  it('offers the other channel when sending fails', async () => {
    const h = createFlowHarness();
    h.delivery.plan.push('fail');
    const call = await h.run([
      on('choose-method').press('1'),
      on('send-failed').press('1'), // the failed channel now counts as not available
      on('no-email').press('2'),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok', method: 'sms' });
    expect(call.playbacks).toEqual([
      ['intro', 'choose-method'],
      ['sending'],
      ['send-failed', 'choose-method'],
      ['no-email', 'choose-method'],
      ['sending'],
      ['sent-sms', 'enter-code'],
      ['verified'],
    ]);
    expect(call.audit).toEqual([
      'entered',
      'route',
      'lookup',
      'choice',
      'send_failed',
      'choice',
      'code_sent',
      'attempt',
      'outcome',
    ]);
    const failure = h.audit.details('send_failed')[0];
    expect(failure).toMatchObject({ channel: 'email' });
    // The server's message named the address: only the masked form may remain.
    expect(String(failure?.error)).toContain('a***@e***.com');
    // The email verification failed with its send; SMS is a verification of its own.
    expect(h.verifications.verifications.map((v) => [v.channel, v.status, v.failureReason])).toEqual([
      ['email', 'failed', 'delivery_failed'],
      ['sms', 'approved', null],
    ]);
  });

  it('fails with delivery_failed when there is no other channel', async () => {
    const h = createFlowHarness(withContact(EMAIL_ONLY));
    h.delivery.plan.push('fail');
    const call = await h.run([on('choose-method').press('1')]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'delivery_failed', method: null });
    expect(call.playbacks.slice(-1)).toEqual([['send-failed', 'not-verified']]);
    expect(h.verifications.verifications.map((v) => v.status)).toEqual(['failed']);
  });

  it('fails with delivery_failed when both channels fail', async () => {
    const h = createFlowHarness();
    h.delivery.plan.push('fail', 'fail');
    const call = await h.run([on('choose-method').press('2'), on('send-failed').press('1')]);
    expect(call.outcome.reason).toBe('delivery_failed');
    expect(h.audit.details('send_failed').map((d) => d.channel)).toEqual(['sms', 'email']);
  });

  it('gives up on a send after sendTimeoutMs and aborts it', async () => {
    const h = createFlowHarness();
    h.delivery.plan.push('hang');
    const call = await h.run([
      on('choose-method').press('1'),
      on('send-failed').press('2'),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome).toMatchObject({ result: 'verified', method: 'sms' });
    expect(h.delivery.sent[0]?.signal.aborted).toBe(true);
    expect(h.delivery.sent[1]?.signal.aborted).toBe(false);
    expect(String(h.audit.details('send_failed')[0]?.error)).toContain('did not answer within 8000 ms');
  });

  it('still sends when the "please wait" prompt cannot be played', async () => {
    const h = createFlowHarness();
    h.channel.onCall = (c) => {
      if (c.op === 'startPlayback' && c.media.includes('sound:pinverify/sending')) {
        h.channel.failNext('startPlayback', new Error('ARI 500'));
      }
    };
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome.reason).toBe('ok');
    expect(call.prompts).not.toContain('sending');
    expect(h.log.messages('error')).toEqual(['playing the sending prompt failed']);
  });

  it('stops at maxSendsPerCall, counting failures', async () => {
    const h = createFlowHarness({ settings: { maxSendsPerCall: 1 } });
    h.delivery.plan.push('fail');
    const call = await h.run([on('choose-method').press('1')]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'max_sends' });
    expect(call.playbacks.slice(-1)).toEqual([['send-failed', 'not-verified']]);
    expect(h.delivery.sent).toHaveLength(1);
  });
});

describe('verification flow: code entry', () => {
  it('resends the same code on 0#', async () => {
    const h = createFlowHarness({ settings: { resendCooldownSeconds: 0 } });
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('0#'),
      on('resent').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
    const first = h.generated()[0];
    expect(h.generated()).toEqual([first, first]);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ sends: 2, status: 'approved' }),
    ]);
    expect(call.playbacks).toContainEqual(['resent', 'enter-code']);
    expect(h.audit.details('resend')).toEqual([
      {
        channel: 'email',
        to: 'a***@e***.com',
        verificationId: h.verifications.verifications[0]?.id,
        newCode: false,
        messageId: 'msg-2',
        sends: 2,
      },
    ]);
  });

  it('asks the caller to wait on 0# within the resend cooldown, and sends nothing', async () => {
    const h = createFlowHarness({ settings: { resendCooldownSeconds: 30 } });
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('0#'),
      on('resend-wait').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.delivery.sent).toHaveLength(1);
    expect(call.playbacks).toContainEqual(['resend-wait', 'enter-code']);
    expect(h.audit.details('refused')).toEqual([
      { channel: 'email', error: 'rate_limited', limit: 'resend_cooldown', kind: 'resend' },
    ]);
  });

  it('refuses a resend beyond maxSendsPerCall and goes back to entry', async () => {
    const h = createFlowHarness({ settings: { maxSendsPerCall: 2, resendCooldownSeconds: 0 } });
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('0#'),
      on('resent').press('0#'),
      on('no-more-sends').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.delivery.sent).toHaveLength(2);
    expect(call.playbacks).toContainEqual(['no-more-sends', 'enter-code']);
    expect(h.audit.details('resend')[1]).toEqual({ channel: 'email', refused: 'max_sends', sends: 2 });
  });

  it('says so when a resend fails, and the first code still works', async () => {
    const h = createFlowHarness({ settings: { resendCooldownSeconds: 0 } });
    h.delivery.plan.push('ok', 'fail');
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('0#'),
      on('send-failed').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(call.playbacks).toContainEqual(['send-failed', 'enter-code']);
  });

  it('replays the prompt on # alone without counting a try', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('#'),
      on('enter-code').press('#'),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(call.playbacks.filter((p) => p.includes('enter-code'))).toEqual([
      ['sent-email', 'enter-code'],
      ['enter-code'],
      ['enter-code'],
    ]);
    expect(h.verifications.verifications[0]?.checks).toBe(1);
  });

  it('fails with max_attempts after three wrong codes', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('000000'),
      on('code-wrong').press('111111#'),
      on('code-wrong').press('22#'), // a short entry is a try too
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'max_attempts', method: 'email' });
    expect(h.audit.details('attempt')).toMatchObject([
      { ok: false, triesLeft: 2 },
      { ok: false, triesLeft: 1 },
      { ok: false, triesLeft: 0 },
    ]);
    expect(h.verifications.verifications[0]).toMatchObject({ status: 'max_attempts_reached', checks: 3 });
    // Each wrong code counts against the contact, beyond this call.
    expect(h.verifications.failures.map((f) => f.contactId)).toEqual([7, 7, 7]);
    expect(call.playbacks.slice(-1)).toEqual([['not-verified']]);
    expectVariables(call, 'failed', 'max_attempts', 'email', '7');
    expect(h.channel.continuedTo).toEqual({ exten: '2901', context: 'pinverify-destinations', priority: 1 });
  });

  it('treats a verification whose checks are spent elsewhere as max_attempts', async () => {
    const h = createFlowHarness({ settings: { maxTriesPerCode: 1 } });
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').do(async (c) => {
        // Someone spent the only check through the API meanwhile.
        const [v] = h.verifications.verifications;
        await h.service.check(v?.id ?? '', '999999');
        c.press(code()(c));
      }),
    ]);
    expect(call.outcome.reason).toBe('max_attempts');
    expect(h.audit.details('attempt')).toMatchObject([{ ok: false, triesLeft: 0 }]);
  });

  it('takes a code ended by the inter-digit timeout as a try', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('123'),
      on('code-wrong').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.audit.details('attempt')).toMatchObject([{ ok: false, triesLeft: 2 }, { ok: true }]);
  });

  it('issues a new code on 0# after the code expired', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').do(async (c) => {
        await c.advance(301_000);
        c.press(`${c.lastCode()}#`);
      }),
      on('code-expired').press('0#'),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
    expect(call.playbacks).toContainEqual(['code-expired', 'enter-code']);
    // Announced like a first code, since it is a new one.
    expect(call.playbacks.filter((p) => p[0] === 'sent-email')).toHaveLength(2);
    const [first, second] = h.generated();
    expect(h.generated()).toHaveLength(2);
    expect(first).not.toBe(second);
    // Two verifications: the first expired, the second approved; each code hashed with its own id.
    const [v1, v2] = h.verifications.verifications;
    expect([v1?.status, v2?.status]).toEqual(['expired', 'approved']);
    expect(hashVerificationCode('test-secret', v1?.id ?? '', first ?? '')).not.toBe(
      hashVerificationCode('test-secret', v2?.id ?? '', first ?? ''),
    );
    expect(h.audit.details('expired')).toMatchObject([{ sends: 1 }]);
    expect(h.audit.details('code_sent')).toMatchObject([{ newCode: true }, { newCode: true }]);
  });

  it('issues a new code when the caller asks after the validity ran out locally', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').do(async (c) => {
        await c.advance(300_000);
        c.press('0#');
      }),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.verifications.verifications).toHaveLength(2);
  });

  it('ends with max_sends when the code expired and no send is left', async () => {
    const h = createFlowHarness({ settings: { maxSendsPerCall: 1 } });
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').do(async (c) => {
        await c.advance(301_000);
        c.press(`${c.lastCode()}#`);
      }),
    ]);
    expect(call.outcome.reason).toBe('max_sends');
    expect(call.prompts).not.toContain('code-expired');
  });

  it('gives up with no_input after maxMenuPrompts silent entry prompts', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('1')]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'no_input', method: 'email' });
    expect(call.playbacks.filter((p) => p.includes('enter-code'))).toEqual([
      ['sent-email', 'enter-code'],
      ['enter-code'],
      ['enter-code'],
    ]);
  });

  it('counts only consecutive silences', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').pressAfter(''), // silence 1
      on('enter-code').pressAfter(''), // silence 2
      on('enter-code').press('#'), // input: the count starts again
      on('enter-code').pressAfter(''),
      on('enter-code').pressAfter(''),
      on('enter-code').press(code()),
    ]);
    expect(call.outcome.reason).toBe('ok');
  });

  it('ends a call that only ever presses # (runaway guard)', async () => {
    const h = createFlowHarness();
    const hashes = Array.from({ length: 50 }, () => on('enter-code').press('#'));
    const call = await h.run([on('choose-method').press('1'), ...hashes]);
    expect(call.outcome.reason).toBe('no_input');
    expect(h.log.messages('warn')).toEqual(['code entry went round too often']);
  });

  it('treats a verification gone from the store as an internal error', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').do((c) => {
        h.verifications.remove(h.verifications.verifications[0]?.id ?? '');
        c.press(code()(c));
      }),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'internal_error' });
    expect(call.playbacks.slice(-1)).toEqual([['technical-problem', 'not-verified']]);
    expect(h.audit.details('error')).toEqual([
      { step: 'entry', error: 'Error: the verification store has no record of this call' },
    ]);
  });
});

describe('verification flow: the caller hangs up', () => {
  function expectAbandoned(h: ReturnType<typeof createFlowHarness>, call: FinishedCall, step: string) {
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'abandoned', destination: '' });
    expect(h.audit.details('hangup')).toEqual([{ step }]);
    expect(call.audit).not.toContain('outcome');
    expect(h.audit.closed?.outcome).toEqual(call.outcome);
    expect(h.publisher.published).toEqual([{ ...call.outcome, callId: 'call-1', channelId: 'chan-1' }]);
    expect(h.channel.continuedTo).toBeNull();
    // Nothing was asked of the channel after the hangup.
    expect(h.channel.attempts.length).toBe(h.channel.attemptsWhenGone);
  }

  it('during the intro', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('intro').hangup()]);
    expectAbandoned(h, call, 'menu');
    expect(call.outcome).toMatchObject({ method: null, contactId: 7 });
    expect(call.variables).toEqual({});
    expect(h.verifications.verifications).toEqual([]);
  });

  it('while the menu waits for a key', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').do((c) => {
        c.finishPrompt();
        c.hangup();
      }),
    ]);
    expectAbandoned(h, call, 'menu');
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('on answer', async () => {
    const h = createFlowHarness();
    h.channel.onCall = (c) => {
      if (c.op === 'answer') h.channel.hangupCaller();
    };
    const call = await h.run();
    expectAbandoned(h, call, 'answer');
    expect(call.outcome.contactId).toBeNull();
  });

  it('while the code is being sent (during the "please wait" prompt)', async () => {
    const h = createFlowHarness();
    h.delivery.plan.push('hang');
    const call = await h.run([on('choose-method').press('1'), on('sending').hangup()]);
    expectAbandoned(h, call, 'sending');
    expect(h.delivery.sent[0]?.signal.aborted).toBe(true);
    // The send was aborted: the verification failed, nothing pending is left behind.
    expect(h.verifications.verifications.map((v) => v.status)).toEqual(['failed']);
  });

  it('while the code is being sent, after the prompt, without waiting for the send deadline', async () => {
    const h = createFlowHarness();
    h.delivery.plan.push('hang');
    const call = await h.run([
      on('choose-method').press('1'),
      on('sending').do((c) => {
        c.finishPrompt();
        c.hangup();
      }),
    ]);
    expectAbandoned(h, call, 'sending');
    expect(h.delivery.sent[0]?.signal.aborted).toBe(true);
    expect(h.clock.now().getTime() - (h.audit.opened?.startedAt.getTime() ?? 0)).toBeLessThan(8000);
  });

  it('mid-entry', async () => {
    const h = createFlowHarness();
    const call = await h.run([on('choose-method').press('1'), on('enter-code').pressThenHangup('12')]);
    expectAbandoned(h, call, 'entry');
    expect(call.outcome).toMatchObject({ method: 'email', contactId: 7 });
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ checks: 0, status: 'canceled', failureReason: 'call_ended' }),
    ]);
  });

  it('after success, during the "verified" prompt', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press(code()),
      on('verified').hangup(),
    ]);
    expectAbandoned(h, call, 'result');
    expect(call.variables).toEqual({});
  });

  it('after success, while the variables are set', async () => {
    const h = createFlowHarness();
    h.channel.onCall = (c) => {
      if (c.op === 'setVariable' && c.name === '__PINVERIFY_METHOD') h.channel.hangupCaller();
    };
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expectAbandoned(h, call, 'variables');
    expect(Object.keys(call.variables)).toEqual(['__PINVERIFY_RESULT', '__PINVERIFY_REASON']);
  });

  it('after the outcome was published: it stays verified', async () => {
    const h = createFlowHarness();
    h.channel.onCall = (c) => {
      if (c.op === 'continueInDialplan') h.channel.hangupCaller();
    };
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
    expect(h.audit.closed?.outcome.result).toBe('verified');
    expect(h.audit.details('hangup')).toEqual([]);
    expect(h.log.messages('info')).toContain('caller hung up before the call continued');
  });
});

describe('verification flow: dependencies failing', () => {
  it('plays a technical problem and uses the route failed destination when the settings fail', async () => {
    const h = createFlowHarness();
    h.config.settingsBehaviour = 'fail';
    const call = await h.run();
    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'internal_error',
      method: null,
      contactId: null,
      route: 'pinverify-support-autopin',
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['technical-problem', 'not-verified']]);
    expectVariables(call, 'failed', 'internal_error', '', '');
    expect(h.audit.details('error')).toEqual([
      { step: 'config', error: 'Error: getSettings: connection refused' },
    ]);
    expect(h.log.messages('error')).toContain('verification failed on an internal error');
  });

  it('uses the built-in defaults when the database hangs, within one deadline', async () => {
    const h = createFlowHarness();
    h.config.settingsBehaviour = 'hang';
    h.config.routeBehaviour = 'hang';
    const start = h.clock.now().getTime();
    const call = await h.run();
    expect(call.outcome).toMatchObject({
      reason: 'internal_error',
      route: 'default',
      destination: DEFAULT_FAILED_DEST,
    });
    expect(h.clock.now().getTime() - start).toBe(3000);
    expect(String(h.audit.details('error')[0]?.error)).toContain('did not answer within 3000 ms');
  });

  it('honours dependencyTimeoutMs', async () => {
    const h = createFlowHarness({ dependencyTimeoutMs: 500 });
    h.config.routeBehaviour = 'hang';
    const start = h.clock.now().getTime();
    const call = await h.run();
    expect(call.outcome.reason).toBe('internal_error');
    expect(h.clock.now().getTime() - start).toBe(500);
  });

  it('fails safe when only the route lookup fails', async () => {
    const h = createFlowHarness();
    h.config.routeBehaviour = 'fail';
    const call = await h.run();
    expect(call.outcome).toMatchObject({
      reason: 'internal_error',
      route: 'default',
      destination: DEFAULT_FAILED_DEST,
    });
  });

  it('fails safe when the contact lookup fails', async () => {
    const h = createFlowHarness();
    h.contacts.behaviour = 'fail';
    const call = await h.run();
    expect(call.outcome).toMatchObject({ reason: 'internal_error', destination: FAILED_DEST });
  });

  it('fails safe when the verification cannot be stored', async () => {
    const h = createFlowHarness();
    h.verifications.behaviour.atomically = 'fail';
    const call = await h.run([on('choose-method').press('1')]);
    expect(call.outcome).toMatchObject({ reason: 'internal_error', method: null });
    expect(h.delivery.sent).toHaveLength(0);
    expect(h.verifications.verifications).toEqual([]);
  });

  it('fails safe when the contact lock cannot be read', async () => {
    const h = createFlowHarness();
    h.verifications.behaviour.read = 'fail';
    const call = await h.run();
    expect(call.outcome).toMatchObject({ reason: 'internal_error', destination: FAILED_DEST });
    expect(h.audit.details('error')[0]?.step).toBe('lock');
  });

  it('fails safe when the code check hangs', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').do((c) => {
        h.verifications.behaviour.atomically = 'hang';
        c.press(code()(c));
      }),
    ]);
    expect(call.outcome).toMatchObject({ reason: 'internal_error', method: 'email' });
    expect(h.audit.details('error')[0]?.step).toBe('entry');
  });

  it('carries on when the audit trail fails', async () => {
    const h = createFlowHarness();
    h.audit.behaviour = 'fail';
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
    expect(h.channel.continuedTo).not.toBeNull();
    expect(h.log.messages('warn').filter((m) => m === 'audit write failed')).toHaveLength(9);
  });

  it('does not hold the caller up when the audit trail hangs', async () => {
    const h = createFlowHarness();
    h.audit.behaviour = 'hang';
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok' });
    // The call went on right away; each audit write then timed out on its own.
    const continued = h.channel.calls.findIndex((c) => c.op === 'continueInDialplan');
    expect(continued).toBeGreaterThan(0);
    expect(h.log.messages('warn').filter((m) => m === 'audit write failed')).toHaveLength(9);
  });

  it('carries on when publishing the result fails', async () => {
    const h = createFlowHarness();
    h.publisher.behaviour = 'fail';
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.channel.continuedTo).not.toBeNull();
    expect(h.log.messages('error')).toEqual(['publishing the result failed']);
  });

  it('carries on when canceling the pending verification at the end fails', async () => {
    const h = createFlowHarness();
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').do((c) => {
        h.verifications.behaviour.atomically = 'fail';
        c.press('*');
      }),
    ]);
    expect(call.outcome.reason).toBe('caller_bailed');
    expect(h.log.messages('warn')).toEqual(['clean-up at the end of the call failed']);
  });

  it('still continues the call when the result prompt cannot be played', async () => {
    const h = createFlowHarness();
    h.channel.onCall = (c) => {
      if (c.op === 'startPlayback' && c.media.includes('sound:pinverify/verified')) {
        h.channel.failNext('startPlayback', new Error('ARI 500'));
      }
    };
    const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
    expect(call.outcome.reason).toBe('ok');
    expect(h.channel.continuedTo).not.toBeNull();
    expect(h.log.messages('error')).toEqual(['playing the result failed']);
  });

  it('hangs up when the call cannot continue in the dialplan', async () => {
    const h = createFlowHarness();
    h.channel.failNext('continueInDialplan', new Error('ARI 500'));
    const call = await h.run([on('choose-method').press('*')]);
    expect(call.outcome.reason).toBe('caller_bailed');
    expect(h.channel.ops().slice(-1)).toEqual(['hangup']);
    expect(h.log.messages('error')).toEqual(['continuing in the dialplan failed; hanging up']);
  });

  it('treats a channel failure mid-flow as an internal error', async () => {
    const h = createFlowHarness();
    h.channel.failNext('answer', new Error('ARI 500'));
    const call = await h.run();
    expect(call.outcome.reason).toBe('internal_error');
    expect(call.playbacks).toEqual([['technical-problem', 'not-verified']]);
  });

  it('treats a 404 from the channel as a hangup', async () => {
    const h = createFlowHarness();
    h.channel.failNext('answer', new CallGoneError('Channel not found'));
    const call = await h.run();
    expect(call.outcome.reason).toBe('abandoned');
    expect(h.audit.details('hangup')).toEqual([{ step: 'answer' }]);
  });

  it('never rejects, even over a call object that throws on every verb', async () => {
    const h = createFlowHarness();
    const broken = (): never => {
      throw new TypeError('broken');
    };
    const call: CallVerbs = {
      gone: false,
      whenGone: () => new Promise<void>(() => undefined),
      answer: broken,
      play: broken,
      gather: broken,
      setVariable: broken,
      continueTo: broken,
      hangup: broken,
    };
    const outcome = await flow(h).run(call, h.entry);
    // It failed before the route was known: the default failed destination.
    expect(outcome).toMatchObject({
      result: 'failed',
      reason: 'internal_error',
      destination: DEFAULT_FAILED_DEST,
    });
    expect(h.log.messages('error')).toContain('continuing in the dialplan failed; hanging up');
  });
});
