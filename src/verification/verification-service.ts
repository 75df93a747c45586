/**
 * The one verification service: start, send again, check, cancel, look up. The inbound call flow,
 * the admin HTTP API and the CLI all go through it, so a limit applies to a caller exactly as to
 * an API client. Decisions are the pure functions of src/domain/verification.ts; this module
 * only loads their inputs under the store's locks, saves what they decide and sends messages.
 */
import type { Clock } from '../call/clock';
import {
  decideCancel,
  decideCheck,
  decideResend,
  decided,
  LOCK_WINDOW_MS,
  lockedRefusal,
  lockState,
  overallLimitRefusal,
  sendLimitVerdict,
  type CheckOutcome,
  type Contact,
  type DeliveryChannel,
  type FlowSettings,
  type LockState,
  type Refusal,
  type SendLimits,
  type Verification,
  type VerificationOrigin,
  type CallProfile,
} from '../domain';
import type { CodeDelivery, FlowLogger, PinStartResult, PinVerificationRequest } from '../flow/ports';
import { maskEmail, maskPhone } from '../log/mask';
import { countryCallingCode } from '../phone/country-calling-code';
import { redactSecrets } from '../senders/redact-secrets';
import {
  deriveCode,
  destinationKey,
  hashesMatch,
  hashVerificationCode,
  newVerificationId,
  sealCode,
} from './verification-code';
import type { VerificationObserver } from '../metrics/app-metrics';
import type {
  SendRecord,
  SendReserver,
  VerificationFilter,
  VerificationStore,
  VerificationTx,
} from './verification-store';

export interface StartRequest {
  contact: Contact;
  channel: DeliveryChannel;
  origin: VerificationOrigin;
  callId?: string | null;
  actor?: string | null;
  /** The client's own code (API only); otherwise one is made. */
  customCode?: string;
  /**
   * Somewhere other than the contact's address on file (the desk's discouraged override),
   * normalised by the caller (E.164, lower-case email). Limits count it as its own destination.
   */
  destination?: string;
}

export type SendResult =
  | { kind: 'sent'; verification: Verification; messageId: string | null }
  | { kind: 'refused'; refusal: Refusal; verification?: Verification }
  | { kind: 'delivery_failed'; verification: Verification; error: string }
  /** Resend only: the code had expired (the verification is now `expired`). */
  | { kind: 'expired'; verification: Verification }
  /** Resend only: the verification was already decided. */
  | { kind: 'decided'; verification: Verification }
  | { kind: 'not_found' };

export interface CancelResult {
  verification: Verification;
  canceled: boolean;
}

export type CheckResult =
  | { kind: 'checked'; outcome: CheckOutcome; verification: Verification }
  | { kind: 'not_found' }
  /** A code was given for a PIN verification, or a PIN for a code's: nothing compared or counted. */
  | { kind: 'not_a_code' | 'not_a_pin'; verification: Verification };

/** A PIN verification lives as long as a call may take over its tries. */
export const PIN_VERIFICATION_TTL_MS = 10 * 60_000;

/** A prefix or overall send limit tripped: possibly SMS pumping. */
export interface LimitAlarm {
  limit: string;
  message: string;
  channel: DeliveryChannel;
}

export interface VerificationServiceDeps {
  store: VerificationStore;
  delivery: CodeDelivery;
  settings(): Promise<FlowSettings>;
  contactById(id: number): Promise<Contact | null>;
  clock: Clock;
  secret: string;
  log: FlowLogger;
  alarm?(alarm: LimitAlarm): void;
  newId?(): string;
  /** Counts for /metrics (src/metrics); never sees a code or an address. */
  observer?: VerificationObserver;
  /** Places outbound verification calls (channel call); absent where calls are not set up. */
  calls?: OutboundCalls;
}

/** Hands a started call verification to whatever places the call (src/outbound/). */
export interface OutboundCalls {
  place(job: {
    verificationId: string;
    profile: string;
    to: string;
    codeLength: number;
    /** A client's own code, sealed (verification-code.ts sealCode): the call cannot derive it. */
    sealedCode?: string;
  }): Promise<void>;
}

