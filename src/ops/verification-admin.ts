/**
 * Verifications as the HTTP API and the CLI offer them (Twilio Verify's shapes and status
 * words): start, check, resend, cancel, show, list, and unlocking a contact. Input is parsed
 * here once for both front ends; the limits are the verification service's, the same that
 * apply to callers. Answers never carry a code, a hash or a full destination, except once: the
 * generated code of a call in input mode, which the client shows to the person it calls.
 */
import { z } from 'zod';
import {
  VERIFICATION_STATUSES,
  type Contact,
  type DeliveryChannel,
  type Refusal,
  type Verification,
  type VerificationStatus,
} from '../domain';
import { normalizeCaller } from '../phone/normalize-caller';
import { readSettings } from '../store/pg-config-store';
import { PgContactDirectory } from '../store/pg-contact-directory';
import { withTransaction } from '../store/db';
import { isValidCustomCode, VERIFICATION_ID_PATTERN } from '../verification/verification-code';
import {
  CustomCodeRequired,
  destinationOf,
  type CallStartResult,
  type SendResult,
  type VerificationService,
} from '../verification/verification-service';
import { PgProfileStore } from '../store/pg-profile-store';
import { recordConfigChange } from './config-change-log';
import type { OpsDeps } from './ops-deps';
import { invalid, notFound, OpsError, parseInput } from './ops-error';

const customCode = z
  .string()
  .refine(isValidCustomCode, 'customCode must be 4 to 10 digits')
  .describe('your own code (4-10 digits) instead of a generated one');

export const startVerificationSchema = z
  .object({
    contactId: z.number().int().positive().optional().describe('the contact to verify'),
    to: z
      .string()
      .min(3)
      .max(254)
      .optional()
      .describe('a number or email address on file for exactly one contact (instead of contactId)'),
    channel: z.enum(['sms', 'email', 'call'], { error: 'channel must be sms, email or call' }),
    profile: z
      .string()
      .min(1)
      .max(40)
      .optional()
      .describe('channel call: the call profile (pinverify profiles list) whose call is placed'),
    customCode: customCode.optional(),
  })
  .strict()
  .refine((b) => (b.contactId === undefined) !== (b.to === undefined), {
    message: 'give exactly one of contactId and to',
    path: ['contactId'],
  })
  .refine((b) => (b.channel === 'call') === (b.profile !== undefined), {
    message: 'channel call needs a profile; other channels take none',
    path: ['profile'],
  });

export const checkVerificationSchema = z
  .object({ code: z.string().regex(/^[0-9]{1,10}$/, 'code must be 1 to 10 digits') })
  .strict();

export const resendVerificationSchema = z.object({ customCode: customCode.optional() }).strict();

