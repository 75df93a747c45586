import { runTestCall, TestCallError, type TestCallDeps } from '../../../src/test-call/run-test-call';
import type { TestCallOutcome, TestCallRequest } from '../../../src/test-call/test-call-ports';
import { FakeClock } from '../../fakes/fake-clock';
import { CODE, fakeLab, runUntilSettled, type FakeLab } from './fake-test-call-ports';

const ALICE = '+12025550101';
const ALICE_EMAIL = 'alice@example.com';

function request(over: Partial<TestCallRequest> = {}): TestCallRequest {
  return {
    caller: ALICE,
    entry: { exten: '7001', context: 'pinverify-lab-inbound' },
    press: '1',
    method: 'email',
    code: { from: 'sink' },
    codeTo: ALICE_EMAIL,
    holdMs: 0,
    timeoutMs: 60_000,
    ...over,
  };
}

interface Run {
  clock: FakeClock;
  lab: FakeLab;
  log: string[];
  start(req?: TestCallRequest, deps?: Partial<TestCallDeps>): Promise<TestCallOutcome>;
}

function setup(opts: Parameters<typeof fakeLab>[1] = {}): Run {
  const clock = new FakeClock();
  const lab = fakeLab(clock, opts);
  const log: string[] = [];
  return {
    clock,
    lab,
    log,
    start: (req = request(), deps = {}) =>
      runTestCall(req, {
        pbx: lab.pbx,
        outcomes: lab.outcomes,
        codes: lab.codes,
        clock,
        log: (s) => log.push(s),
        newId: () => 'tc-1',
        ...deps,
      }),
  };
}

async function outcomeOf(run: Run, promise: Promise<TestCallOutcome>): Promise<TestCallOutcome> {
  const p = await runUntilSettled(run.clock, promise);
  if (p.error !== undefined) throw p.error instanceof Error ? p.error : new Error('the run failed');
  return p.value as TestCallOutcome;
}

async function errorOf(run: Run, promise: Promise<TestCallOutcome>): Promise<TestCallError> {
  const p = await runUntilSettled(run.clock, promise);
  if (!(p.error instanceof TestCallError))
    throw new Error(
      `expected a TestCallError, got ${p.error instanceof Error ? p.error.message : 'an outcome'}`,
    );
  return p.error;
}

/** The engine must leave nothing behind: the leg hung up (or gone) and the watch stopped. */
function expectCleanedUp(run: Run): void {
  const leg = run.lab.pbx.legs[0];
  if (leg) expect(leg.gone).not.toBeNull();
  expect(run.lab.outcomes.watching.size).toBe(0);
  expect(run.clock.pendingTimers).toBe(0);
}

function expectNoSecrets(texts: readonly string[]): void {
  const all = texts.join('\n');
  expect(all).not.toContain(CODE);
  expect(all).not.toContain(ALICE);
  expect(all).not.toContain(ALICE_EMAIL);
}

