/**
 * The script of `pinverify test-call`: place a real call through the PBX as a given caller, drive
 * it the way a caller would (the sub-IVR's key, the method, the code), and report what pinverify
 * decided and where the call went. Ops run it to prove a route works before callers hit it.
 *
 * It only talks to ports (test-call-ports.ts), with time from an injected Clock, so every branch
 * (app down, no code, hangup, timeouts) is unit-tested without a PBX or a real sleep.
 *
 * Rules the script keeps:
 * - Every wait is bounded by the request's timeoutMs and fails with a sentence saying what did
 *   not happen; only the short settling waits after the result (where the call went, a late
 *   event after a hangup) and the requested hold run on their own small bounds.
 * - pinverify may end the call early (no match, app down, bail): whenever its result arrives, the
 *   script stops driving and reports it. A leg hung up by the PBX still yields an outcome when
 *   the event arrives.
 * - The call is always hung up and the watch stopped, on success and on error.
 * - The code is never put in a step, a log line or an error message; numbers and addresses are
 *   masked.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../call/clock';
import { maskEmail, maskPhone } from '../log/mask';
import type {
  CodeSource,
  DialplanPlace,
  DialplanStep,
  OutcomeWatch,
  PendingCode,
  PinVerifyEvent,
  TestCallOutcome,
  TestCallPbx,
  TestCallRequest,
  TestLeg,
} from './test-call-ports';

/** Which part of the call a TestCallError is about. */
export type TestCallStage = 'request' | 'call' | 'app' | 'code' | 'result';

/** A test call that could not produce an outcome. `steps` says how far it got. */
export class TestCallError extends Error {
  constructor(
    message: string,
    readonly stage: TestCallStage,
    readonly steps: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TestCallError';
  }
}

export interface TestCallTiming {
  /** Gap between keyed digits (ARI sendDTMF "between"). */
  dtmfGapMs: number;
  /** How often the pinverify app is asked whether it has the call. */
  appPollMs: number;
  /** How long to wait for the entry's dialplan to ask for input before pressing anyway. */
  inputWaitMs: number;
  /** After the PBX hung the call up without a result: how long a late PinVerify event is still awaited. */
  goneGraceMs: number;
  /** After the result: how long to wait for the dialplan step that shows where the call went. */
  reachedWaitMs: number;
  /** Between repeated entries of a fixed code. */
  retryGapMs: number;
}

export const DEFAULT_TEST_CALL_TIMING: Readonly<TestCallTiming> = Object.freeze({
  dtmfGapMs: 150,
  appPollMs: 200,
  inputWaitMs: 10_000,
  goneGraceMs: 3_000,
  reachedWaitMs: 3_000,
  retryGapMs: 2_000,
});

export interface TestCallDeps {
  pbx: TestCallPbx;
  outcomes: OutcomeWatch;
  /** Needed when request.code.from is 'sink' or 'prompt'. */
  codes?: CodeSource;
  clock?: Clock;
  /** Receives each step as it happens (the same text as outcome.steps). */
  log?: (step: string) => void;
  /** Base for the two channel ids; defaults to a random UUID. */
  newId?: () => string;
  timing?: Partial<TestCallTiming>;
  /** Cancels the run (e.g. on Ctrl-C): it stops waiting, hangs up and rejects with a TestCallError. */
  signal?: AbortSignal;
}

