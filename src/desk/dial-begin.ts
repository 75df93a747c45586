/**
 * Which extensions an AMI DialBegin rings, and which channels it belongs to: the screen pop's
 * trigger. Pure, so the odd shapes of real Dial() lines are rows in a test table.
 *
 * A call continued by pinverify goes on in the dialplan on the same channel (its Uniqueid is the
 * ARI channel id the audit trail keeps); a queue or ring group dials through Local channels,
 * whose Linkedid is still that first channel's.
 */
export interface DialBegin {
  /** Uniqueid and Linkedid of the dialing channel: one of them is the call's ARI channel. */
  channelIds: string[];
  /** Every extension the event names: the caller's destination (2901) and the phone rung (2001). */
  extensions: string[];
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

const EXTENSION = /^[0-9A-Za-z*#+_-]{1,40}$/;

/**
 * Extensions in a DialBegin's DialString (what follows the technology in Dial()): "2001",
 * "lab-agents/sip:2001@127.0.0.1:5080", "2001@from-queue/n", "PJSIP/2001&PJSIP/2002".
 */
function dialStringExtensions(value: string): string[] {
  const found: string[] = [];
  for (const raw of value.split('&')) {
    const part = raw.replace(/^[A-Za-z0-9_]+\/(?=[^/]+)/, (m) =>
      /^(PJSIP|SIP|IAX2|Local|DAHDI)\//i.test(m) ? '' : m,
    );
    const sip = /sip:([^@;>]+)@/i.exec(part);
    if (sip?.[1]) found.push(sip[1]);
    const first = part.split('/')[0]?.split('@')[0];
    if (first) found.push(first);
  }
  return found;
}

/** The endpoint or extension in a channel name: PJSIP/2001-00000003, Local/2001@from-queue-00000004;1. */
function channelExtension(value: string): string[] {
  const m = /^[A-Za-z0-9_]+\/(.+?)(?:-[0-9a-f]{8})?(?:;\d)?$/.exec(value);
  const name = m?.[1]?.split('@')[0];
  return name ? [name] : [];
}

export function parseDialBegin(event: Record<string, unknown>): DialBegin | null {
  const ids = [text(event.uniqueid), text(event.linkedid)].filter((id) => id !== '');
  if (ids.length === 0) return null;
  const candidates = [
    text(event.exten),
    text(event.destexten),
    ...dialStringExtensions(text(event.dialstring)),
    ...channelExtension(text(event.destchannel)),
  ].filter((e) => EXTENSION.test(e) && e !== 's');
  return { channelIds: [...new Set(ids)], extensions: [...new Set(candidates)] };
}
