import {
  LAB_CONNECTWISE_CLIENT_ID,
  LAB_CONNECTWISE_COMPANY_ID,
  LAB_CONNECTWISE_PRIVATE_KEY,
  LAB_CONNECTWISE_PUBLIC_KEY,
  startTicketStandIns,
  type TicketStandIns,
} from '../../../src/lab/ticket-stand-ins';
import {
  CONNECTWISE_ACCEPT,
  createConnectWiseConnector,
  type ConnectWiseConnectorOptions,
} from '../../../src/tickets/connectwise-connector';
import { renderTicketNote, TicketNoteError } from '../../../src/tickets/ticket-connector';
import { note } from './note-fixture';

/** The real connector, over HTTP, against the lab's ConnectWise Manage stand-in. */
let standIn: TicketStandIns;
beforeAll(async () => {
  standIn = await startTicketStandIns({ port: 0 });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.clear());

const signal = () => new AbortController().signal;
const connector = (o: Partial<ConnectWiseConnectorOptions> = {}) =>
  createConnectWiseConnector({
    baseUrl: standIn.url,
    companyId: LAB_CONNECTWISE_COMPANY_ID,
    publicKey: LAB_CONNECTWISE_PUBLIC_KEY,
    privateKey: LAB_CONNECTWISE_PRIVATE_KEY,
    clientId: LAB_CONNECTWISE_CLIENT_ID,
    ...o,
  });

async function failure(p: Promise<unknown>): Promise<TicketNoteError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TicketNoteError);
  return err as TicketNoteError;
}

test('adds an internal-analysis note: POST /v4_6_release/apis/3.0/service/tickets/{id}/notes', async () => {
  const n = note({ ticketRef: '777', event: 'completed', status: 'approved' });
  await connector().addNote(n, signal());
  const [req, ...more] = standIn.requests('connectwise');
  expect(more).toHaveLength(0);
  expect(req).toMatchObject({
    method: 'POST',
    path: '/v4_6_release/apis/3.0/service/tickets/777/notes',
    ticketId: '777',
  });
  expect(req?.body).toEqual({
    text: renderTicketNote(n),
    detailDescriptionFlag: false,
    internalAnalysisFlag: true,
    resolutionFlag: false,
  });
  expect(req?.headers).toMatchObject({
    clientid: LAB_CONNECTWISE_CLIENT_ID,
    accept: CONNECTWISE_ACCEPT,
    'content-type': 'application/json',
  });
  expect(req?.headers).not.toHaveProperty('authorization');
});

test('wrong private key: 401, not retryable, ConnectWise words, no key in the message', async () => {
  const err = await failure(connector({ privateKey: 'not-the-key' }).addNote(note(), signal()));
  expect(err).toMatchObject({ retryable: false, status: 401, system: 'connectwise' });
  expect(err.message).toBe(
    'ConnectWise Manage refused the note for ticket 12345: HTTP 401 Unauthorized: Incorrect company, public key or private key',
  );
  expect(err.message).not.toContain('not-the-key');
});

test('a wrong clientId is refused too', async () => {
  const err = await failure(
    connector({ clientId: '11111111-1111-4111-8111-111111111111' }).addNote(note(), signal()),
  );
  expect(err).toMatchObject({ retryable: false, status: 401 });
  expect(err.message).toMatch(/clientId/);
});

test('an unknown ticket: 404, not retryable', async () => {
  const err = await failure(connector().addNote(note({ ticketRef: '#123456' }), signal()));
  expect(err).toMatchObject({ retryable: false, status: 404 });
  expect(err.message).toBe(
    'ConnectWise Manage refused the note for ticket 123456: HTTP 404 NotFound: Ticket Id 123456 not found',
  );
});

test('5xx is retryable', async () => {
  standIn.failNext('connectwise', 1, 500);
  const err = await failure(connector().addNote(note(), signal()));
  expect(err).toMatchObject({ retryable: true, status: 500 });
  expect(standIn.requests()).toHaveLength(0);
});

test('the stand-in refuses what ConnectWise would: 400 InvalidObject without text', async () => {
  const res = await fetch(`${standIn.url}/v4_6_release/apis/3.0/service/tickets/5/notes`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(
        `${LAB_CONNECTWISE_COMPANY_ID}+${LAB_CONNECTWISE_PUBLIC_KEY}:${LAB_CONNECTWISE_PRIVATE_KEY}`,
      ).toString('base64')}`,
      clientId: LAB_CONNECTWISE_CLIENT_ID,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ internalAnalysisFlag: true }),
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    code: 'InvalidObject',
    message: 'ticketNote object is invalid',
    errors: [
      {
        code: 'NullOrEmpty',
        message: 'text may not be null or empty',
        resource: 'ticketNote',
        field: 'text',
      },
    ],
  });
});

test('validateRef: ticket numbers, with or without #', () => {
  expect(connector().validateRef('#42')).toBeNull();
  expect(connector().validateRef('SR-42')).toMatch(/digits/);
});
