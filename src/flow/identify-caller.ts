/**
 * Finds the caller among the contacts by caller ID. Exactly one contact is verified; none or
 * several end the attempt (an agent verifies by hand). Shared by every mode that works from the
 * caller's number.
 */
import type { Contact } from '../domain';
import { maskPhone } from '../log/mask';
import { normalizeCaller } from '../phone/normalize-caller';
import { FlowEnd, type CallContext } from './call-context';
import type { ContactDirectory } from './ports';

export async function identifyCaller(ctx: CallContext, contacts: ContactDirectory): Promise<Contact> {
  ctx.step = 'lookup';
  const caller = normalizeCaller(ctx.entry.callerId, ctx.settings.defaultCountry);
  if (caller.kind !== 'ok') {
    ctx.audit('lookup', { count: 0, caller: caller.kind });
    throw new FlowEnd('no_match');
  }
  const found = await ctx.db('looking up the caller', () => contacts.findByPhone(caller.e164, 2));
  ctx.audit('lookup', { count: found.length });
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
