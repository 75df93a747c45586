/**
 * One call through pinverify, as its flowchart:
 *
 *   answer -> route (settings and the route of the previous hop) -> the route's mode verifies
 *   the caller (identify, choose a channel, challenge) -> conclude (result prompt, channel
 *   variables, AMI event, audit, continue at the route's success or failed destination)
 *
 * A mode (src/flow/otp-flow.ts, pin-flow.ts, pin-then-otp-flow.ts) only returns a verdict;
 * routing, concluding, hangups and plumbing (CallContext) are the same for every mode.
 *
 * Rules every run keeps:
 * - A hangup (CallGoneError) at any point ends the run quietly as 'abandoned'; run() never throws.
 * - Every dependency call has a deadline on the injected clock; a caller never waits forever.
 * - The audit trail and the publisher may fail without affecting the call.
 * - Only masked data is logged or audited; a code is never logged.
 */
import type { CallVerbs } from '../call/call-verbs';
import { CallGoneError, type DialplanTarget } from '../call/channel-control';
import { isCallInterrupted } from '../call/call-verbs';
import type { Clock } from '../call/clock';
import type { CallOutcome, Reason, RouteMode, VerificationResult } from '../domain';
import { maskPhone } from '../log/mask';
import { DEFAULT_SETTINGS } from '../store/config-defaults';
import { CallContext, FlowEnd, type CallEntry } from './call-context';
import { formatDestination, parseDestination } from './destination';
import type { AuditTrail, ConfigStore, FlowLogger, ResultPublisher } from './ports';
import type { PromptName } from './prompts';

export { DEFAULT_DEPENDENCY_TIMEOUT_MS, type CallEntry } from './call-context';

/** What a mode decides about the caller. */
export interface Verdict {
  result: VerificationResult;
  reason: Reason;
  /** Prompts to play before the final one (e.g. why sending failed). */
  lead?: PromptName[];
  /**
   * The closing prompts instead of the reason's usual ones: the PIN mode closes an unknown
   * caller exactly as a wrong PIN, so the caller cannot tell the two apart.
   */
  final?: PromptName[];
}

/** How one route mode verifies a caller. Throws FlowEnd to fail early; CallGoneError on hangup. */
export interface ModeFlow {
  verify(ctx: CallContext): Promise<Verdict>;
}

export interface CallFlowDeps {
  config: ConfigStore;
  audit: AuditTrail;
  publisher: ResultPublisher;
  clock: Clock;
  log: FlowLogger;
  /** The flow for each route mode; calls without a route use 'otp'. */
  modes: Record<RouteMode, ModeFlow>;
  /** Deadline for each database / publisher call. */
  dependencyTimeoutMs?: number;
}

export interface CallFlow {
  /** Runs the whole call; always resolves with how it ended (never rejects). */
  run(call: CallVerbs, entry: CallEntry): Promise<CallOutcome>;
}

export function createCallFlow(deps: CallFlowDeps): CallFlow {
  return {
    async run(call, entry) {
      const ctx = new CallContext(deps, call, entry);
      let outcome: CallOutcome;
      try {
        outcome = await script(deps, ctx);
      } catch (err) {
        // Only a bug gets here (every expected failure is handled inside): still never throw.
        ctx.log.error('verification flow crashed', {
          callId: entry.callId,
          step: ctx.step,
          error: ctx.describe(err),
        });
        outcome = outcomeOf(ctx, { result: 'failed', reason: 'internal_error' }, '');
      }
      ctx.runCleanups();
      await ctx.settled();
      return outcome;
    },
  };
}

async function script(deps: CallFlowDeps, ctx: CallContext): Promise<CallOutcome> {
  const { callId, channelId } = ctx.entry;
  const callerMasked = maskPhone(ctx.entry.callerId);
  const previousHop = ctx.previousHop;
  ctx.log.info('call entered verification', { callId, channelId, caller: callerMasked, previousHop });
  const startedAt = ctx.clock.now();
  ctx.enqueueAudit('opening the audit record', () =>
    deps.audit.open({ callId, channelId, callerMasked, previousHop, startedAt }),
  );
  ctx.audit('entered', { context: ctx.entry.context, previousHop });

  let verdict: Verdict;
  try {
    ctx.step = 'answer';
    await ctx.call.answer();
    ctx.step = 'config';
    await loadRoute(deps, ctx);
    verdict = ctx.entry.reclaimed
      ? reclaimed(ctx)
      : ctx.entry.overloaded
        ? overloaded(ctx)
        : ctx.entry.args.action === 'bail'
          ? bailedInGreeting(ctx)
          : await deps.modes[ctx.route?.mode ?? 'otp'].verify(ctx);
  } catch (err) {
    if (err instanceof FlowEnd)
      verdict = { result: 'failed', reason: err.reason, lead: err.lead, final: err.final };
    else if (ctx.isGone(err)) return abandon(deps, ctx);
    else if (isCallInterrupted(err)) verdict = interrupted(ctx);
    else verdict = internalError(ctx, err);
  }
  try {
    return await conclude(deps, ctx, verdict);
  } catch (err) {
    // conclude() only lets a hangup through, and only before the outcome was recorded.
    if (ctx.isGone(err)) return abandon(deps, ctx);
    throw err;
  }
}

