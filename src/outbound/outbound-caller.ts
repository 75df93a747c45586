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
import type { CallAttemptStatus, CallProfile } from '../domain';
import type { OutboundCallFlow } from '../flow/outbound-call-flow';
import type { FlowLogger } from '../flow/ports';
import type { DialOutcome, DialRequest } from '../ari/ari-dialer';
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
}

export interface OutboundCallerDeps {
  profiles: { findByName(name: string): Promise<CallProfile | null> };
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
  /** Called when a call verification's calls are over (SMS after the call, metrics, tests). */
  onFinished?(verificationId: string, last: CallAttemptStatus): void;
}

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
    deps.onFinished?.(job.verificationId, last);
  }

  return {
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
