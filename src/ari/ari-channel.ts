import { randomUUID } from 'node:crypto';
import { CallGoneError, type ChannelControl, type DialplanTarget } from '../call/channel-control';
import type { AriObserver } from '../metrics/app-metrics';
import type { AriCommands } from './ari-commands';

/**
 * ChannelControl over ARI REST. ARI answers 404 "Channel not found" (or 409/422 "not in Stasis")
 * once the caller hung up or the channel left the app: that is the caller being gone, reported
 * as CallGoneError, never as a fault.
 */
export function isChannelGone(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /Channel not found|not in Stasis|Channel not in Stasis application|"message":"Not found"/i.test(msg);
}

/**
 * The ids of a channel's playbacks. A session plays one playback at a time, so two ids taken in
 * turn never collide with a playback still finishing; and they are known from the channel id
 * alone, so after an app restart the playback a dead session left running can be stopped (ARI
 * queues every other command to the channel behind it: answer, variables, continue).
 */
export function playbackIdsFor(channelId: string): [string, string] {
  return [`${channelId}-pv-a`, `${channelId}-pv-b`];
}

export interface AriChannelOptions {
  timeoutMs?: number;
  /** Timings for /metrics. */
  observer?: AriObserver;
  /** When the channel's last DTMF arrived (performance.now()), taken once: for DTMF-to-action. */
  takeDtmfAt?: () => number | undefined;
}

/** ChannelControl for one channel, over `ari` (src/ari/ari-commands.ts). */
export function createAriChannel(
  ari: AriCommands,
  channelId: string,
  options: AriChannelOptions = {},
): ChannelControl {
  const timeoutMs = options.timeoutMs ?? 5000;
  const playbackIds = playbackIdsFor(channelId);
  let turn = 1;
  async function call<T>(what: string, op: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const dtmfAt = options.takeDtmfAt?.();
    if (dtmfAt !== undefined) options.observer?.dtmfToAction((started - dtmfAt) / 1000);
    let ok = false;
    try {
      return await Promise.race([
        // Inside a promise, so a synchronous "not connected" is a rejection like any other.
        new Promise<T>((resolve) => resolve(op())),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`ARI ${what} did not answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).then((v) => {
        ok = true;
        return v;
      });
    } catch (err) {
      if (isChannelGone(err)) throw new CallGoneError(`channel gone during ${what}`);
      throw err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
      options.observer?.ariRequest(what, (performance.now() - started) / 1000, ok);
    }
  }
  return {
    channelId,
    answer: () => call('answer', () => ari.answer(channelId)),
    async startPlayback(media) {
      turn = (turn + 1) % 2;
      const playbackId = playbackIds[turn] ?? randomUUID();
      await call('play', () => ari.play(channelId, media, playbackId));
      return playbackId;
    },
    async stopPlayback(playbackId) {
      try {
        await call('stop playback', () => ari.stopPlayback(playbackId));
      } catch (err) {
        // The playback may have finished in the meantime: nothing to stop.
        if (!(err instanceof Error && /Playback not found|not found/i.test(err.message))) throw err;
      }
    },
    setVariable: (variable, value) => call('set variable', () => ari.setVariable(channelId, variable, value)),
    continueInDialplan: (t: DialplanTarget) =>
      call('continue', () => ari.continueInDialplan(channelId, t.context, t.exten, t.priority)),
    hangup: () => call('hangup', () => ari.hangup(channelId)),
  };
}
