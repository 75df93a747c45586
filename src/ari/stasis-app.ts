import type { Channel, Client } from 'ari-client';
import type { ChannelControl, ChannelEvent } from '../call/channel-control';
import type { AriObserver } from '../metrics/app-metrics';
import { createAriChannel, playbackIdsFor } from './ari-channel';
import { ariClientCommands, type AriCommands } from './ari-commands';
import type { AriChannelData, AriEventSource, AriPlaybackData } from './ari-event-socket';
import { createEventDeduper } from './event-dedupe';

/** What the app learns about a call when it enters Stasis (or is found there after a restart). */
export interface StasisEntry {
  channelId: string;
  callerId: string;
  /** The dialplan context Stasis() ran in: the sub-IVR, i.e. the previous hop. */
  context: string;
  args: Record<string, string>;
  /** Found in the app after a restart, or arrived while the app drains: route it at once. */
  reclaimed?: boolean;
  /** Shed by admission control: route it at once as overloaded. */
  overloaded?: boolean;
}

/** One call's flow as the router sees it. */
export interface CallRun {
  /** Receives the call's channel events, in the order ARI delivered them. */
  handle(event: ChannelEvent): void;
  /** Ends prompts and key entry so the flow routes the caller now (shutdown). */
  interrupt(): void;
  /** Settles when the flow is over (whatever became of the channel). */
  readonly done: Promise<unknown>;
}

export interface StasisAppOptions {
  app: string;
  /** The connected ARI client, or null while the supervisor reconnects. */
  client(): Client | null;
  /** How a call's channel requests are made; default: through client() (ari-commands.ts). */
  commands?: AriCommands;
  /** Starts a call's flow. Called once per channel. */
  startCall(entry: StasisEntry, channel: ChannelControl): CallRun;
  log: {
    info(m: string, meta?: Record<string, unknown>): void;
    warn(m: string, meta?: Record<string, unknown>): void;
  };
  /** ARI timings for /metrics. */
  observer?: AriObserver;
  /** Admission control for new calls: null admits, a text says why the call is shed. */
  admit?(): string | null;
}

