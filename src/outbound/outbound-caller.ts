/**
 * Places the calls of a call verification (issue #12). place() checks the profile and queues
 * the first attempt in the durable call queue (Postgres, shared by every app instance, so a
 * restart loses no queued call and an API or CLI process without ARI can start calls); run() is
 * the queue's worker: wait for the pacing slot (calls per second over all instances), take a
 * place under the cap on calls at once, dial with the profile's caller ID and ring timeout, run
 * the answered call's script (src/flow/outbound-call-flow.ts), record the attempt
 * (verification_calls), and queue the next attempt after busy or no answer as the profile allows,
 * while the verification is still pending; after the last, the SMS the profile asks for.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../call/clock';
import type { CallVerbs } from '../call/call-verbs';
import type { CallAttemptStatus, CallProfile } from '../domain';
import type { OutboundCallFlow } from '../flow/outbound-call-flow';
import type { FlowLogger } from '../flow/ports';
import type { DialOutcome, DialRequest } from '../ari/ari-dialer';
import { redactSecrets } from '../senders/redact-secrets';
import { deriveCode, unsealCode } from '../verification/verification-code';

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
  /**
   * Records the attempt as calling unless `cap` calls (over every app instance) are calling or
   * talking already; false then, and nothing recorded.
   */
  startBelow(a: CallAttemptRecord, cap: number): Promise<boolean>;
  ended(verificationId: string, attempt: number, end: CallAttemptEnd): Promise<void>;
  /**
   * The newest pending, unexpired call verification of this profile for this number, with the
   * next attempt number: what a call-back continues. Null when there is none.
   */
  pendingFor(
    e164: string,
    profile: string,
  ): Promise<{ verificationId: string; codeLength: number; attempt: number; customCode: boolean } | null>;
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
  /** The durable queue the attempts go through (src/outbound/call-queue.ts). */
  queue: CallQueue;
  /** Milliseconds until this call's slot under the calls-per-second pace (shared by every instance). */
  pace(): Promise<number>;
  /** Calls ringing or talking at once, over every instance (default: no cap). */
  maxCalls?: number;
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
  /** A client's own code, sealed; a generated code is derived again from the id instead. */
  sealedCode?: string;
}

/** One attempt as it waits in the queue. */
export interface QueuedCall extends OutboundCallJob {
  attempt: number;
}

export interface CallQueue {
  /** Queues an attempt to run in `afterSeconds` (0: now) in whichever instance is free. */
  enqueue(call: QueuedCall, afterSeconds: number): Promise<void>;
}

/**
 * Starts a call verification's calls: checks the profile and queues the first attempt, for the
 * app and for processes that only send (the CLI). Rejects when the call cannot be queued.
 */
export async function queueFirstAttempt(
  profiles: Pick<OutboundCallerDeps['profiles'], 'findByName'>,
  queue: CallQueue,
  job: OutboundCallJob,
): Promise<void> {
  const profile = await profiles.findByName(job.profile);
  if (!profile) throw new Error(`no call profile named ${job.profile}`);
  if (!profile.enabled) throw new Error(`call profile ${job.profile} is disabled`);
  await queue.enqueue({ ...job, attempt: 1 }, 0);
}

/** Seconds before a call held back by the cap on calls at once is tried again. */
const BUSY_CAP_RETRY_S = 2;

