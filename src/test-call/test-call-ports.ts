/**
 * Types of `pinverify test-call`: what ops ask for (a request), what they get back (an outcome),
 * and the small ports the engine (run-test-call.ts) drives. The adapters (ARI for the call, AMI
 * for what pinverify reports, the lab sink or the operator for the code) implement the ports,
 * so the script itself runs in unit tests without a PBX.
 *
 * How one call is followed (checked against Asterisk 22):
 * - The tester originates `Local/<exten>@<context>` into its own Stasis app. The ;1 leg is the
 *   "caller" the tester keys DTMF on; the ;2 leg runs the dialplan and is the channel pinverify
 *   handles. Both ids are chosen before the call (ARI originate channelId / otherChannelId), so
 *   the ;2 id is known up front: it is the Uniqueid in pinverify's AMI `UserEvent: PinVerify`
 *   and in the AMI `Newexten` events of that leg.
 * - The app publishes the UserEvent before it continues the channel in the dialplan, so the
 *   first dialplan step of the ;2 leg after the event shows where the call really went.
 */

/** Which key pinverify's menu offers for each choice: 1 = email, 2 = SMS, * = bail out. */
export type TestCallMethod = 'email' | 'sms' | 'bail';

export type TestCallCode =
  /** Read the code from the lab's mail/SMS sink (needs `codeTo`). */
  | { from: 'sink' }
  /** Ask the operator, who reads it on the contact's phone or mailbox. */
  | { from: 'prompt' }
  /**
   * Key these digits instead of a real code (e.g. a wrong code). `times` keys them that many
   * times (default 1), e.g. 3 wrong codes to see `max_attempts`.
   */
  | { from: 'fixed'; digits: string; times?: number };

export interface TestCallRequest {
  /** E.164 number presented as the caller ID (e.g. +12025550101). */
  caller: string;
  /** Where the call enters the PBX, e.g. {exten:'7004', context:'pinverify-lab-inbound'} or {exten:'1', context:'pinverify-sales-autopin'}. */
  entry: { exten: string; context: string };
  /** Digit(s) keyed first to reach verification (a sub-IVR's "press 1"); null = wait for the sub-IVR's no-input timeout. */
  press: string | null;
  method: TestCallMethod;
  code: TestCallCode;
  /**
   * The address the code goes to: the contact's email for `email`, their mobile for `sms`.
   * Required with `code.from = 'sink'` (the sink is read for this address only); with 'prompt' it
   * only tells the operator where to look. The CLI knows the caller's contact and passes it.
   */
  codeTo?: string;
  /** Keep the call up this long after the destination is reached, so an agent phone can be seen ringing. */
  holdMs: number;
  /** Bounds every wait of the call (answer, app, code, result). The hold comes on top. */
  timeoutMs: number;
}

/** Where a channel is in the dialplan. */
export interface DialplanPlace {
  context: string;
  exten: string;
  priority: number;
}

export interface TestCallOutcome {
  /** As pinverify reported it: verified | failed. */
  result: string;
  /** ok, no_match, caller_bailed, ... (src/flow/ports.ts Reason). */
  reason: string;
  /** email, sms or '' (none). */
  method: string;
  /** The contact id pinverify matched, or ''. */
  contact: string;
  route: string;
  /** As reported by the app, e.g. "2001@pinverify-destinations:1" (the dialplan's unavailable path says "2901"). */
  destination: string;
  /** Where the call went in the dialplan right after the app let it go; null when no step was seen. */
  reached: DialplanPlace | null;
  /** The Uniqueid pinverify reported: the dialplan (;2) leg of the test call. */
  uniqueid: string;
  /** Human-readable steps taken; never a code, addresses and numbers masked. */
  steps: string[];
}

// ---- the call (ARI) ---------------------------------------------------------------------------

export interface OriginateRequest {
  /** Caller ID number, presented with the name "pinverify test-call". */
  caller: string;
  exten: string;
  context: string;
  /** Id of the caller leg (Local ;1), which enters the tester's own Stasis app when answered. */
  channelId: string;
  /** Id of the dialplan leg (Local ;2): its Uniqueid is what pinverify reports. */
  peerChannelId: string;
  /** How long the PBX may take to answer. */
  answerTimeoutMs: number;
}

/** The caller leg of one test call. */
export interface TestLeg {
  readonly id: string;
  readonly peerId: string;
  /** Resolves once the PBX answered (the leg entered the tester's Stasis app). Never rejects: a leg that goes away first is reported by onGone. */
  answered(): Promise<void>;
  /** Keys DTMF on the caller leg, `betweenMs` apart. Rejects when the leg is gone. */
  sendDtmf(digits: string, betweenMs?: number): Promise<void>;
  /** Hangs the leg up; a leg already gone is not an error. */
  hangup(): Promise<void>;
  /** Called once when the leg is gone, whoever hung up, with the hangup cause when known. Called at once if already gone. */
  onGone(cb: (cause: string) => void): void;
}

/** Is the channel in the pinverify Stasis app right now? */
export type AppPresence = 'in-app' | 'not-in-app' | 'app-not-registered';

export interface TestCallPbx {
  /** Places the call; resolves once the PBX accepted it (the leg exists), before it is answered. */
  originate(req: OriginateRequest): Promise<TestLeg>;
  /** Asks the PBX whether the pinverify app has this channel (by id) now. */
  appHasChannel(channelId: string): Promise<AppPresence>;
  /** Hangs up every leg it placed that is still up, then disconnects. */
  close(): Promise<void>;
}

// ---- what pinverify reports (AMI) -------------------------------------------------------------

/** One dialplan step of the followed channel (AMI Newexten). */
export interface DialplanStep extends DialplanPlace {
  application: string;
}

/** AMI `UserEvent: PinVerify` (README, "What the agent receives"). */
export interface PinVerifyEvent {
  result: string;
  reason: string;
  method: string;
  contact: string;
  route: string;
  destination: string;
  uniqueid: string;
  /** The audit record's id; empty when the dialplan (app down) sent the event. */
  callid: string;
}

export interface CallWatchHandlers {
  /** Each dialplan step of the channel, in order. */
  step(step: DialplanStep): void;
  /** pinverify's result for the channel. */
  result(event: PinVerifyEvent): void;
  /** The watch cannot go on (e.g. the AMI connection dropped): nothing more will be reported. */
  error(err: Error): void;
}

export interface OutcomeWatch {
  /**
   * Starts following one channel by its Uniqueid. Called before the call is placed, so no
   * event is missed. Resolves once events are flowing; stop() ends this watch only.
   */
  watch(uniqueid: string, handlers: CallWatchHandlers): Promise<{ stop(): void }>;
  close(): Promise<void>;
}

// ---- the code ---------------------------------------------------------------------------------

export interface CodeTarget {
  method: 'email' | 'sms';
  /** The email or mobile the code goes to; null when the request did not say. */
  to: string | null;
}

export interface PendingCode {
  /** Resolves with the code's digits; rejects when `signal` aborts. Never logs the code. */
  code(signal: AbortSignal): Promise<string>;
}

export interface CodeSource {
  /**
   * Called right before the method key is pressed (pinverify only sends after it), so only a
   * code sent from then on counts, never an older one to the same address.
   */
  expect(target: CodeTarget): Promise<PendingCode>;
}
