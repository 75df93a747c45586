import { EventEmitter } from 'node:events';
import type { Client } from 'ari-client';
import type { ChannelEvent } from '../../src/call/channel-control';
import { attachStasisApp, parseStasisArgs, type StasisEntry } from '../../src/ari/stasis-app';
import { isChannelGone } from '../../src/ari/ari-channel';

/** The event routing between ARI and per-call handlers, with an EventEmitter standing in for ari-client. */
function setup() {
  const client = new EventEmitter();
  const started: StasisEntry[] = [];
  const events = new Map<string, ChannelEvent[]>();
  const app = attachStasisApp({
    client: client as unknown as Client,
    app: 'pinverify',
    log: { info: () => undefined, warn: () => undefined },
    startCall(entry) {
      started.push(entry);
      const list: ChannelEvent[] = [];
      events.set(entry.channelId, list);
      return { handle: (e) => list.push(e) };
    },
  });
  const channel = (id: string, number = '+12025550101', context = 'pinverify-support-autopin') => ({
    id,
    caller: { number },
    dialplan: { context },
  });
  return { client, started, events, app, channel };
}

describe('attachStasisApp', () => {
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

  test('ignores playbacks on bridges and events for unknown channels', () => {
    const { client, events, channel } = setup();
    client.emit('StasisStart', { application: 'pinverify', args: [] }, channel('a'));
    client.emit('PlaybackFinished', {}, { id: 'p', target_uri: 'bridge:a' });
    client.emit('ChannelDtmfReceived', { digit: '1' }, channel('zzz'));
    expect(events.get('a')).toEqual([]);
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
