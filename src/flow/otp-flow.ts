/**
 * Route mode `otp`: a one-time code by email or SMS.
 *
 *   identify the caller -> refuse a locked contact -> menu (1 email, 2 SMS, * bail)
 *   -> start a verification (the code is sent while "please wait" plays; a failed send offers
 *      the other channel) -> code entry (# repeat, 0# send again, * bail) until approved or a
 *      limit ends it
 *
 * Every code is a verification of the shared service (src/verification), so the limits per
 * contact, destination, country and overall hold for callers exactly as for the HTTP API.
 * A verification still pending when the call ends is canceled.
 */
import type { GatherOptions } from '../call/call-verbs';
import { addMethod, type Contact, type DeliveryChannel, type Verification } from '../domain';
import { FlowEnd, media, type CallContext } from './call-context';
import type { ModeFlow, Verdict } from './call-flow';
import { identifyCaller, refuseIfLocked } from './identify-caller';
import type { ContactDirectory, Verifier } from './ports';
import type { PromptName } from './prompts';
import { destinationOf } from '../verification/verification-service';
import { DeadlineError } from './with-deadline';

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

export interface OtpFlowDeps {
  contacts: ContactDirectory;
  verifier: Verifier;
}

export function createOtpFlow(deps: OtpFlowDeps): ModeFlow {
  return { verify: (ctx) => new OtpRun(deps, ctx).verify() };
}

/** The channels the contact has an address for (the same rule the service sends by). */
function channelsOf(contact: Contact): Set<DeliveryChannel> {
  return new Set((['email', 'sms'] as const).filter((c) => destinationOf(contact, c) !== null));
}

/** How a send went, as the call cares. */
type Sent = 'sent' | 'failed' | 'expired' | 'wait' | 'no_more';

class OtpRun {
  /** The verification whose code the caller is asked for. */
  private verification: Verification | null = null;
  /** Codes sent during this call, over all its verifications. */
  private sends = 0;

  constructor(
    private readonly deps: OtpFlowDeps,
    private readonly ctx: CallContext,
  ) {
    ctx.atEnd(async () => {
      const v = this.verification;
      if (v && v.status === 'pending') await this.deps.verifier.cancel(v.id, 'call_ended');
    });
  }

  async verify(): Promise<Verdict> {
    // After a PIN (route mode pin_then_otp) the caller is known already.
    const contact = this.ctx.contact ?? (await identifyCaller(this.ctx, this.deps.contacts));
    await refuseIfLocked(this.ctx, this.deps.verifier, contact);
    const available = channelsOf(contact);
    if (available.size === 0) {
      this.ctx.log.warn('contact has neither an email address nor a mobile number', {
        callId: this.ctx.entry.callId,
        contactId: contact.id,
      });
      this.ctx.audit('choice', { method: null, available: [] });
      throw new FlowEnd('delivery_failed');
    }
    let lead: PromptName[] = ['intro'];
    for (;;) {
      const channel = await this.chooseChannel(available, lead);
      if ((await this.send(contact, channel, 'start')) === 'sent')
        return this.challenge(channel, [`sent-${channel}`]);
      // Offer what is left, without the channel that just failed.
      available.delete(channel);
      if (available.size === 0) throw new FlowEnd('delivery_failed', ['send-failed']);
      if (this.sends >= this.ctx.settings.maxSendsPerCall) throw new FlowEnd('max_sends', ['send-failed']);
      lead = ['send-failed'];
    }
  }

