import type { CallVerbs } from '../../src/call/call-verbs';
import type { CallProfile } from '../../src/domain';
import type { DialOutcome, DialRequest } from '../../src/ari/ari-dialer';
import type { OutboundCallJob as ScriptJob, OutboundCallResult } from '../../src/flow/outbound-call-flow';
import {
  createOutboundCaller,
  type CallAttemptEnd,
  type CallAttemptRecord,
  type OutboundCallJob,
  type QueuedCall,
} from '../../src/outbound/outbound-caller';
import { deriveCode, sealCode } from '../../src/verification/verification-code';
import { FakeClock } from '../fakes/fake-clock';
import { FakeFlowLogger } from '../fakes/fake-flow-logger';
import { flushPromises } from '../fakes/flush-promises';

/**
 * The outbound caller over fakes: what it dials, what it records per attempt, retries after busy
 * or no answer on the fake clock, the SMS after the call, and call-backs.
 */
const SECRET = 'outbound-test-secret';
const VE = `VE${'a'.repeat(32)}`;
const TO = '+12025550161';

const PROFILE: CallProfile = {
  id: 1,
  name: 'lab-read',
  title: 'Lab read',
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
  retriesOnNoAnswer: 1,
  requireContact: true,
};

const fakeCall = (): CallVerbs & { played: string[][]; hungUp: boolean } => {
  const c = {
    gone: false,
    played: [] as string[][],
    hungUp: false,
    whenGone: () => new Promise<void>(() => undefined),
    answer: async () => undefined,
    play: async (m: string[]) => {
      c.played.push(m);
      return null;
    },
    gather: async () => ({ digits: '', ended: 'no_input' as const }),
    setVariable: async () => undefined,
    continueTo: async () => undefined,
    hangup: async () => {
      c.hungUp = true;
    },
  };
  return c;
};

function setup(opts: {
  profile?: Partial<CallProfile>;
  outcomes: DialOutcome[];
  /** What verificationStatus answers, call by call (then pending). */
  statuses?: string[];
  paceMs?: number;
  capReached?: number;
}) {
  const clock = new FakeClock();
  const profile = { ...PROFILE, ...opts.profile };
  const dialed: DialRequest[] = [];
  const started: CallAttemptRecord[] = [];
  const ended: Array<{ attempt: number } & CallAttemptEnd> = [];
  const scripts: ScriptJob[] = [];
  const sms: Array<{ to: string; code: string }> = [];
  const finished: string[] = [];
  let pending: { verificationId: string; codeLength: number; attempt: number; customCode: boolean } | null =
    null;
  // The durable queue, in memory: a job runs when its time comes on the fake clock.
  const queued: Array<{ call: QueuedCall; afterSeconds: number }> = [];
  const runs: Promise<void>[] = [];
  let capReached = opts.capReached ?? 0;
  const caller = createOutboundCaller({
    queue: {
      async enqueue(call, afterSeconds) {
        queued.push({ call, afterSeconds });
        const go = () => void runs.push(caller.run(call));
        if (afterSeconds === 0) queueMicrotask(go);
        else clock.setTimer(afterSeconds * 1000, go);
      },
    },
    pace: async () => opts.paceMs ?? 0,
    maxCalls: 5,
    profiles: {
      findByName: async (n) => (n === profile.name ? profile : null),
      findByCallbackNumber: async (n) => (n === profile.callbackNumber ? profile : null),
    },
    attempts: {
      started: async (a) => void started.push(a),
      startBelow: async (a, cap) => {
        expect(cap).toBe(5);
        if (capReached > 0) {
          capReached--;
          return false;
        }
        started.push(a);
        return true;
      },
      ended: async (_id, attempt, end) => void ended.push({ attempt, ...end }),
      pendingFor: async (e164, name) => (e164 === TO && name === profile.name ? pending : null),
    },
    dialer: {
      dial: async (req) => {
        dialed.push(req);
        return opts.outcomes.shift() ?? { answered: false, status: 'failed' };
      },
    },
    flow: {
      run: async (_call, job): Promise<OutboundCallResult> => {
        scripts.push(job);
        return { status: 'delivered', keyPressed: true, timesSaid: 3, checks: 0, hungUp: false };
      },
    },
    verificationStatus: async () => opts.statuses?.shift() ?? 'pending',
    endpointFor: (n) => `PJSIP/${n}@lab-pstn`,
    secret: SECRET,
    clock,
    log: new FakeFlowLogger(),
    retryDelayMs: 60_000,
    onFinished: (id) => void finished.push(id),
    smsAfterCall: async (to, _id, code) => void sms.push({ to, code }),
  });
  const job: OutboundCallJob = { verificationId: VE, profile: profile.name, to: TO, codeLength: 6 };
  /** Runs every job whose time has come, and what they queue now, to their ends. */
  const settle = async () => {
    for (let i = 0; i < 10; i++) {
      await flushPromises();
      await Promise.all(runs);
    }
  };
  return {
    clock,
    caller,
    queued,
    settle,
    job,
    dialed,
    started,
    ended,
    scripts,
    sms,
    finished,
    setPending: (p: typeof pending) => (pending = p),
  };
}