export interface CallStartRequest {
  /**
   * The contact the number belongs to; null for a number not on file (a profile with
   * requireContact off): then no per-contact lockout applies, only the tries of the verification
   * and the send limits of the number and its country.
   */
  contact: Contact | null;
  /** E.164: one of the contact's numbers, or any number when contact is null. */
  to: string;
  profile: Pick<CallProfile, 'name' | 'mode' | 'codeSource' | 'codeLength'>;
  actor?: string | null;
  /** The client's own code: required by a manual profile, refused by an auto one. */
  customCode?: string;
}

export type CallStartResult =
  /** The call is on its way. `code`: input mode with a generated code, shown once to the client. */
  | { kind: 'queued'; verification: Verification; code: string | null }
  | { kind: 'refused'; refusal: Refusal }
  | { kind: 'failed'; verification: Verification; error: string };

/** The contact's address for a channel, normalised as stored (E.164, lower-case email). */
export function destinationOf(contact: Contact, channel: DeliveryChannel): string | null {
  if (channel === 'email') return contact.email ? contact.email.trim().toLowerCase() : null;
  return contact.mobile;
}

export function maskDestination(channel: string, destination: string): string {
  return channel === 'email' ? maskEmail(destination) : maskPhone(destination);
}

/** A contact's lockout as the store has it now (no lock taken): for showing, not for deciding. */
export async function readLockState(
  store: Pick<VerificationStore, 'failuresSince'>,
  contactId: number,
  now: Date,
  limit: number,
): Promise<LockState> {
  return lockState(
    await store.failuresSince(contactId, new Date(now.getTime() - LOCK_WINDOW_MS)),
    now,
    limit,
  );
}

/** Locks the contact for the rest of the transaction and reads its lockout under that lock. */
async function lockContact(
  tx: VerificationTx,
  contactId: number | null,
  now: Date,
  limit: number,
): Promise<LockState> {
  // A verification of a number not on file has no contact to lock (see CallStartRequest).
  if (contactId === null) return lockState([], now, limit);
  return lockState(await tx.lockContact(contactId, new Date(now.getTime() - LOCK_WINDOW_MS)), now, limit);
}

export class VerificationService {
  constructor(private readonly deps: VerificationServiceDeps) {}

  async lockState(contactId: number): Promise<LockState> {
    const s = await this.deps.settings();
    return readLockState(this.deps.store, contactId, this.deps.clock.now(), s.maxFailedChecksPerContact);
  }

  /** Creates a verification and sends its code, unless a limit refuses it. */
  async start(req: StartRequest, signal?: AbortSignal): Promise<SendResult> {
    const s = await this.deps.settings();
    const now = this.deps.clock.now();
    const destination = req.destination ?? destinationOf(req.contact, req.channel);
    if (!destination) throw new Error(`contact ${req.contact.id} has no ${req.channel} destination on file`);
    const id = (this.deps.newId ?? newVerificationId)();
    const code = req.customCode ?? deriveCode(this.deps.secret, id, s.codeLength);
    const verification = this.newCodeVerification(s, now, {
      id,
      contactId: req.contact.id,
      channel: req.channel,
      destination,
      destinationMasked: maskDestination(req.channel, destination),
      origin: req.origin,
      callId: req.callId ?? null,
      actor: req.actor ?? null,
      code,
      customCode: req.customCode !== undefined,
    });
    const refusal = await this.insertUnderLimits(verification, s, now);
    if (refusal) {
      this.deps.observer?.send(req.channel, 'refused');
      this.deps.log.warn('verification refused', {
        contactId: req.contact.id,
        channel: req.channel,
        to: verification.destinationMasked,
        origin: req.origin,
        error: refusal.error,
        problem: refusal.message,
      });
      return { kind: 'refused', refusal };
    }
    this.deps.log.info('verification started', {
      verificationId: id,
      contactId: req.contact.id,
      channel: req.channel,
      to: verification.destinationMasked,
      origin: req.origin,
    });
    this.deps.observer?.verification(req.channel, 'pending');
    const sent = await this.deliver(verification, req.contact, code, s, signal);
    if (sent.ok) return { kind: 'sent', verification, messageId: sent.messageId };
    this.deps.observer?.verification(req.channel, 'failed');
    const failed = await this.failUndelivered(verification);
    return { kind: 'delivery_failed', verification: failed, error: sent.error };
  }

