/**
 * Calls the app cannot verify because it restarted or is shutting down (src/flow/call-flow.ts):
 * a reclaimed call (found in Stasis after a restart, or arriving while the app drains) goes
 * straight to the route's failed destination as app_restarted after "connecting"; a call whose
 * session is interrupted mid-verification (drain time over) ends app_restarted without another
 * prompt, still gets its variables and is continued at the failed destination.
 */
import type { Route } from '../../src/domain';
import type { ChannelCall } from '../fakes/fake-channel';
import {
  ALICE,
  code,
  createFlowHarness,
  expectVariables,
  on,
  SUPPORT_ROUTE,
  type FlowHarness,
  type HarnessOptions,
} from '../fakes/flow-harness';

const ROUTE_NAME = 'pinverify-support-autopin';
const FAILED_DEST = '2901@pinverify-destinations:1';
const FAILED_TARGET = { exten: '2901', context: 'pinverify-destinations', priority: 1 };
const SUCCESS_TARGET = { exten: '2001', context: 'pinverify-destinations', priority: 1 };
const PIN_ROUTE: Route = { ...SUPPORT_ROUTE, mode: 'pin' };
const PIN_THEN_OTP_ROUTE: Route = { ...SUPPORT_ROUTE, mode: 'pin_then_otp' };
const PIN = '2580';

/** Interrupts the session from a step, remembering how far the channel had got. */
function interrupter(h: FlowHarness) {
  const mark = { attempts: -1 };
  return {
    act: () => {
      mark.attempts = h.channel.attempts.length;
      h.session.interrupt();
    },
    /** Channel requests made after the interrupt. */
    after: (): ChannelCall[] => {
      if (mark.attempts < 0) throw new Error('the interrupt never happened');
      return h.channel.attempts.slice(mark.attempts);
    },
  };
}

/** What every interrupted call does once the interrupt came: stop the prompt, set, continue. */
function expectRoutedAfterInterrupt(after: ChannelCall[]) {
  expect(after.map((c) => c.op)).toEqual([
    'stopPlayback',
    'setVariable',
    'setVariable',
    'setVariable',
    'setVariable',
    'setVariable',
    'continueInDialplan',
  ]);
}

function pinHarness(options: HarnessOptions = {}): FlowHarness {
  return createFlowHarness({ routes: [PIN_ROUTE], pins: { [ALICE.id]: PIN }, ...options });
}

describe('a reclaimed call', () => {
  it('goes to the failed destination as app_restarted after "connecting", verifying nothing', async () => {
    const h = createFlowHarness({ entry: { reclaimed: true } });
    const call = await h.run();

    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'app_restarted',
      method: null,
      contactId: null,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['connecting']]);
    expectVariables(call, 'failed', 'app_restarted', '', '');
    expect(h.channel.continuedTo).toEqual(FAILED_TARGET);
    expect(h.channel.ops()).toEqual([
      'answer',
      'startPlayback',
      'setVariable',
      'setVariable',
      'setVariable',
      'setVariable',
      'setVariable',
      'continueInDialplan',
    ]);
    expect(h.publisher.published).toEqual([{ ...call.outcome, callId: 'call-1', channelId: 'chan-1' }]);
    expect(call.audit).toEqual(['entered', 'route', 'reclaimed', 'outcome']);
    expect(h.audit.details('reclaimed')).toEqual([{ step: 'start' }]);
    expect(h.audit.closed?.outcome).toEqual(call.outcome);
    // No lookup, no menu, no verification, nothing sent.
    expect(h.contacts.lookups).toEqual([]);
    expect(h.verifications.verifications).toEqual([]);
    expect(h.delivery.sent).toEqual([]);
    expect(call.prompts).not.toContain('choose-method');
    expect(h.log.messages('warn')).toContain('call reclaimed after an app restart');
    expect(h.log.messages('error')).toEqual([]);
  });

  it('on a PIN route asks for no PIN', async () => {
    const h = pinHarness({ entry: { reclaimed: true } });
    const call = await h.run();
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'app_restarted',
      destination: FAILED_DEST,
    });
    expect(call.prompts).toEqual(['connecting']);
    expect(h.pins.checks).toEqual([]);
    expect(h.verifications.verifications).toEqual([]);
    expect(call.audit).toEqual(['entered', 'route', 'reclaimed', 'outcome']);
  });

  it('on a pin_then_otp route asks for nothing either', async () => {
    const h = createFlowHarness({
      routes: [PIN_THEN_OTP_ROUTE],
      pins: { [ALICE.id]: PIN },
      entry: { reclaimed: true },
    });
    const call = await h.run();
    expect(call.outcome).toMatchObject({ reason: 'app_restarted', destination: FAILED_DEST });
    expect(call.prompts).toEqual(['connecting']);
    expect(h.pins.checks).toEqual([]);
    expect(h.delivery.sent).toEqual([]);
  });

  it('without a route goes to the default failed destination', async () => {
    const h = createFlowHarness({ entry: { reclaimed: true, context: 'some-other-ivr' } });
    const call = await h.run();
    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'app_restarted',
      method: null,
      contactId: null,
      route: 'default',
      destination: '2900@pinverify-destinations:1',
    });
    expect(call.prompts).toEqual(['connecting']);
  });

  it('whose caller hangs up during "connecting" is abandoned', async () => {
    const h = createFlowHarness({ entry: { reclaimed: true } });
    const call = await h.run([on('connecting').hangup()]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'abandoned', destination: '' });
    expect(h.channel.continuedTo).toBeNull();
    expect(call.audit).toEqual(['entered', 'route', 'reclaimed', 'hangup']);
  });
});