describe('runTestCall: the verified path', () => {
  it('places the call, presses in, chooses email, keys the code from the source and reports where the call went', async () => {
    const run = setup();
    const outcome = await outcomeOf(run, run.start());

    expect(outcome).toEqual({
      result: 'verified',
      reason: 'ok',
      method: 'email',
      contact: '7',
      route: 'pinverify-support-autopin',
      destination: '2001@pinverify-destinations:1',
      reached: { context: 'pinverify-destinations', exten: '2001', priority: 1 },
      uniqueid: 'tc-1-2',
      steps: [
        'calling 7001@pinverify-lab-inbound as +*******0101',
        'the PBX answered',
        'pressed 1',
        'pinverify has the call',
        'pressed 1 (email)',
        'code arrived at a***@e***.com after 1 s',
        'keyed the code (6 digits) and #',
        'pinverify: verified/ok, method email, route pinverify-support-autopin, destination 2001@pinverify-destinations:1',
        'the call went to 2001@pinverify-destinations:1 (Verbose)',
        'hung up',
      ],
    });
    expect(run.log).toEqual(outcome.steps);
    expectNoSecrets(outcome.steps);

    const { pbx, codes } = run.lab;
    expect(pbx.originated).toEqual([
      {
        caller: ALICE,
        exten: '7001',
        context: 'pinverify-lab-inbound',
        channelId: 'tc-1',
        peerChannelId: 'tc-1-2',
        answerTimeoutMs: 60_000,
      },
    ]);
    expect(pbx.leg.dtmf).toEqual([
      { digits: '1', betweenMs: 150 },
      { digits: '1', betweenMs: 150 },
      { digits: `${CODE}#`, betweenMs: 150 },
    ]);
    expect(codes.targets).toEqual([{ method: 'email', to: ALICE_EMAIL }]);
    expect(pbx.leg.hangups).toBe(1);
    expect(pbx.closed).toBe(false); // the PBX connection belongs to the caller
    expectCleanedUp(run);
  });

  it('keys 2 for SMS and reads the code for the mobile', async () => {
    const run = setup();
    const outcome = await outcomeOf(run, run.start(request({ method: 'sms', codeTo: ALICE })));
    expect(outcome).toMatchObject({ result: 'verified', method: 'sms' });
    expect(run.lab.pbx.leg.keys()).toEqual(['1', '2', `${CODE}#`]);
    expect(run.lab.codes.targets).toEqual([{ method: 'sms', to: ALICE }]);
    expect(outcome.steps).toContain('code arrived at +*******0101 after 1 s');
    expectNoSecrets(outcome.steps);
  });

  it('does not press before the entry asks for input (a key sent while the PBX answers can be lost)', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    await run.clock.advance(499);
    expect(run.lab.pbx.leg.keys()).toEqual([]);
    await run.clock.advance(1);
    expect(run.lab.pbx.leg.keys()).toEqual(['1']);
    await outcomeOf(run, promise);
  });

  it('holds the call for holdMs once the destination is reached, then hangs up', async () => {
    const run = setup();
    const promise = run.start(request({ holdMs: 5000 }));
    await run.clock.advance(0);
    const p = await runUntilSettled(run.clock, promise);
    const outcome = p.value as TestCallOutcome;
    expect(outcome.steps.slice(-2)).toEqual(['holding the call for 5 s', 'hung up']);
    // Result at 4.7 s (see fakeLab), hold 5 s.
    expect(run.clock.now().getTime() - new FakeClock().now().getTime()).toBeGreaterThanOrEqual(9700);
  });

  it('stops holding when the PBX ends the call during the hold', async () => {
    const run = setup();
    const promise = run.start(request({ holdMs: 30_000 }));
    await run.clock.advance(0);
    const leg = run.lab.pbx.leg;
    leg.onKeys = ((orig) => (d: string) => {
      orig(d);
      if (d === `${CODE}#`) run.clock.setTimer(5000, () => leg.goAway('Normal Clearing'));
    })(leg.onKeys);
    const outcome = await outcomeOf(run, promise);
    expect(outcome.steps.slice(-2)).toEqual([
      'the PBX ended the call during the hold (Normal Clearing)',
      'the PBX ended the call (Normal Clearing)',
    ]);
    expect(run.lab.pbx.leg.hangups).toBe(0);
  });
});

