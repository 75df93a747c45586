/**
 * The plumbing of one call, so the flows read like their flowcharts: the per-call logger, the
 * audit queue (writes in order, never holding up the caller), deadlines on every dependency,
 * channel steps where only a hangup matters, and redaction of everything secret from error
 * texts. A flow step calls `ctx.audit(...)`, `ctx.db(...)`, `ctx.play(...)` and never handles
 * these concerns itself.
 */
import type { CallVerbs } from '../call/call-verbs';
import { isCallGone, isCallInterrupted } from '../call/call-verbs';
import { CallGoneError } from '../call/channel-control';
import type { Clock } from '../call/clock';
import type { CallMethod, Contact, FlowSettings, Reason, Route } from '../domain';
import { redactSecrets } from '../senders/redact-secrets';
import { DEFAULT_SETTINGS } from '../store/config-defaults';
import type { AuditKind, AuditTrail, FlowLogger } from './ports';
import { promptMedia, type PromptName } from './prompts';
import { withDeadline } from './with-deadline';

/** Deadline for one database call (config, contacts, verifications, audit, publisher) unless deps say otherwise. */
export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 3000;

export interface CallEntry {
  callId: string;
  channelId: string;
  /** The caller ID number as the channel reported it. */
  callerId: string;
  /** Dialplan context Stasis() ran in: the previous hop, unless args.route overrides it. */
  context: string;
  /**
   * Stasis arguments given as key=value: route=<name> names the previous hop; action=bail says
   * the caller pressed * in the sub-IVR's greeting, before the app had them (see call-flow.ts).
   */
  args: Record<string, string>;
  /**
   * The call was found in the app after a restart (or arrived while it drains for shutdown):
   * route it to the failed destination at once with reason app_restarted.
   */
  reclaimed?: boolean;
  /** Shed by admission control: straight to the failed destination with reason overloaded. */
  overloaded?: boolean;
}

/** Ends verification early with a failed verdict; thrown from deep in a flow, caught by the call flow. */
export class FlowEnd extends Error {
  constructor(
    readonly reason: Reason,
    readonly lead: PromptName[] = [],
    /** The closing prompts instead of the reason's usual ones (see Verdict.final). */
    readonly final?: PromptName[],
  ) {
    super(reason);
    this.name = 'FlowEnd';
  }
}

export function media(names: PromptName[]): string[] {
  return names.map(promptMedia);
}

/** Runs `fn`, turning a synchronous throw into a rejection. */
export function attempt<T>(fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()));
}

export interface CallContextDeps {
  audit: AuditTrail;
  clock: Clock;
  log: FlowLogger;
  dependencyTimeoutMs?: number;
}

export class CallContext {
  settings: FlowSettings = DEFAULT_SETTINGS;
  route: Route | null = null;
  routeName = 'default';
  contact: Contact | null = null;
  /** What verification used: the channel of the last code that reached the caller, `pin`, or both. */
  method: CallMethod | null = null;
  /** Where the call is, for the log and the 'hangup' audit event. */
  step = 'start';
  readonly previousHop: string;
  readonly log: FlowLogger;
  readonly clock: Clock;
  private readonly dbTimeoutMs: number;
  private auditChain: Promise<void> = Promise.resolve();
  private readonly background: Promise<void>[] = [];
  private readonly cleanups: Array<() => Promise<void>> = [];

  constructor(
    private readonly deps: CallContextDeps,
    readonly call: CallVerbs,
    readonly entry: CallEntry,
  ) {
    const routeArg = entry.args.route?.trim();
    this.previousHop = routeArg ? routeArg : entry.context;
    this.dbTimeoutMs = deps.dependencyTimeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS;
    this.log = deps.log;
    this.clock = deps.clock;
  }

  /** Runs a dependency call under the deadline. */
  db<T>(what: string, fn: () => Promise<T>, ms = this.dbTimeoutMs): Promise<T> {
    return withDeadline(attempt(fn), ms, this.clock, what);
  }

  /** Rejects with CallGoneError as soon as the caller hangs up, whatever `work` is doing. */
  untilGone<T>(work: Promise<T>): Promise<T> {
    if (this.call.gone) return Promise.reject(new CallGoneError());
    const gone = this.call.whenGone().then((): never => {
      throw new CallGoneError();
    });
    return Promise.race([work, gone]);
  }

  /** Plays prompts where only a hangup matters: a playback fault is logged and skipped. */
  async play(prompts: PromptName[], what = 'playing a prompt'): Promise<void> {
    await this.channelStep(what, () => this.call.play(media(prompts)).then(() => undefined));
  }

  /** Runs a channel verb where only a hangup matters: other failures are logged and skipped. */
  async channelStep(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (this.isGone(err)) throw err;
      // Shutting down: prompts are skipped on purpose, nothing to report.
      if (isCallInterrupted(err)) return;
      this.log.error(`${what} failed`, { callId: this.entry.callId, error: this.describe(err) });
    }
  }

  audit(kind: AuditKind, detail: Record<string, unknown>): void {
    const at = this.clock.now();
    this.enqueueAudit(`audit event ${kind}`, () =>
      this.deps.audit.event(this.entry.callId, kind, detail, at),
    );
  }

  /** Audit writes run in order, one after the other, without holding up the caller. */
  enqueueAudit(what: string, write: () => Promise<void>): void {
    this.auditChain = this.auditChain.then(async () => {
      try {
        await this.db(what, write);
      } catch (err) {
        this.log.warn('audit write failed', { callId: this.entry.callId, what, error: this.describe(err) });
      }
    });
  }

  /** Work to do when the call ends, however it ends (e.g. cancel a pending verification). */
  atEnd(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /** Starts the end-of-call clean-ups in the background, each under its deadline. */
  runCleanups(): void {
    for (const cleanup of this.cleanups.splice(0)) {
      this.background.push(
        this.db('cleaning up', cleanup).catch((err: unknown) => {
          this.log.warn('clean-up at the end of the call failed', {
            callId: this.entry.callId,
            error: this.describe(err),
          });
        }),
      );
    }
  }

  /** Resolves once audit writes and clean-ups are done (each under its own deadline). */
  async settled(): Promise<void> {
    await Promise.all([this.auditChain, ...this.background]);
  }

  isGone(err: unknown): boolean {
    return this.call.gone || isCallGone(err);
  }

  /** A short, safe error text for logs and the audit trail: no code, no address, no full number. */
  describe(err: unknown): string {
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    // The call never holds a code (the verification service sends and checks it); what it
    // knows of the caller is the caller ID and, once identified, the contact's addresses.
    const redacted = redactSecrets(text, {
      addresses: [this.entry.callerId, this.contact?.email, this.contact?.mobile],
    });
    return redacted.length > 200 ? `${redacted.slice(0, 197)}...` : redacted;
  }
}