  /**
   * A verification of channel `call` (outbound voice call, issue #12): created under the same
   * lockout and send limits as a text message (a call counts as a send to its number and
   * country), then handed to the outbound caller. The code is never stored: a generated one is
   * derived again from the id when the call reads it out; in input mode it is returned once so
   * the client can show it to the person.
   */
  async startCall(req: CallStartRequest): Promise<CallStartResult> {
    const { profile } = req;
    if (profile.codeSource === 'manual' && req.customCode === undefined)
      throw new CustomCodeRequired(`customCode: profile ${profile.name} takes the client's own code`);
    if (profile.codeSource === 'auto' && req.customCode !== undefined)
      throw new CustomCodeRequired(
        `customCode: profile ${profile.name} makes its own code; leave customCode out`,
      );
    const s = await this.deps.settings();
    const now = this.deps.clock.now();
    const id = (this.deps.newId ?? newVerificationId)();
    const code = req.customCode ?? deriveCode(this.deps.secret, id, profile.codeLength);
    const verification = this.newCodeVerification(s, now, {
      id,
      contactId: req.contact?.id ?? null,
      channel: 'call',
      destination: req.to,
      destinationMasked: maskPhone(req.to),
      origin: 'api',
      callId: null,
      actor: req.actor ?? null,
      code,
      customCode: req.customCode !== undefined,
    });
    const refusal = await this.insertUnderLimits(verification, s, now);
    if (refusal) {
      this.deps.log.warn('call verification refused', {
        contactId: req.contact?.id ?? null,
        to: verification.destinationMasked,
        profile: profile.name,
        error: refusal.error,
        problem: refusal.message,
      });
      return { kind: 'refused', refusal };
    }
    this.deps.log.info('call verification started', {
      verificationId: id,
      contactId: req.contact?.id ?? null,
      to: verification.destinationMasked,
      profile: profile.name,
    });
    try {
      if (!this.deps.calls) throw new Error('outbound calls are not set up in this process');
      await this.deps.calls.place({
        verificationId: id,
        profile: profile.name,
        to: req.to,
        codeLength: code.length,
        ...(req.customCode !== undefined
          ? { sealedCode: sealCode(this.deps.secret, id, req.customCode) }
          : {}),
      });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { kind: 'failed', verification: await this.failUndelivered(verification), error };
    }
    const shown = profile.mode === 'input' && profile.codeSource === 'auto' ? code : null;
    return { kind: 'queued', verification, code: shown };
  }

  /** Sends the same code again while it is valid. A custom code must be given again (it is not stored). */
  async resend(id: string, opts: { customCode?: string; signal?: AbortSignal } = {}): Promise<SendResult> {
    const s = await this.deps.settings();
    const now = this.deps.clock.now();
    const answer = await this.deps.store.atomically(async (tx): Promise<SendResult> => {
      const v = await tx.load(id);
      if (!v) return { kind: 'not_found' };
      if (v.channel === 'call' && v.status === 'pending')
        return {
          kind: 'refused',
          refusal: {
            error: 'max_sends',
            message: 'a call verification is called once (with its profile retries): start a new one',
          },
          verification: v,
        };
      const given = opts.customCode;
      if (v.status === 'pending' && v.customCode) {
        if (
          given === undefined ||
          !v.codeHash ||
          !hashesMatch(v.codeHash, hashVerificationCode(this.deps.secret, v.id, given))
        )
          throw new CustomCodeRequired();
      } else if (v.status === 'pending' && given !== undefined) {
        // A code the stored hash cannot approve would only spend the person's tries.
        throw new CustomCodeRequired(
          'customCode: this verification has a generated code; send it again without customCode',
        );
      }
      const lock = await lockContact(tx, v.contactId, now, s.maxFailedChecksPerContact);
      const d = decideResend(v, now, s, lock);
      switch (d.kind) {
        case 'decided':
          return { kind: 'decided', verification: v };
        case 'expired':
          await tx.save(d.next);
          return { kind: 'expired', verification: d.next };
        case 'refused':
          return { kind: 'refused', refusal: d.refusal, verification: v };
        case 'send': {
          // Saved first, so the send lock (taken by the reservation, held to the commit) waits
          // on one round trip, not two; a refusal puts the verification back as it was.
          await tx.save(d.next);
          const reserved = await this.reserveSend(tx, d.next, s, now);
          if ('refusal' in reserved) {
            await tx.save(v);
            return { kind: 'refused', refusal: reserved.refusal, verification: v };
          }
          return { kind: 'sent', verification: d.next, messageId: null };
        }
      }
    });
    if (answer.kind === 'refused' && answer.verification)
      this.deps.observer?.send(answer.verification.channel, 'refused');
    if (answer.kind === 'expired') this.deps.observer?.verification(answer.verification.channel, 'expired');
    if (answer.kind !== 'sent') return answer;
    const v = answer.verification;
    const contact = (v.contactId === null ? null : await this.deps.contactById(v.contactId)) ?? {
      id: v.contactId ?? 0,
      name: '',
      email: null,
      mobile: null,
    };
    const code = opts.customCode ?? deriveCode(this.deps.secret, v.id, v.codeLength);
    const sent = await this.deliver(v, contact, code, s, opts.signal);
    if (sent.ok) return { kind: 'sent', verification: v, messageId: sent.messageId };
    // The earlier code is still valid: the verification stays pending.
    return { kind: 'delivery_failed', verification: v, error: sent.error };
  }

