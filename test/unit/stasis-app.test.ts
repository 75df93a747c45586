import { EventEmitter } from 'node:events';
import type { Client } from 'ari-client';
import type { ChannelEvent } from '../../src/call/channel-control';
import {
  argsFromAppData,
  createStasisApp,
  parseStasisArgs,
  type StasisEntry,
} from '../../src/ari/stasis-app';
import { isChannelGone } from '../../src/ari/ari-channel';

/** A call's flow as the router sees it: events recorded, finished (or interrupted) on demand. */
interface FakeRun {
  events: ChannelEvent[];
  interrupted: boolean;
  finish(): void;
}

/**
 * The event routing between ARI and per-call flows, with an EventEmitter standing in for
 * ari-client (events) and a few REST stubs (applications.get, channels.get) for reclaiming.
 */
function setup(rest: { channelIds?: string[]; channels?: Record<string, unknown> } = {}) {
  const stopped: string[] = [];
  const client = Object.assign(new EventEmitter(), {
    playbacks: {
      stop: ({ playbackId }: { playbackId: string }) => {
        stopped.push(playbackId);
        return Promise.reject(new Error('{"message":"Playback not found"}'));
      },
    },
    applications: {
      get: () => Promise.resolve({ name: 'pinverify', channel_ids: rest.channelIds ?? [] }),
    },
    channels: {
      get: ({ channelId }: { channelId: string }) =>
        rest.channels?.[channelId]
          ? Promise.resolve(rest.channels[channelId])
          : Promise.reject(new Error('{"message":"Channel not found"}')),
    },
  });
  const started: StasisEntry[] = [];
  const events = new Map<string, ChannelEvent[]>();
  const runs = new Map<string, FakeRun>();
  const app = createStasisApp({
    app: 'pinverify',
    client: () => client as unknown as Client,
    log: { info: () => undefined, warn: () => undefined },
    startCall(entry) {
      started.push(entry);
      const list: ChannelEvent[] = [];
      events.set(entry.channelId, list);
      let finish: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const run: FakeRun = { events: list, interrupted: false, finish };
      runs.set(entry.channelId, run);
      return {
        handle: (e) => list.push(e),
        interrupt: () => {
          run.interrupted = true;
          finish();
        },
        done,
      };
    },
  });
  app.attach(client);
  const channel = (id: string, number = '+12025550101', context = 'pinverify-support-autopin') => ({
    id,
    caller: { number },
    dialplan: { context },
  });
  return { client, started, events, runs, app, channel, stopped };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('createStasisApp', () => {
  test('starts one call per channel and ignores a duplicate StasisStart', () => {
    const { client, started, channel } = setup();
    client.emit('StasisStart', { application: 'pinverify', args: ['route=billing'] }, channel('c1'));
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('c1'));
    expect(started).toEqual([
      {
        channelId: 'c1',
        callerId: '+12025550101',
        context: 'pinverify-support-autopin',
        args: { route: 'billing' },
      },
    ]);
  });

  test('an event delivered twice (same instant, same channel) is acted on once; a key pressed twice is two', () => {
    const { client, started, events, channel, runs } = setup();
    const at = (ms: number) => `2026-12-03T13:00:00.${String(ms).padStart(3, '0')}+0000`;
    client.emit('StasisStart', { application: 'pinverify', args: [], timestamp: at(1) }, channel('a'));
    client.emit('StasisStart', { application: 'pinverify', args: [], timestamp: at(1) }, channel('a'));
    client.emit('ChannelDtmfReceived', { digit: '1', timestamp: at(100) }, channel('a'));
    client.emit('ChannelDtmfReceived', { digit: '1', timestamp: at(100) }, channel('a'));
    client.emit('ChannelDtmfReceived', { digit: '1', timestamp: at(400) }, channel('a'));
    client.emit('PlaybackFinished', { timestamp: at(500) }, { id: 'p1', target_uri: 'channel:a' });
    client.emit('PlaybackFinished', { timestamp: at(500) }, { id: 'p1', target_uri: 'channel:a' });
    expect(events.get('a')).toEqual([
      { type: 'dtmf', digit: '1' },
      { type: 'dtmf', digit: '1' },
      { type: 'playback-finished', playbackId: 'p1' },
    ]);
    // The flow ended and sent the channel on; the StasisStart seen again starts nothing.
    runs.get('a')!.finish();
    return flush().then(() => {
      client.emit('StasisStart', { application: 'pinverify', args: [], timestamp: at(1) }, channel('a'));
      expect(started).toHaveLength(1);
    });
  });

  test('ignores channels of other Stasis apps', () => {
    const { client, started, channel } = setup();
    client.emit('StasisStart', { application: 'other', args: [] }, channel('x'));
    expect(started).toHaveLength(0);
  });

  test('routes each event to its own call, in order, with calls side by side', () => {
    const { client, events, channel, app } = setup();
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('a'));
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('b'));
    client.emit('ChannelDtmfReceived', { digit: '1' }, channel('a'));
    client.emit('ChannelDtmfReceived', { digit: '2' }, channel('b'));
    client.emit('PlaybackFinished', {}, { id: 'p1', target_uri: 'channel:a' });
    client.emit('ChannelDtmfReceived', { digit: '*' }, channel('a'));
    expect(app.active()).toBe(2);
    expect(events.get('a')).toEqual([
      { type: 'dtmf', digit: '1' },
      { type: 'playback-finished', playbackId: 'p1' },
      { type: 'dtmf', digit: '*' },
    ]);
    expect(events.get('b')).toEqual([{ type: 'dtmf', digit: '2' }]);
  });

  test('delivers one hangup and ignores late events after it', () => {
    const { client, events, channel, app } = setup();
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('a'));
    client.emit('ChannelHangupRequest', {}, channel('a'));
    client.emit('StasisEnd', {}, channel('a'));
    client.emit('ChannelDestroyed', {}, channel('a'));
    client.emit('ChannelDtmfReceived', { digit: '5' }, channel('a'));
    expect(events.get('a')).toEqual([{ type: 'hangup' }]);
    expect(app.active()).toBe(0);
  });

  test('a channel leaving the app (StasisEnd) is told to its call as left, once', () => {
    const { client, events, channel, app } = setup();
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('a'));
    client.emit('StasisEnd', {}, channel('a'));
    client.emit('ChannelDestroyed', {}, channel('a'));
    expect(events.get('a')).toEqual([{ type: 'left' }]);
    expect(app.active()).toBe(0);
  });

  test('ignores playbacks on bridges and events for unknown channels', () => {
    const { client, events, channel } = setup();
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('a'));
    client.emit('PlaybackFinished', {}, { id: 'p', target_uri: 'bridge:a' });
    client.emit('ChannelDtmfReceived', { digit: '1' }, channel('zzz'));
    expect(events.get('a')).toEqual([]);
  });
});