describe('an OTP call interrupted by shutdown', () => {
  it('at the menu: app_restarted, no further prompt, variables set, continued at the failed destination', async () => {
    const h = createFlowHarness();
    const stop = interrupter(h);
    const call = await h.run([on('choose-method').do(stop.act)]);

    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'app_restarted',
      method: null,
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['intro', 'choose-method']]);
    expectRoutedAfterInterrupt(stop.after());
    expectVariables(call, 'failed', 'app_restarted', '', '7');
    expect(h.channel.continuedTo).toEqual(FAILED_TARGET);
    expect(h.publisher.published).toEqual([{ ...call.outcome, callId: 'call-1', channelId: 'chan-1' }]);
    expect(call.audit).toEqual(['entered', 'route', 'lookup', 'reclaimed', 'outcome']);
    expect(h.audit.details('reclaimed')).toEqual([{ step: 'menu', shutdown: true }]);
    expect(h.audit.closed?.outcome).toEqual(call.outcome);
    expect(h.verifications.verifications).toEqual([]);
    expect(h.delivery.sent).toEqual([]);
    expect(h.log.messages('warn')).toContain('call interrupted by shutdown');
    expect(h.log.messages('error')).toEqual([]);
  });

  it('at code entry: the pending verification is canceled', async () => {
    const h = createFlowHarness();
    const stop = interrupter(h);
    const call = await h.run([on('choose-method').press('1'), on('enter-code').do(stop.act)]);

    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'app_restarted',
      method: 'email',
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['intro', 'choose-method'], ['sending'], ['sent-email', 'enter-code']]);
    expectRoutedAfterInterrupt(stop.after());
    expectVariables(call, 'failed', 'app_restarted', 'email', '7');
    expect(h.channel.continuedTo).toEqual(FAILED_TARGET);
    expect(call.audit).toEqual(['entered', 'route', 'lookup', 'choice', 'code_sent', 'reclaimed', 'outcome']);
    expect(h.audit.details('reclaimed')).toEqual([{ step: 'entry', shutdown: true }]);
    expect(h.publisher.published).toHaveLength(1);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', checks: 0, failureReason: 'call_ended', codeHash: null }),
    ]);
  });

  it('halfway through keying the code: nothing is checked, the verification is canceled', async () => {
    const h = createFlowHarness();
    const stop = interrupter(h);
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').do((c) => {
        c.press(c.lastCode().slice(0, 3));
        stop.act();
      }),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'app_restarted', method: 'email' });
    // The first digit already stopped the prompt: nothing left to stop, nothing more played.
    expect(stop.after().filter((c) => c.op === 'startPlayback')).toEqual([]);
    expect(h.channel.continuedTo).toEqual(FAILED_TARGET);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', checks: 0, failureReason: 'call_ended' }),
    ]);
  });

  it('after a wrong code, while "that code is not correct" plays', async () => {
    const h = createFlowHarness();
    const stop = interrupter(h);
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press('000000#'),
      on('code-wrong').do(stop.act),
    ]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'app_restarted', method: 'email' });
    expect(call.playbacks[call.playbacks.length - 1]).toEqual(['code-wrong', 'enter-code']);
    expectRoutedAfterInterrupt(stop.after());
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', checks: 1, failureReason: 'call_ended' }),
    ]);
  });

  it('while "please wait" plays: no prompt after it, routed once the send is done, the code canceled', async () => {
    const h = createFlowHarness();
    const stop = interrupter(h);
    const call = await h.run([on('choose-method').press('1'), on('sending').do(stop.act)]);
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'app_restarted',
      method: 'email',
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['intro', 'choose-method'], ['sending']]);
    expectRoutedAfterInterrupt(stop.after());
    expectVariables(call, 'failed', 'app_restarted', 'email', '7');
    expect(h.audit.details('reclaimed')).toEqual([{ step: 'entry', shutdown: true }]);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ status: 'canceled', failureReason: 'call_ended' }),
    ]);
    expect(h.log.messages('error')).toEqual([]);
  });

  it('during the result prompt of a verified caller: still verified, at the success destination', async () => {
    const h = createFlowHarness();
    const stop = interrupter(h);
    const call = await h.run([
      on('choose-method').press('1'),
      on('enter-code').press(code()),
      on('verified').do(stop.act),
    ]);
    expect(call.outcome).toMatchObject({ result: 'verified', reason: 'ok', method: 'email' });
    expectRoutedAfterInterrupt(stop.after());
    expectVariables(call, 'verified', 'ok', 'email', '7');
    expect(h.channel.continuedTo).toEqual(SUCCESS_TARGET);
    expect(call.audit).not.toContain('reclaimed');
    expect(h.verifications.verifications).toEqual([expect.objectContaining({ status: 'approved' })]);
  });

  it('during the result prompt of a failed caller: keeps its own reason', async () => {
    const h = createFlowHarness();
    const stop = interrupter(h);
    const call = await h.run([on('choose-method').press('*'), on('not-verified').do(stop.act)]);
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'caller_bailed',
      destination: FAILED_DEST,
    });
    expectRoutedAfterInterrupt(stop.after());
    expectVariables(call, 'failed', 'caller_bailed', '', '7');
    expect(call.audit).not.toContain('reclaimed');
  });
});

