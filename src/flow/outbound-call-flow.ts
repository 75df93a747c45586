/**
 * An answered outbound verification call (issue #12; seed 003), as its flowchart:
 *
 *   greeting ("a verification call from <company>")
 *   -> key gate: "press any key to hear your code" (a voicemail box that answers hears no code)
 *   -> read mode:  the code digit by digit with pauses, "again", the code ... (profile.repeats
 *                  times), then "press 1 to hear it again"
 *      input mode: "enter the code you were given", checked by the verification service
 *                  (tries, expiry, lockout), right or wrong said, asked again while tries are left
 *   -> goodbye, hang up
 *
 * The result is the call attempt's status (delivered, approved, not_delivered, ...); the
 * verification's own status is the verification service's business. A hangup at any moment
 * (CallGoneError) ends the script quietly with what was reached so far; run() never throws.
 * The code is never logged: only how many times it was said.
 */
import { isCallGone, type CallVerbs } from '../call/call-verbs';
import type { CallAttemptStatus, CallProfile } from '../domain';
import type { FlowLogger } from './ports';
import { promptMedia, type PromptName } from './prompts';

/** What checking a keyed code told the call (an adapter maps the verification service's answer). */
export type CallCodeVerdict = 'approved' | 'wrong' | 'max_attempts' | 'expired' | 'locked' | 'closed';

export interface CallCodeChecker {
  check(verificationId: string, code: string): Promise<CallCodeVerdict>;
}

export interface OutboundCallJob {
  verificationId: string;
  profile: Pick<CallProfile, 'name' | 'mode' | 'repeats' | 'keyBeforeCode' | 'codeLength'>;
  /** Read mode: the digits to say. Input mode: null (the person keys the code). */
  code: string | null;
}

export interface OutboundCallResult {
  /** approved (input), delivered (read), answered (input: codes keyed, none right), not_delivered. */
  status: CallAttemptStatus;
  /** Whether the person pressed a key at the gate (always true without a gate). */
  keyPressed: boolean;
  /** Read mode: how many times the whole code was said. */
  timesSaid: number;
  /** Input mode: codes keyed and checked. */
  checks: number;
  /** The person hung up before the script ended. */
  hungUp: boolean;
}

export interface OutboundCallFlowDeps {
  checker: CallCodeChecker;
  log: FlowLogger;
  /** Timeouts, in ms (defaults below); tests shorten nothing: they run on a fake clock. */
  keyGateTimeoutMs?: number;
  repeatTimeoutMs?: number;
  firstDigitTimeoutMs?: number;
  interDigitTimeoutMs?: number;
}

/** How long the gate waits for a key after its prompt, each time it is asked. */
export const KEY_GATE_TIMEOUT_MS = 6000;
/** How long "press 1 to hear it again" waits. */
export const REPEAT_TIMEOUT_MS = 5000;
/** A person may ask to hear the code again this many times beyond the profile's repeats. */
export const MAX_EXTRA_REPEATS = 3;

/** The code as media: each digit's own recording with a second of silence between, so it is never rushed. */
export function codeMedia(code: string): string[] {
  const media: string[] = [];
  [...code].forEach((digit, i) => {
    if (i > 0) media.push('sound:silence/1');
    media.push(`sound:digits/${digit}`);
  });
  return media;
}

const media = (...names: PromptName[]) => names.map(promptMedia);