export const listVerificationsSchema = z
  .object({
    contactId: z.coerce.number().int().positive().optional(),
    status: z.enum(VERIFICATION_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  })
  .strict();

/** What the API and the CLI show of a verification. */
export interface VerificationView {
  id: string;
  status: VerificationStatus;
  channel: string;
  /** Masked. */
  to: string;
  /** Null for a call to a number not on file (a profile with requireContact off). */
  contactId: number | null;
  origin: string;
  callId: string | null;
  actor: string | null;
  createdAt: Date;
  expiresAt: Date;
  decidedAt: Date | null;
  sends: number;
  checks: number;
  maxSends: number;
  maxChecks: number;
  failureReason: string | null;
}

export function viewOf(v: Verification): VerificationView {
  return {
    id: v.id,
    status: v.status,
    channel: v.channel,
    to: v.destinationMasked,
    contactId: v.contactId,
    origin: v.origin,
    callId: v.callId,
    actor: v.actor,
    createdAt: v.createdAt,
    expiresAt: v.expiresAt,
    decidedAt: v.decidedAt,
    sends: v.sends,
    checks: v.checks,
    maxSends: v.maxSends,
    maxChecks: v.maxChecks,
    failureReason: v.failureReason,
  };
}

/** A started verification; a call in input mode with a generated code carries it, this once. */
export type StartedView = VerificationView & { code?: string };

/** Whole seconds until `t`, at least 1: a Retry-After for a lockout. */
function secondsUntil(t: Date): number {
  return Math.max(1, Math.ceil((t.getTime() - Date.now()) / 1000));
}

function refused(r: Refusal): OpsError {
  return new OpsError('limited', r.message, [], {
    code: r.error,
    retryAfterSeconds:
      r.error === 'rate_limited'
        ? r.retryAfterSeconds
        : r.error === 'locked'
          ? secondsUntil(r.until)
          : undefined,
  });
}

/** A PIN verification belongs to its call: nothing to check or send over the API. */
function pinVerification(id: string): OpsError {
  return new OpsError(
    'conflict',
    `verification ${id} is a PIN verification: the caller keys the PIN on the call; nothing to check or send here`,
    [],
    { code: 'pin_verification' },
  );
}

function idOf(text: string): string {
  if (!VERIFICATION_ID_PATTERN.test(text)) throw notFound(`no verification ${text}`);
  return text;
}

export function createVerificationAdmin(deps: OpsDeps) {
  const { pool } = deps;
  const contacts = new PgContactDirectory(pool);
  const service = (): VerificationService => {
    if (!deps.verifications) throw new OpsError('unavailable', 'verifications are not available here');
    return deps.verifications();
  };

  async function contactFor(input: { contactId?: number; to?: string }): Promise<Contact> {
    if (input.contactId !== undefined) {
      const c = await contacts.findById(input.contactId);
      if (!c) throw notFound(`no contact with id ${input.contactId}`);
      return c;
    }
    const to = (input.to ?? '').trim();
    let destination = to;
    if (!to.includes('@')) {
      const settings = await readSettings(pool);
      const n = normalizeCaller(to, settings.defaultCountry);
      if (n.kind !== 'ok')
        throw invalid([{ field: 'to', message: `${to} is neither an email address nor a phone number` }]);
      destination = n.e164;
    }
    const found = await contacts.findByDestination(destination, 2);
    if (found.length === 0) throw notFound('to: no contact has this mobile number or email address on file');
    if (found.length > 1)
      throw new OpsError(
        'conflict',
        'to: several contacts have this mobile number or email address on file; give contactId',
      );
    return found[0] as Contact;
  }

  function answer(result: SendResult): VerificationView {
    switch (result.kind) {
      case 'sent':
        return viewOf(result.verification);
      case 'refused':
        throw refused(result.refusal);
      case 'delivery_failed':
        throw new OpsError('upstream', `delivery_failed: ${result.error}`, [], { code: 'delivery_failed' });
      case 'expired':
        throw new OpsError(
          'conflict',
          `verification ${result.verification.id} has expired; start a new one`,
          [],
          {
            code: 'expired',
          },
        );
      case 'decided':
        throw new OpsError(
          'conflict',
          `verification ${result.verification.id} is already ${result.verification.status}`,
        );
      case 'not_found':
        throw notFound('no such verification');
    }
  }

  /**
   * channel call: the profile, the number called (`to`, or the contact's mobile) and its contact.
   * The number must be on file for exactly one contact unless the profile allows unknown numbers
   * (requireContact off): then the verification has no contact and no per-contact lockout.
   */
  async function startCall(input: z.infer<typeof startVerificationSchema>): Promise<StartedView> {
    const profile = await new PgProfileStore(pool).findByName(input.profile ?? '');
    if (!profile) throw notFound(`profile: no call profile named ${input.profile} (pinverify profiles list)`);
    if (!profile.enabled)
      throw invalid([{ field: 'profile', message: `call profile ${profile.name} is disabled` }]);
    let contact: Contact | null;
    let to: string;
    if (input.contactId !== undefined) {
      const c = await contacts.findById(input.contactId);
      if (!c) throw notFound(`no contact with id ${input.contactId}`);
      if (!c.mobile)
        throw invalid([{ field: 'contactId', message: `contact ${c.id} has no mobile number to call` }]);
      contact = c;
      to = c.mobile;
    } else {
      const settings = await readSettings(pool);
      const n = normalizeCaller((input.to ?? '').trim(), settings.defaultCountry);
      if (n.kind !== 'ok') throw invalid([{ field: 'to', message: `${input.to} is not a phone number` }]);
      const found = await contacts.findByPhone(n.e164, 2);
      if (found.length > 1)
        throw new OpsError('conflict', 'to: several contacts have this number on file; give contactId');
      if (found.length === 0 && profile.requireContact)
        throw notFound(
          `to: no contact has this number on file, and profile ${profile.name} calls only contacts' numbers (pinverify contacts add, or profiles update ${profile.name} --allow-unknown-numbers)`,
        );
      contact = found[0] ?? null;
      to = n.e164;
    }
    let result: CallStartResult;
    try {
      result = await service().startCall({
        contact,
        to,
        profile,
        actor: deps.actor,
        customCode: input.customCode,
      });
    } catch (err) {
      if (err instanceof CustomCodeRequired)
        throw invalid([{ field: 'customCode', message: err.message.replace(/^customCode: /, '') }]);
      throw err;
    }
    switch (result.kind) {
      case 'queued':
        return result.code === null
          ? viewOf(result.verification)
          : { ...viewOf(result.verification), code: result.code };
      case 'refused':
        throw refused(result.refusal);
      case 'failed':
        throw new OpsError('upstream', `delivery_failed: ${result.error}`, [], { code: 'delivery_failed' });
    }
  }

  return {
    async start(body: unknown): Promise<StartedView> {
      const input = parseInput(startVerificationSchema, body);
      if (input.channel === 'call') return startCall(input);
      const contact = await contactFor(input);
      const channel: DeliveryChannel = input.channel;
      if (!destinationOf(contact, channel))
        throw invalid([
          {
            field: 'channel',
            message: `contact ${contact.id} has no ${channel === 'sms' ? 'mobile number' : 'email address'} on file`,
          },
        ]);
      if (input.to !== undefined && input.to.includes('@') !== (channel === 'email'))
        throw invalid([
          {
            field: 'to',
            message: `a ${input.to.includes('@') ? 'email address' : 'phone number'} cannot take channel ${channel}`,
          },
        ]);
      const result = await service().start({
        contact,
        channel,
        origin: 'api',
        actor: deps.actor,
        customCode: input.customCode,
      });
      return answer(result);
    },

    async check(
      idText: string,
      body: unknown,
    ): Promise<{ id: string; status: VerificationStatus; checksLeft: number }> {
      const id = idOf(idText);
      const { code } = parseInput(checkVerificationSchema, body);
      const result = await service().check(id, code);
      if (result.kind === 'not_found') throw notFound(`no verification ${id}`);
      if (result.kind !== 'checked') throw pinVerification(id);
      const v = result.verification;
      const o = result.outcome;
      if (o.kind === 'decided') throw new OpsError('conflict', `verification ${id} is already ${o.status}`);
      if (o.kind === 'max_attempts')
        throw new OpsError('limited', `max_attempts: verification ${id} had ${v.maxChecks} checks`, [], {
          code: 'max_attempts',
        });
      if (o.kind === 'locked')
        throw new OpsError(
          'limited',
          `locked: the contact is locked by failed checks until ${o.until.toISOString()}`,
          [],
          {
            code: 'locked',
            retryAfterSeconds: secondsUntil(o.until),
          },
        );
      return { id, status: v.status, checksLeft: Math.max(0, v.maxChecks - v.checks) };
    },

    async resend(idText: string, body: unknown = {}): Promise<VerificationView> {
      const id = idOf(idText);
      const input = parseInput(resendVerificationSchema, body ?? {});
      if ((await service().get(id))?.channel === 'pin') throw pinVerification(id);
      try {
        return answer(await service().resend(id, { customCode: input.customCode }));
      } catch (err) {
        if (err instanceof CustomCodeRequired)
          throw invalid([{ field: 'customCode', message: err.message.replace(/^customCode: /, '') }]);
        throw err;
      }
    },

    async cancel(idText: string): Promise<VerificationView> {
      const id = idOf(idText);
      const result = await service().cancel(id, `canceled by ${deps.actor}`);
      if (!result) throw notFound(`no verification ${id}`);
      if (!result.canceled)
        throw new OpsError('conflict', `verification ${id} is already ${result.verification.status}`);
      return viewOf(result.verification);
    },

    async get(idText: string): Promise<VerificationView> {
      const id = idOf(idText);
      const v = await service().get(id);
      if (!v) throw notFound(`no verification ${id}`);
      return viewOf(v);
    },

    async list(query: unknown): Promise<VerificationView[]> {
      const q = parseInput(listVerificationsSchema, query ?? {});
      return (await service().list(q)).map(viewOf);
    },

    /** Clears a contact's lockout (failed checks in the window) and its send counts; recorded as a change. */
    async unlock(
      idText: string | number,
    ): Promise<{ contactId: number; failuresCleared: number; sendsCleared: number; lockedBefore: boolean }> {
      const id = parseInput(z.coerce.number().int().positive('a contact id'), idText, 'id');
      const contact = await contacts.findById(id);
      if (!contact) throw notFound(`no contact with id ${id}`);
      const before = await service().lockState(id);
      const cleared = await service().unlock(contact);
      await withTransaction(pool, (db) =>
        recordConfigChange(db, {
          actor: deps.actor,
          action: 'contact.unlock',
          subject: String(id),
          detail: { failuresBefore: before.failures, locked: before.locked, ...cleared },
        }),
      );
      return { contactId: id, lockedBefore: before.locked, ...cleared };
    },
  };
}

export type VerificationAdmin = ReturnType<typeof createVerificationAdmin>;
