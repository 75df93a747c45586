/**
 * Places the call of a call verification (issue #12): dial with the profile's caller ID and
 * ring timeout, run the answered call's script (src/flow/outbound-call-flow.ts), record each
 * attempt (verification_calls), and try again after busy or no answer as the profile allows,
 * while the verification is still pending.
 *
 * place() returns once the first attempt is recorded; the call itself runs on in the background,
 * so an API client gets its 201 at once. Attempts and retries live in this process for now: a
 * restart ends the retries of calls in progress (README, "Outbound verification calls").
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../call/clock';
import type { CallVerbs } from '../call/call-verbs';
import type { CallAttemptStatus, CallProfile } from '../domain';
import type { OutboundCallFlow } from '../flow/outbound-call-flow';
import type { FlowLogger } from '../flow/ports';
import type { DialOutcome, DialRequest } from '../ari/ari-dialer';
import { redactSecrets } from '../senders/redact-secrets';
import { deriveCode } from '../verification/verification-code';

export interface CallAttemptRecord {
  verificationId: string;
  profile: string;
  attempt: number;
  channelId: string;
}

export interface CallAttemptEnd {
  status: CallAttemptStatus;
  cause?: number;
  sipCode?: number;
  answeredAt?: Date;
  timesSaid?: number;
  checks?: number;
}

export interface CallAttemptStore {
  started(a: CallAttemptRecord): Promise<void>;
  ended(verificationId: string, attempt: number, end: CallAttemptEnd): Promise<void>;
  /**
   * The newest pending, unexpired call verification of this profile for this number, with the
   * next attempt number: what a call-back continues. Null when there is none.
   */
  pendingFor(
    e164: string,
    profile: string,
  ): Promise<{ verificationId: string; codeLength: number; attempt: number } | null>;
}

export interface OutboundCallerDeps {
  profiles: {
    findByName(name: string): Promise<CallProfile | null>;
    findByCallbackNumber(number: string): Promise<CallProfile | null>;
  };
  attempts: CallAttemptStore;
  dialer: { dial(req: DialRequest): Promise<DialOutcome> };
  flow: OutboundCallFlow;
  /** The verification's status now (pending, approved, ...), null when unknown. */
  verificationStatus(id: string): Promise<string | null>;
  /** The dial string for a number, e.g. PJSIP/+12025550161@lab-pstn. */
  endpointFor(e164: string): string;
  secret: string;
  clock: Clock;
  log: FlowLogger;
  /** Wait before calling again after busy or no answer (default 60 s). */
  retryDelayMs?: number;
  /** Called when a call verification's calls are over (metrics, tests). */
  onFinished?(verificationId: string, last: CallAttemptStatus): void;
  /** Sends the code by SMS to the number called (the profile's "SMS after the call"). */
  smsAfterCall?(to: string, verificationId: string, code: string): Promise<void>;
}

/** The statuses of a call nobody answered. */
const NOT_ANSWERED: readonly CallAttemptStatus[] = ['busy', 'no_answer', 'rejected', 'failed'];

export interface OutboundCallJob {
  verificationId: string;
  profile: string;
  to: string;
  codeLength: number;
}