export function createOutboundCallFlow(deps: OutboundCallFlowDeps) {
  const keyGateMs = deps.keyGateTimeoutMs ?? KEY_GATE_TIMEOUT_MS;
  const repeatMs = deps.repeatTimeoutMs ?? REPEAT_TIMEOUT_MS;
  const firstDigitMs = deps.firstDigitTimeoutMs ?? 10_000;
  const interDigitMs = deps.interDigitTimeoutMs ?? 5000;

  return {
    async run(call: CallVerbs, job: OutboundCallJob): Promise<OutboundCallResult> {
      const r: OutboundCallResult = {
        status: 'answered',
        keyPressed: !job.profile.keyBeforeCode,
        timesSaid: 0,
        checks: 0,
        hungUp: false,
      };
      const log = deps.log;
      try {
        await call.play(media('call-greeting', 'company-name'));
        if (job.profile.keyBeforeCode) {
          r.keyPressed = await keyGate(call, job.profile.repeats, keyGateMs);
          if (!r.keyPressed) {
            // Nobody pressed a key: likely a voicemail box, which must not record the code.
            r.status = 'not_delivered';
            await call.play(media('goodbye'));
            await call.hangup();
            return r;
          }
        }
        if (job.profile.mode === 'read') await readCode(call, job, r, repeatMs);
        else await askForCode(call, job, r, deps.checker, firstDigitMs, interDigitMs);
        await call.hangup();
      } catch (err) {
        if (!isCallGone(err)) {
          log.error('outbound call script failed', {
            verificationId: job.verificationId,
            problem: err instanceof Error ? err.message : String(err),
          });
          await call.hangup().catch(() => undefined);
        } else r.hungUp = true;
      }
      // Answered, but no code said and none keyed: nothing reached the person.
      if (r.status === 'answered' && r.timesSaid === 0 && r.checks === 0) r.status = 'not_delivered';
      log.info('outbound call ended', {
        verificationId: job.verificationId,
        profile: job.profile.name,
        status: r.status,
        timesSaid: r.timesSaid,
        checks: r.checks,
        hungUp: r.hungUp,
      });
      return r;
    },
  };
}

/** "Press any key": asked up to `times` times; true once any key came. */
async function keyGate(call: CallVerbs, times: number, timeoutMs: number): Promise<boolean> {
  for (let i = 0; i < times; i++) {
    const heard = await call.gather({
      prompts: media('press-key-for-code'),
      maxDigits: 1,
      firstDigitTimeoutMs: timeoutMs,
      interDigitTimeoutMs: timeoutMs,
    });
    if (heard.digits !== '' || heard.ended === 'bail') return true;
  }
  return false;
}

async function readCode(call: CallVerbs, job: OutboundCallJob, r: OutboundCallResult, repeatMs: number) {
  const code = job.code ?? '';
  const say = async (first: boolean) => {
    await call.play([...media(first ? 'your-code-is' : 'code-again'), 'sound:silence/1', ...codeMedia(code)]);
    r.timesSaid++;
    // Once said in full, the code was delivered, whatever happens next.
    r.status = 'delivered';
  };
  for (let i = 0; i < job.profile.repeats; i++) await say(i === 0);
  for (let extra = 0; extra < MAX_EXTRA_REPEATS; extra++) {
    const heard = await call.gather({
      prompts: media('press-1-to-repeat'),
      maxDigits: 1,
      firstDigitTimeoutMs: repeatMs,
      interDigitTimeoutMs: repeatMs,
    });
    if (heard.digits !== '1') break;
    await say(false);
  }
  await call.play(media('goodbye'));
}

async function askForCode(
  call: CallVerbs,
  job: OutboundCallJob,
  r: OutboundCallResult,
  checker: CallCodeChecker,
  firstDigitMs: number,
  interDigitMs: number,
) {
  let silent = 0;
  while (silent < job.profile.repeats) {
    const heard = await call.gather({
      prompts: media('enter-call-code'),
      maxDigits: job.profile.codeLength,
      firstDigitTimeoutMs: firstDigitMs,
      interDigitTimeoutMs: interDigitMs,
      terminator: '#',
    });
    if (heard.digits === '') {
      silent++;
      continue;
    }
    r.checks++;
    const verdict = await checker.check(job.verificationId, heard.digits);
    if (verdict === 'approved') {
      r.status = 'approved';
      await call.play(media('call-code-accepted'));
      return;
    }
    if (verdict === 'wrong') {
      await call.play(media('code-wrong'));
      continue;
    }
    // max_attempts, expired, locked or already decided: no more tries on this call.
    await call.play(media(verdict === 'locked' ? 'locked' : 'call-code-refused'));
    return;
  }
  await call.play(media('goodbye'));
}

export type OutboundCallFlow = ReturnType<typeof createOutboundCallFlow>;
