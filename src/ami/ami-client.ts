import createManager from 'asterisk-manager';

/**
 * A small promise-based AMI client over asterisk-manager. Every action has a deadline: the
 * library holds actions while it is (re)connecting and would otherwise never answer them.
 */
export interface AmiClient {
  action(fields: Record<string, string>, timeoutMs?: number): Promise<Record<string, unknown>>;
  /**
   * For actions answered with an event list (Response: Success, EventList: start, then events with
   * the same ActionID, closed by an event whose EventList is Complete), e.g. ShowDialPlan.
   * Resolves with the response and the list items (not the closing event); keys are lower-case,
   * as asterisk-manager delivers them. Rejects with AmiActionError when Asterisk answers Error,
   * and with a plain Error when the connection is lost first or the deadline passes.
   */
  actionList(fields: Record<string, string>, timeoutMs?: number): Promise<AmiListResult>;
  /**
   * Every event named `name` (case-insensitive, e.g. DialBegin) the user's read classes allow;
   * keys lower-case as asterisk-manager delivers them. Survives reconnects (the library's own).
   */
  onEvent(name: string, handler: (event: Record<string, unknown>) => void): void;
  connected(): boolean;
  close(): void;
}

export interface AmiListResult {
  response: Record<string, unknown>;
  events: Record<string, unknown>[];
}

export interface AmiOptions {
  host: string;
  port: number;
  user: string;
  secret: string;
  onError?: (err: Error) => void;
}

/**
 * Asterisk answered "Response: Error". Kept apart from connection trouble because the answer
 * itself is information (ShowDialPlan's "Did not find extension ..." means "no such extension",
 * not "the PBX is down"); amiMessage is Asterisk's Message, verbatim.
 */
export class AmiActionError extends Error {
  constructor(
    readonly action: string,
    readonly amiMessage: string,
    where: string,
  ) {
    super(`AMI ${where} refused ${action}: ${amiMessage}`);
    this.name = 'AmiActionError';
  }
}

/** A list action waiting for its answer; keyed by the ActionID we chose. */
interface PendingList {
  onEvent(event: Record<string, unknown>): void;
  onConnectionLost(problem: string): void;
}

// Our own ActionIDs for list actions: the library's default id is the current time in ms, which
// two actions sent in the same millisecond while it is still logging in can share, and list
// events are matched to their action by ActionID alone.
let listSequence = 0;

export function createAmiClient(opts: AmiOptions): AmiClient {
  const where = `${opts.host}:${opts.port}`;
  // `false` is meant as "no events", but asterisk-manager 0.2 logs in with "Event: off" and
  // Asterisk reads "Events": the session still receives every event the user's read classes allow
  // (seen on Asterisk 22: FullyBooted arrives right after login).
  const ami = createManager(opts.port, opts.host, opts.user, opts.secret, false);
  ami.keepConnected();
  ami.on('error', (err: Error) => opts.onError?.(err));

  // Why the connection is not usable, for error messages: the library only reports it through
  // events, never through the action that is waiting.
  let lastProblem = '';
  ami.on('connect', () => {
    lastProblem = '';
  });
  ami.on('error', (err: Error) => {
    lastProblem = err.message;
  });
  ami.on('response', (res: Record<string, unknown>) => {
    // The login's answer reaches only the library's own callback; this is where we see it.
    const message = typeof res.message === 'string' ? res.message : '';
    if (String(res.response).toLowerCase() === 'error' && /authentication/i.test(message))
      lastProblem = `login as "${opts.user}" refused: ${message}`;
  });

  // List events arrive as 'managerevent' whatever the login's events flag says: they are part of
  // the action's answer, not subscribed events (checked against Asterisk 22).
  const pendingLists = new Map<string, PendingList>();
  ami.on('managerevent', (event: Record<string, unknown>) => {
    const id = event.actionid;
    if (typeof id === 'string') pendingLists.get(id)?.onEvent(event);
  });
  // An answer cannot come over a closed connection (a refused connect or a refused login ends
  // here too), so a waiting list action fails now rather than at its deadline.
  ami.on('close', () => {
    const problem = lastProblem || 'connection closed';
    for (const pending of [...pendingLists.values()]) pending.onConnectionLost(problem);
  });

  return {
    onEvent(name, handler) {
      const wanted = name.toLowerCase();
      ami.on('managerevent', (event: Record<string, unknown>) => {
        if (typeof event.event === 'string' && event.event.toLowerCase() === wanted) handler(event);
      });
    },
    action(fields, timeoutMs = 3000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `AMI ${opts.host}:${opts.port} did not answer ${fields.Action ?? ''} within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
        ami.action(fields, (err, res) => {
          clearTimeout(timer);
          if (err) reject(new Error(`AMI ${fields.Action ?? ''} failed: ${String(err.message ?? 'error')}`));
          else resolve(res);
        });
      });
    },

    actionList(fields, timeoutMs = 5000) {
      const name = fields.Action ?? '';
      return new Promise<AmiListResult>((resolve, reject) => {
        // asterisk-manager writes values into the AMI stream as they are: a line break would end
        // the action early and let the rest be read as further headers or another action.
        const broken = Object.entries(fields).find(([k, v]) => /[\r\n]/.test(k) || /[\r\n]/.test(v));
        if (broken) {
          reject(new Error(`AMI ${name}: field ${broken[0]} contains a line break`));
          return;
        }
        let id = `pinverify-list-${process.pid}-${++listSequence}`;
        let response: Record<string, unknown> | undefined;
        let complete = false;
        const events: Record<string, unknown>[] = [];
        let settled = false;
        const finish = (err: Error | null) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          pendingLists.delete(id);
          if (err) reject(err);
          else resolve({ response: response ?? {}, events });
        };
        const timer = setTimeout(() => {
          const state = ami.isConnected() ? '' : ` (not connected${lastProblem ? `: ${lastProblem}` : ''})`;
          finish(new Error(`AMI ${where} did not answer ${name} within ${timeoutMs} ms${state}`));
        }, timeoutMs);
        const pending: PendingList = {
          onEvent(event) {
            if (String(event.eventlist).toLowerCase() === 'complete') {
              complete = true;
              if (response) finish(null);
            } else {
              events.push(event);
            }
          },
          onConnectionLost(problem) {
            finish(new Error(`AMI ${where} could not answer ${name}: ${problem}`));
          },
        };
        pendingLists.set(id, pending);
        const sentId = ami.action({ ...fields, actionid: id }, (err, res) => {
          if (err) {
            finish(new AmiActionError(name, String(err.message ?? 'error'), where));
          } else if (String(res.eventlist).toLowerCase() !== 'start') {
            finish(new Error(`AMI ${where} answered ${name} without an event list`));
          } else {
            response = res;
            if (complete) finish(null);
          }
        });
        // The library changes an ActionID only if it is already in use; follow it if it did.
        if (sentId !== id) {
          pendingLists.delete(id);
          id = sentId;
          pendingLists.set(id, pending);
        }
      });
    },

    connected: () => ami.isConnected(),
    close: () => ami.disconnect(),
  };
}