describe('reclaiming calls left in the app', () => {
  const inStasis = (id: string, appData: string, context = 'pinverify-billing-pin') => ({
    id,
    caller: { number: '+12025550102' },
    dialplan: { context, exten: '1', priority: 1, app_name: 'Stasis', app_data: appData },
  });

  test('starts every channel in the app without a running flow as reclaimed, with its Stasis args', async () => {
    const { client, app, started, channel, stopped } = setup({
      channelIds: ['old1', 'old2', 'live', 'gone', 'left', 'other'],
      channels: {
        old1: inStasis('old1', 'pinverify'),
        old2: inStasis('old2', 'pinverify,route=billing', 'some-context'),
        live: inStasis('live', 'pinverify'),
        // Continued in the dialplan a moment ago, still listed: not ours to route.
        left: {
          ...inStasis('left', ''),
          dialplan: { context: 'x', app_name: 'Dial', app_data: 'PJSIP/2001' },
        },
        other: inStasis('other', 'another-app'),
      },
    });
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('live'));
    expect(await app.reclaim(client as unknown as Client)).toBe(2);
    expect(started.slice(1)).toEqual([
      {
        channelId: 'old1',
        callerId: '+12025550102',
        context: 'pinverify-billing-pin',
        args: {},
        reclaimed: true,
      },
      {
        channelId: 'old2',
        callerId: '+12025550102',
        context: 'some-context',
        args: { route: 'billing' },
        reclaimed: true,
      },
    ]);
    expect(app.active()).toBe(3);
    // The prompt a dead session may have left playing is stopped first (ARI queues the rest behind it).
    expect(stopped).toEqual(['old1-pv-a', 'old1-pv-b', 'old2-pv-a', 'old2-pv-b']);
    // A second reclaim finds them all running.
    expect(await app.reclaim(client as unknown as Client)).toBe(0);
  });

  test('reclaims a channel whose flow ended while it stayed in the app (events lost meanwhile)', async () => {
    const { client, app, runs, channel } = setup({
      channelIds: ['a'],
      channels: { a: inStasis('a', 'pinverify') },
    });
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('a'));
    runs.get('a')?.finish();
    await flush();
    expect(app.active()).toBe(0);
    expect(await app.reclaim(client as unknown as Client)).toBe(1);
  });

  test('while draining, new calls start reclaimed; interruptAll ends the running flows', async () => {
    const { client, app, started, runs, channel } = setup();
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('a'));
    app.drain();
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('b'));
    expect(started.map((e) => [e.channelId, e.reclaimed ?? false])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect(await app.idle(20)).toBe(false);
    await app.interruptAll(1000);
    expect([runs.get('a')?.interrupted, runs.get('b')?.interrupted]).toEqual([true, true]);
    expect(app.active()).toBe(0);
    expect(await app.idle(20)).toBe(true);
  });
});

describe('argsFromAppData', () => {
  test.each([
    ['pinverify', {}],
    ['pinverify,route=billing', { route: 'billing' }],
    ['pinverify,billing,x=1', { route: 'billing', x: '1' }],
    ['other,route=x', null],
  ])('%s', (data, out) => {
    expect(argsFromAppData(data, 'pinverify')).toEqual(out);
  });
});

describe('parseStasisArgs', () => {
  test.each([
    [undefined, {}],
    ['billing', { route: 'billing' }],
    [['route=support', 'x=1'], { route: 'support', x: '1' }],
    [['', 'a=b'], { a: 'b' }],
  ])('%j -> %j', (input, out) => {
    expect(parseStasisArgs(input)).toEqual(out);
  });
});

describe('isChannelGone', () => {
  test('ARI 404 Channel not found and not-in-Stasis mean the caller is gone', () => {
    expect(isChannelGone(new Error('{"message":"Channel not found"}'))).toBe(true);
    expect(isChannelGone(new Error('{"message":"Channel not in Stasis application"}'))).toBe(true);
    expect(isChannelGone(new Error('connect ECONNREFUSED 127.0.0.1:8088'))).toBe(false);
  });
});
