/**
 * The verification call flow: find the caller among the contacts, let them choose email or SMS,
 * send a one-time code, check what they type, then hand the call back to the dialplan with the
 * result in inherited channel variables (so they reach the agent's channel).
 *
 * Rules the whole script keeps:
 * - A hangup (CallGoneError) at any point ends the run quietly as 'abandoned'; run() never throws.
 * - Every dependency call has a deadline on the injected clock; a caller never waits forever.
 * - The audit trail and the publisher may fail without affecting the call.
 * - Only masked data is logged or audited; the code itself is never logged.
 */
import type { CallVerbs, GatherOptions } from '../call/call-verbs';
import { isCallGone } from '../call/call-verbs';
import { CallGoneError, type DialplanTarget } from '../call/channel-control';
import type { Clock } from '../call/clock';
import { maskEmail, maskPhone } from '../log/mask';
import { normalizeCaller } from '../phone/normalize-caller';
import { redactSecrets } from '../senders/redact-secrets';
import { DEFAULT_SETTINGS } from '../store/config-defaults';
import { generateCode as secureGenerateCode, hashCode } from './code-hasher';
import { formatDestination, parseDestination } from './destination';
import type {
  AuditKind,
  AuditTrail,
  CallOutcome,
  CodeDelivery,
  CodeStore,
  ConfigStore,
  Contact,
  ContactDirectory,
  DeliveryChannel,
  FlowLogger,
  FlowSettings,
  Reason,
  ResultPublisher,
  Route,
  VerificationResult,
} from './ports';
import { promptMedia, type PromptName } from './prompts';
import { withDeadline } from './with-deadline';

/** The built-in settings, used when the settings cannot be loaded (same values the database is seeded with). */
export { DEFAULT_SETTINGS };

/** Deadline for one database call (config, contacts, codes, audit, publisher) unless deps say otherwise. */
export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 3000;

export const BAIL_KEY = '*';
export const TERMINATOR = '#';
const MENU_KEYS: Record<string, DeliveryChannel> = { '1': 'email', '2': 'sms' };
const NOT_ON_FILE: Record<DeliveryChannel, PromptName> = { email: 'no-email', sms: 'no-sms' };
/** "0#" at code entry: send the code again. */
const RESEND_ENTRY = '0';
/**
 * Runaway guard for the code-entry loop. Every round needs a key press or a timeout from the
 * caller, and tries, sends and silences have their own limits; this only bounds a caller (or a
 * broken phone) pressing "#" forever.
 */
const MAX_ENTRY_ROUNDS = 50;

export interface VerificationFlowDeps {
  config: ConfigStore;
  contacts: ContactDirectory;
  codes: CodeStore;
  delivery: CodeDelivery;
  audit: AuditTrail;
  publisher: ResultPublisher;
  clock: Clock;
  /** HMAC key for the stored code hashes. */
  secret: string;
  /** Defaults to the CSPRNG generator; tests inject known codes. */
  generateCode?: (length: number) => string;
  log: FlowLogger;
  /** Deadline for each database / publisher call; defaults to DEFAULT_DEPENDENCY_TIMEOUT_MS. */
  dependencyTimeoutMs?: number;
}

export interface CallEntry {
  callId: string;
  channelId: string;
  /** The caller ID number as the channel reported it. */
  callerId: string;
  /** Dialplan context Stasis() ran in: the previous hop, unless args.route overrides it. */
  context: string;
  /** Stasis arguments given as key=value. */
  args: Record<string, string>;
}

export interface VerificationFlow {
  /** Runs the whole call; always resolves with how it ended (never rejects). */
  run(call: CallVerbs, entry: CallEntry): Promise<CallOutcome>;
}

export function createVerificationFlow(deps: VerificationFlowDeps): VerificationFlow {
  return { run: (call, entry) => new FlowRun(deps, call, entry).run() };
}

interface Verdict {
  result: VerificationResult;
  reason: Reason;
  /** Prompts to play before the final one (e.g. why sending failed). */
  lead?: PromptName[];
}

/** Ends verification early with a failed verdict; thrown from deep in the script, caught in verify(). */
class FlowEnd extends Error {
  constructor(
    readonly reason: Reason,
    readonly lead: PromptName[] = [],
  ) {
    super(reason);
    this.name = 'FlowEnd';
  }
}

/** The code of this call, kept in memory only so "0#" can resend the same code while it is valid. */
interface LiveCode {
  code: string;
  expiresAt: Date;
  /** The code store said so (its clock is the authority). */
  expired: boolean;
}

