import http from 'node:http';
import type { Client } from 'ari-client';

/**
 * The ARI requests a call makes while it is in the app: few, and on every call. Two ways to make
 * them: through ari-client (ariClientCommands, the reference) or straight over HTTP with
 * keep-alive (createAriHttpCommands, what the app uses).
 *
 * Why not ari-client for these: it sends each request through swagger-client 2.0.26 and its
 * `shred` HTTP client, which builds a new client, re-encodes the credentials and re-parses the
 * URL per request. On the 2-core lab that cost about 2.5 times the app CPU of a plain keep-alive
 * request (0.21 against 0.08 ms for GET /asterisk/info, warm, 2000 each, measured side by side),
 * and a bail-out call makes ten of them. ari-client still does what it does well: the websocket,
 * its events and the rest of the API (reclaim, outbound calls).
 */
export interface AriCommands {
  answer(channelId: string): Promise<void>;
  play(channelId: string, media: string | string[], playbackId: string): Promise<void>;
  stopPlayback(playbackId: string): Promise<void>;
  setVariable(channelId: string, variable: string, value: string): Promise<void>;
  continueInDialplan(channelId: string, context: string, extension: string, priority: number): Promise<void>;
  hangup(channelId: string): Promise<void>;
}

class StaleSocketError extends Error {}

/** The same requests through ari-client (`client` is the connected client at each request). */
export function ariClientCommands(client: () => Client): AriCommands {
  return {
    answer: (channelId) => client().channels.answer({ channelId }),
    play: async (channelId, media, playbackId) => {
      await client().channels.play({ channelId, media, playbackId });
    },
    stopPlayback: (playbackId) => client().playbacks.stop({ playbackId }),
    setVariable: (channelId, variable, value) =>
      client().channels.setChannelVar({ channelId, variable, value }),
    continueInDialplan: (channelId, context, extension, priority) =>
      client().channels.continueInDialplan({ channelId, context, extension, priority }),
    hangup: (channelId) => client().channels.hangup({ channelId }),
  };
}

export interface AriHttpOptions {
  /** e.g. http://127.0.0.1:8088 (as ARI_URL). */
  url: string;
  user: string;
  password: string;
  /** Throws while the websocket is down, as ari-client's commands did (src/main.ts). */
  assertConnected?: () => void;
  /** Sockets kept open to Asterisk. */
  maxSockets?: number;
  timeoutMs?: number;
}

/**
 * The requests over one keep-alive agent. A failed request rejects with an Error whose message
 * holds the method, path, status and ARI's JSON body (e.g. `{"message":"Channel not found"}`), the
 * same text isChannelGone() and the playback checks look for in ari-client's errors.
 */
export function createAriHttpCommands(o: AriHttpOptions): AriCommands {
  const base = new URL(o.url.replace(/\/+$/, '') + '/ari/');
  // Idle sockets are closed after 4 s, well before Asterisk's own keep-alive limit (http.conf
  // session_keep_alive, 15 s by default), so a request rarely goes out on a socket Asterisk is
  // closing; when one does, it is sent again once (below).
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 32, timeout: 4000 });
  const authorization = `Basic ${Buffer.from(`${o.user}:${o.password}`).toString('base64')}`;
  const timeoutMs = o.timeoutMs ?? 10_000;

  async function request(
    method: 'POST' | 'DELETE',
    path: string,
    query: Record<string, string | number>,
  ): Promise<void> {
    o.assertConnected?.();
    try {
      await send(method, path, query);
    } catch (err) {
      // Node's advice for keep-alive: a request that found its reused socket closed by the server
      // never reached it, so sending it again is safe.
      if (!(err instanceof StaleSocketError)) throw err;
      await send(method, path, query);
    }
  }

  function send(
    method: 'POST' | 'DELETE',
    path: string,
    query: Record<string, string | number>,
  ): Promise<void> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) params.set(k, String(v));
    const qs = params.toString();
    const target = `${base.pathname}${path}${qs ? `?${qs}` : ''}`;
    return new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: base.hostname,
          port: base.port || 80,
          method,
          path: target,
          agent,
          headers: { authorization, 'content-length': 0 },
          timeout: timeoutMs,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else
              reject(
                new Error(
                  `ARI ${method} /ari/${path} answered ${status}: ${body.trim() || res.statusMessage}`,
                ),
              );
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`ARI ${method} /ari/${path}: no answer within ${timeoutMs} ms`)),
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        reject(stale ? new StaleSocketError(err.message) : err);
      });
      req.end();
    });
  }

  const ch = (channelId: string, rest = '') => `channels/${encodeURIComponent(channelId)}${rest}`;
  return {
    answer: (channelId) => request('POST', ch(channelId, '/answer'), {}),
    play: (channelId, media, playbackId) =>
      request('POST', ch(channelId, '/play'), {
        // ARI takes several media as one comma-separated value.
        media: Array.isArray(media) ? media.join(',') : media,
        playbackId,
      }),
    stopPlayback: (playbackId) => request('DELETE', `playbacks/${encodeURIComponent(playbackId)}`, {}),
    setVariable: (channelId, variable, value) =>
      request('POST', ch(channelId, '/variable'), { variable, value }),
    continueInDialplan: (channelId, context, extension, priority) =>
      request('POST', ch(channelId, '/continue'), { context, extension, priority }),
    hangup: (channelId) => request('DELETE', ch(channelId), {}),
  };
}
