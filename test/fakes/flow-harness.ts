/**
 * Drives the verification flow over the real CallSession, a FakeChannel, in-memory ports and a
 * FakeClock, from a script of caller actions:
 *
 *   const h = createFlowHarness({ contacts: [alice] });
 *   const call = await h.run([on('choose-method').press('1'), on('enter-code').press(code())]);
 *
 * Each step waits for the next playback containing its prompt and acts on it (press keys, hang
 * up...). Playbacks no step is waiting for play to the end; when nothing else can happen, the
 * clock jumps to the next timer (a gather timeout, a deadline). So a script lists only what the
 * caller does, and silence is simply the absence of a step.
 *
 * After every run the harness checks that no code and no full phone number or email address
 * reached the log or the audit trail.
 */
import { CallSession } from '../../src/call/call-session';
import type { AuditKind } from '../../src/flow/ports';
import type { CallOutcome, Contact, FlowSettings, Route } from '../../src/domain';
import { promptMedia, type PromptName } from '../../src/flow/prompts';
import { createCallFlow, type CallEntry } from '../../src/flow/call-flow';
import { createOtpFlow } from '../../src/flow/otp-flow';
import { createPinFlow } from '../../src/flow/pin-flow';
import { createPinThenOtpFlow } from '../../src/flow/pin-then-otp-flow';
import { VerificationService } from '../../src/verification/verification-service';
import { FakeAuditTrail } from './fake-audit-trail';
import { FakeChannel, type FakePlayback } from './fake-channel';
import { FakeClock } from './fake-clock';
import { FakeCodeDelivery } from './fake-code-delivery';
import { FakeConfigStore } from './fake-config-store';
import { FakeContactDirectory, type DirectoryEntry } from './fake-contact-directory';
import { FakeFlowLogger } from './fake-flow-logger';
import { FakePinChecker } from './fake-pin-checker';
import { FakeResultPublisher } from './fake-result-publisher';
import { FakeVerificationStore } from './fake-verification-store';
import { flushPromises } from './flush-promises';

/** What a script step can do to the call. */
export interface Caller {
  press(digits: string): void;
  /** Asterisk finishes the current playback. */
  finishPrompt(): void;
  hangup(): void;
  /** The code in the latest message sent. */
  lastCode(): string;
  advance(ms: number): Promise<void>;
}

export interface CallerStep {
  prompt: PromptName;
  act(caller: Caller): void | Promise<void>;
}

type Digits = string | ((caller: Caller) => string);

function digitsOf(digits: Digits, caller: Caller): string {
  return typeof digits === 'string' ? digits : digits(caller);
}

/** Builds the step for the next playback that contains `prompt`. */
export function on(prompt: PromptName) {
  return {
    /** Presses keys while the prompt plays (barge-in). */
    press: (digits: Digits): CallerStep => ({ prompt, act: (c) => c.press(digitsOf(digits, c)) }),
    /** Lets the prompt finish, then presses keys. */
    pressAfter: (digits: Digits): CallerStep => ({
      prompt,
      act: (c) => {
        c.finishPrompt();
        c.press(digitsOf(digits, c));
      },
    }),
    hangup: (): CallerStep => ({ prompt, act: (c) => c.hangup() }),
    /** Presses keys, then hangs up before the flow can react. */
    pressThenHangup: (digits: Digits): CallerStep => ({
      prompt,
      act: (c) => {
        c.press(digitsOf(digits, c));
        c.hangup();
      },
    }),
    do: (act: (caller: Caller) => void | Promise<void>): CallerStep => ({ prompt, act }),
  };
}

/** The code the caller received, followed by `suffix` ('#' by default). */
export function code(suffix = '#'): (caller: Caller) => string {
  return (caller) => `${caller.lastCode()}${suffix}`;
}

export const CALLER = '+12025550123';

export const ALICE: Contact = {
  id: 7,
  name: 'Alice Example',
  email: 'alice@example.com',
  mobile: '+12025550188',
};
export const ALICE_ENTRY: DirectoryEntry = { contact: ALICE, phones: [CALLER] };

export const SUPPORT_ROUTE: Route = {
  id: 1,
  title: 'Support',
  previousHop: 'pinverify-support-autopin',
  successDestination: '2001',
  failedDestination: '2901@pinverify-destinations:1',
  enabled: true,
  mode: 'otp',
};