  async check(id: string, code: string): Promise<CheckResult> {
    return this.decide(id, (v) =>
      v.channel === 'pin'
        ? // A PIN is judged by its PinChecker (checkPin), never by a code.
          'not_a_code'
        : v.codeHash !== null && hashesMatch(v.codeHash, hashVerificationCode(this.deps.secret, v.id, code)),
    );
  }

  /**
   * A PIN verification (channel `pin`, origin `inbound_call`): nothing is sent, the PIN is
   * judged by the PinChecker and each try recorded with checkPin, so wrong PINs count toward
   * the same per-contact lockout as wrong codes. Refused when the contact is locked.
   */
  async startPin(req: PinVerificationRequest): Promise<PinStartResult> {
    const s = await this.deps.settings();
    const now = this.deps.clock.now();
    const id = (this.deps.newId ?? newVerificationId)();
    const verification: Verification = {
      id,
      contactId: req.contact.id,
      channel: 'pin',
      destination: req.caller,
      destinationMasked: maskPhone(req.caller),
      origin: 'inbound_call',
      callId: req.callId,
      actor: null,
      status: 'pending',
      codeHash: null,
      codeLength: req.maxLength,
      customCode: false,
      createdAt: now,
      expiresAt: new Date(now.getTime() + PIN_VERIFICATION_TTL_MS),
      decidedAt: null,
      lastSentAt: null,
      sends: 0,
      checks: 0,
      maxSends: 0,
      maxChecks: req.maxTries,
      failureReason: null,
    };
    const refusal = await this.deps.store.atomically(async (tx) => {
      const lock = await lockContact(tx, req.contact.id, now, s.maxFailedChecksPerContact);
      if (lock.locked) return lockedRefusal(lock);
      await tx.insert(verification);
      return null;
    });
    if (refusal) return { kind: 'refused', refusal };
    this.deps.observer?.verification('pin', 'pending');
    this.deps.log.info('PIN verification started', { verificationId: id, contactId: req.contact.id });
    return { kind: 'started', verification };
  }

  /** Records one PIN try that the PinChecker judged (`matched`), under the contact's lock. */
  async checkPin(id: string, matched: boolean): Promise<CheckResult> {
    return this.decide(id, (v) => (v.channel === 'pin' ? matched : 'not_a_pin'));
  }

  /** One check under the verification's and the contact's locks; `judge` says whether it matched. */
  private async decide(
    id: string,
    judge: (v: Verification) => boolean | 'not_a_code' | 'not_a_pin',
  ): Promise<CheckResult> {
    const s = await this.deps.settings();
    const now = this.deps.clock.now();
    const answer = await this.deps.store.atomically(async (tx): Promise<CheckResult> => {
      const v = await tx.load(id);
      if (!v) return { kind: 'not_found' };
      const matches = judge(v);
      if (matches === 'not_a_code' || matches === 'not_a_pin') return { kind: matches, verification: v };
      const lock = await lockContact(tx, v.contactId, now, s.maxFailedChecksPerContact);
      const d = decideCheck(v, now, matches, lock);
      const failure =
        d.countFailure && v.contactId !== null ? { contactId: v.contactId, at: now } : undefined;
      if (d.next !== v || failure) await tx.save(d.next, failure);
      if (d.next.status !== v.status) this.deps.observer?.verification(v.channel, d.next.status);
      return { kind: 'checked', outcome: d.outcome, verification: d.next };
    });
    if (answer.kind === 'checked') {
      const { outcome, verification: v } = answer;
      const meta = {
        verificationId: v.id,
        contactId: v.contactId,
        channel: v.channel,
        outcome: outcome.kind,
        checks: v.checks,
      };
      if (outcome.kind === 'approved') this.deps.log.info('verification approved', meta);
      else this.deps.log.info('verification check refused or wrong', meta);
    }
    return answer;
  }