function media(names: PromptName[]): string[] {
  return names.map(promptMedia);
}

function channelsOf(contact: Contact): Set<DeliveryChannel> {
  const channels = new Set<DeliveryChannel>();
  if (contact.email) channels.add('email');
  if (contact.mobile) channels.add('sms');
  return channels;
}

/** Rejects with CallGoneError as soon as the caller hangs up, whatever `work` is doing. */
function untilGone<T>(call: CallVerbs, work: Promise<T>): Promise<T> {
  if (call.gone) return Promise.reject(new CallGoneError());
  const gone = call.whenGone().then((): never => {
    throw new CallGoneError();
  });
  return Promise.race([work, gone]);
}

/** Runs `fn`, turning a synchronous throw into a rejection. */
function attempt<T>(fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()));
}

/** One call through the flow; all per-call state lives here. */
class FlowRun {
  private settings: FlowSettings = DEFAULT_SETTINGS;
  private route: Route | null = null;
  private routeName = 'default';
  private contact: Contact | null = null;
  /** Channel of the last code that was delivered. */
  private method: DeliveryChannel | null = null;
  private live: LiveCode | null = null;
  private sends = 0;
  private codeStored = false;
  /** Every code this call issued, so error texts can be scrubbed of them. */
  private readonly issuedCodes: string[] = [];
  /** Where the call is, for the log and the 'hangup' audit event. */
  private step = 'start';
  /** Audit writes run in order, one after the other, without holding up the caller. */
  private auditChain: Promise<void> = Promise.resolve();
  private readonly background: Promise<void>[] = [];
  private readonly previousHop: string;
  private readonly dbTimeoutMs: number;
  private readonly log: FlowLogger;
  private readonly clock: Clock;

  constructor(
    private readonly deps: VerificationFlowDeps,
    private readonly call: CallVerbs,
    private readonly entry: CallEntry,
  ) {
    const routeArg = entry.args.route?.trim();
    this.previousHop = routeArg ? routeArg : entry.context;
    this.dbTimeoutMs = deps.dependencyTimeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS;
    this.log = deps.log;
    this.clock = deps.clock;
  }

  async run(): Promise<CallOutcome> {
    let outcome: CallOutcome;
    try {
      outcome = await this.script();
    } catch (err) {
      // Only a bug gets here (every expected failure is handled inside): still never throw.
      this.log.error('verification flow crashed', {
        callId: this.entry.callId,
        step: this.step,
        error: this.describe(err),
      });
      outcome = this.outcome({ result: 'failed', reason: 'internal_error' }, '');
    }
    // Audit and clean-up work finish before run() resolves, each under its own deadline.
    await Promise.all([this.auditChain, ...this.background]);
    return outcome;
  }

  private async script(): Promise<CallOutcome> {
    const { callId, channelId } = this.entry;
    const callerMasked = maskPhone(this.entry.callerId);
    this.log.info('call entered verification', {
      callId,
      channelId,
      caller: callerMasked,
      previousHop: this.previousHop,
    });
    const startedAt = this.clock.now();
    this.enqueueAudit('opening the audit record', () =>
      this.deps.audit.open({ callId, channelId, callerMasked, previousHop: this.previousHop, startedAt }),
    );
    this.auditEvent('entered', { context: this.entry.context, previousHop: this.previousHop });

    let verdict: Verdict;
    try {
      verdict = await this.verify();
    } catch (err) {
      if (this.isGone(err)) return this.abandon();
      verdict = this.internalError(err);
    }
    try {
      return await this.conclude(verdict);
    } catch (err) {
      // conclude() only lets a hangup through, and only before the outcome was recorded.
      if (this.isGone(err)) return this.abandon();
      throw err;
    }
  }

  private async verify(): Promise<Verdict> {
    try {
      return await this.verifySteps();
    } catch (err) {
      if (err instanceof FlowEnd) return { result: 'failed', reason: err.reason, lead: err.lead };
      throw err;
    }
  }

