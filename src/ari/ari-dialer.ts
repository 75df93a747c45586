/**
 * Places outbound calls over ARI (issue #12): originate into our own Stasis app, then wait for
 * either StasisStart (answered: Asterisk runs Stasis only once the callee answers) or the
 * channel's end (busy, no answer, rejected, failed: src/outbound/classify-unanswered.ts).
 *
 * The channel id is ours, chosen before the originate, so events that arrive before the HTTP
 * answer are not lost. Our own ring timer (the originate timeout plus a margin) hangs up a call
 * whose end never comes, so no caller of dial() waits forever.
 */
import type { Client } from 'ari-client';
import type { CallVerbs } from '../call/call-verbs';
import type { AriChannelData, AriEventSource } from './ari-event-socket';
import type { FlowLogger } from '../flow/ports';
import { classifyUnanswered, type UnansweredStatus } from '../outbound/classify-unanswered';

export interface DialRequest {
  channelId: string;
  /** e.g. PJSIP/+12025550161@lab-pstn */
  endpoint: string;
  /** "Name" <+12025550100> or just the number. */
  callerId: string;
  timeoutSeconds: number;
  /** Stasis arguments, e.g. attempt=<id>: how StasisStart tells an outbound call from a caller. */
  appArgs: string;
  /** The channel's language: Asterisk plays sounds/<language>/... (the profile's locale). */
  language?: string;
}

export type DialOutcome =
  | {
      answered: true;
      call: CallVerbs;
      /** The runner calls this when its script is over; the Stasis app then lets the channel go. */
      finished(): void;
    }
  | { answered: false; status: UnansweredStatus; cause?: number; sipCode?: number; problem?: string };

interface Pending {
  state?: string;
  timedOut: boolean;
  timer: NodeJS.Timeout;
  resolve(outcome: DialOutcome): void;
}

/** Seconds our own timer waits beyond the originate timeout before it ends the call itself. */
const RING_MARGIN_S = 5;

export function createAriDialer(opts: { client: () => Client | null; app: string; log: FlowLogger }) {
  const pending = new Map<string, Pending>();

  function settle(channelId: string, outcome: DialOutcome): boolean {
    const p = pending.get(channelId);
    if (!p) return false;
    pending.delete(channelId);
    clearTimeout(p.timer);
    p.resolve(outcome);
    return true;
  }

  return {
    /** Registers the handlers on a (re)connected event socket. */
    attach(events: AriEventSource): void {
      events.on('ChannelStateChange', (_e, subject) => {
        const channel = subject as AriChannelData;
        const p = pending.get(channel.id);
        if (p) p.state = channel.state;
      });
      events.on('ChannelDestroyed', (event, subject) => {
        const channel = subject as AriChannelData;
        const p = pending.get(channel.id);
        if (!p) return;
        const status = classifyUnanswered({
          cause: event.cause,
          techCause: event.tech_cause,
          lastState: p.state ?? channel.state,
          timedOut: p.timedOut,
        });
        settle(channel.id, { answered: false, status, cause: event.cause, sipCode: event.tech_cause });
      });
    },

    /**
     * The Stasis app saw StasisStart for an outbound channel: the callee answered. Returns the
     * promise the call's run waits on, or null when the channel is not one this process dialed.
     */
    answered(channelId: string, call: CallVerbs): Promise<void> | null {
      let finished!: () => void;
      const done = new Promise<void>((resolve) => (finished = resolve));
      return settle(channelId, { answered: true, call, finished }) ? done : null;
    },

    async dial(req: DialRequest): Promise<DialOutcome> {
      const client = opts.client();
      if (!client) return { answered: false, status: 'failed', problem: 'ARI is not connected' };
      const outcome = new Promise<DialOutcome>((resolve) => {
        const timer = setTimeout(
          () => {
            const p = pending.get(req.channelId);
            if (!p) return;
            p.timedOut = true;
            client.channels.hangup({ channelId: req.channelId, reason: 'no_answer' }).catch(() => {
              // Already gone without telling us: end the wait here.
              settle(req.channelId, { answered: false, status: 'no_answer' });
            });
          },
          (req.timeoutSeconds + RING_MARGIN_S) * 1000,
        );
        pending.set(req.channelId, { timedOut: false, timer, resolve });
      });
      try {
        await client.channels.originate({
          channelId: req.channelId,
          endpoint: req.endpoint,
          app: opts.app,
          appArgs: req.appArgs,
          callerId: req.callerId,
          timeout: req.timeoutSeconds,
          ...(req.language ? { variables: { variables: { 'CHANNEL(language)': req.language } } } : {}),
        });
      } catch (err) {
        const problem = err instanceof Error ? err.message : String(err);
        opts.log.warn('originating the outbound call failed', { channelId: req.channelId, problem });
        settle(req.channelId, { answered: false, status: 'failed', problem });
      }
      return outcome;
    },

    /** Calls still ringing (for shutdown and tests). */
    ringing(): number {
      return pending.size;
    },
  };
}

export type AriDialer = ReturnType<typeof createAriDialer>;
