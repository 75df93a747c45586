/**
 * The real ari-client against an HTTP server that behaves like an Asterisk still starting up:
 * the resource list loads, then one API description answers 503. Unguarded, ari-client's
 * swagger loader throws from inside the response callback and the process dies (proved in a
 * child process below, so the scenario is known to reproduce the crash); with
 * guardSwaggerLoader() the same load is a rejected ari.connect(), which the supervisor retries.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import ari from 'ari-client';
import { guardSwaggerLoader } from '../../../src/ari/swagger-guard';

const REPO = path.resolve(__dirname, '../../..');

/** resources.json lists two APIs; `failing` of them answer with `status`. */
function startingAsterisk(status: number, failing: string[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ari`;
    if (url.startsWith('/ari/api-docs/resources.json')) {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: '10.0.0',
          swaggerVersion: '1.1',
          basePath: base,
          apis: [{ path: '/api-docs/asterisk.{format}' }, { path: '/api-docs/channels.{format}' }],
        }),
      );
      return;
    }
    if (failing.some((name) => url.includes(`/api-docs/${name}.json`))) {
      res.statusCode = status;
      res.end('Service Unavailable');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({ apiVersion: '10.0.0', swaggerVersion: '1.1', basePath: base, apis: [], models: {} }),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('ari-client loading the API description from an Asterisk that is still starting', () => {
  let server: http.Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('without the guard, a 503 on one API description ends the process (the bug)', async () => {
    server = await startingAsterisk(503, ['channels']);
    const port = (server.address() as AddressInfo).port;
    // The server must answer while the child runs, so the child runs asynchronously.
    const child = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        [
          '-e',
          `require('ari-client').connect('http://127.0.0.1:${port}', 'u', 'p')` +
            `.then(() => console.log('connected'), (e) => { console.log('rejected'); setTimeout(() => process.exit(0), 200); });` +
            `setTimeout(() => process.exit(0), 5000);`,
        ],
        { cwd: REPO },
      );
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (code: number | null) => resolve({ code, stderr }));
    });
    expect(child.code).not.toBe(0);
    expect(child.stderr).toMatch(/Unable to read api 'channels'/);
  });

  it('with the guard, the same load rejects ari.connect() and the process lives on', async () => {
    guardSwaggerLoader();
    server = await startingAsterisk(503, ['asterisk', 'channels']);
    const port = (server.address() as AddressInfo).port;
    await expect(ari.connect(`http://127.0.0.1:${port}`, 'u', 'p')).rejects.toMatch(
      /Unable to read api '(asterisk|channels)'/,
    );
    // A second connect (the supervisor's retry) behaves the same: the guard is per load.
    await expect(ari.connect(`http://127.0.0.1:${port}`, 'u', 'p')).rejects.toBeDefined();
  });

  it('with the guard, a 503 on the resource list itself is a rejection too', async () => {
    guardSwaggerLoader();
    server = http.createServer((_req, res) => {
      res.statusCode = 503;
      res.end('starting');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    await expect(ari.connect(`http://127.0.0.1:${port}`, 'u', 'p')).rejects.toBeDefined();
  });
});
