import { Webhook } from 'standardwebhooks';
import {
  LAB_TICKET_WEBHOOK_SECRET,
  startTicketStandIns,
  TICKET_WEBHOOK_PATH,
  type TicketStandIns,
} from '../../../src/lab/ticket-stand-ins';
import { renderTicketNote, TicketNoteError } from '../../../src/tickets/ticket-connector';
import { createWebhookConnector, webhookMessageId } from '../../../src/tickets/webhook-connector';
import { note } from './note-fixture';

/** The real connector, over HTTP, against the lab's webhook receiver (which verifies signatures). */
let standIn: TicketStandIns;
beforeAll(async () => {
  standIn = await startTicketStandIns({ port: 0 });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.clear());

const signal = () => new AbortController().signal;
const connector = (secret = LAB_TICKET_WEBHOOK_SECRET, path = TICKET_WEBHOOK_PATH) =>
  createWebhookConnector({ url: `${standIn.url}${path}`, secret });

async function failure(p: Promise<unknown>): Promise<TicketNoteError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TicketNoteError);
  return err as TicketNoteError;
}

test('POSTs a signed ticket.note event the receiver verifies; no code field without a code', async () => {
  const n = note({ ticketRef: 'INC-0042', override: { reason: 'lost phone' } });
  await connector().addNote(n, signal());
  const [req] = standIn.requests('webhook');
  expect(req?.ticketId).toBe('INC-0042');
  expect(req?.body).toEqual({
    type: 'ticket.note',
    timestamp: '2025-05-01T10:00:00.000Z',
    data: {
      ticketRef: 'INC-0042',
      event: 'code_sent',
      text: renderTicketNote(n),
      verificationId: n.verificationId,
      agentLogin: 'alice',
      agentName: 'Alice Agent',
      contactName: 'Bob Caller',
      channel: 'sms',
      destinationMasked: '+*********1234',
      status: 'pending',
      override: { reason: 'lost phone' },
    },
  });
  expect(req?.headers['webhook-id']).toBe(webhookMessageId(n));
  expect(req?.headers['webhook-signature']).toMatch(/^v1,/);
  // The receiver's check, again: the body as sent verifies with the shared secret.
  expect(() =>
    new Webhook(LAB_TICKET_WEBHOOK_SECRET).verify(JSON.stringify(req?.body), req?.headers ?? {}),
  ).not.toThrow();
});

test('the code is in data only when the note carries it', async () => {
  await connector().addNote(note({ code: '482913' }), signal());
  const body = standIn.requests('webhook')[0]?.body as { data: { code?: string } };
  expect(body.data.code).toBe('482913');
});

test('the same note keeps its webhook-id across attempts; another note gets another', () => {
  expect(webhookMessageId(note())).toBe(webhookMessageId(note()));
  expect(webhookMessageId(note({ event: 'completed' }))).not.toBe(webhookMessageId(note()));
});

test('a wrong secret: the receiver answers 401, not retryable', async () => {
  const other = `whsec_${Buffer.from('another-secret-of-24-bytes!!').toString('base64')}`;
  const err = await failure(connector(other).addNote(note(), signal()));
  expect(err).toMatchObject({ retryable: false, status: 401, system: 'webhook' });
  expect(err.message).toMatch(
    /^The ticket webhook refused the note for ticket 12345: HTTP 401 invalid_signature/,
  );
  expect(err.message).not.toContain(other);
});

test('404 (a wrong path) is not retryable; 503 is', async () => {
  expect(await failure(connector(undefined, '/no-such-hook').addNote(note(), signal()))).toMatchObject({
    retryable: false,
    status: 404,
  });
  standIn.failNext('webhook', 1, 503);
  expect(await failure(connector().addNote(note(), signal()))).toMatchObject({
    retryable: true,
    status: 503,
  });
});

test('validateRef: any one line up to 100 characters', () => {
  const c = connector();
  expect(c.validateRef('INC-0042')).toBeNull();
  expect(c.validateRef('  ')).toMatch(/Give/);
  expect(c.validateRef('a\nb')).toMatch(/one line/);
  expect(c.validateRef('x'.repeat(101))).toMatch(/100/);
});