export function createOutboundCaller(deps: OutboundCallerDeps) {
  const retryDelayMs = deps.retryDelayMs ?? 60_000;
  /** The code to say or send: the client's own (sealed in the job), else derived from the id. */
  const codeOf = (job: Pick<OutboundCallJob, 'verificationId' | 'codeLength' | 'sealedCode'>): string =>
    job.sealedCode
      ? unsealCode(deps.secret, job.verificationId, job.sealedCode)
      : deriveCode(deps.secret, job.verificationId, job.codeLength);
  const maxCalls = deps.maxCalls ?? Infinity;
  const running = new Set<Promise<void>>();

  /** One call; null when the cap on calls at once was reached (nothing dialed). */
  async function attempt(
    job: OutboundCallJob,
    profile: CallProfile,
    n: number,
  ): Promise<CallAttemptStatus | null> {
    const channelId = `pinverify-out-${randomUUID()}`;
    const record = { verificationId: job.verificationId, profile: profile.name, attempt: n, channelId };
    if (!(await deps.attempts.startBelow(record, maxCalls))) return null;
    const outcome = await deps.dialer.dial({
      channelId,
      endpoint: deps.endpointFor(job.to),
      callerId: profile.callerId,
      timeoutSeconds: profile.ringTimeoutSeconds,
      appArgs: `attempt=${job.verificationId}:${n}`,
      language: profile.locale,
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
    try {
      return await answered(outcome.call, job, profile, n);
    } finally {
      outcome.finished();
    }
  }

  /** An answered call, placed or called back: the script, then the attempt's end recorded. */
  async function answered(
    call: CallVerbs,
    job: Pick<OutboundCallJob, 'verificationId' | 'codeLength' | 'sealedCode'>,
    profile: CallProfile,
    n: number,
  ): Promise<CallAttemptStatus> {
    const answeredAt = deps.clock.now();
    const result = await deps.flow.run(call, {
      verificationId: job.verificationId,
      profile: { ...profile, codeLength: job.codeLength },
      code: profile.mode === 'read' ? codeOf(job) : null,
    });
    await deps.attempts.ended(job.verificationId, n, {
      status: result.status,
      answeredAt,
      timesSaid: result.timesSaid,
      checks: result.checks,
    });
    return result.status;
  }

  /**
   * One queued attempt (a job of the call queue): wait for the pacing slot, call, and either
   * queue the next attempt (busy or no answer, retries left, still pending) or finish (SMS after
   * the call). Never throws: a failure is logged and the verification's calls end there.
   */
  async function runQueued(q: QueuedCall): Promise<void> {
    let last: CallAttemptStatus = 'failed';
    let profile: CallProfile | null = null;
    try {
      profile = await deps.profiles.findByName(q.profile);
      if (!profile) throw new Error(`call profile ${q.profile} no longer exists`);
      // Approved meanwhile (by SMS, say), canceled or expired: no further call.
      if ((await deps.verificationStatus(q.verificationId)) !== 'pending') return;
      const waitMs = await deps.pace();
      if (waitMs > 0) await new Promise<void>((resolve) => deps.clock.setTimer(waitMs, () => resolve()));
      const status = await attempt(q, profile, q.attempt);
      if (status === null) {
        // As many calls as allowed are ringing or talking: try again in a moment.
        await deps.queue.enqueue(q, BUSY_CAP_RETRY_S);
        return;
      }
      last = status;
      if ((last === 'busy' || last === 'no_answer') && q.attempt < 1 + profile.retriesOnNoAnswer) {
        await deps.queue.enqueue({ ...q, attempt: q.attempt + 1 }, Math.round(retryDelayMs / 1000));
        return;
      }
    } catch (err) {
      deps.log.error('outbound call failed', {
        verificationId: q.verificationId,
        problem: err instanceof Error ? err.message : String(err),
      });
    }
    if (profile) await smsAfter(q, profile, last);
    deps.onFinished?.(q.verificationId, last);
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
    if (profile.codeSource === 'manual' && !job.sealedCode) {
      // The client's own code came without its sealed copy (kept only as a hash): nothing to send.
      deps.log.info('no SMS after the call: the profile uses the client’s own code', {
        verificationId: job.verificationId,
      });
      return;
    }
    try {
      if ((await deps.verificationStatus(job.verificationId)) !== 'pending') return;
      await deps.smsAfterCall(job.to, job.verificationId, codeOf(job));
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
      // A client's own code travels sealed only in the queued call's job: a call-back cannot say it.
      if (!profile || !pending || (profile.mode === 'read' && pending.customCode)) {
        deps.log.info('call-back refused', { dialed, profile: profile?.name ?? null });
        await call.answer();
        await call.play(['sound:pinverify/invalid-request']);
        await call.hangup();
        return 'failed';
      }
      await call.answer();
      // The profile's prompt set, as on the call it places (sounds/<locale>/...).
      await call.setVariable('CHANNEL(language)', profile.locale);
      const { verificationId, attempt } = pending;
      await deps.attempts.started({ verificationId, profile: profile.name, attempt, channelId });
      const status = await answered(call, pending, profile, attempt);
      deps.onFinished?.(verificationId, status);
      return status;
    },

    /** Checks the profile and queues the first attempt. Rejects when the call cannot be queued. */
    place: (job: OutboundCallJob) => queueFirstAttempt(deps.profiles, deps.queue, job),

    /** The call queue's worker: runs one queued attempt to its end. */
    async run(q: QueuedCall): Promise<void> {
      const run = runQueued(q);
      running.add(run);
      try {
        await run;
      } finally {
        running.delete(run);
      }
    },

    /** Resolves when every call in progress in this process is over (shutdown, tests). */
    async idle(): Promise<void> {
      await Promise.all([...running]);
    },
  };
}

export type OutboundCaller = ReturnType<typeof createOutboundCaller>;