describe('runTestCall: other ways the call ends', () => {
  it('bails out with * and needs no code source', async () => {
    const run = setup();
    const outcome = await outcomeOf(
      run,
      run.start(request({ method: 'bail', codeTo: undefined }), { codes: undefined }),
    );
    expect(outcome).toMatchObject({
      result: 'failed',
      reason: 'caller_bailed',
      reached: { context: 'pinverify-destinations', exten: '2901', priority: 1 },
    });
    expect(run.lab.pbx.leg.keys()).toEqual(['1', '*']);
    expect(outcome.steps).toContain('pressed * (bail out)');
    expectCleanedUp(run);
  });

  it('keys a fixed wrong code as often as asked, and never shows it', async () => {
    const run = setup();
    let wrong = 0;
    const promise = run.start(
      request({ code: { from: 'fixed', digits: '000000', times: 3 }, codeTo: undefined }),
    );
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = ((orig) => (d: string) => {
      orig(d);
      if (d === '000000#' && ++wrong === 3) {
        run.clock.setTimer(1500, () =>
          run.lab.finish({ result: 'failed', reason: 'max_attempts', method: 'email' }, { exten: '2901' }),
        );
      }
    })(run.lab.pbx.leg.onKeys);
    const outcome = await outcomeOf(run, promise);
    expect(outcome).toMatchObject({ result: 'failed', reason: 'max_attempts', reached: { exten: '2901' } });
    expect(run.lab.pbx.leg.keys()).toEqual(['1', '1', '000000#', '000000#', '000000#']);
    expect(outcome.steps).toEqual(
      expect.arrayContaining([
        'keyed the given digits (6 digits) and # (1 of 3)',
        'keyed the given digits (6 digits) and # (3 of 3)',
      ]),
    );
    expect(outcome.steps.join('\n')).not.toContain('000000');
    expect(run.lab.codes.targets).toEqual([]); // no source asked for a fixed code
  });

  it('stops repeating a fixed code once pinverify reported', async () => {
    const run = setup();
    const promise = run.start(request({ code: { from: 'fixed', digits: '123456', times: 3 } }));
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = ((orig) => (d: string) => {
      orig(d);
      if (d === '123456#') run.lab.finish({ result: 'failed', reason: 'max_attempts' }, { exten: '2901' });
    })(run.lab.pbx.leg.onKeys);
    const outcome = await outcomeOf(run, promise);
    expect(outcome.reason).toBe('max_attempts');
    expect(run.lab.pbx.leg.keys().filter((k) => k === '123456#')).toHaveLength(1);
  });

  it('reports an early result (no match) while it waits for a code, and stops waiting', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = ((orig) => (d: string) => {
      // pinverify has no contact for this caller: it ignores the key and sends the call on.
      if (run.lab.pbx.presence === 'in-app') {
        run.clock.setTimer(2000, () =>
          run.lab.finish({ result: 'failed', reason: 'no_match', contact: '' }, { exten: '2901' }),
        );
      } else orig(d);
    })(run.lab.pbx.leg.onKeys);
    const outcome = await outcomeOf(run, promise);
    expect(outcome).toMatchObject({ result: 'failed', reason: 'no_match', reached: { exten: '2901' } });
    expect(run.lab.codes.aborted).toBe(1);
    expect(outcome.steps).not.toContain('keyed the code (6 digits) and #');
    expectCleanedUp(run);
  });

  it('reports the dialplan unavailable path (app down) and finds the destination behind its Goto', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = () => {
      // Stasis() fails at once; the lab dialplan sends the event itself and jumps to the failed destination.
      run.lab.step('pinverify-support-autopin', '1', 1, 'Stasis');
      run.lab.step('pinverify-support-autopin', '1', 2, 'Gosub');
      run.lab.step('pinverify-app-unavailable', 's', 7, 'UserEvent');
      run.lab.outcomes.result('tc-1-2', {
        result: 'failed',
        reason: 'unavailable',
        route: 'pinverify-support-autopin',
        destination: '2901',
        callid: '',
      });
      run.lab.step('pinverify-app-unavailable', 's', 8, 'Goto');
      run.lab.step('pinverify-destinations', '2901', 1, 'Verbose');
    };
    const outcome = await outcomeOf(run, promise);
    expect(outcome).toMatchObject({
      result: 'failed',
      reason: 'unavailable',
      destination: '2901',
      reached: { context: 'pinverify-destinations', exten: '2901', priority: 1 },
    });
    expect(run.lab.pbx.leg.keys()).toEqual(['1']);
  });

  it('still reports the result when the PBX hung up the caller leg just before it arrived', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = ((orig) => (d: string) => {
      if (d !== `${CODE}#`) return orig(d);
      {
        run.lab.pbx.leg.goAway('Normal Clearing');
        run.clock.setTimer(1000, () => run.lab.finish({ result: 'failed', reason: 'abandoned' }));
      }
    })(run.lab.pbx.leg.onKeys);
    const outcome = await outcomeOf(run, promise);
    expect(outcome).toMatchObject({ result: 'failed', reason: 'abandoned', reached: null });
    expect(outcome.steps.slice(-2)).toEqual([
      'no dialplan step seen after the result (the call ended there, or AMI does not show "dialplan" events)',
      'the PBX ended the call (Normal Clearing)',
    ]);
    expect(run.lab.pbx.leg.hangups).toBe(0);
    expectCleanedUp(run);
  });
});

