import {
  LAB_ZENDESK_API_TOKEN,
  LAB_ZENDESK_EMAIL,
  startTicketStandIns,
  type TicketStandIns,
} from '../../../src/lab/ticket-stand-ins';
import { renderTicketNote, TicketNoteError } from '../../../src/tickets/ticket-connector';
import { createZendeskConnector } from '../../../src/tickets/zendesk-connector';
import { note } from './note-fixture';

/** The real connector, over HTTP, against the lab's Zendesk stand-in. */
let standIn: TicketStandIns;
beforeAll(async () => {
  standIn = await startTicketStandIns({ port: 0 });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.clear());

const signal = () => new AbortController().signal;
const connector = (apiToken = LAB_ZENDESK_API_TOKEN) =>
  createZendeskConnector({ baseUrl: `${standIn.url}/`, email: LAB_ZENDESK_EMAIL, apiToken });

async function failure(p: Promise<unknown>): Promise<TicketNoteError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TicketNoteError);
  return err as TicketNoteError;
}

test('adds a private comment with Update Ticket: PUT /api/v2/tickets/{id}.json', async () => {
  const n = note({ ticketRef: '#4321', code: '482913' });
  await connector().addNote(n, signal());
  const [req, ...more] = standIn.requests('zendesk');
  expect(more).toHaveLength(0);
  expect(req).toMatchObject({ method: 'PUT', path: '/api/v2/tickets/4321.json', ticketId: '4321' });
  expect(req?.body).toEqual({ ticket: { comment: { body: renderTicketNote(n), public: false } } });
  expect(req?.headers['content-type']).toBe('application/json');
  expect(req?.headers).not.toHaveProperty('authorization');
});

test('wrong credentials: 401, not retryable, Zendesk words, no token in the message', async () => {
  const err = await failure(connector('wrong-token').addNote(note(), signal()));
  expect(err.retryable).toBe(false);
  expect(err.status).toBe(401);
  expect(err.message).toBe("Zendesk refused the note for ticket 12345: HTTP 401 Couldn't authenticate you");
  expect(err.message).not.toContain('wrong-token');
  expect(standIn.requests()).toHaveLength(0);
});

test('an unknown ticket: 404 RecordNotFound, not retryable', async () => {
  const err = await failure(connector().addNote(note({ ticketRef: '100000' }), signal()));
  expect(err).toMatchObject({ retryable: false, status: 404, system: 'zendesk' });
  expect(err.message).toBe('Zendesk refused the note for ticket 100000: HTTP 404 RecordNotFound: Not found');
});

test('5xx and 429 are retryable', async () => {
  standIn.failNext('zendesk', 1, 503);
  expect(await failure(connector().addNote(note(), signal()))).toMatchObject({
    retryable: true,
    status: 503,
  });
  standIn.failNext('zendesk', 1, 429);
  expect(await failure(connector().addNote(note(), signal()))).toMatchObject({
    retryable: true,
    status: 429,
  });
  await connector().addNote(note(), signal());
  expect(standIn.attempts().map((a) => a.status)).toEqual([503, 429, 200]);
});

test('the stand-in refuses what Zendesk would: 422 RecordInvalid for a comment without a body', async () => {
  const res = await fetch(`${standIn.url}/api/v2/tickets/5.json`, {
    method: 'PUT',
    headers: {
      authorization: `Basic ${Buffer.from(`${LAB_ZENDESK_EMAIL}/token:${LAB_ZENDESK_API_TOKEN}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ ticket: { comment: { public: false } } }),
  });
  expect(res.status).toBe(422);
  expect(await res.json()).toMatchObject({
    error: 'RecordInvalid',
    details: { comment: [expect.any(Object)] },
  });
});

test('validateRef: ticket numbers, with or without #', () => {
  const c = connector();
  expect(c.validateRef('12345')).toBeNull();
  expect(c.validateRef(' #12345 ')).toBeNull();
  expect(c.validateRef('ZD-12')).toMatch(/digits/);
  expect(c.validateRef('')).toMatch(/digits/);
  expect(c.validateRef('0')).toMatch(/digits/);
});