/** Settings and route in parallel, so a dead database costs the caller one deadline, not two. */
async function loadRoute(deps: CallFlowDeps, ctx: CallContext): Promise<void> {
  const [settings, route] = await Promise.allSettled([
    ctx.db('loading the settings', () => deps.config.getSettings()),
    ctx.db('finding the route', () => deps.config.findRoute(ctx.previousHop)),
  ]);
  if (settings.status === 'fulfilled') ctx.settings = settings.value;
  if (route.status === 'fulfilled' && route.value?.enabled) ctx.route = route.value;
  ctx.routeName = ctx.route ? ctx.route.previousHop : 'default';
  ctx.audit('route', {
    route: ctx.routeName,
    routeId: ctx.route?.id ?? null,
    title: ctx.route?.title ?? null,
    mode: ctx.route?.mode ?? 'otp',
  });
  // Without settings or a certain route, verifying could send the caller to the wrong place.
  if (settings.status === 'rejected') throw settings.reason;
  if (route.status === 'rejected') throw route.reason;
}

/** Plays the result, sets the variables, records the outcome and continues in the dialplan. */
async function conclude(deps: CallFlowDeps, ctx: CallContext, verdict: Verdict): Promise<CallOutcome> {
  ctx.step = 'result';
  await ctx.play([...(verdict.lead ?? []), ...finalPrompts(verdict)], 'playing the result');
  const target = destinationFor(ctx, verdict.result);
  const outcome = outcomeOf(ctx, verdict, formatDestination(target));

  ctx.step = 'variables';
  for (const [name, value] of [
    ['__PINVERIFY_RESULT', outcome.result],
    ['__PINVERIFY_REASON', outcome.reason],
    ['__PINVERIFY_METHOD', outcome.method ?? ''],
    ['__PINVERIFY_CONTACT_ID', outcome.contactId === null ? '' : String(outcome.contactId)],
    ['__PINVERIFY_ROUTE', outcome.route],
  ] as const) {
    await ctx.channelStep(`setting ${name}`, () => ctx.call.setVariable(name, value));
  }
  // Last chance for a hangup to count as 'abandoned': from here the outcome is published.
  if (ctx.call.gone) throw new CallGoneError();

  await publish(deps, ctx, outcome);
  ctx.audit('outcome', { ...outcome });
  closeAudit(deps, ctx, outcome);
  ctx.log.info('verification finished', { callId: ctx.entry.callId, ...outcome });

  ctx.step = 'continue';
  try {
    await ctx.call.continueTo(target);
  } catch (err) {
    if (ctx.isGone(err)) {
      ctx.log.info('caller hung up before the call continued', { callId: ctx.entry.callId });
    } else {
      // A call stuck in Stasis would hear silence forever: better to end it.
      ctx.log.error('continuing in the dialplan failed; hanging up', {
        callId: ctx.entry.callId,
        error: ctx.describe(err),
      });
      await ctx.channelStep('hanging up', () => ctx.call.hangup()).catch(() => undefined);
    }
  }
  return outcome;
}

function finalPrompts(verdict: Verdict): PromptName[] {
  if (verdict.final) return verdict.final;
  if (verdict.result === 'verified') return ['verified'];
  switch (verdict.reason) {
    case 'no_match':
    case 'multi_match':
    case 'no_pin':
      // Never a verification attempt: an agent verifies by hand.
      return ['connecting'];
    case 'internal_error':
    case 'app_restarted':
    case 'overloaded':
      return ['technical-problem', 'not-verified'];
    case 'ok':
    case 'no_input':
    case 'caller_bailed':
    case 'delivery_failed':
    case 'max_attempts':
    case 'max_sends':
    case 'locked':
    case 'rate_limited':
    case 'abandoned':
    case 'unavailable':
      return ['not-verified'];
  }
}