  private async verifySteps(): Promise<Verdict> {
    this.step = 'answer';
    await this.call.answer();

    this.step = 'config';
    await this.loadConfig();

    this.step = 'lookup';
    const contact = await this.lookUpCaller();
    this.contact = contact;

    const available = channelsOf(contact);
    if (available.size === 0) {
      this.log.warn('contact has neither an email address nor a mobile number', {
        callId: this.entry.callId,
        contactId: contact.id,
      });
      this.auditEvent('choice', { method: null, available: [] });
      throw new FlowEnd('delivery_failed');
    }

    let lead: PromptName[] = ['intro'];
    for (;;) {
      const method = await this.chooseMethod(available, lead);
      if (await this.sendCode(method, false)) return this.enterCode(method, [`sent-${method}`]);
      // Offer what is left, without the channel that just failed.
      available.delete(method);
      if (available.size === 0) throw new FlowEnd('delivery_failed', ['send-failed']);
      if (this.sends >= this.settings.maxSendsPerCall) throw new FlowEnd('max_sends', ['send-failed']);
      lead = ['send-failed'];
    }
  }

  /** Settings and route in parallel, so a dead database costs the caller one deadline, not two. */
  private async loadConfig(): Promise<void> {
    const [settings, route] = await Promise.allSettled([
      this.db('loading the settings', () => this.deps.config.getSettings()),
      this.db('finding the route', () => this.deps.config.findRoute(this.previousHop)),
    ]);
    if (settings.status === 'fulfilled') this.settings = settings.value;
    if (route.status === 'fulfilled' && route.value?.enabled) this.route = route.value;
    this.routeName = this.route ? this.route.previousHop : 'default';
    this.auditEvent('route', {
      route: this.routeName,
      routeId: this.route?.id ?? null,
      title: this.route?.title ?? null,
    });
    // Without settings or a certain route, verifying could send the caller to the wrong place.
    if (settings.status === 'rejected') throw settings.reason;
    if (route.status === 'rejected') throw route.reason;
  }

  private async lookUpCaller(): Promise<Contact> {
    const caller = normalizeCaller(this.entry.callerId, this.settings.defaultCountry);
    if (caller.kind !== 'ok') {
      this.auditEvent('lookup', { count: 0, caller: caller.kind });
      throw new FlowEnd('no_match');
    }
    const found = await this.db('looking up the caller', () =>
      this.deps.contacts.findByPhone(caller.e164, 2),
    );
    this.auditEvent('lookup', { count: found.length });
    this.log.info('caller looked up', {
      callId: this.entry.callId,
      caller: maskPhone(caller.e164),
      matches: found.length,
    });
    const [contact] = found;
    if (!contact) throw new FlowEnd('no_match');
    // Two contacts share the number: a code would prove nothing about which one calls.
    if (found.length > 1) throw new FlowEnd('multi_match');
    return contact;
  }

  /** The menu: 1 = email, 2 = SMS, only what `available` holds. */
  private async chooseMethod(available: Set<DeliveryChannel>, lead: PromptName[]): Promise<DeliveryChannel> {
    const s = this.settings;
    let before = lead;
    for (let prompt = 1; prompt <= Math.max(1, s.maxMenuPrompts); prompt++) {
      this.step = 'menu';
      const heard = await this.call.gather({
        prompts: media([...before, 'choose-method']),
        maxDigits: 1,
        firstDigitTimeoutMs: s.menuTimeoutMs,
        interDigitTimeoutMs: s.menuTimeoutMs,
        bailKey: BAIL_KEY,
      });
      if (heard.ended === 'bail') {
        this.auditEvent('choice', { method: null, bailed: true });
        throw new FlowEnd('caller_bailed');
      }
      const method = MENU_KEYS[heard.digits];
      if (method && available.has(method)) {
        this.auditEvent('choice', { method, prompts: prompt });
        return method;
      }
      before = method ? [NOT_ON_FILE[method]] : ['invalid-choice'];
    }
    this.auditEvent('choice', { method: null, prompts: s.maxMenuPrompts });
    throw new FlowEnd('no_input');
  }

