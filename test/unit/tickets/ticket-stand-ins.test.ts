import {
  LAB_ZENDESK_API_TOKEN,
  LAB_ZENDESK_EMAIL,
  startTicketStandIns,
  TICKET_STAND_IN_PORT,
  type RecordedTicketRequest,
  type TicketAttempt,
  type TicketStandIns,
} from '../../../src/lab/ticket-stand-ins';
import { createZendeskConnector } from '../../../src/tickets/zendesk-connector';
import { note } from './note-fixture';

/** The stand-ins' own HTTP API, as the lab and e2e tests use it. */
let standIn: TicketStandIns;
beforeAll(async () => {
  standIn = await startTicketStandIns({ port: 0 });
});
afterAll(() => standIn.close());

const api = (path: string, init?: RequestInit) => fetch(`${standIn.url}${path}`, init);
const zendesk = () =>
  createZendeskConnector({ baseUrl: standIn.url, email: LAB_ZENDESK_EMAIL, apiToken: LAB_ZENDESK_API_TOKEN });

test('the default port is 8027', () => {
  expect(TICKET_STAND_IN_PORT).toBe(8027);
});

test('POST /fail makes the next N requests fail; GET /requests and /attempts report; DELETE forgets', async () => {
  expect((await api('/health')).status).toBe(200);
  const fail = await api('/fail?system=zendesk&count=1&status=502', { method: 'POST' });
  expect(await fail.json()).toEqual({ system: 'zendesk', count: 1, status: 502 });
  await expect(zendesk().addNote(note(), new AbortController().signal)).rejects.toMatchObject({
    status: 502,
  });
  await zendesk().addNote(note({ ticketRef: '77' }), new AbortController().signal);

  const all = (await (await api('/requests')).json()) as RecordedTicketRequest[];
  expect(all.map((r) => [r.system, r.ticketId])).toEqual([['zendesk', '77']]);
  expect(all[0]?.headers).not.toHaveProperty('authorization');
  expect(await (await api('/requests?system=connectwise')).json()).toEqual([]);
  const attempts = (await (await api('/attempts')).json()) as TicketAttempt[];
  expect(attempts.map((a) => a.status)).toEqual([502, 200]);

  expect((await api('/requests', { method: 'DELETE' })).status).toBe(204);
  expect(await (await api('/requests')).json()).toEqual([]);
});

test('bad control requests are refused', async () => {
  expect((await api('/fail?system=jira', { method: 'POST' })).status).toBe(400);
  expect((await api('/fail?system=zendesk&status=200', { method: 'POST' })).status).toBe(400);
  expect((await api('/nothing')).status).toBe(404);
});

test('an unsigned webhook is refused with 401 and not kept', async () => {
  const res = await api('/ticket-webhook', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'ticket.note', data: { ticketRef: '1' } }),
  });
  expect(res.status).toBe(401);
  expect(standIn.requests('webhook')).toEqual([]);
});
