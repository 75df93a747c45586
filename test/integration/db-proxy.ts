/**
 * A TCP proxy to the test database that drops every connection until told to forward them: the
 * database "down" for one pool only, without touching the server other tests use.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy to the test database that drops every connection until forward() is called. */
export interface DbProxy {
  readonly url: string;
  /** Connections dropped so far. */
  readonly dropped: number;
  forward(): void;
  close(): Promise<void>;
}

export async function startDbProxy(databaseUrl: string): Promise<DbProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  let forwarding = false;
  let dropped = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server: Server = createServer((client) => {
    track(client);
    if (!forwarding) {
      // What a database host that is down or restarting looks like to pg: the connection ends
      // before the server says anything.
      dropped += 1;
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(address.port);
  return {
    url: url.toString(),
    get dropped() {
      return dropped;
    },
    forward() {
      forwarding = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
