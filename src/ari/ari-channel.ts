import { randomUUID } from 'node:crypto';
import type { Client } from 'ari-client';
import { CallGoneError, type ChannelControl, type DialplanTarget } from '../call/channel-control';

/**
 * ChannelControl over ARI REST. ARI answers 404 "Channel not found" (or 409/422 "not in Stasis")
 * once the caller hung up or the channel left the app: that is the caller being gone, reported
 * as CallGoneError, never as a fault.
 */
export function isChannelGone(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /Channel not found|not in Stasis|Channel not in Stasis application|"message":"Not found"/i.test(msg);
}

export function createAriChannel(client: Client, channelId: string, timeoutMs = 5000): ChannelControl {
  async function call<T>(what: string, op: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        op(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`ARI ${what} did not answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      if (isChannelGone(err)) throw new CallGoneError(`channel gone during ${what}`);
      throw err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    channelId,
    answer: () => call('answer', () => client.channels.answer({ channelId })),
    async startPlayback(media) {
      const playbackId = randomUUID();
      await call('play', () => client.channels.play({ channelId, media, playbackId }));
      return playbackId;
    },
    async stopPlayback(playbackId) {
      try {
        await call('stop playback', () => client.playbacks.stop({ playbackId }));
      } catch (err) {
        // The playback may have finished in the meantime: nothing to stop.
        if (!(err instanceof Error && /Playback not found|not found/i.test(err.message))) throw err;
      }
    },
    setVariable: (variable, value) =>
      call('set variable', () => client.channels.setChannelVar({ channelId, variable, value })),
    continueInDialplan: (t: DialplanTarget) =>
      call('continue', () =>
        client.channels.continueInDialplan({
          channelId,
          context: t.context,
          extension: t.exten,
          priority: t.priority,
        }),
      ),
    hangup: () => call('hangup', () => client.channels.hangup({ channelId })),
  };
}