export function createOutboundCaller(deps: OutboundCallerDeps) {
  const retryDelayMs = deps.retryDelayMs ?? 60_000;
  const running = new Set<Promise<void>>();

  async function attempt(job: OutboundCallJob, profile: CallProfile, n: number): Promise<CallAttemptStatus> {
    const channelId = `pinverify-out-${randomUUID()}`;
    await deps.attempts.started({
      verificationId: job.verificationId,
      profile: profile.name,
      attempt: n,
      channelId,
    });
    const outcome = await deps.dialer.dial({
      channelId,
      endpoint: deps.endpointFor(job.to),
      callerId: profile.callerId,
      timeoutSeconds: profile.ringTimeoutSeconds,
      appArgs: `attempt=${job.verificationId}:${n}`,
    });
    if (!outcome.answered) {
      await deps.attempts.ended(job.verificationId, n, {
        status: outcome.status,
        cause: outcome.cause,
        sipCode: outcome.sipCode,
      });
      deps.log.info('outbound call not answered', {
        verificationId: job.verificationId,
        attempt: n,
        status: outcome.status,
        cause: outcome.cause,
        sipCode: outcome.sipCode,
        problem: outcome.problem,
      });
      return outcome.status;
    }
    const answeredAt = deps.clock.now();
    try {
      const code =
        profile.mode === 'read' ? deriveCode(deps.secret, job.verificationId, job.codeLength) : null;
      const result = await deps.flow.run(outcome.call, {
        verificationId: job.verificationId,
        profile: { ...profile, codeLength: job.codeLength },
        code,
      });
      await deps.attempts.ended(job.verificationId, n, {
        status: result.status,
        answeredAt,
        timesSaid: result.timesSaid,
        checks: result.checks,
      });
      return result.status;
    } finally {
      outcome.finished();
    }
  }

  async function calls(job: OutboundCallJob, profile: CallProfile): Promise<void> {
    let last: CallAttemptStatus = 'failed';
    try {
      for (let n = 1; n <= 1 + profile.retriesOnNoAnswer; n++) {
        if (n > 1) {
          await new Promise<void>((resolve) => deps.clock.setTimer(retryDelayMs, () => resolve()));
          // Approved meanwhile (by SMS, say) or canceled: no further call.
          if ((await deps.verificationStatus(job.verificationId)) !== 'pending') break;
        }
        last = await attempt(job, profile, n);
        if (last !== 'busy' && last !== 'no_answer') break;
      }
    } catch (err) {
      deps.log.error('outbound call failed', {
        verificationId: job.verificationId,
        problem: err instanceof Error ? err.message : String(err),
      });
    }
    await smsAfter(job, profile, last);
    deps.onFinished?.(job.verificationId, last);
  }

  /** SMS after the call, per the profile: always, or when nobody answered; only while pending. */
  async function smsAfter(
    job: OutboundCallJob,
    profile: CallProfile,
    last: CallAttemptStatus,
  ): Promise<void> {
    const wanted =
      profile.smsAfterCall === 'always' ||
      (profile.smsAfterCall === 'not_answered' && NOT_ANSWERED.includes(last));
    if (!wanted || !deps.smsAfterCall) return;
    if (profile.codeSource === 'manual') {
      // The client's own code is kept only as a hash: there is nothing to send.
      deps.log.info('no SMS after the call: the profile uses the client’s own code', {
        verificationId: job.verificationId,
      });
      return;
    }
    try {
      if ((await deps.verificationStatus(job.verificationId)) !== 'pending') return;
      await deps.smsAfterCall(
        job.to,
        job.verificationId,
        deriveCode(deps.secret, job.verificationId, job.codeLength),
      );
      deps.log.info('code sent by SMS after the call', { verificationId: job.verificationId, last });
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      deps.log.warn('SMS after the call failed', {
        verificationId: job.verificationId,
        problem: redactSecrets(text, { addresses: [job.to] }),
      });
    }
  }

  return {
    /**
     * A call to a profile's call-back number (seed 003: a person who missed the call calls
     * back). With a pending call verification of that profile for the caller's number, the
     * same script runs on this call, recorded as a further attempt; from anyone else: "Invalid
     * request" and hang up, telling nothing about who has a verification.
     */
    async callBack(
      call: CallVerbs,
      caller: string | null,
      dialed: string,
      channelId: string,
    ): Promise<CallAttemptStatus> {
      const profile = await deps.profiles.findByCallbackNumber(dialed);
      const pending =
        profile?.enabled && caller ? await deps.attempts.pendingFor(caller, profile.name) : null;
      if (!profile || !pending) {
        deps.log.info('call-back refused', { dialed, profile: profile?.name ?? null });
        await call.answer();
        await call.play(['sound:pinverify/invalid-request']);
        await call.hangup();
        return 'failed';
      }
      await call.answer();
      const { verificationId, codeLength, attempt } = pending;
      await deps.attempts.started({ verificationId, profile: profile.name, attempt, channelId });
      const code = profile.mode === 'read' ? deriveCode(deps.secret, verificationId, codeLength) : null;
      const result = await deps.flow.run(call, { verificationId, profile: { ...profile, codeLength }, code });
      await deps.attempts.ended(verificationId, attempt, {
        status: result.status,
        answeredAt: deps.clock.now(),
        timesSaid: result.timesSaid,
        checks: result.checks,
      });
      deps.onFinished?.(verificationId, result.status);
      return result.status;
    },

    /** Checks the profile, then calls in the background. Rejects when the call cannot be placed. */
    async place(job: OutboundCallJob): Promise<void> {
      const profile = await deps.profiles.findByName(job.profile);
      if (!profile) throw new Error(`no call profile named ${job.profile}`);
      if (!profile.enabled) throw new Error(`call profile ${job.profile} is disabled`);
      const run = calls(job, profile);
      running.add(run);
      void run.finally(() => running.delete(run));
    },
    /** Resolves when every call in progress is over (shutdown, tests). */
    async idle(): Promise<void> {
      await Promise.all([...running]);
    },
  };
}

export type OutboundCaller = ReturnType<typeof createOutboundCaller>;