  /**
   * Sends the live code (a new one when there is none or it expired) while the caller hears
   * "please wait". Returns whether it was delivered. Counts toward maxSendsPerCall either way.
   * `resend` marks a send the caller asked for with "0#" (audited as 'resend').
   */
  private async sendCode(method: DeliveryChannel, resend: boolean): Promise<boolean> {
    const s = this.settings;
    const contact = this.requireContact();
    const newCode = this.live === null || this.isExpired(this.live);
    const live = newCode ? await this.issueCode() : this.live;
    if (!live) throw new Error('no code to send');

    this.sends += 1;
    const to = method === 'email' ? maskEmail(contact.email) : maskPhone(contact.mobile);
    const controller = new AbortController();
    const sending = withDeadline(
      attempt(() =>
        this.deps.delivery.send(
          {
            channel: method,
            contact,
            code: live.code,
            // Rounded down: telling the caller less time than they have is the safe error.
            validityMinutes: Math.max(1, Math.floor(s.codeValiditySeconds / 60)),
            companyName: s.companyName,
          },
          controller.signal,
        ),
      ),
      s.sendTimeoutMs,
      this.clock,
      `sending the code by ${method}`,
      () => controller.abort(),
    );
    // Awaited below, after the prompt: keep a failure meanwhile from counting as unhandled.
    sending.catch(() => undefined);

    this.step = 'sending';
    try {
      await this.channelStep('playing the sending prompt', () =>
        this.call.play(media(['sending'])).then(() => undefined),
      );
    } catch (err) {
      controller.abort();
      throw err;
    }
    let messageId: string | null;
    try {
      ({ messageId } = await untilGone(this.call, sending));
    } catch (err) {
      if (this.isGone(err)) {
        // Nobody is left to type the code: don't deliver it.
        controller.abort();
        throw err;
      }
      const error = this.describe(err);
      this.auditEvent('send_failed', { channel: method, error });
      this.log.warn('sending the code failed', { callId: this.entry.callId, channel: method, to, error });
      return false;
    }
    this.method = method;
    this.auditEvent(resend ? 'resend' : 'code_sent', {
      channel: method,
      to,
      newCode,
      messageId,
      sends: this.sends,
    });
    this.log.info('code sent', {
      callId: this.entry.callId,
      channel: method,
      to,
      newCode,
      sends: this.sends,
    });
    return true;
  }

  private async issueCode(): Promise<LiveCode> {
    const s = this.settings;
    const code = (this.deps.generateCode ?? secureGenerateCode)(s.codeLength);
    this.issuedCodes.push(code);
    const hash = hashCode(this.deps.secret, this.entry.callId, code);
    const expiresAt = new Date(this.clock.now().getTime() + s.codeValiditySeconds * 1000);
    // Even a put that timed out may have landed: discard at the end either way.
    this.codeStored = true;
    await this.db('storing the code', () =>
      this.deps.codes.put(this.entry.callId, hash, expiresAt, s.maxTriesPerCode),
    );
    this.live = { code, expiresAt, expired: false };
    return this.live;
  }

  private isExpired(live: LiveCode): boolean {
    return live.expired || this.clock.now().getTime() >= live.expiresAt.getTime();
  }

  /** Code entry until the code is right or a limit ends the call. */
  private async enterCode(method: DeliveryChannel, lead: PromptName[]): Promise<Verdict> {
    const s = this.settings;
    const gather: Omit<GatherOptions, 'prompts'> = {
      maxDigits: s.codeLength,
      firstDigitTimeoutMs: s.firstDigitTimeoutMs,
      interDigitTimeoutMs: s.interDigitTimeoutMs,
      terminator: TERMINATOR,
      bailKey: BAIL_KEY,
    };
    let before = lead;
    let silences = 0;
    for (let round = 0; round < MAX_ENTRY_ROUNDS; round++) {
      this.step = 'entry';
      const heard = await this.call.gather({ ...gather, prompts: media([...before, 'enter-code']) });
      before = [];
      if (heard.ended === 'bail') throw new FlowEnd('caller_bailed');
      if (heard.ended === 'no_input') {
        silences += 1;
        if (silences >= Math.max(1, s.maxMenuPrompts)) throw new FlowEnd('no_input');
        continue;
      }
      silences = 0;
      // "#" alone: hear the prompt again; not a try.
      if (heard.ended === 'terminator' && heard.digits === '') continue;
      if (heard.ended === 'terminator' && heard.digits === RESEND_ENTRY) {
        before = await this.resend(method);
        continue;
      }
      before = await this.check(heard.digits);
      if (before.length === 0) return { result: 'verified', reason: 'ok' };
    }
    this.log.warn('code entry went round too often', { callId: this.entry.callId });
    throw new FlowEnd('no_input');
  }

  /** "0#": the same code again while it is valid, else a new one. Returns the prompts to lead with. */
  private async resend(method: DeliveryChannel): Promise<PromptName[]> {
    if (this.sends >= this.settings.maxSendsPerCall) {
      this.auditEvent('resend', { channel: method, refused: 'max_sends', sends: this.sends });
      return ['no-more-sends'];
    }
    const wasExpired = this.live !== null && this.isExpired(this.live);
    if (!(await this.sendCode(method, true))) return ['send-failed'];
    // A new code is announced like the first one; the same code "sent again".
    return wasExpired ? [`sent-${method}`] : ['resent'];
  }