const METHOD_KEYS = { email: '1', sms: '2', bail: '*' } as const;
const EXTEN_RE = /^[0-9A-Za-z_+*#-]{1,79}$/;
const CONTEXT_RE = /^[A-Za-z0-9_-]{1,79}$/;
const CALLER_RE = /^(\+?[0-9]{2,20}|anonymous)$/i;
const PRESS_RE = /^[0-9*#]{1,20}$/;
const CODE_RE = /^[0-9]{1,20}$/;
/** Dialplan applications that wait for the caller's keys: pressing before one runs may lose the key. */
const INPUT_APPLICATIONS = new Set(['background', 'waitexten', 'read', 'readexten', 'stasis']);
/** Steps that only jump elsewhere: the extension that sent the result finishing with a Goto is not where the call went. */
const JUMP_APPLICATIONS = new Set(['goto', 'gotoif', 'gotoiftime', 'return', 'stackpop']);

/** Runs one test call; resolves with pinverify's outcome or rejects with a TestCallError. */
export async function runTestCall(request: TestCallRequest, deps: TestCallDeps): Promise<TestCallOutcome> {
  checkRequest(request);
  if (request.method !== 'bail' && request.code.from !== 'fixed' && !deps.codes) {
    throw new TestCallError(
      `no code source was given for a code from the ${request.code.from}`,
      'request',
      [],
    );
  }
  return new TestCallRun(request, deps).run();
}

/** The run was cut short by pinverify's result or by the PBX hanging up: go and conclude. */
class Interrupted extends Error {
  constructor(readonly why: 'result' | 'gone') {
    super(`interrupted: ${why}`);
    this.name = 'Interrupted';
  }
}

class CancelledError extends Error {
  constructor() {
    super('the test call was cancelled');
    this.name = 'CancelledError';
  }
}

type Ending<T> = { kind: 'value'; value: T } | { kind: 'timeout' } | { kind: 'result' } | { kind: 'gone' };

interface SettleOptions<T> {
  ms: number;
  /** Work to wait for; aborted when the wait ends any other way. */
  work?: (signal: AbortSignal) => Promise<T>;
  /** Checked now and on every event of the call; a defined value ends the wait. */
  ready?: () => T | undefined;
  stopOnResult: boolean;
  stopOnGone: boolean;
}

class TestCallRun {
  private readonly clock: Clock;
  private readonly timing: TestCallTiming;
  private readonly steps: string[] = [];
  private readonly startMs: number;
  private readonly deadlineMs: number;
  private readonly channelId: string;
  private readonly peerId: string;
  private readonly where: string;

  private leg: TestLeg | null = null;
  private stopWatch: (() => void) | null = null;
  private readonly peerSteps: DialplanStep[] = [];
  private result: PinVerifyEvent | null = null;
  /** Index in peerSteps where the result arrived: steps from here on happened after it. */
  private resultAt = 0;
  private goneCause: string | null = null;
  private fatal: Error | null = null;
  private hungUp = false;
  private answered = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly req: TestCallRequest,
    private readonly deps: TestCallDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.timing = { ...DEFAULT_TEST_CALL_TIMING, ...deps.timing };
    this.startMs = this.clock.now().getTime();
    this.deadlineMs = this.startMs + req.timeoutMs;
    const base = deps.newId?.() ?? `pinverify-test-call-${randomUUID()}`;
    this.channelId = base;
    this.peerId = `${base}-2`;
    this.where = `${req.entry.exten}@${req.entry.context}`;
  }

  async run(): Promise<TestCallOutcome> {
    const cancel = (): void => {
      this.fatal ??= new CancelledError();
      this.changed();
    };
    this.deps.signal?.addEventListener('abort', cancel, { once: true });
    try {
      if (this.deps.signal?.aborted) throw new CancelledError();
      this.say(`calling ${this.where} as ${maskPhone(this.req.caller)}`);
      await this.startWatch();
      const leg = await this.originate();
      try {
        await this.drive(leg);
      } catch (err) {
        if (!(err instanceof Interrupted)) throw err;
      }
      return await this.conclude();
    } catch (err) {
      throw this.asTestCallError(err);
    } finally {
      this.deps.signal?.removeEventListener('abort', cancel);
      await this.cleanUp();
    }
  }

  // ---- the script -------------------------------------------------------------------------

  private async startWatch(): Promise<void> {
    let watch: { stop(): void };
    try {
      watch = await this.step(
        'result',
        () => `AMI did not start following the call within ${seconds(this.req.timeoutMs)}`,
        (signal) =>
          abortable(
            this.deps.outcomes.watch(this.peerId, {
              step: (s) => {
                this.peerSteps.push(s);
                this.changed();
              },
              result: (e) => {
                if (this.result) return; // one result per call; a repeat changes nothing
                this.result = e;
                this.resultAt = this.peerSteps.length;
                this.changed();
              },
              error: (err) => {
                this.fatal ??= err;
                this.changed();
              },
            }),
            signal,
            (late) => late.stop(),
          ),
      );
    } catch (err) {
      if (err instanceof TestCallError) throw err;
      throw new TestCallError(`could not follow the call on AMI: ${describe(err)}`, 'result', this.steps, {
        cause: err,
      });
    }
    this.stopWatch = () => watch.stop();
  }

  private async originate(): Promise<TestLeg> {
    let leg: TestLeg;
    try {
      leg = await this.deps.pbx.originate({
        caller: this.req.caller,
        exten: this.req.entry.exten,
        context: this.req.entry.context,
        channelId: this.channelId,
        peerChannelId: this.peerId,
        answerTimeoutMs: this.req.timeoutMs,
      });
    } catch (err) {
      throw new TestCallError(
        `the PBX did not take the call to ${this.where}: ${describe(err)}`,
        'call',
        this.steps,
        {
          cause: err,
        },
      );
    }
    this.leg = leg;
    leg.onGone((cause) => {
      this.goneCause ??= cause || 'no cause given';
      this.changed();
    });
    return leg;
  }

  /** Everything the caller does, until pinverify's result or a hangup cuts it short. */
  private async drive(leg: TestLeg): Promise<void> {
    await this.step(
      'call',
      () =>
        `the PBX never answered the call to ${this.where} within ${seconds(this.req.timeoutMs)}${this.lastPlace()}`,
      () => leg.answered(),
    );
    this.answered = true;
    this.say('the PBX answered');

    if (this.req.press !== null) await this.pressEntry(leg, this.req.press);

    let appMissing = false;
    await this.step(
      'app',
      () =>
        appMissing
          ? `the app never answered the call: is pinverify running? ARI has no application of that name (waited ${seconds(this.req.timeoutMs)})`
          : `the app never answered the call within ${seconds(this.req.timeoutMs)}: is pinverify running, and does ${this.where} reach its Stasis()?${this.lastPlace()}`,
      async (signal) => {
        for (;;) {
          const presence = await this.deps.pbx.appHasChannel(this.peerId);
          if (presence === 'in-app') return;
          appMissing = presence === 'app-not-registered';
          await this.sleep(this.timing.appPollMs, signal);
        }
      },
    );
    this.say('pinverify has the call');

    const method = this.req.method;
    if (method === 'bail') {
      await this.key(leg, METHOD_KEYS.bail);
      this.say('pressed * (bail out)');
      return;
    }

    const code = this.req.code;
    let pending: PendingCode | null = null;
    if (code.from !== 'fixed') {
      const codes = this.deps.codes as CodeSource; // checked before the call was placed
      pending = await this.step(
        'code',
        () => `the code source did not get ready`,
        (signal) => abortable(codes.expect({ method, to: this.req.codeTo ?? null }), signal),
      );
    }
    await this.key(leg, METHOD_KEYS[method]);
    this.say(`pressed ${METHOD_KEYS[method]} (${method === 'email' ? 'email' : 'SMS'})`);
    const pressedAt = this.clock.now().getTime();

    let digits: string;
    let times = 1;
    if (code.from === 'fixed') {
      digits = code.digits;
      times = code.times ?? 1;
    } else {
      const source = pending as PendingCode;
      const to = this.maskedCodeTo();
      digits = await this.step(
        'code',
        () =>
          code.from === 'sink'
            ? `no code arrived at ${to} within ${seconds(this.remainingAt(pressedAt))}`
            : `no code was entered within ${seconds(this.remainingAt(pressedAt))}`,
        (signal) => source.code(signal),
      );
      if (!CODE_RE.test(digits)) {
        throw new TestCallError(
          `the code ${code.from === 'sink' ? 'read from the sink' : 'entered'} is not digits`,
          'code',
          this.steps,
        );
      }
      const after = seconds(this.clock.now().getTime() - pressedAt);
      this.say(code.from === 'sink' ? `code arrived at ${to} after ${after}` : `code entered after ${after}`);
    }

    for (let i = 0; i < times; i++) {
      if (i > 0) {
        const gap = await this.settle({ ms: this.timing.retryGapMs, stopOnResult: true, stopOnGone: true });
        if (gap.kind === 'result' || gap.kind === 'gone') throw new Interrupted(gap.kind);
      }
      await this.key(leg, `${digits}#`, digits);
      const what = code.from === 'fixed' ? 'the given digits' : 'the code';
      this.say(`keyed ${what} (${digits.length} digits) and #${times > 1 ? ` (${i + 1} of ${times})` : ''}`);
    }
  }

  /**
   * Keys the entry digits once the dialplan asks for input (a key sent while the PBX is still
   * answering can be lost). Without a prompt in sight (an AGI IVR, or no "dialplan" events on
   * AMI) it presses anyway, unless the call already reached pinverify by itself, where the key
   * would be taken as the method choice.
   */
  private async pressEntry(leg: TestLeg, press: string): Promise<void> {
    const ended = await this.settle({
      ms: Math.min(this.timing.inputWaitMs, this.remaining()),
      ready: () =>
        this.peerSteps.some((s) => INPUT_APPLICATIONS.has(s.application.toLowerCase())) ? true : undefined,
      stopOnResult: true,
      stopOnGone: true,
    });
    if (ended.kind === 'result' || ended.kind === 'gone') throw new Interrupted(ended.kind);
    if (ended.kind === 'timeout') {
      if ((await this.deps.pbx.appHasChannel(this.peerId)) === 'in-app') {
        this.say(`the call reached pinverify without a key; not pressing ${press}`);
        return;
      }
      this.say(
        `no input prompt seen in the dialplan within ${seconds(this.timing.inputWaitMs)}; pressing anyway`,
      );
    }
    await this.key(leg, press);
    this.say(`pressed ${press}`);
  }

  /** Waits for pinverify's result and where the call went, holds, and builds the outcome. */
  private async conclude(): Promise<TestCallOutcome> {
    while (!this.result) {
      if (this.goneCause !== null) {
        const late = await this.settle({
          ms: this.timing.goneGraceMs,
          ready: () => this.result ?? undefined,
          stopOnResult: false,
          stopOnGone: false,
        });
        if (late.kind === 'timeout') {
          throw new TestCallError(
            this.answered
              ? `the PBX hung up the call (${this.goneCause}) before pinverify reported a result${this.lastPlace()}`
              : `the PBX ended the call before answering it (${this.goneCause}): is ${this.where} in the dialplan?`,
            'call',
            this.steps,
          );
        }
        break;
      }
      const ended = await this.settle({
        ms: this.remaining(),
        ready: () => this.result ?? undefined,
        stopOnResult: false,
        stopOnGone: true,
      });
      if (ended.kind === 'timeout') {
        throw new TestCallError(
          `no PinVerify result event within ${seconds(this.req.timeoutMs)} (is the AMI user allowed to read "user" events?)${this.lastPlace()}`,
          'result',
          this.steps,
        );
      }
    }
    const result = this.result as PinVerifyEvent;
    this.say(
      `pinverify: ${result.result}/${result.reason}, method ${result.method || 'none'}, route ${result.route || 'none'}, destination ${result.destination || 'none'}`,
    );

    const found = await this.settle({
      ms: this.timing.reachedWaitMs,
      ready: () => this.reachedStep(),
      stopOnResult: false,
      stopOnGone: false,
    });
    let reached: DialplanPlace | null = null;
    if (found.kind === 'value') {
      const s = found.value;
      reached = { context: s.context, exten: s.exten, priority: s.priority };
      this.say(`the call went to ${s.exten}@${s.context}:${s.priority} (${s.application})`);
    } else {
      this.say(
        'no dialplan step seen after the result (the call ended there, or AMI does not show "dialplan" events)',
      );
    }

    if (this.req.holdMs > 0 && reached && this.goneCause === null) {
      this.say(`holding the call for ${seconds(this.req.holdMs)}`);
      const held = await this.settle({ ms: this.req.holdMs, stopOnResult: false, stopOnGone: true });
      if (held.kind === 'gone') this.say(`the PBX ended the call during the hold (${this.goneCause ?? ''})`);
    }

    await this.hangUp();
    return {
      result: result.result,
      reason: result.reason,
      method: result.method,
      contact: result.contact,
      route: result.route,
      destination: result.destination,
      reached,
      uniqueid: result.uniqueid,
      steps: [...this.steps],
    };
  }

  /**
   * The first step after the result that is not the result's own extension jumping away (the
   * dialplan's unavailable path sends the event, then Goto()s the destination).
   */
  private reachedStep(): DialplanStep | undefined {
    const before = this.peerSteps[this.resultAt - 1];
    return this.peerSteps
      .slice(this.resultAt)
      .find(
        (s) =>
          !(
            before &&
            s.context === before.context &&
            s.exten === before.exten &&
            JUMP_APPLICATIONS.has(s.application.toLowerCase())
          ),
      );
  }

  // ---- waiting ----------------------------------------------------------------------------

  /** A wait of the script: its value, or Interrupted, or a TestCallError saying what did not happen. */
  private async step<T>(
    stage: TestCallStage,
    failure: () => string,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const ended = await this.settle({ ms: this.remaining(), work, stopOnResult: true, stopOnGone: true });
    if (ended.kind === 'value') return ended.value;
    if (ended.kind === 'timeout') throw new TestCallError(failure(), stage, this.steps);
    throw new Interrupted(ended.kind);
  }

  /**
   * Waits for work (or a ready() condition), the result, the leg going away or the time running
   * out, whichever comes first. Rejects only when the work fails or the watch broke.
   */
  private settle<T>(opts: SettleOptions<T>): Promise<Ending<T>> {
    return new Promise<Ending<T>>((resolve, reject) => {
      const abort = new AbortController();
      let done = false;
      const finish = (end: () => void): void => {
        if (done) return;
        done = true;
        timer.cancel();
        this.listeners.delete(check);
        abort.abort();
        end();
      };
      const check = (): void => {
        if (this.fatal) {
          const fatal = this.fatal;
          return finish(() => reject(fatal));
        }
        if (opts.stopOnResult && this.result) return finish(() => resolve({ kind: 'result' }));
        if (opts.stopOnGone && this.goneCause !== null) return finish(() => resolve({ kind: 'gone' }));
        const value = opts.ready?.();
        if (value !== undefined) finish(() => resolve({ kind: 'value', value }));
      };
      const timer = this.clock.setTimer(Math.max(0, opts.ms), () =>
        finish(() => resolve({ kind: 'timeout' })),
      );
      this.listeners.add(check);
      check();
      if (done || !opts.work) return;
      opts.work(abort.signal).then(
        (value) => finish(() => resolve({ kind: 'value', value })),
        (err: unknown) =>
          finish(() => {
            // Work failing because the leg went away is the hangup, not a fault of its own.
            if (opts.stopOnGone && this.goneCause !== null) resolve({ kind: 'gone' });
            else reject(err instanceof Error ? err : new Error(String(err)));
          }),
      );
    });
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('aborted'));
      const timer = this.clock.setTimer(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        timer.cancel();
        reject(new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private remaining(): number {
    return Math.max(0, this.deadlineMs - this.clock.now().getTime());
  }

  /** What was left of the time budget at `atMs` (for "within N s" in messages). */
  private remainingAt(atMs: number): number {
    return Math.max(0, this.deadlineMs - atMs);
  }

  // ---- the leg ----------------------------------------------------------------------------

  /** Keys digits; `secret` is scrubbed from any error text (it is the code). */
  private async key(leg: TestLeg, digits: string, secret?: string): Promise<void> {
    try {
      await this.step(
        'call',
        () => `keying DTMF did not finish within ${seconds(this.req.timeoutMs)}`,
        () => leg.sendDtmf(digits, this.timing.dtmfGapMs),
      );
    } catch (err) {
      if (err instanceof Interrupted || err instanceof TestCallError) throw err;
      const text = secret ? describe(err).split(secret).join('***') : describe(err);
      throw new TestCallError(`keying DTMF failed: ${text}`, 'call', this.steps);
    }
  }

  private async hangUp(): Promise<void> {
    const leg = this.leg;
    if (!leg || this.hungUp) return;
    this.hungUp = true;
    if (this.goneCause !== null) {
      this.say(`the PBX ended the call (${this.goneCause})`);
      return;
    }
    try {
      await leg.hangup();
      this.say('hung up');
    } catch (err) {
      this.say(`hanging up failed: ${describe(err)}`);
    }
  }

  private async cleanUp(): Promise<void> {
    await this.hangUp();
    this.stopWatch?.();
    this.stopWatch = null;
    this.listeners.clear();
  }

  // ---- reporting --------------------------------------------------------------------------

  private say(step: string): void {
    this.steps.push(step);
    this.deps.log?.(step);
  }

  private maskedCodeTo(): string {
    const to = this.req.codeTo;
    if (!to) return this.req.method === 'email' ? "the contact's email" : "the contact's mobile";
    return to.includes('@') ? maskEmail(to) : maskPhone(to);
  }

  /** "; the call was last at s@ctx:2 (BackGround)", to say where a stuck call stood. */
  private lastPlace(): string {
    const last = this.peerSteps.at(-1);
    return last
      ? `; the call was last at ${last.exten}@${last.context}:${last.priority} (${last.application})`
      : '';
  }

  private asTestCallError(err: unknown): TestCallError {
    if (err instanceof TestCallError) return err;
    if (err instanceof CancelledError) return new TestCallError(err.message, 'call', this.steps);
    if (err === this.fatal && err instanceof Error) {
      return new TestCallError(`lost track of the call: ${err.message}`, 'result', this.steps, {
        cause: err,
      });
    }
    return new TestCallError(describe(err), 'call', this.steps, { cause: err });
  }
}

/** Refuses a request the PBX could not make sense of, before any call is placed. */
function checkRequest(req: TestCallRequest): void {
  const problems: string[] = [];
  if (!CALLER_RE.test(req.caller)) problems.push('caller is not a phone number (E.164, e.g. +12025550101)');
  if (!EXTEN_RE.test(req.entry.exten))
    problems.push(`entry extension "${req.entry.exten}" is not a dialplan extension`);
  if (!CONTEXT_RE.test(req.entry.context))
    problems.push(`entry context "${req.entry.context}" is not a dialplan context`);
  if (req.press !== null && !PRESS_RE.test(req.press))
    problems.push(`press "${req.press}" must be digits, * or #`);
  if (!['email', 'sms', 'bail'].includes(req.method))
    problems.push(`method "${String(req.method)}" must be email, sms or bail`);
  if (req.method !== 'bail') {
    const code = req.code;
    if (code.from === 'fixed') {
      if (!CODE_RE.test(code.digits)) problems.push('fixed code must be digits');
      if (
        code.times !== undefined &&
        !(Number.isInteger(code.times) && code.times >= 1 && code.times <= 10)
      ) {
        problems.push('fixed code times must be 1 to 10');
      }
    } else if (code.from === 'sink' && !req.codeTo) {
      problems.push(
        `a code from the sink needs codeTo (the contact's ${req.method === 'email' ? 'email' : 'mobile'})`,
      );
    }
  }
  if (!(Number.isFinite(req.timeoutMs) && req.timeoutMs > 0)) problems.push('timeoutMs must be above 0');
  if (!(Number.isFinite(req.holdMs) && req.holdMs >= 0)) problems.push('holdMs must be 0 or more');
  if (problems.length > 0)
    throw new TestCallError(`invalid test call: ${problems.join('; ')}`, 'request', []);
}

/** Resolves like `work` unless aborted first; a late value is handed to `discard` (e.g. to stop it). */
function abortable<T>(work: Promise<T>, signal: AbortSignal, discard?: (late: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) discard?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** 30000 -> "30 s", 1250 -> "1.3 s". */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