/** The route's destination, else the settings' default; an unparsable one falls back to the default failed destination. */
function destinationFor(ctx: CallContext, result: VerificationResult): DialplanTarget {
  const s = ctx.settings;
  const configured =
    result === 'verified'
      ? (ctx.route?.successDestination ?? s.defaultSuccessDestination)
      : (ctx.route?.failedDestination ?? s.defaultFailedDestination);
  const candidates: Array<[string, string]> = [
    [configured, s.defaultContext],
    [s.defaultFailedDestination, s.defaultContext],
    [DEFAULT_SETTINGS.defaultFailedDestination, DEFAULT_SETTINGS.defaultContext],
  ];
  for (const [text, context] of candidates) {
    try {
      return parseDestination(text, context);
    } catch (err) {
      ctx.log.error('invalid destination, using the default failed destination', {
        callId: ctx.entry.callId,
        route: ctx.routeName,
        destination: text,
        error: ctx.describe(err),
      });
    }
  }
  // The built-in default always parses; this only satisfies the compiler.
  return {
    exten: DEFAULT_SETTINGS.defaultFailedDestination,
    context: DEFAULT_SETTINGS.defaultContext,
    priority: 1,
  };
}

function outcomeOf(ctx: CallContext, verdict: Verdict, destination: string): CallOutcome {
  return {
    result: verdict.result,
    reason: verdict.reason,
    method: ctx.method,
    contactId: ctx.contact?.id ?? null,
    route: ctx.routeName,
    destination,
  };
}

/** The caller hung up: record it, clean up, and never touch the channel again. */
async function abandon(deps: CallFlowDeps, ctx: CallContext): Promise<CallOutcome> {
  const outcome = outcomeOf(ctx, { result: 'failed', reason: 'abandoned' }, '');
  ctx.log.info('caller hung up', { callId: ctx.entry.callId, step: ctx.step });
  ctx.audit('hangup', { step: ctx.step });
  closeAudit(deps, ctx, outcome);
  await publish(deps, ctx, outcome);
  return outcome;
}

/** A call the app found in Stasis after a restart: no verification, straight to the failed destination. */
function reclaimed(ctx: CallContext): Verdict {
  ctx.audit('reclaimed', { step: 'start' });
  ctx.log.warn('call reclaimed after an app restart', { callId: ctx.entry.callId, route: ctx.routeName });
  return { result: 'failed', reason: 'app_restarted', final: ['connecting'] };
}

/** Shed by admission control: no verification, no prompt, straight to the failed destination. */
function overloaded(ctx: CallContext): Verdict {
  ctx.audit('refused', { error: 'overloaded' });
  return { result: 'failed', reason: 'overloaded', final: [] };
}

/**
 * The caller pressed * during the sub-IVR's greeting, which the dialplan hands over as
 * Stasis(app,action=bail): the same outcome as * at the app's own menu (caller_bailed at the
 * route's failed destination), so a star means "skip verification" wherever it is pressed. It
 * goes through the app, not straight to a destination in the dialplan, so the route decides
 * where the caller goes and the call has its audit record, variables and event like any other.
 */
function bailedInGreeting(ctx: CallContext): Verdict {
  ctx.audit('choice', { method: null, bailed: true, during: 'sub-ivr greeting' });
  ctx.log.info('caller bailed during the sub-IVR greeting', { callId: ctx.entry.callId });
  return { result: 'failed', reason: 'caller_bailed' };
}

/** The app is shutting down and the call's drain time is over. */
function interrupted(ctx: CallContext): Verdict {
  ctx.audit('reclaimed', { step: ctx.step, shutdown: true });
  ctx.log.warn('call interrupted by shutdown', { callId: ctx.entry.callId, step: ctx.step });
  return { result: 'failed', reason: 'app_restarted', final: [] };
}

function internalError(ctx: CallContext, err: unknown): Verdict {
  const error = ctx.describe(err);
  ctx.log.error('verification failed on an internal error', {
    callId: ctx.entry.callId,
    step: ctx.step,
    error,
  });
  ctx.audit('error', { step: ctx.step, error });
  return { result: 'failed', reason: 'internal_error' };
}

async function publish(deps: CallFlowDeps, ctx: CallContext, outcome: CallOutcome): Promise<void> {
  const { callId, channelId } = ctx.entry;
  try {
    await ctx.db('publishing the result', () => deps.publisher.publish({ ...outcome, callId, channelId }));
  } catch (err) {
    ctx.log.error('publishing the result failed', { callId, error: ctx.describe(err) });
  }
}

function closeAudit(deps: CallFlowDeps, ctx: CallContext, outcome: CallOutcome): void {
  const at = ctx.clock.now();
  ctx.enqueueAudit('closing the audit record', () => deps.audit.close(ctx.entry.callId, outcome, at));
}
