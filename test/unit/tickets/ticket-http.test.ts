import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LAB_ZENDESK_API_TOKEN, LAB_ZENDESK_EMAIL } from '../../../src/lab/ticket-stand-ins';
import { TicketNoteError } from '../../../src/tickets/ticket-connector';
import { createZendeskConnector } from '../../../src/tickets/zendesk-connector';
import { note } from './note-fixture';

/** Failures without an HTTP answer, and redirects, as every connector sees them (ticket-http.ts). */
let server: Server;
let url: string;
const held: Array<() => void> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/moved')) {
      res.writeHead(301, { location: 'https://user:pw@elsewhere.example.com/api?token=x' });
      res.end();
      return;
    }
    held.push(() => res.end()); // never answers until the test is over
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const release of held) release();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const zendesk = (baseUrl: string, timeoutMs = 200) =>
  createZendeskConnector({ baseUrl, email: LAB_ZENDESK_EMAIL, apiToken: LAB_ZENDESK_API_TOKEN, timeoutMs });

async function failure(p: Promise<unknown>): Promise<TicketNoteError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TicketNoteError);
  return err as TicketNoteError;
}

test('no answer within the timeout: retryable', async () => {
  const err = await failure(zendesk(url).addNote(note(), new AbortController().signal));
  expect(err).toMatchObject({ retryable: true, status: null });
  expect(err.message).toMatch(/^Zendesk \(127\.0\.0\.1:\d+\) did not answer within 200 ms$/);
});

test('nothing listening: retryable, names the host', async () => {
  // A port that was free a moment ago (fetch refuses "bad" ports such as 1 before connecting).
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const err = await failure(
    zendesk(`http://127.0.0.1:${port}`).addNote(note(), new AbortController().signal),
  );
  expect(err).toMatchObject({ retryable: true, status: null });
  expect(err.message).toBe(`Zendesk could not be reached at 127.0.0.1:${port}: ECONNREFUSED`);
});

test('stopped by the caller (shutdown): retryable', async () => {
  const ctrl = new AbortController();
  const p = zendesk(url, 5000).addNote(note(), ctrl.signal);
  setTimeout(() => ctrl.abort(), 50);
  expect(await failure(p)).toMatchObject({ retryable: true });
});

test('a redirect is a wrong URL: not followed, not retryable, target shown without secrets', async () => {
  const err = await failure(zendesk(`${url}/moved`).addNote(note(), new AbortController().signal));
  expect(err).toMatchObject({ retryable: false, status: 301 });
  expect(err.message).toContain('to https://elsewhere.example.com/api');
  expect(err.message).not.toMatch(/pw|token=x/);
});
