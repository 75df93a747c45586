/**
 * createAriHttpCommands against an in-process HTTP server speaking ARI's shapes: the requests a
 * call makes (method, path, query, credentials), ARI's errors carried in words that
 * isChannelGone() recognises, the websocket gate, and a keep-alive socket closed by the server
 * between two requests (sent again once, never lost). The same commands against the real
 * Asterisk run in every e2e call of the app.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAriHttpCommands } from '../../../src/ari/ari-commands';
import { isChannelGone } from '../../../src/ari/ari-channel';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
}

describe('ARI commands over keep-alive HTTP', () => {
  let server: http.Server;
  let url: string;
  const seen: Seen[] = [];
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization });
      answer(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    seen.length = 0;
    answer = (_req, res) => {
      res.statusCode = 204;
      res.end();
    };
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends what ARI expects, with the credentials, on one kept-alive connection', async () => {
    const ari = createAriHttpCommands({ url, user: 'pinverify', password: 's3cret' });
    const sockets = new Set<unknown>();
    server.on('connection', (s) => sockets.add(s));
    await ari.answer('1700.42');
    await ari.play('1700.42', ['sound:pv-intro', 'sound:pv-menu'], '1700.42-pv-a');
    await ari.stopPlayback('1700.42-pv-a');
    await ari.setVariable('1700.42', '__PINVERIFY_RESULT', 'failed');
    await ari.continueInDialplan('1700.42', 'pinverify-destinations', '2901', 1);
    await ari.hangup('1700.42');
    expect(seen.map((s) => `${s.method} ${decodeURIComponent(s.url)}`)).toEqual([
      'POST /ari/channels/1700.42/answer',
      'POST /ari/channels/1700.42/play?media=sound:pv-intro,sound:pv-menu&playbackId=1700.42-pv-a',
      'DELETE /ari/playbacks/1700.42-pv-a',
      'POST /ari/channels/1700.42/variable?variable=__PINVERIFY_RESULT&value=failed',
      'POST /ari/channels/1700.42/continue?context=pinverify-destinations&extension=2901&priority=1',
      'DELETE /ari/channels/1700.42',
    ]);
    expect(new Set(seen.map((s) => s.auth))).toEqual(
      new Set([`Basic ${Buffer.from('pinverify:s3cret').toString('base64')}`]),
    );
    expect(sockets.size).toBe(1);
  });

  it("reports ARI's error with its words: a 404 Channel not found is the caller gone", async () => {
    answer = (_req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ message: 'Channel not found' }));
    };
    const ari = createAriHttpCommands({ url, user: 'u', password: 'p' });
    const err = await ari.answer('gone').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'ARI POST /ari/channels/gone/answer answered 404: {"message":"Channel not found"}',
    );
    expect(isChannelGone(err)).toBe(true);
  });

  it('refuses at once while the websocket is down, without a request', async () => {
    const ari = createAriHttpCommands({
      url,
      user: 'u',
      password: 'p',
      assertConnected: () => {
        throw new Error('ARI is not connected (reconnecting)');
      },
    });
    await expect(ari.answer('1')).rejects.toThrow('ARI is not connected (reconnecting)');
    expect(seen).toHaveLength(0);
  });

  it('sends a request again once when the kept-alive socket was closed by the server meanwhile', async () => {
    const ari = createAriHttpCommands({ url, user: 'u', password: 'p' });
    await ari.answer('1');
    // The next request goes out on the reused socket, which the server then drops unanswered:
    // as when Asterisk closes an idle keep-alive session at the moment we send.
    let dropped = 0;
    answer = (req, res) => {
      if (dropped === 0) {
        dropped += 1;
        req.socket.destroy();
        return;
      }
      res.statusCode = 204;
      res.end();
    };
    await ari.setVariable('1', 'X', 'y');
    expect(dropped).toBe(1);
    expect(seen.filter((s) => s.url.includes('/variable'))).toHaveLength(2);
  });
});