/** Settings tests mostly use: the built-in defaults with round numbers. */
export const TEST_SETTINGS: Partial<FlowSettings> = {
  codeLength: 6,
  codeValiditySeconds: 300,
  maxTriesPerCode: 3,
  maxSendsPerCall: 3,
  maxMenuPrompts: 3,
  menuTimeoutMs: 5000,
  firstDigitTimeoutMs: 10000,
  interDigitTimeoutMs: 5000,
  sendTimeoutMs: 8000,
  maxSendsPerVerification: 5,
  resendCooldownSeconds: 30,
  maxFailedChecksPerContact: 10,
  maxSendsPerDestinationPerHour: 3,
  maxSendsPerDestinationPerDay: 10,
};

export interface HarnessOptions {
  settings?: Partial<FlowSettings>;
  routes?: Route[];
  contacts?: DirectoryEntry[];
  entry?: Partial<CallEntry>;
  dependencyTimeoutMs?: number;
  /** PINs by contact id (pinSource database). */
  pins?: Record<number, string>;
  /** CallSession's playback deadline (default: an hour, out of the way). */
  playbackDeadlineMs?: number;
}

export interface FinishedCall {
  outcome: CallOutcome;
  /** Prompt names of each playback, in order. */
  playbacks: PromptName[][];
  /** Every prompt name played, flattened. */
  prompts: PromptName[];
  audit: AuditKind[];
  variables: Record<string, string>;
}

/** The five result variables the flow sets on the channel, as a test expects them. */
export function expectVariables(
  call: FinishedCall,
  result: string,
  reason: string,
  method: string,
  contactId: string,
  route: string = SUPPORT_ROUTE.previousHop,
): void {
  expect(call.variables).toEqual({
    __PINVERIFY_RESULT: result,
    __PINVERIFY_REASON: reason,
    __PINVERIFY_METHOD: method,
    __PINVERIFY_CONTACT_ID: contactId,
    __PINVERIFY_ROUTE: route,
  });
}

export const SECRET = 'test-secret';

/** Verification ids VE000...01, VE000...02, ... so each test's codes are the same every run. */
export function sequentialIds(): () => string {
  let n = 0;
  return () => `VE${(++n).toString(16).padStart(32, '0')}`;
}