export interface StasisApp {
  /** Registers the event handlers on a newly connected event socket (every reconnect). */
  attach(events: AriEventSource): void;
  /**
   * Calls sitting in the app without a running flow (the app restarted, or events were lost
   * while ARI was away) are started as reclaimed calls. Returns how many.
   */
  reclaim(client: Client): Promise<number>;
  /** From now on, new calls are routed at once as reclaimed (the app is shutting down). */
  drain(): void;
  /** Interrupts every running flow and resolves when all are over, or after `ms`. */
  interruptAll(ms: number): Promise<void>;
  /** Resolves when no flow runs, or after `ms`; true when none is left. */
  idle(ms: number): Promise<boolean>;
  active(): number;
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

/** The Stasis arguments of a channel found in the app, from its dialplan app data ("pinverify,route=x"). */
export function argsFromAppData(appData: string, app: string): Record<string, string> | null {
  const [name, ...rest] = appData.split(',');
  if (name?.trim() !== app) return null;
  return parseStasisArgs(rest);
}

/**
 * Routes ARI events to per-call flows. Each call is independent: no global lock, one map lookup
 * per event. Events for channels we do not know (late events after hangup, channels of other
 * apps) are ignored. The map outlives the ARI client: after a reconnect the same calls go on.
 */
export function createStasisApp(opts: StasisAppOptions): StasisApp {
  const calls = new Map<string, CallRun>();
  /** When each call's last DTMF arrived, until the next ARI command for it (DTMF-to-action). */
  const dtmfAt = new Map<string, number>();
  let draining = false;
  // An event delivered twice is acted on once (event-dedupe.ts says how it knows).
  const deduper = createEventDeduper();
  const repeated = (type: string, timestamp: string | undefined, about: string) =>
    deduper.repeated({ type, timestamp, about }, Date.now());

  const getClient = (): Client => {
    const c = opts.client();
    if (!c) throw new Error('ARI is not connected (reconnecting)');
    return c;
  };
  const commands = opts.commands ?? ariClientCommands(getClient);

  function start(entry: StasisEntry): void {
    if (calls.has(entry.channelId)) return;
    const run = opts.startCall(
      draining ? { ...entry, reclaimed: true } : entry,
      createAriChannel(commands, entry.channelId, {
        observer: opts.observer,
        takeDtmfAt: () => {
          const at = dtmfAt.get(entry.channelId);
          dtmfAt.delete(entry.channelId);
          return at;
        },
      }),
    );
    calls.set(entry.channelId, run);
    // A finished flow's channel that is still in the app later is reclaimed, not ignored.
    void run.done.finally(() => {
      if (calls.get(entry.channelId) === run) calls.delete(entry.channelId);
    });
  }

  const gone = (channelId: string, event: ChannelEvent = { type: 'hangup' }) => {
    dtmfAt.delete(channelId);
    const run = calls.get(channelId);
    if (!run) return;
    calls.delete(channelId);
    run.handle(event);
  };

  /** At most one line a second while shedding, with how many calls were shed. */
  let shedSince = 0;
  let shedCount = 0;
  function shedLog(why: string): void {
    shedCount += 1;
    const now = Date.now();
    if (now - shedSince < 1000) return;
    opts.log.warn('overloaded: shedding new calls to their failed destination', { why, shed: shedCount });
    shedSince = now;
    shedCount = 0;
  }

  /** Waits until no flow runs (calls arriving meanwhile included), or `ms` passed. */
  async function settle(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (calls.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const pending = [...calls.values()].map((r) => r.done.catch(() => undefined));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(pending),
        new Promise((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
    return true;
  }

  return {
    attach(events) {
      // Plain event data (ari-event-socket.ts): the subject is the event's channel or playback.
      events.on('StasisStart', (event, subject) => {
        const channel = subject as AriChannelData;
        if (event.application !== opts.app) return;
        // A duplicate StasisStart (or one for a channel already handled) must not start a second
        // flow, nor one after the first flow has ended and sent the channel on.
        if (calls.has(channel.id) || repeated('StasisStart', event.timestamp, channel.id)) return;
        const shed = draining ? null : (opts.admit?.() ?? null);
        if (shed) shedLog(shed);
        start({
          channelId: channel.id,
          callerId: channel.caller?.number ?? '',
          context: channel.dialplan?.context ?? '',
          args: parseStasisArgs(event.args),
          ...(shed ? { overloaded: true } : {}),
        });
      });
      events.on('ChannelDtmfReceived', (event, subject) => {
        const channel = subject as AriChannelData;
        const run = calls.get(channel.id);
        const digit = event.digit ?? '';
        if (!run || repeated('ChannelDtmfReceived', event.timestamp, `${channel.id}|${digit}`)) return;
        // The last key before a command is the one that caused it (a digit mid-entry causes none).
        if (opts.observer) dtmfAt.set(channel.id, performance.now());
        run.handle({ type: 'dtmf', digit });
      });
      events.on('PlaybackFinished', (event, subject) => {
        const playback = subject as AriPlaybackData;
        const target = playback.target_uri ?? '';
        if (!target.startsWith('channel:')) return;
        if (repeated('PlaybackFinished', event.timestamp, playback.id)) return;
        calls
          .get(target.slice('channel:'.length))
          ?.handle({ type: 'playback-finished', playbackId: playback.id });
      });
      events.on('ChannelHangupRequest', (_e, channel) => gone(channel.id));
      events.on('ChannelDestroyed', (_e, channel) => gone(channel.id));
      // StasisEnd: the channel left the app (continued in the dialplan, or hung up). Either way no
      // verb may touch it any more.
      events.on('StasisEnd', (_e, channel) => gone(channel.id, { type: 'left' }));
    },

    async reclaim(client) {
      const app = await client.applications.get({ applicationName: opts.app });
      const ids = app.channel_ids ?? [];
      const orphans = (Array.isArray(ids) ? ids : [ids]).filter((id) => !calls.has(id));
      let reclaimed = 0;
      for (const id of orphans) {
        let channel: Channel;
        try {
          channel = await client.channels.get({ channelId: id });
        } catch {
          continue; // hung up meanwhile
        }
        // Only a channel still running Stasis(<our app>) is ours to route (one that already
        // continued in the dialplan may linger in the list for a moment).
        const d = channel.dialplan as Channel['dialplan'] & { app_name?: string; app_data?: string };
        if (d.app_name !== undefined && d.app_name !== 'Stasis') continue;
        const args = d.app_data !== undefined ? argsFromAppData(d.app_data, opts.app) : {};
        if (args === null) continue;
        // The dead session's prompt may still be playing; every command to the channel would
        // wait behind it.
        await Promise.allSettled(
          playbackIdsFor(id).map((playbackId) => client.playbacks.stop({ playbackId })),
        );
        start({
          channelId: id,
          callerId: channel.caller?.number ?? '',
          context: d.context ?? '',
          args,
          reclaimed: true,
        });
        reclaimed += 1;
      }
      if (reclaimed > 0) opts.log.warn('reclaimed calls left in the app', { reclaimed });
      return reclaimed;
    },

    drain() {
      draining = true;
    },

    async interruptAll(ms) {
      for (const run of calls.values()) run.interrupt();
      await settle(ms);
    },

    idle: (ms) => settle(ms),

    active: () => calls.size,
  };
}
