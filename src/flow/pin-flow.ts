/**
 * Route mode `pin`: the caller's static security PIN, checked against their number (seed 002).
 *
 *   find the caller by number (an unknown or shared number is asked for a PIN all the same)
 *   -> refuse a locked contact, or one without a PIN -> "enter your PIN, then pound" up to
 *   maxPinTries (# alone repeats, * bails) -> the PinChecker judges each try (pinverify's
 *   argon2id hash or the customer's CRM) and the verification service counts it
 *
 * Each try is a check of a `pin` verification of the shared service, so wrong PINs count
 * toward the same rolling per-contact lockout as wrong codes: calling again gives no fresh
 * guesses. A wrong PIN is told without saying whether the number or the PIN was wrong, and an
 * unknown caller hears exactly what a wrong PIN hears, to the end.
 */
import type { GatherOptions } from '../call/call-verbs';
import { addMethod, type Contact, type Reason, type Verification } from '../domain';
import { normalizeCaller } from '../phone/normalize-caller';
import { FlowEnd, media, type CallContext } from './call-context';
import type { ModeFlow, Verdict } from './call-flow';
import { identifyCaller, refuseIfLocked } from './identify-caller';
import type { ContactDirectory, PinChecker, Verifier } from './ports';
import type { PromptName } from './prompts';

export const PIN_BAIL_KEY = '*';
export const PIN_TERMINATOR = '#';
/** Runaway guard: "#" alone repeats the prompt without spending a try. */
const MAX_PIN_ROUNDS = 30;
/** How long a full-length PIN waits for more digits of the same entry. */
const REST_OF_ENTRY_WAIT_MS = 500;
/** Slack on top of the webhook's own deadline before the call gives up on the check. */
const CHECK_DEADLINE_SLACK_MS = 1000;

export interface PinFlowDeps {
  contacts: ContactDirectory;
  verifier: Verifier;
  pins: PinChecker;
}

export function createPinFlow(deps: PinFlowDeps): ModeFlow {
  return { verify: (ctx) => new PinRun(deps, ctx).verify() };
}

class PinRun {
  private verification: Verification | null = null;
  /** Set for a caller who cannot be verified by number (database source): the reason it ends with. */
  private unverifiable: Reason | null = null;

  constructor(
    private readonly deps: PinFlowDeps,
    private readonly ctx: CallContext,
  ) {
    ctx.atEnd(async () => {
      const v = this.verification;
      if (v && v.status === 'pending') await this.deps.verifier.cancel(v.id, 'call_ended');
    });
  }

  async verify(): Promise<Verdict> {
    const { ctx } = this;
    const s = ctx.settings;
    const caller = normalizeCaller(ctx.entry.callerId, s.defaultCountry);
    const e164 = caller.kind === 'ok' ? caller.e164 : null;
    const { contact, unknown } = await this.findCaller();
    if (contact) {
      await refuseIfLocked(ctx, this.deps.verifier, contact);
      await this.refuseWithoutPin(contact);
      await this.startVerification(contact, e164);
    } else if (s.pinSource === 'database') {
      // Asked all the same, and every try judged (against a dummy hash), so neither the words
      // nor the time it takes tell an unknown number from a wrong PIN. (A CRM may know
      // numbers we do not: with the webhook source its answer decides.)
      this.unverifiable = unknown;
    }

    const gather: Omit<GatherOptions, 'prompts'> = {
      maxDigits: s.pinMaxLength,
      firstDigitTimeoutMs: s.firstDigitTimeoutMs,
      interDigitTimeoutMs: s.interDigitTimeoutMs,
      terminator: PIN_TERMINATOR,
      bailKey: PIN_BAIL_KEY,
    };
    let before: PromptName[] = [];
    let tries = 0;
    let silences = 0;
    for (let round = 0; round < MAX_PIN_ROUNDS && tries < s.maxPinTries; round++) {
      ctx.step = 'pin';
      const heard = await ctx.call.gather({ ...gather, prompts: media([...before, 'enter-pin']) });
      before = [];
      if (heard.ended === 'bail') {
        ctx.audit('pin_check', { bailed: true, tries });
        this.end('caller_bailed');
      }
      if (heard.ended === 'no_input') {
        silences += 1;
        if (silences >= Math.max(1, s.maxMenuPrompts)) this.end('no_input');
        continue;
      }
      silences = 0;
      if (heard.ended === 'terminator' && heard.digits === '') continue;
      let pin = heard.digits;
      if (heard.ended === 'max') {
        // Digits keyed on past the longest PIN belong to this entry (one wrong try), not the next.
        const rest = await this.restOfEntry();
        if (rest === null) this.end('caller_bailed');
        pin += rest;
      }
      tries += 1;
      if (await this.judge(pin, e164, contact, tries)) return { result: 'verified', reason: 'ok' };
      if (tries < s.maxPinTries) before = ['pin-wrong'];
    }
    if (tries < s.maxPinTries) {
      ctx.log.warn('PIN entry went round too often', { callId: ctx.entry.callId, tries });
      this.end('no_input');
    }
    this.end('max_attempts');
  }

  /**
   * After pinMaxLength digits: whatever the caller keys on at once (up to pound or a pause) is
   * part of the same entry. A PIN of full length costs only REST_OF_ENTRY_WAIT_MS; a pound
   * arriving later reaches the next prompt, where pound alone only repeats it. Null on star.
   */
  private async restOfEntry(): Promise<string | null> {
    const s = this.ctx.settings;
    const rest = await this.ctx.call.gather({
      prompts: [],
      maxDigits: 64,
      firstDigitTimeoutMs: REST_OF_ENTRY_WAIT_MS,
      interDigitTimeoutMs: s.interDigitTimeoutMs,
      terminator: PIN_TERMINATOR,
      bailKey: PIN_BAIL_KEY,
    });
    return rest.ended === 'bail' ? null : rest.digits;
  }

