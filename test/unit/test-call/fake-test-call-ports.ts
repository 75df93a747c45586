/**
 * In-memory fakes of the test-call ports, and a tiny stand-in for the lab PBX with pinverify in
 * it (`fakeLab`), so the engine's script runs under a FakeClock: the tests say how the PBX and
 * the app react to keys, and check what the engine did and reported.
 */
import type { Clock } from '../../../src/call/clock';
import type {
  AppPresence,
  CallWatchHandlers,
  CodeSource,
  CodeTarget,
  DialplanStep,
  OriginateRequest,
  OutcomeWatch,
  PendingCode,
  PinVerifyEvent,
  TestCallPbx,
  TestLeg,
} from '../../../src/test-call/test-call-ports';
import type { FakeClock } from '../../fakes/fake-clock';
import { probe, type PromiseProbe } from '../../fakes/promise-probe';

export class FakeLeg implements TestLeg {
  readonly dtmf: Array<{ digits: string; betweenMs: number | undefined }> = [];
  hangups = 0;
  gone: string | null = null;
  isAnswered = false;
  /** Makes the next sendDtmf fail with this error. */
  dtmfError: Error | null = null;
  /** The scenario's reaction to keys. */
  onKeys: (digits: string) => void = () => undefined;
  private readonly answerWaiters: Array<() => void> = [];
  private readonly goneWaiters: Array<(cause: string) => void> = [];

  constructor(
    readonly id: string,
    readonly peerId: string,
  ) {}

  answered(): Promise<void> {
    return new Promise((resolve) => {
      if (this.isAnswered) resolve();
      else if (this.gone === null) this.answerWaiters.push(resolve);
    });
  }

  answer(): void {
    this.isAnswered = true;
    this.answerWaiters.splice(0).forEach((w) => w());
  }

  sendDtmf(digits: string, betweenMs?: number): Promise<void> {
    if (this.dtmfError) return Promise.reject(this.dtmfError);
    if (this.gone !== null) return Promise.reject(new Error('Channel not found'));
    this.dtmf.push({ digits, betweenMs });
    this.onKeys(digits);
    return Promise.resolve();
  }

  hangup(): Promise<void> {
    this.hangups++;
    this.goAway('Normal Clearing');
    return Promise.resolve();
  }

  onGone(cb: (cause: string) => void): void {
    if (this.gone !== null) cb(this.gone);
    else this.goneWaiters.push(cb);
  }

  /** The PBX (or the test call's own hangup) ends the leg. */
  goAway(cause: string): void {
    if (this.gone !== null) return;
    this.gone = cause;
    this.answerWaiters.length = 0;
    this.goneWaiters.splice(0).forEach((cb) => cb(cause));
  }

  /** Every key sent, in order, as one string per sendDtmf. */
  keys(): string[] {
    return this.dtmf.map((d) => d.digits);
  }
}

export class FakePbx implements TestCallPbx {
  readonly originated: OriginateRequest[] = [];
  readonly legs: FakeLeg[] = [];
  presence: AppPresence = 'not-in-app';
  presenceChecks = 0;
  originateError: Error | null = null;
  closed = false;
  onOriginate: (leg: FakeLeg) => void = () => undefined;

  originate(req: OriginateRequest): Promise<TestLeg> {
    this.originated.push(req);
    if (this.originateError) return Promise.reject(this.originateError);
    const leg = new FakeLeg(req.channelId, req.peerChannelId);
    this.legs.push(leg);
    this.onOriginate(leg);
    return Promise.resolve(leg);
  }

  appHasChannel(_channelId: string): Promise<AppPresence> {
    this.presenceChecks++;
    return Promise.resolve(this.presence);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  get leg(): FakeLeg {
    const leg = this.legs[0];
    if (!leg) throw new Error('no call was placed');
    return leg;
  }
}

export class FakeOutcomeWatch implements OutcomeWatch {
  readonly watching = new Map<string, CallWatchHandlers>();
  readonly stopped: string[] = [];
  watchError: Error | null = null;