  /** Cancels a pending verification; null when unknown, `canceled: false` when it was already decided. */
  async cancel(id: string, reason: string | null = null): Promise<CancelResult | null> {
    const now = this.deps.clock.now();
    return this.deps.store.atomically(async (tx) => {
      const v = await tx.load(id);
      if (!v) return null;
      const next = decideCancel(v, now, reason);
      if (!next) return { verification: v, canceled: false };
      await tx.save(next);
      this.deps.observer?.verification(v.channel, 'canceled');
      return { verification: next, canceled: true };
    });
  }

  get(id: string): Promise<Verification | null> {
    return this.deps.store.get(id);
  }

  list(filter: VerificationFilter): Promise<Verification[]> {
    return this.deps.store.list(filter);
  }

  /**
   * An operator clears a contact's lockout: its failures in the window are marked cleared (kept
   * as evidence) and the send counts of its addresses are reset.
   */
  async unlock(contact: Contact): Promise<{ failuresCleared: number; sendsCleared: number }> {
    const now = this.deps.clock.now();
    const since = new Date(now.getTime() - LOCK_WINDOW_MS);
    const failuresCleared = await this.deps.store.clearFailures(contact.id, since, now);
    const keys = (['email', 'sms'] as const)
      .map((c) => destinationOf(contact, c))
      .filter((d): d is string => d !== null)
      .map((d) => destinationKey(this.deps.secret, d));
    const sendsCleared = keys.length > 0 ? await this.deps.store.clearSends(keys, since) : 0;
    this.deps.log.info('contact unlocked', { contactId: contact.id, failuresCleared, sendsCleared });
    return { failuresCleared, sendsCleared };
  }

  /** Counts the send against every limit; returns the refusal when one is reached. */
  /** A pending verification of a code (email, SMS or call): only the code's hash is kept. */
  private newCodeVerification(
    s: FlowSettings,
    now: Date,
    f: Pick<
      Verification,
      | 'id'
      | 'contactId'
      | 'channel'
      | 'destination'
      | 'destinationMasked'
      | 'origin'
      | 'callId'
      | 'actor'
      | 'customCode'
    > & { code: string },
  ): Verification {
    const { code, ...fields } = f;
    return {
      ...fields,
      status: 'pending',
      codeHash: hashVerificationCode(this.deps.secret, f.id, code),
      codeLength: code.length,
      createdAt: now,
      expiresAt: new Date(now.getTime() + s.codeValiditySeconds * 1000),
      decidedAt: null,
      lastSentAt: now,
      sends: 1,
      checks: 0,
      maxSends: s.maxSendsPerVerification,
      maxChecks: s.maxTriesPerCode,
      failureReason: null,
    };
  }

  /**
   * Inserts a new verification unless a send limit refuses it or its contact is locked. The send
   * is reserved first, on its own: the send lock is global (every instance's sends wait on it),
   * so it is held only inside the database, never across the insert's round trips. A
   * reservation whose verification is not made is given back.
   */
  private async insertUnderLimits(v: Verification, s: FlowSettings, now: Date): Promise<Refusal | null> {
    // A locked contact is refused before it takes a send, even for a moment (near a cap that
    // moment could refuse someone else); the check under the lock below stays the one that counts.
    if (v.contactId !== null) {
      const seen = await readLockState(this.deps.store, v.contactId, now, s.maxFailedChecksPerContact);
      if (seen.locked) return lockedRefusal(seen);
    }
    const reserved = await this.reserveSend(this.deps.store, v, s, now);
    if ('refusal' in reserved) return reserved.refusal;
    let refusal: Refusal | null;
    try {
      refusal = await this.deps.store.atomically(async (tx) => {
        const lock = await lockContact(tx, v.contactId, now, s.maxFailedChecksPerContact);
        if (lock.locked) return lockedRefusal(lock);
        await tx.insert(v);
        return null;
      });
    } catch (err) {
      await this.releaseSend(reserved.send);
      throw err;
    }
    if (refusal) await this.releaseSend(reserved.send);
    return refusal;
  }

