import { randomUUID } from 'node:crypto';
import type { Client } from 'ari-client';
import { CallGoneError, type ChannelControl, type DialplanTarget } from '../call/channel-control';
import type { AriObserver } from '../metrics/app-metrics';

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

/** `client` gives the connected client at the time of each request (it changes on reconnect). */
export function createAriChannel(
  client: () => Client,
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
        // Inside a promise, so "not connected" from client() is a rejection like any other.
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
    answer: () => call('answer', () => client().channels.answer({ channelId })),
    async startPlayback(media) {
      turn = (turn + 1) % 2;
      const playbackId = playbackIds[turn] ?? randomUUID();
      await call('play', () => client().channels.play({ channelId, media, playbackId }));
      return playbackId;
    },
    async stopPlayback(playbackId) {
      try {
        await call('stop playback', () => client().playbacks.stop({ playbackId }));
      } catch (err) {
        // The playback may have finished in the meantime: nothing to stop.
        if (!(err instanceof Error && /Playback not found|not found/i.test(err.message))) throw err;
      }
    },
    setVariable: (variable, value) =>
      call('set variable', () => client().channels.setChannelVar({ channelId, variable, value })),
    continueInDialplan: (t: DialplanTarget) =>
      call('continue', () =>
        client().channels.continueInDialplan({
          channelId,
          context: t.context,
          extension: t.exten,
          priority: t.priority,
        }),
      ),
    hangup: () => call('hangup', () => client().channels.hangup({ channelId })),
  };
}
