import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AriEventSocket,
  ariEventsUrl,
  dispatchAriFrame,
  type AriEvent,
  type AriSubject,
} from '../../src/ari/ari-event-socket';

/**
 * The app's own ARI event socket hands each event on as plain data, the way the handlers read
 * it: `(event, subject)` with the event's channel or playback as the subject.
 */
function setup() {
  const emitter = new EventEmitter();
  const seen: Array<[string, AriEvent, AriSubject | undefined]> = [];
  for (const type of ['StasisStart', 'ChannelDtmfReceived', 'PlaybackFinished', 'StasisEnd'])
    emitter.on(type, (event: AriEvent, subject?: AriSubject) => seen.push([type, event, subject]));
  const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
  const log = { warn: (m: string, meta?: Record<string, unknown>) => warnings.push([m, meta]) };
  return { emitter, seen, warnings, log };
}

const channel = {
  id: '1796.42',
  state: 'Up',
  caller: { number: '+12025550101' },
  dialplan: { context: 'x' },
};

test.each([
  [
    'StasisStart: the channel',
    { type: 'StasisStart', application: 'pinverify', args: ['route=billing'], channel },
    channel,
  ],
  ['a key: the channel', { type: 'ChannelDtmfReceived', digit: '7', channel }, channel],
  [
    'PlaybackFinished: the playback',
    { type: 'PlaybackFinished', playback: { id: 'p1', target_uri: 'channel:1796.42' } },
    { id: 'p1', target_uri: 'channel:1796.42' },
  ],
])('%s is the subject, and the event comes whole', (_name, event, subject) => {
  const t = setup();
  dispatchAriFrame(t.emitter, JSON.stringify(event), t.log);
  expect(t.seen).toEqual([[event.type, event, subject]]);
  expect(t.warnings).toEqual([]);
});

test('a frame that is not JSON is logged (without its content) and dropped; one without a type is dropped', () => {
  const t = setup();
  dispatchAriFrame(t.emitter, '{"type": "StasisSt', t.log);
  dispatchAriFrame(t.emitter, '[1, 2]', t.log);
  dispatchAriFrame(t.emitter, 'null', t.log);
  expect(t.seen).toEqual([]);
  expect(t.warnings).toEqual([['ARI sent a websocket frame that is not JSON; ignored', { length: 18 }]]);
});

test('a handler that throws is logged; the same event still reaches the other handlers, and the next event too', () => {
  const t = setup();
  t.emitter.prependListener('StasisEnd', () => {
    throw new Error('bug');
  });
  dispatchAriFrame(t.emitter, JSON.stringify({ type: 'StasisEnd', channel }), t.log);
  dispatchAriFrame(t.emitter, JSON.stringify({ type: 'ChannelDtmfReceived', digit: '1', channel }), t.log);
  expect(t.warnings).toEqual([['an ARI event handler threw', { type: 'StasisEnd', problem: 'Error: bug' }]]);
  expect(t.seen.map(([type]) => type)).toEqual(['StasisEnd', 'ChannelDtmfReceived']);
});

test('an event about neither a channel nor a playback reaches no handler', () => {
  const t = setup();
  dispatchAriFrame(t.emitter, JSON.stringify({ type: 'StasisEnd' }), t.log);
  dispatchAriFrame(t.emitter, JSON.stringify({ type: 'StasisEnd', channel: { name: 'no id' } }), t.log);
  expect(t.seen).toEqual([]);
});

test.each([
  ['http://127.0.0.1:8088', 'ws://127.0.0.1:8088/ari/events?app=pinverify&api_key=pinverify:s3cret'],
  [
    'https://pbx.example.com:8089/',
    'wss://pbx.example.com:8089/ari/events?app=pinverify&api_key=pinverify:s3cret',
  ],
])('the events URL of %s', (url, expected) => {
  expect(ariEventsUrl({ url, user: 'pinverify', password: 's3cret', app: 'pinverify' })).toBe(expected);
});

test('credentials and the application name are URL-encoded', () => {
  expect(ariEventsUrl({ url: 'http://h:8088', user: 'a b', password: 'p&w=:', app: 'my app' })).toBe(
    'ws://h:8088/ari/events?app=my%20app&api_key=a%20b:p%26w%3D%3A',
  );
});

describe('AriEventSocket against a websocket server on 127.0.0.1', () => {
  let server: WebSocketServer;
  let port = 0;
  const requests: string[] = [];
  let onConnection: (ws: WebSocket) => void = () => undefined;
  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (ws, req) => {
      requests.push(req.url ?? '');
      onConnection(ws);
    });
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  function socket(log = { warn: () => undefined }) {
    return new AriEventSocket({
      url: `http://127.0.0.1:${port}`,
      user: 'u',
      password: 'p',
      app: 'pinverify',
      log,
    });
  }

  test('opens on /ari/events with the app, hands on events, answers ping with pong', async () => {
    onConnection = (ws) =>
      ws.send(JSON.stringify({ type: 'StasisStart', application: 'pinverify', channel }));
    const s = socket();
    const started = new Promise<AriSubject>((resolve) =>
      s.on('StasisStart', (_e: AriEvent, c: AriSubject) => resolve(c)),
    );
    await s.open();
    expect(requests.at(-1)).toBe('/ari/events?app=pinverify&api_key=u:p');
    expect(await started).toEqual(channel);
    const pong = new Promise((resolve) => s.once('pong', resolve));
    s.ping();
    await pong;
    s.close();
    expect(() => s.ping()).toThrow('the ARI websocket is not open');
  });

  test('a close by the server is reported once as WebSocketReconnecting; our own close is quiet', async () => {
    let serverSide: WebSocket | undefined;
    onConnection = (ws) => (serverSide = ws);
    const s = socket();
    const lost: unknown[] = [];
    s.on('WebSocketReconnecting', (err: unknown) => lost.push(err));
    await s.open();
    const closed = new Promise((resolve) => s.once('WebSocketReconnecting', resolve));
    serverSide?.close();
    await closed;
    expect(lost).toHaveLength(1);

    const quiet = socket();
    const noise: unknown[] = [];
    quiet.on('WebSocketReconnecting', (err: unknown) => noise.push(err));
    await quiet.open();
    quiet.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(noise).toEqual([]);
  });

  test('open rejects when nothing listens (the supervisor retries)', async () => {
    const s = new AriEventSocket({
      url: 'http://127.0.0.1:1',
      user: 'u',
      password: 'p',
      app: 'x',
      log: { warn: () => undefined },
    });
    await expect(s.open()).rejects.toThrow(/ECONNREFUSED/);
  });
});