describe('runTestCall: what did not happen, said clearly', () => {
  it('the app never answers: says so when the time is up, and hangs up', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = () => undefined; // the sub-IVR takes the key, the app never gets the call
    const err = await errorOf(run, promise);
    expect(err.stage).toBe('app');
    expect(err.message).toBe(
      'the app never answered the call within 60 s: is pinverify running, and does 7001@pinverify-lab-inbound reach its Stasis()?; the call was last at s@pinverify-support-autopin:2 (BackGround)',
    );
    expect(run.clock.now().getTime() - new FakeClock().now().getTime()).toBe(60_000);
    expect(err.steps.at(-1)).toBe('hung up');
    expect(run.lab.pbx.leg.hangups).toBe(1);
    expectCleanedUp(run);
  });

  it('the app is not registered on ARI: asks whether pinverify is running', async () => {
    const run = setup();
    const promise = run.start(request({ timeoutMs: 5000 }));
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = () => (run.lab.pbx.presence = 'app-not-registered');
    const err = await errorOf(run, promise);
    expect(err.message).toBe(
      'the app never answered the call: is pinverify running? ARI has no application of that name (waited 5 s)',
    );
  });

  it('no code arrives: names the masked address and the time waited', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.codes.deliver = () => undefined; // the message never comes
    const err = await errorOf(run, promise);
    expect(err.stage).toBe('code');
    expect(err.message).toMatch(/^no code arrived at a\*\*\*@e\*\*\*\.com within 59\.\d s$/);
    expect(run.lab.codes.aborted).toBe(1);
    expectNoSecrets([err.message, ...err.steps]);
    expectCleanedUp(run);
  });

  it('no code entered by the operator', async () => {
    const run = setup();
    const promise = run.start(request({ code: { from: 'prompt' } }));
    await run.clock.advance(0);
    run.lab.codes.deliver = () => undefined;
    const err = await errorOf(run, promise);
    expect(err.message).toMatch(/^no code was entered within 59\.\d s$/);
  });

  it('no PinVerify event: says so, with where the call was', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.finish = () => undefined; // pinverify never reports
    const err = await errorOf(run, promise);
    expect(err.stage).toBe('result');
    expect(err.message).toBe(
      'no PinVerify result event within 60 s (is the AMI user allowed to read "user" events?); the call was last at 1@pinverify-support-autopin:1 (Stasis)',
    );
    expectCleanedUp(run);
  });

  it('the PBX hangs up before any result: waits a moment for a late event, then says so', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = () => run.lab.pbx.leg.goAway('Normal Clearing');
    const err = await errorOf(run, promise);
    expect(err.stage).toBe('call');
    expect(err.message).toBe(
      'the PBX hung up the call (Normal Clearing) before pinverify reported a result; the call was last at s@pinverify-support-autopin:2 (BackGround)',
    );
    expect(run.lab.pbx.leg.hangups).toBe(0);
    // Pressed at 0.5 s, then the 3 s grace for a late event.
    expect(run.clock.now().getTime() - new FakeClock().now().getTime()).toBeLessThan(4000);
    expectCleanedUp(run);
  });

  it('the PBX ends the call before answering: asks whether the entry exists', async () => {
    const run = setup({ answer: false, prompt: false });
    const promise = run.start(request({ entry: { exten: '9999', context: 'pinverify-lab-inbound' } }));
    await run.clock.advance(0);
    run.lab.pbx.leg.goAway('Unknown');
    const err = await errorOf(run, promise);
    expect(err.message).toBe(
      'the PBX ended the call before answering it (Unknown): is 9999@pinverify-lab-inbound in the dialplan?',
    );
  });

  it('the PBX never answers', async () => {
    const run = setup({ answer: false, prompt: false });
    const err = await errorOf(run, run.start(request({ timeoutMs: 10_000 })));
    expect(err.message).toMatch(/^the PBX never answered the call to 7001@pinverify-lab-inbound within 10 s/);
    expect(run.lab.pbx.leg.hangups).toBe(1);
  });

  it('the PBX refuses the originate', async () => {
    const run = setup();
    run.lab.pbx.originateError = new Error('ARI originate failed: Allocation failed');
    const err = await errorOf(run, run.start());
    expect(err.stage).toBe('call');
    expect(err.message).toBe(
      'the PBX did not take the call to 7001@pinverify-lab-inbound: ARI originate failed: Allocation failed',
    );
    expectCleanedUp(run);
  });

  it('AMI cannot follow the call: no call is placed', async () => {
    const run = setup();
    run.lab.outcomes.watchError = new Error('the AMI connection to 127.0.0.1:5038 is down');
    const err = await errorOf(run, run.start());
    expect(err.stage).toBe('result');
    expect(err.message).toBe(
      'could not follow the call on AMI: the AMI connection to 127.0.0.1:5038 is down',
    );
    expect(run.lab.pbx.originated).toEqual([]);
  });

  it('the AMI connection drops mid-call: fails at once and hangs up', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.codes.deliver = () =>
      run.lab.outcomes.error(
        'tc-1-2',
        new Error('the AMI connection to 127.0.0.1:5038 closed during the test call'),
      );
    const err = await errorOf(run, promise);
    expect(err.stage).toBe('result');
    expect(err.message).toBe(
      'lost track of the call: the AMI connection to 127.0.0.1:5038 closed during the test call',
    );
    expect(run.lab.pbx.leg.hangups).toBe(1);
    expectCleanedUp(run);
  });

  it('keying the code fails: the error never contains the code', async () => {
    const run = setup();
    const promise = run.start();
    await run.clock.advance(0);
    run.lab.codes.deliver = ((orig) => (code: string) => {
      run.lab.pbx.leg.dtmfError = new Error(`ARI sendDTMF failed: bad dtmf ${code}#`);
      orig(code);
    })(run.lab.codes.deliver.bind(run.lab.codes));
    const err = await errorOf(run, promise);
    expect(err.message).toBe('keying DTMF failed: ARI sendDTMF failed: bad dtmf ***#');
    expectNoSecrets([err.message, ...err.steps]);
  });
});