  /** One try. Returns [] when the code is right, else the prompts to lead the next entry with. */
  private async check(entered: string): Promise<PromptName[]> {
    const { callId } = this.entry;
    const hash = hashCode(this.deps.secret, callId, entered);
    const now = this.clock.now();
    const result = await this.db('checking the code', () => this.deps.codes.check(callId, hash, now));
    switch (result.kind) {
      case 'ok':
        this.auditEvent('attempt', { ok: true });
        return [];
      case 'wrong':
        this.auditEvent('attempt', { ok: false, triesLeft: result.triesLeft });
        if (result.triesLeft <= 0) throw new FlowEnd('max_attempts');
        return ['code-wrong'];
      case 'exhausted':
        this.auditEvent('attempt', { ok: false, triesLeft: 0 });
        throw new FlowEnd('max_attempts');
      case 'expired':
        if (this.live) this.live.expired = true;
        this.auditEvent('expired', { sends: this.sends });
        // "Press zero then pound for a new code" would be a lie with no sends left.
        if (this.sends >= this.settings.maxSendsPerCall) throw new FlowEnd('max_sends');
        return ['code-expired'];
      case 'missing':
        throw new Error('the code store has no code for this call');
    }
  }

  /** Plays the result, sets the variables, records the outcome and continues in the dialplan. */
  private async conclude(verdict: Verdict): Promise<CallOutcome> {
    this.step = 'result';
    await this.playFinal([...(verdict.lead ?? []), ...this.finalPrompts(verdict)]);
    const target = this.destinationFor(verdict.result);
    const outcome = this.outcome(verdict, formatDestination(target));

    this.step = 'variables';
    for (const [name, value] of [
      ['__PINVERIFY_RESULT', outcome.result],
      ['__PINVERIFY_REASON', outcome.reason],
      ['__PINVERIFY_METHOD', outcome.method ?? ''],
      ['__PINVERIFY_CONTACT_ID', outcome.contactId === null ? '' : String(outcome.contactId)],
      ['__PINVERIFY_ROUTE', outcome.route],
    ] as const) {
      await this.channelStep(`setting ${name}`, () => this.call.setVariable(name, value));
    }
    // Last chance for a hangup to count as 'abandoned': from here the outcome is published.
    if (this.call.gone) throw new CallGoneError();

    await this.publish(outcome);
    this.auditEvent('outcome', { ...outcome });
    this.closeAudit(outcome);
    this.discardCode();
    this.log.info('verification finished', { callId: this.entry.callId, ...outcome });

    this.step = 'continue';
    try {
      await this.call.continueTo(target);
    } catch (err) {
      if (this.isGone(err)) {
        this.log.info('caller hung up before the call continued', { callId: this.entry.callId });
      } else {
        // A call stuck in Stasis would hear silence forever: better to end it.
        this.log.error('continuing in the dialplan failed; hanging up', {
          callId: this.entry.callId,
          error: this.describe(err),
        });
        await this.channelStep('hanging up', () => this.call.hangup()).catch(() => undefined);
      }
    }
    return outcome;
  }

  private finalPrompts(verdict: Verdict): PromptName[] {
    if (verdict.result === 'verified') return ['verified'];
    switch (verdict.reason) {
      case 'no_match':
      case 'multi_match':
        // Never a verification attempt: an agent verifies by hand.
        return ['connecting'];
      case 'internal_error':
        return ['technical-problem', 'not-verified'];
      case 'ok':
      case 'no_input':
      case 'caller_bailed':
      case 'delivery_failed':
      case 'max_attempts':
      case 'max_sends':
      case 'abandoned':
      case 'unavailable':
        return ['not-verified'];
    }
  }

  /** The final prompts are a courtesy: a playback fault must not keep the caller from an agent. */
  private async playFinal(prompts: PromptName[]): Promise<void> {
    await this.channelStep('playing the result', () => this.call.play(media(prompts)).then(() => undefined));
  }

