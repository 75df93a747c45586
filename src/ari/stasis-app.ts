import type {
  Client,
  Channel,
  ChannelDtmfReceived,
  Playback,
  PlaybackFinished,
  StasisStart,
} from 'ari-client';
import type { ChannelControl, ChannelEvent } from '../call/channel-control';
import { createAriChannel } from './ari-channel';

/** What the app learns about a call when it enters Stasis. */
export interface StasisEntry {
  channelId: string;
  callerId: string;
  /** The dialplan context Stasis() ran in: the sub-IVR, i.e. the previous hop. */
  context: string;
  args: Record<string, string>;
}

/** Receives a call's channel events, in the order ARI delivered them. */
export interface CallHandler {
  handle(event: ChannelEvent): void;
}

export interface StasisAppOptions {
  client: Client;
  app: string;
  /** Starts a call; returns its event sink. Called once per channel. */
  startCall(entry: StasisEntry, channel: ChannelControl): CallHandler;
  log: {
    info(m: string, meta?: Record<string, unknown>): void;
    warn(m: string, meta?: Record<string, unknown>): void;
  };
}

/**
 * Stasis arguments: `key=value` pairs; a bare first argument is taken as the route name, so both
 * Stasis(pinverify,route=billing) and Stasis(pinverify,billing) work.
 */
export function parseStasisArgs(args: string | string[] | undefined): Record<string, string> {
  const list = args === undefined ? [] : Array.isArray(args) ? args : [args];
  const out: Record<string, string> = {};
  list.forEach((a, i) => {
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(0, eq).trim()] = a.slice(eq + 1).trim();
    else if (i === 0 && a.trim() !== '') out.route = a.trim();
  });
  return out;
}

/**
 * Routes ARI events to per-call handlers. Each call is independent: no global lock, one map
 * lookup per event. Events for channels we do not know (late events after hangup, channels of
 * other apps) are ignored.
 */
export function attachStasisApp(opts: StasisAppOptions): { active(): number } {
  const calls = new Map<string, CallHandler>();
  const { client } = opts;

  client.on('StasisStart', (event: StasisStart, channel: Channel) => {
    if (event.application !== opts.app) return;
    // A duplicate StasisStart (or one for a channel already handled) must not start a second flow.
    if (calls.has(channel.id)) return;
    const entry: StasisEntry = {
      channelId: channel.id,
      callerId: channel.caller?.number ?? '',
      context: channel.dialplan?.context ?? '',
      args: parseStasisArgs(event.args),
    };
    const handler = opts.startCall(entry, createAriChannel(client, channel.id));
    calls.set(channel.id, handler);
  });

  client.on('ChannelDtmfReceived', (event: ChannelDtmfReceived, channel: Channel) => {
    calls.get(channel.id)?.handle({ type: 'dtmf', digit: event.digit });
  });

  client.on('PlaybackFinished', (_event: PlaybackFinished, playback: Playback) => {
    const target = playback.target_uri ?? '';
    if (!target.startsWith('channel:')) return;
    calls
      .get(target.slice('channel:'.length))
      ?.handle({ type: 'playback-finished', playbackId: playback.id });
  });

  const gone = (channelId: string) => {
    const h = calls.get(channelId);
    if (!h) return;
    calls.delete(channelId);
    h.handle({ type: 'hangup' });
  };
  client.on('ChannelHangupRequest', (_e, channel: Channel) => gone(channel.id));
  client.on('ChannelDestroyed', (_e, channel: Channel) => gone(channel.id));
  // StasisEnd: the channel left the app (continued in the dialplan, or hung up). Either way no
  // verb may touch it any more.
  client.on('StasisEnd', (_e, channel: Channel) => gone(channel.id));

  return { active: () => calls.size };
}