describe('runTestCall: cancelled', () => {
  it('stops waiting, hangs up and says it was cancelled', async () => {
    const run = setup();
    const abort = new AbortController();
    const promise = run.start(request(), { signal: abort.signal });
    await run.clock.advance(0);
    run.lab.codes.deliver = () => abort.abort(); // Ctrl-C while waiting for the code
    const err = await errorOf(run, promise);
    expect(err.message).toBe('the test call was cancelled');
    expect(err.steps.at(-1)).toBe('hung up');
    expect(run.lab.codes.aborted).toBe(1);
    expectCleanedUp(run);
  });

  it('places no call when cancelled before it starts', async () => {
    const run = setup();
    const abort = new AbortController();
    abort.abort();
    const err = await errorOf(run, run.start(request(), { signal: abort.signal }));
    expect(err.message).toBe('the test call was cancelled');
    expect(run.lab.pbx.originated).toEqual([]);
  });
});

describe('runTestCall: the entry key', () => {
  it('presses anyway when no input prompt shows up in the dialplan', async () => {
    const run = setup({ prompt: false });
    const outcome = await outcomeOf(run, run.start());
    expect(outcome.steps).toContain('no input prompt seen in the dialplan within 10 s; pressing anyway');
    expect(outcome.result).toBe('verified');
  });

  it('does not press when the call reached pinverify by itself (the key would be the method choice)', async () => {
    const run = setup({ prompt: false });
    run.lab.pbx.presence = 'in-app';
    const promise = run.start(request({ method: 'bail' }));
    await run.clock.advance(0);
    run.lab.pbx.leg.onKeys = (d) => {
      if (d === '*') run.lab.finish({ result: 'failed', reason: 'caller_bailed' }, { exten: '2901' });
    };
    const outcome = await outcomeOf(run, promise);
    expect(outcome.steps).toContain('the call reached pinverify without a key; not pressing 1');
    expect(run.lab.pbx.leg.keys()).toEqual(['*']);
  });

  it('presses nothing with press: null and waits for the sub-IVR to hand the call over', async () => {
    const run = setup();
    const promise = run.start(request({ press: null, method: 'bail' }));
    await run.clock.advance(0);
    run.clock.setTimer(6500, () => run.lab.pbx.leg.onKeys('1')); // the sub-IVR's no-input timeout
    const outcome = await outcomeOf(run, promise);
    expect(outcome.reason).toBe('caller_bailed');
    expect(run.lab.pbx.leg.keys()).toEqual(['*']);
  });
});

describe('runTestCall: requests it refuses before calling', () => {
  it.each([
    [{ codeTo: undefined }, "a code from the sink needs codeTo (the contact's email)"],
    [{ caller: 'alice' }, 'caller is not a phone number (E.164, e.g. +12025550101)'],
    [
      { entry: { exten: '7001', context: 'bad context' } },
      'entry context "bad context" is not a dialplan context',
    ],
    [{ entry: { exten: '70/01', context: 'x' } }, 'entry extension "70/01" is not a dialplan extension'],
    [{ press: '1a' }, 'press "1a" must be digits, * or #'],
    [{ code: { from: 'fixed' as const, digits: '12ab' } }, 'fixed code must be digits'],
    [{ code: { from: 'fixed' as const, digits: '1234', times: 0 } }, 'fixed code times must be 1 to 10'],
    [{ timeoutMs: 0 }, 'timeoutMs must be above 0'],
    [{ holdMs: -1 }, 'holdMs must be 0 or more'],
  ])('%j', async (over, message) => {
    const run = setup();
    const err = await errorOf(run, run.start(request(over)));
    expect(err.stage).toBe('request');
    expect(err.message).toContain(message);
    expect(run.lab.pbx.originated).toEqual([]);
  });

  it('needs a code source for a code from the sink or the operator', async () => {
    const run = setup();
    const err = await errorOf(run, run.start(request(), { codes: undefined }));
    expect(err.message).toBe('no code source was given for a code from the sink');
    expect(err.stage).toBe('request');
    expect(run.lab.pbx.originated).toEqual([]);
  });
});