describe('a PIN call interrupted by shutdown', () => {
  it('at PIN entry: app_restarted, no further prompt, routed, the PIN verification canceled', async () => {
    const h = pinHarness();
    const stop = interrupter(h);
    const call = await h.run([on('enter-pin').do(stop.act)]);

    expect(call.outcome).toEqual({
      result: 'failed',
      reason: 'app_restarted',
      method: null,
      contactId: ALICE.id,
      route: ROUTE_NAME,
      destination: FAILED_DEST,
    });
    expect(call.playbacks).toEqual([['enter-pin']]);
    expectRoutedAfterInterrupt(stop.after());
    expectVariables(call, 'failed', 'app_restarted', '', '7');
    expect(h.channel.continuedTo).toEqual(FAILED_TARGET);
    expect(h.publisher.published).toEqual([{ ...call.outcome, callId: 'call-1', channelId: 'chan-1' }]);
    expect(call.audit).toEqual(['entered', 'route', 'lookup', 'reclaimed', 'outcome']);
    expect(h.audit.details('reclaimed')).toEqual([{ step: 'pin', shutdown: true }]);
    expect(h.pins.checks).toEqual([]);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ channel: 'pin', status: 'canceled', checks: 0, failureReason: 'call_ended' }),
    ]);
  });

  it('after a wrong PIN: the try counted, then canceled', async () => {
    const h = pinHarness();
    const stop = interrupter(h);
    const call = await h.run([on('enter-pin').press('9137#'), on('pin-wrong').do(stop.act)]);
    expect(call.outcome).toMatchObject({ result: 'failed', reason: 'app_restarted', method: 'pin' });
    expect(call.playbacks).toEqual([['enter-pin'], ['pin-wrong', 'enter-pin']]);
    expectRoutedAfterInterrupt(stop.after());
    expectVariables(call, 'failed', 'app_restarted', 'pin', '7');
    expect(h.pins.checks).toHaveLength(1);
    expect(h.verifications.verifications).toEqual([
      expect.objectContaining({ channel: 'pin', status: 'canceled', checks: 1, failureReason: 'call_ended' }),
    ]);
  });

  it('of an unknown caller: app_restarted, not the unknown-caller reason', async () => {
    const h = pinHarness({ contacts: [] });
    const stop = interrupter(h);
    const call = await h.run([on('enter-pin').do(stop.act)]);
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'app_restarted',
      contactId: null,
      destination: FAILED_DEST,
    });
    expectRoutedAfterInterrupt(stop.after());
    expectVariables(call, 'failed', 'app_restarted', '', '');
  });

  it('on a pin_then_otp route at the code menu after the PIN: app_restarted', async () => {
    const h = createFlowHarness({ routes: [PIN_THEN_OTP_ROUTE], pins: { [ALICE.id]: PIN } });
    const stop = interrupter(h);
    const call = await h.run([on('enter-pin').press(`${PIN}#`), on('choose-method').do(stop.act)]);
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'app_restarted',
      destination: FAILED_DEST,
    });
    expect(stop.after().filter((c) => c.op === 'startPlayback')).toEqual([]);
    expect(h.channel.continuedTo).toEqual(FAILED_TARGET);
    expect(h.delivery.sent).toEqual([]);
  });
});