  /** Runs a channel verb where only a hangup matters: other failures are logged and skipped. */
  private async channelStep(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (this.isGone(err)) throw err;
      this.log.error(`${what} failed`, { callId: this.entry.callId, error: this.describe(err) });
    }
  }

  /** The route's destination, else the settings' default; an unparsable one falls back to the default failed destination. */
  private destinationFor(result: VerificationResult): DialplanTarget {
    const s = this.settings;
    const configured =
      result === 'verified'
        ? (this.route?.successDestination ?? s.defaultSuccessDestination)
        : (this.route?.failedDestination ?? s.defaultFailedDestination);
    const candidates: Array<[string, string]> = [
      [configured, s.defaultContext],
      [s.defaultFailedDestination, s.defaultContext],
      [DEFAULT_SETTINGS.defaultFailedDestination, DEFAULT_SETTINGS.defaultContext],
    ];
    for (const [text, context] of candidates) {
      try {
        return parseDestination(text, context);
      } catch (err) {
        this.log.error('invalid destination, using the default failed destination', {
          callId: this.entry.callId,
          route: this.routeName,
          destination: text,
          error: this.describe(err),
        });
      }
    }
    // The built-in default always parses; this only satisfies the compiler.
    return {
      exten: DEFAULT_SETTINGS.defaultFailedDestination,
      context: DEFAULT_SETTINGS.defaultContext,
      priority: 1,
    };
  }

  private outcome(verdict: Verdict, destination: string): CallOutcome {
    return {
      result: verdict.result,
      reason: verdict.reason,
      method: this.method,
      contactId: this.contact?.id ?? null,
      route: this.routeName,
      destination,
    };
  }

  /** The caller hung up: record it, clean up, and never touch the channel again. */
  private async abandon(): Promise<CallOutcome> {
    const outcome = this.outcome({ result: 'failed', reason: 'abandoned' }, '');
    this.log.info('caller hung up', { callId: this.entry.callId, step: this.step });
    this.auditEvent('hangup', { step: this.step });
    this.closeAudit(outcome);
    this.discardCode();
    await this.publish(outcome);
    return outcome;
  }

  private internalError(err: unknown): Verdict {
    const error = this.describe(err);
    this.log.error('verification failed on an internal error', {
      callId: this.entry.callId,
      step: this.step,
      error,
    });
    this.auditEvent('error', { step: this.step, error });
    return { result: 'failed', reason: 'internal_error' };
  }

  private async publish(outcome: CallOutcome): Promise<void> {
    const { callId, channelId } = this.entry;
    try {
      await this.db('publishing the result', () =>
        this.deps.publisher.publish({ ...outcome, callId, channelId }),
      );
    } catch (err) {
      this.log.error('publishing the result failed', { callId, error: this.describe(err) });
    }
  }

  private closeAudit(outcome: CallOutcome): void {
    const at = this.clock.now();
    this.enqueueAudit('closing the audit record', () =>
      this.deps.audit.close(this.entry.callId, outcome, at),
    );
  }

  private discardCode(): void {
    if (!this.codeStored) return;
    this.codeStored = false;
    this.live = null;
    this.background.push(
      this.db('discarding the code', () => this.deps.codes.discard(this.entry.callId)).catch(
        (err: unknown) => {
          // The code expires on its own; this only tidies up early.
          this.log.warn('discarding the code failed', {
            callId: this.entry.callId,
            error: this.describe(err),
          });
        },
      ),
    );
  }

  private auditEvent(kind: AuditKind, detail: Record<string, unknown>): void {
    const at = this.clock.now();
    this.enqueueAudit(`audit event ${kind}`, () =>
      this.deps.audit.event(this.entry.callId, kind, detail, at),
    );
  }

  private enqueueAudit(what: string, write: () => Promise<void>): void {
    this.auditChain = this.auditChain.then(async () => {
      try {
        await this.db(what, write);
      } catch (err) {
        this.log.warn('audit write failed', { callId: this.entry.callId, what, error: this.describe(err) });
      }
    });
  }

  private db<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withDeadline(attempt(fn), this.dbTimeoutMs, this.clock, what);
  }

  private requireContact(): Contact {
    if (!this.contact) throw new Error('no contact');
    return this.contact;
  }

  private isGone(err: unknown): boolean {
    return this.call.gone || isCallGone(err);
  }

  /** A short, safe error text for logs and the audit trail: no code, no address, no full number. */
  private describe(err: unknown): string {
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    let redacted = redactSecrets(text, {
      addresses: [this.entry.callerId, this.contact?.email, this.contact?.mobile],
    });
    for (const code of this.issuedCodes) redacted = redactSecrets(redacted, { code });
    return redacted.length > 200 ? `${redacted.slice(0, 197)}...` : redacted;
  }
}