  /** Best effort: a reservation not given back counts as a send for its windows, up to 24 h (the safe error). */
  private async releaseSend(send: SendRecord): Promise<void> {
    try {
      await this.deps.store.releaseSend(send);
    } catch (err) {
      this.deps.log.warn(
        'a reserved send could not be given back: it counts toward the send limits for up to 24 h',
        {
          verificationId: send.verificationId,
          error: err instanceof Error ? err.message : String(err),
        },
      );
    }
  }

  /** Nothing reached the person: the verification cannot succeed (unless already decided). */
  private failUndelivered(v: Verification): Promise<Verification> {
    return this.deps.store.atomically(async (tx) => {
      const current = (await tx.load(v.id)) ?? v;
      if (current.status !== 'pending') return current;
      const next = decided(current, 'failed', this.deps.clock.now(), 'delivery_failed');
      await tx.save(next);
      return next;
    });
  }

  /** Reserves one send of `v` (see SendReserver), or words the limit that refused it. */
  private async reserveSend(
    reserver: SendReserver,
    v: Verification,
    limits: SendLimits,
    now: Date,
  ): Promise<{ send: SendRecord } | { refusal: Refusal }> {
    // Calls count per country too: premium-rate call pumping is the voice form of SMS pumping.
    const country = v.channel === 'sms' || v.channel === 'call' ? countryCallingCode(v.destination) : null;
    const send: SendRecord = {
      verificationId: v.id,
      destinationKey: destinationKey(this.deps.secret, v.destination),
      countryCode: country,
      channel: v.channel,
      at: now,
    };
    const { reserved, counts } = await reserver.reserveSend(send, limits);
    if (reserved) return { send };
    const verdict = sendLimitVerdict(counts, limits, country, now);
    // The store applies the same rule as sendLimitVerdict; should they ever disagree, the
    // refusal still names the overall limit rather than none.
    const refusal: Refusal = verdict.refusal ?? overallLimitRefusal(limits);
    if (verdict.alarm && refusal.error === 'rate_limited') {
      const alarm: LimitAlarm = {
        limit: refusal.limit,
        message: refusal.message,
        channel: v.channel as DeliveryChannel,
      };
      this.deps.log.error('send limit alarm: possible SMS pumping or a runaway client', { ...alarm });
      this.deps.alarm?.(alarm);
    }
    return { refusal };
  }

  private async deliver(
    v: Verification,
    contact: Contact,
    code: string,
    s: FlowSettings,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; messageId: string | null } | { ok: false; error: string }> {
    if (v.channel !== 'email' && v.channel !== 'sms')
      // A call is placed once per start (with the profile's retries); a resend would be a new call.
      return { ok: false, error: `a ${v.channel} verification is not sent again: start a new one` };
    const channel: DeliveryChannel = v.channel;
    // The message goes to the verification's own destination.
    const to: Contact =
      channel === 'email' ? { ...contact, email: v.destination } : { ...contact, mobile: v.destination };
    try {
      const { messageId } = await this.deps.delivery.send(
        {
          channel,
          contact: to,
          code,
          // Rounded down: telling the person less time than they have is the safe error.
          validityMinutes: Math.max(
            1,
            Math.floor((v.expiresAt.getTime() - this.deps.clock.now().getTime()) / 60_000),
          ),
          companyName: s.companyName,
        },
        signal ?? new AbortController().signal,
      );
      this.deps.observer?.send(channel, 'sent');
      return { ok: true, messageId };
    } catch (err) {
      this.deps.observer?.send(channel, 'failed');
      const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      const error = redactSecrets(text, { code, addresses: [v.destination, contact.email, contact.mobile] });
      this.deps.log.warn('sending the code failed', {
        verificationId: v.id,
        channel,
        to: v.destinationMasked,
        error,
      });
      return { ok: false, error };
    }
  }
}

/** A resend of a custom-code verification without the right code. */
export class CustomCodeRequired extends Error {
  constructor(
    message = 'customCode: this verification has a custom code; give the same customCode again to resend it',
  ) {
    super(message);
    this.name = 'CustomCodeRequired';
  }
}