  watch(uniqueid: string, handlers: CallWatchHandlers): Promise<{ stop(): void }> {
    if (this.watchError) return Promise.reject(this.watchError);
    this.watching.set(uniqueid, handlers);
    return Promise.resolve({
      stop: () => {
        this.stopped.push(uniqueid);
        this.watching.delete(uniqueid);
      },
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  step(uniqueid: string, context: string, exten: string, priority: number, application: string): void {
    const step: DialplanStep = { context, exten, priority, application };
    this.watching.get(uniqueid)?.step(step);
  }

  result(uniqueid: string, fields: Partial<PinVerifyEvent>): void {
    this.watching.get(uniqueid)?.result({
      result: 'failed',
      reason: 'no_input',
      method: '',
      contact: '',
      route: '',
      destination: '',
      callid: 'call-1',
      ...fields,
      uniqueid,
    });
  }

  error(uniqueid: string, err: Error): void {
    this.watching.get(uniqueid)?.error(err);
  }
}

export class FakeCodeSource implements CodeSource {
  readonly targets: CodeTarget[] = [];
  aborted = 0;
  private pending: Array<(code: string) => void> = [];

  expect(target: CodeTarget): Promise<PendingCode> {
    this.targets.push(target);
    return Promise.resolve({
      code: (signal: AbortSignal) =>
        new Promise<string>((resolve, reject) => {
          this.pending.push(resolve);
          signal.addEventListener('abort', () => {
            this.aborted++;
            reject(new Error('aborted'));
          });
        }),
    });
  }

  /** The code "arrives" for whoever waits for it. */
  deliver(code: string): void {
    this.pending.splice(0).forEach((resolve) => resolve(code));
  }
}

export const CODE = '482913';

export interface FakeLab {
  pbx: FakePbx;
  outcomes: FakeOutcomeWatch;
  codes: FakeCodeSource;
  /** Emits a step of the dialplan leg. */
  step(context: string, exten: string, priority: number, application: string): void;
  /** pinverify reports, then continues the call to the destination (a step there). */
  finish(fields: Partial<PinVerifyEvent>, to?: { exten: string; context?: string }): void;
}

/**
 * The lab as the engine sees it: 7001 answers, plays the sub-IVR prompt (BackGround), "1" hands
 * the call to pinverify, which offers the menu; "1"/"2" sends the code after a second; the right
 * code + "#" verifies (2001), "*" bails (2901). Tests override the parts they need.
 */
export function fakeLab(clock: Clock, opts: { answer?: boolean; prompt?: boolean } = {}): FakeLab {
  const pbx = new FakePbx();
  const outcomes = new FakeOutcomeWatch();
  const codes = new FakeCodeSource();
  const peer = (): string => pbx.leg.peerId;
  const lab: FakeLab = {
    pbx,
    outcomes,
    codes,
    step: (context, exten, priority, application) =>
      outcomes.step(peer(), context, exten, priority, application),
    finish(fields, to) {
      outcomes.result(peer(), {
        route: 'pinverify-support-autopin',
        contact: '7',
        destination: to ? `${to.exten}@${to.context ?? 'pinverify-destinations'}:1` : '',
        ...fields,
      });
      pbx.presence = 'not-in-app';
      if (to) lab.step(to.context ?? 'pinverify-destinations', to.exten, 1, 'Verbose');
    },
  };
  pbx.onOriginate = (leg) => {
    lab.step('pinverify-lab-inbound', '7001', 1, 'Goto');
    lab.step('pinverify-support-autopin', 's', 1, 'Answer');
    if (opts.answer !== false) leg.answer();
    if (opts.prompt !== false) {
      clock.setTimer(500, () => lab.step('pinverify-support-autopin', 's', 2, 'BackGround'));
    }
    let stage: 'entry' | 'menu' | 'code' = 'entry';
    leg.onKeys = (digits) => {
      if (stage === 'entry' && digits === '1') {
        stage = 'menu';
        lab.step('pinverify-support-autopin', '1', 1, 'Stasis');
        clock.setTimer(100, () => (pbx.presence = 'in-app'));
      } else if (stage === 'menu' && digits === '*') {
        clock.setTimer(2000, () =>
          lab.finish({ result: 'failed', reason: 'caller_bailed' }, { exten: '2901' }),
        );
      } else if (stage === 'menu' && (digits === '1' || digits === '2')) {
        stage = 'code';
        clock.setTimer(1000, () => codes.deliver(CODE));
      } else if (stage === 'code' && digits === `${CODE}#`) {
        const method = pbx.leg.keys().includes('2') ? 'sms' : 'email';
        clock.setTimer(3000, () =>
          lab.finish({ result: 'verified', reason: 'ok', method }, { exten: '2001' }),
        );
      }
    };
  };
  return lab;
}

/**
 * Lets the fake clock run (in small steps, firing timers) until the promise settles; fails the
 * test if it has not after `maxMs` of fake time.
 */
export async function runUntilSettled<T>(
  clock: FakeClock,
  promise: Promise<T>,
  maxMs = 600_000,
  stepMs = 50,
): Promise<PromiseProbe<T>> {
  const p = probe(promise);
  for (let t = 0; t <= maxMs && !p.settled; t += stepMs) await clock.advance(stepMs);
  if (!p.settled) throw new Error(`still running after ${maxMs} ms of fake time`);
  return p;
}