const answered = () => {
  let done = false;
  const outcome: DialOutcome = { answered: true, call: fakeCall(), finished: () => (done = true) };
  return { outcome, isDone: () => done };
};

describe('placing a call', () => {
  it("dials the number with the profile's caller ID and ring timeout, then runs the script with the code", async () => {
    const a = answered();
    const t = setup({ outcomes: [a.outcome] });
    await t.caller.place(t.job);
    await t.settle();
    expect(t.dialed).toEqual([
      expect.objectContaining({
        endpoint: `PJSIP/${TO}@lab-pstn`,
        callerId: '+12025550100',
        timeoutSeconds: 30,
        appArgs: `attempt=${VE}:1`,
      }),
    ]);
    expect(t.scripts[0]).toMatchObject({ verificationId: VE, code: deriveCode(SECRET, VE, 6) });
    expect(t.ended).toEqual([expect.objectContaining({ attempt: 1, status: 'delivered', timesSaid: 3 })]);
    expect(a.isDone()).toBe(true);
    expect(t.sms).toEqual([]);
  });

  it('input mode gets no code to read', async () => {
    const t = setup({ profile: { mode: 'input' }, outcomes: [answered().outcome] });
    await t.caller.place(t.job);
    await t.settle();
    expect(t.scripts[0]?.code).toBeNull();
  });

  it('busy, then after the retry delay no answer: two attempts, then the code by SMS (not answered)', async () => {
    const t = setup({
      outcomes: [
        { answered: false, status: 'busy', cause: 17, sipCode: 486 },
        { answered: false, status: 'no_answer', cause: 19 },
      ],
    });
    await t.caller.place(t.job);
    await flushPromises();
    expect(t.ended).toEqual([
      expect.objectContaining({ attempt: 1, status: 'busy', cause: 17, sipCode: 486 }),
    ]);
    expect(t.dialed).toHaveLength(1);
    await t.clock.advance(60_000);
    await t.settle();
    expect(t.ended.map((e) => e.status)).toEqual(['busy', 'no_answer']);
    expect(t.sms).toEqual([{ to: TO, code: deriveCode(SECRET, VE, 6) }]);
    expect(t.finished).toEqual([VE]);
  });

  it('no retry and no SMS once the verification is no longer pending', async () => {
    // Pending when the first call is placed, approved (by SMS, say) before the retry.
    const t = setup({
      outcomes: [{ answered: false, status: 'no_answer' }],
      statuses: ['pending', 'approved'],
    });
    await t.caller.place(t.job);
    await flushPromises();
    await t.clock.advance(60_000);
    await t.settle();
    expect(t.dialed).toHaveLength(1);
    expect(t.sms).toEqual([]);
  });

  test.each([
    ['off', 'no_answer', 0],
    ['always', 'delivered', 1],
    ['not_answered', 'delivered', 0],
  ] as const)('SMS after the call %s, call %s: %i SMS', async (when, last, count) => {
    const outcome: DialOutcome =
      last === 'delivered' ? answered().outcome : { answered: false, status: last };
    const t = setup({ profile: { smsAfterCall: when, retriesOnNoAnswer: 0 }, outcomes: [outcome] });
    await t.caller.place(t.job);
    await t.settle();
    expect(t.sms).toHaveLength(count);
  });

  it("a client's own code is said and sent from its sealed copy; without one, no SMS", async () => {
    const own = setup({
      profile: { codeSource: 'manual', retriesOnNoAnswer: 0, smsAfterCall: 'always' },
      outcomes: [answered().outcome],
    });
    await own.caller.place({ ...own.job, codeLength: 4, sealedCode: sealCode(SECRET, VE, '4711') });
    await own.settle();
    expect(own.scripts[0]?.code).toBe('4711');
    expect(own.sms).toEqual([{ to: TO, code: '4711' }]);
    const none = setup({
      profile: { codeSource: 'manual', mode: 'input', retriesOnNoAnswer: 0 },
      outcomes: [{ answered: false, status: 'busy' }],
    });
    await none.caller.place(none.job);
    await none.settle();
    expect(none.sms).toEqual([]);
  });

  it('refuses an unknown or disabled profile before anything is dialed', async () => {
    const t = setup({ outcomes: [] });
    await expect(t.caller.place({ ...t.job, profile: 'nope' })).rejects.toThrow('no call profile named nope');
    const off = setup({ profile: { enabled: false }, outcomes: [] });
    await expect(off.caller.place(off.job)).rejects.toThrow('disabled');
    expect([...t.dialed, ...off.dialed]).toEqual([]);
  });
});