  /** The menu: 1 = email, 2 = SMS, only what `available` holds. */
  private async chooseChannel(available: Set<DeliveryChannel>, lead: PromptName[]): Promise<DeliveryChannel> {
    const s = this.ctx.settings;
    let before = lead;
    for (let prompt = 1; prompt <= Math.max(1, s.maxMenuPrompts); prompt++) {
      this.ctx.step = 'menu';
      const heard = await this.ctx.call.gather({
        prompts: media([...before, 'choose-method']),
        maxDigits: 1,
        firstDigitTimeoutMs: s.menuTimeoutMs,
        interDigitTimeoutMs: s.menuTimeoutMs,
        bailKey: BAIL_KEY,
      });
      if (heard.ended === 'bail') {
        this.ctx.audit('choice', { method: null, bailed: true });
        throw new FlowEnd('caller_bailed');
      }
      const method = MENU_KEYS[heard.digits];
      if (method && available.has(method)) {
        this.ctx.audit('choice', { method, prompts: prompt });
        return method;
      }
      before = method ? [NOT_ON_FILE[method]] : ['invalid-choice'];
    }
    this.ctx.audit('choice', { method: null, prompts: s.maxMenuPrompts });
    throw new FlowEnd('no_input');
  }

  /** Code entry until the code is right or a limit ends the call. */
  private async challenge(channel: DeliveryChannel, lead: PromptName[]): Promise<Verdict> {
    const s = this.ctx.settings;
    const gather: Omit<GatherOptions, 'prompts'> = {
      maxDigits: this.verification?.codeLength ?? s.codeLength,
      firstDigitTimeoutMs: s.firstDigitTimeoutMs,
      interDigitTimeoutMs: s.interDigitTimeoutMs,
      terminator: TERMINATOR,
      bailKey: BAIL_KEY,
    };
    let before = lead;
    let silences = 0;
    for (let round = 0; round < MAX_ENTRY_ROUNDS; round++) {
      this.ctx.step = 'entry';
      const heard = await this.ctx.call.gather({ ...gather, prompts: media([...before, 'enter-code']) });
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
        before = await this.sendAgain(channel);
        continue;
      }
      before = await this.check(heard.digits);
      if (before.length === 0) return { result: 'verified', reason: 'ok' };
    }
    this.ctx.log.warn('code entry went round too often', { callId: this.ctx.entry.callId });
    throw new FlowEnd('no_input');
  }

  /** "0#": the same code again while it is valid, else a new verification. Returns the prompts to lead with. */
  private async sendAgain(channel: DeliveryChannel): Promise<PromptName[]> {
    const contact = this.ctx.contact;
    if (!contact) throw new Error('no contact');
    if (this.sends >= this.ctx.settings.maxSendsPerCall) {
      this.ctx.audit('resend', { channel, refused: 'max_sends', sends: this.sends });
      return ['no-more-sends'];
    }
    const current = this.verification;
    if (current && current.status === 'pending' && this.ctx.clock.now() < current.expiresAt) {
      const sent = await this.send(contact, channel, 'resend');
      if (sent === 'sent') return ['resent'];
      if (sent === 'wait') return ['resend-wait'];
      if (sent === 'no_more') return ['no-more-sends'];
      if (sent === 'failed') return ['send-failed'];
      // Expired meanwhile: a new code below.
    }
    const sent = await this.send(contact, channel, 'start');
    if (sent === 'sent') return [`sent-${channel}`];
    return ['send-failed'];
  }

  /**
   * Starts a verification (or sends the current one again) while the caller hears "please
   * wait". Counts toward maxSendsPerCall either way. Locked and rate-limited starts end the call.
   */
  private async send(contact: Contact, channel: DeliveryChannel, kind: 'start' | 'resend'): Promise<Sent> {
    const { ctx } = this;
    const { verifier } = this.deps;
    this.sends += 1;
    const controller = new AbortController();
    const current = this.verification;
    const work = ctx.db(
      `sending the code by ${channel}`,
      () =>
        kind === 'resend' && current
          ? verifier.resend(current.id, { signal: controller.signal })
          : verifier.start(
              { contact, channel, origin: 'inbound_call', callId: ctx.entry.callId },
              controller.signal,
            ),
      ctx.settings.sendTimeoutMs,
    );
    // Awaited below, after the prompt: keep a failure meanwhile from counting as unhandled.
    work.catch(() => undefined);
    ctx.step = 'sending';
    try {
      await ctx.play(['sending'], 'playing the sending prompt');
    } catch (err) {
      controller.abort();
      throw err;
    }
    let result;
    try {
      result = await ctx.untilGone(work);
    } catch (err) {
      // Nobody is left to type the code (or it took too long): don't deliver it.
      controller.abort();
      if (ctx.isGone(err) || !(err instanceof DeadlineError)) throw err;
      const error = ctx.describe(err);
      ctx.audit('send_failed', { channel, error });
      ctx.log.warn('sending the code failed', { callId: ctx.entry.callId, channel, error });
      return 'failed';
    }
    switch (result.kind) {
      case 'sent': {
        const v = result.verification;
        this.verification = v;
        ctx.method = addMethod(ctx.method, channel);
        const detail = {
          channel,
          to: v.destinationMasked,
          verificationId: v.id,
          newCode: kind === 'start',
          sends: this.sends,
        };
        ctx.audit(kind === 'resend' ? 'resend' : 'code_sent', { ...detail, messageId: result.messageId });
        ctx.log.info('code sent', { callId: ctx.entry.callId, ...detail });
        return 'sent';
      }
      case 'delivery_failed':
        if (kind === 'start') this.verification = result.verification;
        ctx.audit('send_failed', { channel, verificationId: result.verification.id, error: result.error });
        return 'failed';
      case 'refused': {
        const r = result.refusal;
        ctx.audit('refused', { channel, error: r.error, limit: 'limit' in r ? r.limit : null, kind });
        ctx.log.warn('send refused', { callId: ctx.entry.callId, channel, problem: r.message });
        if (r.error === 'locked') throw new FlowEnd('locked', ['locked']);
        if (kind === 'start') {
          if (r.error === 'rate_limited') throw new FlowEnd('rate_limited', ['rate-limited']);
          throw new FlowEnd('max_sends', ['no-more-sends']);
        }
        return r.error === 'rate_limited' && r.limit === 'resend_cooldown' ? 'wait' : 'no_more';
      }
      case 'expired':
        this.verification = result.verification;
        return 'expired';
      case 'decided':
      case 'not_found':
        throw new Error(
          `the verification to send again is ${result.kind === 'decided' ? result.verification.status : 'gone'}`,
        );
    }
  }

  /** One try. Returns [] when the code is right, else the prompts to lead the next entry with. */
  private async check(entered: string): Promise<PromptName[]> {
    const v = this.verification;
    if (!v) throw new Error('no verification to check');
    const answer = await this.ctx.db('checking the code', () => this.deps.verifier.check(v.id, entered));
    if (answer.kind === 'not_found') throw new Error('the verification store has no record of this call');
    if (answer.kind !== 'checked')
      throw new Error(`the verification of this call is not a code's (${answer.kind})`);
    this.verification = answer.verification;
    const outcome = answer.outcome;
    switch (outcome.kind) {
      case 'approved':
        this.ctx.audit('attempt', { ok: true, verificationId: v.id });
        return [];
      case 'wrong':
        this.ctx.audit('attempt', { ok: false, triesLeft: outcome.checksLeft, verificationId: v.id });
        return ['code-wrong'];
      case 'max_attempts_reached':
      case 'max_attempts':
        this.ctx.audit('attempt', { ok: false, triesLeft: 0, verificationId: v.id });
        throw new FlowEnd('max_attempts');
      case 'locked':
        this.ctx.audit('refused', { error: 'locked', verificationId: v.id });
        throw new FlowEnd('locked', ['locked']);
      case 'expired':
        this.ctx.audit('expired', { sends: this.sends, verificationId: v.id });
        // "Press zero then pound for a new code" would be a lie with no sends left.
        if (this.sends >= this.ctx.settings.maxSendsPerCall) throw new FlowEnd('max_sends');
        return ['code-expired'];
      case 'decided':
        throw new Error(`the verification was already ${outcome.status}`);
    }
  }
}