export function createFlowHarness(options: HarnessOptions = {}) {
  const clock = new FakeClock();
  const channel = new FakeChannel('chan-1');
  // Tests of code expiry skip minutes of time inside one prompt; the playback deadline that
  // would cut such a prompt short is proven on its own (test/unit/call-session-interrupt.test.ts).
  const playbackDeadline = options.playbackDeadlineMs ?? 3_600_000;
  const session = new CallSession(channel, clock, { playbackDeadlineMs: playbackDeadline });
  channel.connect((event) => session.handle(event));
  const config = new FakeConfigStore(
    { ...TEST_SETTINGS, ...options.settings },
    options.routes ?? [SUPPORT_ROUTE],
  );
  const contacts = new FakeContactDirectory(options.contacts ?? [ALICE_ENTRY]);
  const verifications = new FakeVerificationStore();
  const delivery = new FakeCodeDelivery();
  const audit = new FakeAuditTrail();
  const publisher = new FakeResultPublisher();
  const log = new FakeFlowLogger();
  const entry: CallEntry = {
    callId: 'call-1',
    channelId: 'chan-1',
    callerId: CALLER,
    context: SUPPORT_ROUTE.previousHop,
    args: {},
    ...options.entry,
  };
  const service = new VerificationService({
    store: verifications,
    delivery,
    settings: () => config.getSettings(),
    contactById: async (id) => contacts.entries.find((e) => e.contact.id === id)?.contact ?? null,
    clock,
    secret: SECRET,
    log,
    newId: sequentialIds(),
  });
  const pins = new FakePinChecker(options.pins);
  const otp = createOtpFlow({ contacts, verifier: service });
  const pin = createPinFlow({ contacts, verifier: service, pins });
  const flow = createCallFlow({
    config,
    audit,
    publisher,
    clock,
    log,
    dependencyTimeoutMs: options.dependencyTimeoutMs,
    modes: { otp, pin, pin_then_otp: createPinThenOtpFlow(pin, otp) },
  });
  /** Every code that went out, in order (for the leak check). */
  const generated = (): string[] => delivery.sent.map((s) => s.message.code);

  function promptNames(playback: FakePlayback): PromptName[] {
    return playback.media.map((m) => m.replace(/^sound:pinverify\//, '') as PromptName);
  }

  function assertNothingLeaked(): void {
    const written = JSON.stringify([log.entries, audit.events, audit.opened, publisher.published]);
    const secrets = [
      ...generated(),
      CALLER,
      CALLER.slice(2),
      ...contacts.entries.flatMap((e) => [e.contact.email, e.contact.mobile]),
      ...pins.pins.values(),
      ...pins.checks.map((c) => c.pin),
    ];
    for (const secret of secrets) {
      if (secret && written.includes(secret))
        throw new Error(`"${secret}" leaked into the log or audit trail`);
    }
  }

  /** Plays one call of the script on `ch`: the loop behind run() and anotherCall(). */
  async function drive(
    channel: FakeChannel,
    callSession: CallSession,
    callEntry: CallEntry,
    script: CallerStep[],
  ): Promise<FinishedCall> {
    const caller: Caller = {
      press: (digits) => channel.press(digits),
      finishPrompt: () => channel.finishPlayback(),
      hangup: () => channel.hangupCaller(),
      lastCode: () => delivery.lastCode(),
      advance: (ms) => clock.advance(ms),
    };
    const steps = [...script];
    const result: { outcome?: CallOutcome } = {};
    const running = flow.run(callSession, callEntry).then((o) => {
      result.outcome = o;
    });
    const acted = new Set<FakePlayback>();
    for (let turn = 0; ; turn++) {
      if (turn > 2000) throw new Error('flow harness: the call never ended');
      await flushPromises();
      if (result.outcome !== undefined) break;
      const fresh = channel.playbacks.find((p) => !p.seen);
      if (fresh) {
        fresh.seen = true;
        const step = steps[0];
        if (step && fresh.media.includes(promptMedia(step.prompt))) {
          steps.shift();
          acted.add(fresh);
          await step.act(caller);
        } else if (!channel.gone) {
          channel.finishPlayback(fresh.id);
        }
        continue;
      }
      // A step pressed keys a plain play ignores: that playback still has to end.
      const lingering = [...acted].find((p) => p.state === 'playing');
      if (lingering && !channel.gone) {
        channel.finishPlayback(lingering.id);
        continue;
      }
      if (clock.pendingTimers > 0) {
        await clock.advanceToNextTimer();
        continue;
      }
      throw new Error(
        `flow harness: stuck (no playback, no timer) after ${JSON.stringify(channel.playbacks.map(promptNames))}`,
      );
    }
    await running;
    const outcome = result.outcome;
    if (!outcome) throw new Error('flow harness: no outcome');
    if (steps.length > 0) {
      throw new Error(
        `flow harness: the call ended before steps for ${steps.map((s) => s.prompt).join(', ')}`,
      );
    }
    assertNothingLeaked();
    const playbacks = channel.playbacks.map(promptNames);
    return {
      outcome,
      playbacks,
      prompts: playbacks.flat(),
      audit: audit.kinds(),
      variables: channel.variables,
    };
  }

  function run(script: CallerStep[] = []): Promise<FinishedCall> {
    return drive(channel, session, entry, script);
  }

  /**
   * Call number `n` from the same caller over the same service, stores, config and clock, on a
   * channel of its own (chan-n, call-n), scripted like run().
   */
  function anotherCall(n: number, script: CallerStep[] = []): Promise<FinishedCall> {
    const ch = new FakeChannel(`chan-${n}`);
    const callSession = new CallSession(ch, clock, { playbackDeadlineMs: playbackDeadline });
    ch.connect((event) => callSession.handle(event));
    return drive(ch, callSession, { ...entry, callId: `call-${n}`, channelId: `chan-${n}` }, script);
  }

  return {
    clock,
    channel,
    session,
    config,
    contacts,
    verifications,
    service,
    delivery,
    pins,
    audit,
    publisher,
    log,
    entry,
    generated,
    flow,
    run,
    anotherCall,
  };
}

export type FlowHarness = ReturnType<typeof createFlowHarness>;