describe('the queue', () => {
  it('an attempt waits for its pacing slot before it dials', async () => {
    const t = setup({ outcomes: [answered().outcome], paceMs: 500 });
    await t.caller.place(t.job);
    await flushPromises();
    await flushPromises();
    expect(t.dialed).toEqual([]);
    await t.clock.advance(500);
    await t.settle();
    expect(t.dialed).toHaveLength(1);
  });

  it('with as many calls at once as allowed, the attempt goes back to the queue for 2 s, then dials', async () => {
    const t = setup({ outcomes: [answered().outcome], capReached: 1 });
    await t.caller.place(t.job);
    await t.settle();
    expect(t.dialed).toEqual([]);
    expect(t.queued.map((q) => [q.call.attempt, q.afterSeconds])).toEqual([
      [1, 0],
      [1, 2],
    ]);
    await t.clock.advance(2000);
    await t.settle();
    expect(t.dialed).toHaveLength(1);
  });

  it('queues the retry as a job of its own, after the retry delay', async () => {
    const t = setup({ outcomes: [{ answered: false, status: 'busy' }, answered().outcome] });
    await t.caller.place(t.job);
    await t.settle();
    expect(t.queued.map((q) => [q.call.attempt, q.afterSeconds])).toEqual([
      [1, 0],
      [2, 60],
    ]);
  });
});

describe('call-back', () => {
  it('from the number with a pending verification: the same script, recorded as the next attempt', async () => {
    const t = setup({ outcomes: [] });
    t.setPending({ verificationId: VE, codeLength: 6, attempt: 3, customCode: false });
    const call = fakeCall();
    expect(await t.caller.callBack(call, TO, '7101', 'chan-1')).toBe('delivered');
    expect(t.started).toEqual([{ verificationId: VE, profile: 'lab-read', attempt: 3, channelId: 'chan-1' }]);
    expect(t.scripts[0]).toMatchObject({ code: deriveCode(SECRET, VE, 6) });
  });

  it("a read-mode call-back of a client's own code is refused: only the queued call had it, sealed", async () => {
    const t = setup({ outcomes: [] });
    t.setPending({ verificationId: VE, codeLength: 4, attempt: 2, customCode: true });
    const call = fakeCall();
    expect(await t.caller.callBack(call, TO, '7101', 'chan-3')).toBe('failed');
    expect(call.played).toEqual([['sound:pinverify/invalid-request']]);
    expect(t.scripts).toEqual([]);
  });

  test.each([
    ['anyone else', '+12025550199', '7101'],
    ['an anonymous caller', null, '7101'],
    ['a number that is no profile’s', TO, '7999'],
  ])('from %s: "Invalid request" and hang up, no script', async (_who, caller, dialed) => {
    const t = setup({ outcomes: [] });
    t.setPending({ verificationId: VE, codeLength: 6, attempt: 2, customCode: false });
    const call = fakeCall();
    expect(await t.caller.callBack(call, caller, dialed, 'chan-2')).toBe('failed');
    expect(call.played).toEqual([['sound:pinverify/invalid-request']]);
    expect(call.hungUp).toBe(true);
    expect(t.scripts).toEqual([]);
  });
});
