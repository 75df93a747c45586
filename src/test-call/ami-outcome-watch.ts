/**
 * The OutcomeWatch of `pinverify test-call` over AMI (asterisk-manager): what pinverify reported
 * for the test call (`UserEvent: PinVerify`, the way a CRM connector hears it) and the dialplan
 * steps of the call's ;2 leg (`Newexten`), both matched by Uniqueid.
 *
 * Its own AMI connection with events on, no reconnecting: a test call is short, and a dropped
 * connection is reported to the watches (the run fails saying so) rather than silently retried
 * while events are lost. The AMI user needs read=user (the UserEvent) and read=dialplan
 * (Newexten, for where the call went); the lab's user has both.
 */
import createManager from 'asterisk-manager';
import type { CallWatchHandlers, DialplanStep, OutcomeWatch, PinVerifyEvent } from './test-call-ports';

export interface AmiOutcomeWatchOptions {
  host: string;
  port: number;
  user: string;
  secret: string;
  /** Connecting and logging in; default 5000 ms. */
  connectTimeoutMs?: number;
}

/** asterisk-manager hands events over with lower-cased keys; a repeated key becomes an array. */
type AmiEvent = Record<string, unknown>;

/** Only what a test call needs: fewer events to parse on a busy PBX. */
const EVENT_MASK = 'call,user,dialplan';

/** Connects and logs in; rejects with a message naming host:port when AMI cannot be used. */
export async function createAmiOutcomeWatch(opts: AmiOutcomeWatchOptions): Promise<OutcomeWatch> {
  const where = `${opts.host}:${opts.port}`;
  const timeoutMs = opts.connectTimeoutMs ?? 5000;
  const ami = createManager(opts.port, opts.host, opts.user, opts.secret, true);
  const watches = new Map<string, Set<CallWatchHandlers>>();
  let ready = false;
  let closing = false;

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ami.disconnect();
      reject(new Error(message));
    };
    const timer = setTimeout(
      () => fail(`AMI at ${where} did not let user ${opts.user} log in within ${timeoutMs} ms`),
      timeoutMs,
    );
    ami.on('error', (err: Error & { code?: string }) => {
      if (!ready) fail(`AMI at ${where} is unreachable: ${err.code ?? err.message}`);
    });
    ami.on('close', () => {
      if (!ready) fail(`AMI at ${where} closed the connection before the login completed`);
    });
    // A refused login arrives as a response to the library's own login action, not to ours.
    ami.on('response', (res: AmiEvent) => {
      if (!ready && /authentication failed/i.test(text(res.message))) {
        fail(`AMI at ${where} refused the login of user ${opts.user}: check AMI_USER and AMI_SECRET`);
      }
    });
    // The library holds actions until its login succeeded, so this answer means "logged in".
    ami.action({ Action: 'Events', EventMask: EVENT_MASK }, (err) => {
      if (settled) return;
      if (err) return fail(`AMI at ${where} refused the event subscription: ${text(err.message)}`);
      settled = true;
      ready = true;
      clearTimeout(timer);
      resolve();
    });
  });

  const dispatch = (uniqueid: string, each: (h: CallWatchHandlers) => void): void => {
    for (const h of watches.get(uniqueid) ?? []) each(h);
  };

  ami.on('managerevent', (e: AmiEvent) => {
    const event = text(e.event).toLowerCase();
    if (event === 'newexten') {
      const uniqueid = text(e.uniqueid);
      if (!watches.has(uniqueid)) return;
      const step = toStep(e);
      dispatch(uniqueid, (h) => h.step(step));
    } else if (event === 'userevent' && text(e.userevent).toLowerCase() === 'pinverify') {
      const result = toResult(e);
      dispatch(result.uniqueid, (h) => h.result(result));
    }
  });
  ami.on('close', () => {
    if (!ready || closing) return;
    const err = new Error(`the AMI connection to ${where} closed during the test call`);
    for (const set of watches.values()) for (const h of set) h.error(err);
  });

  return {
    watch(uniqueid, handlers) {
      if (closing) return Promise.reject(new Error(`the AMI watch on ${where} is closed`));
      if (!ami.isConnected()) return Promise.reject(new Error(`the AMI connection to ${where} is down`));
      const set = watches.get(uniqueid) ?? new Set<CallWatchHandlers>();
      set.add(handlers);
      watches.set(uniqueid, set);
      return Promise.resolve({
        stop() {
          set.delete(handlers);
          if (set.size === 0 && watches.get(uniqueid) === set) watches.delete(uniqueid);
        },
      });
    },
    close() {
      closing = true;
      watches.clear();
      return new Promise<void>((resolve) => ami.disconnect(() => resolve()));
    },
  };
}

/** A field as text: the first value when AMI repeated the key (a dialplan UserEvent carries Uniqueid twice). */
function text(value: unknown): string {
  if (Array.isArray(value)) return text(value[0]);
  if (typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : '';
}

function toStep(e: AmiEvent): DialplanStep {
  return {
    context: text(e.context),
    // Newexten has both Exten (channel snapshot) and Extension (deprecated); they are equal.
    exten: text(e.exten) || text(e.extension),
    priority: Number(text(e.priority)) || 0,
    application: text(e.application),
  };
}

function toResult(e: AmiEvent): PinVerifyEvent {
  return {
    result: text(e.result),
    reason: text(e.reason),
    method: text(e.method),
    contact: text(e.contact),
    route: text(e.route),
    destination: text(e.destination),
    uniqueid: text(e.uniqueid),
    callid: text(e.callid),
  };
}