  /** The contact by caller ID, or why there is none (unknown, shared or anonymous number). */
  private async findCaller(): Promise<{ contact: Contact | null; unknown: Reason }> {
    try {
      return { contact: await identifyCaller(this.ctx, this.deps.contacts), unknown: 'no_match' };
    } catch (err) {
      if (err instanceof FlowEnd && (err.reason === 'no_match' || err.reason === 'multi_match'))
        return { contact: null, unknown: err.reason };
      throw err;
    }
  }

  /** No PIN set (pinverify's own PINs): nothing to ask; an agent verifies by hand. */
  private async refuseWithoutPin(contact: Contact): Promise<void> {
    const { ctx } = this;
    ctx.step = 'pin_lookup';
    const has = await ctx.db('reading whether the contact has a PIN', () =>
      this.deps.pins.hasPin(contact, ctx.settings),
    );
    if (has !== false) return;
    ctx.audit('refused', { error: 'no_pin' });
    ctx.log.info('contact has no PIN set', { callId: ctx.entry.callId, contactId: contact.id });
    throw new FlowEnd('no_pin');
  }

  private async startVerification(contact: Contact, e164: string | null): Promise<void> {
    const { ctx } = this;
    if (!e164) return;
    const started = await ctx.db('starting the PIN verification', () =>
      this.deps.verifier.startPin({
        contact,
        caller: e164,
        callId: ctx.entry.callId,
        maxTries: ctx.settings.maxPinTries,
        maxLength: ctx.settings.pinMaxLength,
      }),
    );
    if (started.kind === 'refused') {
      ctx.audit('refused', { error: started.refusal.error });
      throw new FlowEnd('locked', ['locked']);
    }
    this.verification = started.verification;
  }

  /** One try: the source judges the PIN, the service counts it. True when verified. */
  private async judge(
    pin: string,
    e164: string | null,
    contact: Contact | null,
    tries: number,
  ): Promise<boolean> {
    const { ctx } = this;
    const s = ctx.settings;
    ctx.step = 'pin_check';
    ctx.method = addMethod(ctx.method, 'pin');
    const controller = new AbortController();
    const deadline = s.pinSource === 'webhook' ? s.pinWebhookTimeoutMs + CHECK_DEADLINE_SLACK_MS : undefined;
    let answer;
    try {
      answer = await ctx.untilGone(
        ctx.db(
          'checking the PIN',
          () =>
            this.deps.pins.check({ caller: e164, pin, route: ctx.routeName, contact }, s, controller.signal),
          deadline,
        ),
      );
    } catch (err) {
      controller.abort();
      if (!ctx.isGone(err))
        ctx.audit('pin_check', { source: s.pinSource, error: ctx.describe(err), try: tries });
      throw err;
    }
    const v = this.verification;
    if (!v) {
      // No contact of ours to count against (or to verify as, unless the CRM names one).
      const named =
        answer.match && answer.contactId !== null ? await this.contactById(answer.contactId) : null;
      const ok = answer.match && this.unverifiable === null && !(named && (await this.isLocked(named)));
      ctx.audit('pin_check', { ok, source: s.pinSource, try: tries, triesLeft: s.maxPinTries - tries });
      if (ok && named) ctx.contact = named;
      return ok;
    }
    // A PIN the CRM says is another contact's, who is locked, counts as wrong (told as wrong,
    // so the words do not reveal the lock either).
    const other =
      answer.match && answer.contactId !== null && answer.contactId !== v.contactId
        ? await this.contactById(answer.contactId)
        : null;
    const matched = answer.match && !(other && (await this.isLocked(other)));
    const recorded = await ctx.db('recording the PIN try', () => this.deps.verifier.checkPin(v.id, matched));
    if (recorded.kind !== 'checked')
      throw new Error(`the PIN verification cannot be checked (${recorded.kind})`);
    this.verification = recorded.verification;
    const outcome = recorded.outcome;
    ctx.audit('pin_check', {
      ok: outcome.kind === 'approved',
      source: s.pinSource,
      try: tries,
      triesLeft: Math.max(0, v.maxChecks - recorded.verification.checks),
      verificationId: v.id,
    });
    switch (outcome.kind) {
      case 'approved':
        if (other) ctx.contact = other;
        return true;
      case 'wrong':
        return false;
      case 'max_attempts_reached':
      case 'max_attempts':
        return this.end('max_attempts');
      case 'locked':
        throw new FlowEnd('locked', ['locked']);
      case 'expired':
        // Ten minutes on one PIN dialogue: the caller has stopped keying.
        return this.end('no_input');
      case 'decided':
        throw new Error(`the PIN verification was already ${outcome.status}`);
    }
  }

  /** A contact the CRM named is held to its lockout like any other. */
  private async isLocked(contact: Contact): Promise<boolean> {
    const lock = await this.ctx.db('reading the contact lock', () =>
      this.deps.verifier.lockState(contact.id),
    );
    if (lock.locked) this.ctx.audit('refused', { error: 'locked', contactId: contact.id, named: true });
    return lock.locked;
  }

  private async contactById(id: number): Promise<Contact | null> {
    return this.ctx.db('finding the contact the PIN belongs to', () => this.deps.contacts.findById(id));
  }

  /**
   * Ends the PIN dialogue. A caller we could not verify by number ends with that reason
   * (no_match, multi_match) whatever they keyed, and hears what a wrong PIN hears.
   */
  private end(reason: Reason): never {
    if (this.unverifiable) throw new FlowEnd(this.unverifiable, [], ['not-verified']);
    throw new FlowEnd(reason);
  }
}
