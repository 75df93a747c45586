import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * A fault injector between the app and Asterisk's ARI: REST requests pass through unchanged,
 * and every event Asterisk sends on the app's websocket reaches the app twice, back to back (as
 * a replaying proxy or a websocket replaced mid-stream would deliver it). Counts what it
 * doubled, by event type, so a test can show the fault really happened.
 */
export async function startDuplicatingAriProxy(upstream: string): Promise<{
  url: string;
  doubled: Map<string, number>;
  close(): Promise<void>;
}> {
  const target = new URL(upstream);
  const doubled = new Map<string, number>();
  const sockets = new Set<WebSocket>();
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(up);
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const headers: Record<string, string> = {};
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const up = new WebSocket(`ws://${target.host}${req.url ?? '/'}`, { headers });
    up.on('error', () => socket.destroy());
    up.on('unexpected-response', (_r, answer) => {
      socket.end(`HTTP/1.1 ${answer.statusCode ?? 502} Upstream refused\r\n\r\n`);
    });
    up.on('open', () =>
      wss.handleUpgrade(req, socket, head, (app) => {
        sockets.add(app).add(up);
        up.on('message', (data, isBinary) => {
          const text = Buffer.isBuffer(data) ? data.toString() : Buffer.concat(data as Buffer[]).toString();
          const type = /"type"\s*:\s*"([A-Za-z]+)"/.exec(text)?.[1] ?? 'unknown';
          doubled.set(type, (doubled.get(type) ?? 0) + 1);
          app.send(data, { binary: isBinary });
          app.send(data, { binary: isBinary });
        });
        app.on('message', (data, isBinary) => up.send(data, { binary: isBinary }));
        const end = () => {
          app.terminate();
          up.terminate();
        };
        up.on('close', end);
        app.on('close', end);
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    doubled,
    async close() {
      for (const s of sockets) s.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
