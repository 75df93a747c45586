/**
 * Finds the caller among the contacts by caller ID. Exactly one contact is verified; none or
 * several end the attempt (an agent verifies by hand). Shared by every mode that works from the
 * caller's number, with the lockout check every mode makes before asking anything.
 */
import type { Contact } from '../domain';
import { maskPhone } from '../log/mask';
import { normalizeCaller } from '../phone/normalize-caller';
import { FlowEnd, type CallContext } from './call-context';
import type { ContactDirectory, Verifier } from './ports';

export async function identifyCaller(ctx: CallContext, contacts: ContactDirectory): Promise<Contact> {
  ctx.step = 'lookup';
  const caller = normalizeCaller(ctx.entry.callerId, ctx.settings.defaultCountry);
  if (caller.kind !== 'ok') {
    ctx.audit('lookup', { count: 0, caller: caller.kind });
    throw new FlowEnd('no_match');
  }
  // Up to 5: a shared number's contacts are listed on the agent's screen pop to pick from.
  const found = await ctx.db('looking up the caller', () => contacts.findByPhone(caller.e164, 5));
  ctx.audit(
    'lookup',
    found.length > 1 ? { count: found.length, contactIds: found.map((c) => c.id) } : { count: found.length },
  );
  ctx.log.info('caller looked up', {
    callId: ctx.entry.callId,
    caller: maskPhone(caller.e164),
    matches: found.length,
  });
  const [contact] = found;
  if (!contact) throw new FlowEnd('no_match');
  // Two contacts share the number: a code would prove nothing about which one calls.
  if (found.length > 1) throw new FlowEnd('multi_match');
  ctx.contact = contact;
  return contact;
}

/** A contact locked by failed checks (on this or any other call, or the API) is asked nothing. */
export async function refuseIfLocked(ctx: CallContext, verifier: Verifier, contact: Contact): Promise<void> {
  ctx.step = 'lock';
  const lock = await ctx.db('reading the contact lock', () => verifier.lockState(contact.id));
  if (!lock.locked) return;
  ctx.audit('refused', {
    error: 'locked',
    failures: lock.failures,
    until: lock.until?.toISOString() ?? null,
  });
  ctx.log.warn('contact locked by failed checks', {
    callId: ctx.entry.callId,
    contactId: contact.id,
    failures: lock.failures,
  });
  throw new FlowEnd('locked', ['locked']);
}
