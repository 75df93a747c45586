import { extractCode } from '../../../src/lab/sink-client';
import { createEmailTransport } from '../../../src/senders/email-transport';
import { createSmsTransport } from '../../../src/senders/sms-transport';
import { sleep, startLabSinks, timeRejection, type LabSinks } from './start-lab-sinks';

let lab: LabSinks;
const live = () => new AbortController().signal;

beforeAll(async () => {
  lab = await startLabSinks();
});
afterAll(() => lab.close());
beforeEach(async () => {
  await lab.client.clear();
  await lab.client.setFaults({ smtp: 'ok', sms: 'ok', slowMs: 30_000 });
});

function twilioPost(path: string, form: Record<string, string>, auth = `${lab.accountSid}:${lab.authToken}`) {
  return fetch(`${lab.twilio.url}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
}

describe('sink HTTP API', () => {
  it('lists both channels newest last, filters by address, and clears', async () => {
    const email = createEmailTransport({
      host: '127.0.0.1',
      port: lab.smtp.port,
      secure: false,
      from: 'noreply@acme.test',
    });
    const sms = createSmsTransport({
      accountSid: lab.accountSid,
      authToken: lab.authToken,
      from: '+15005550006',
      apiBaseUrl: lab.twilio.url,
    });
    await email.send({ to: 'zoe@example.com', subject: 'Code', text: 'code 111111' }, live());
    await sms.send({ to: '+4915112345678', body: 'code 222222' }, live());

    const all = await lab.client.listMessages();
    expect(all.map((m) => [m.channel, m.to])).toEqual([
      ['email', 'zoe@example.com'],
      ['sms', '+4915112345678'],
    ]);
    expect(all[1]!.id).toBeGreaterThan(all[0]!.id);
    expect(Object.keys(all[0]!).sort()).toEqual([
      'body',
      'channel',
      'from',
      'id',
      'receivedAt',
      'subject',
      'to',
    ]);
    expect((await lab.client.listMessages('+4915112345678')).map((m) => m.body)).toEqual(['code 222222']);

    await lab.client.clear();
    expect(await lab.client.listMessages()).toEqual([]);
  });

  it('long-polls until a message for the address arrives', async () => {
    const sms = createSmsTransport({
      accountSid: lab.accountSid,
      authToken: lab.authToken,
      from: '+15005550006',
      apiBaseUrl: lab.twilio.url,
    });
    await sms.send({ to: '+4915112345678', body: 'old code 111111' }, live());
    const [old] = await lab.client.listMessages();

    const started = Date.now();
    const waiting = lab.client.waitForMessage('+4915112345678', old!.id, 5_000);
    await sleep(300);
    await sms.send({ to: '+4915199999999', body: 'someone else 333333' }, live());
    await sms.send({ to: '+4915112345678', body: 'Acme: your code is 482913' }, live());

    const message = await waiting;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(message.body).toBe('Acme: your code is 482913');
    expect(extractCode(message.body, 6)).toBe('482913');
  });

  it('answers a wait at once when a newer message is already there', async () => {
    const sms = createSmsTransport({
      accountSid: lab.accountSid,
      authToken: lab.authToken,
      from: '+15005550006',
      apiBaseUrl: lab.twilio.url,
    });
    await sms.send({ to: '+4915112345678', body: 'code 111111' }, live());
    await expect(lab.client.waitForMessage('+4915112345678', 0, 5_000)).resolves.toMatchObject({
      body: 'code 111111',
    });
  });

  it('gives up a wait after timeoutMs', async () => {
    const { ms, error } = await timeRejection(lab.client.waitForMessage('nobody@example.com', 0, 300));
    expect(error.message).toBe('no message to nobody@example.com after id 0 within 300 ms');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(2_000);
  });

  it('validates fault switches', async () => {
    await expect(lab.client.setFaults({ smtp: 'slow', slowMs: 50 })).resolves.toEqual({
      smtp: 'slow',
      sms: 'ok',
      slowMs: 50,
    });
    const bad = await fetch(`${lab.twilio.url}/faults`, {
      method: 'POST',
      body: JSON.stringify({ smtp: 'broken' }),
    });
    expect(bad.status).toBe(400);
    const res = await fetch(`${lab.twilio.url}/faults`);
    expect(await res.json()).toEqual({ smtp: 'slow', sms: 'ok', slowMs: 50 });
  });

  it('answers 404 for unknown routes and 400 for a wait without an address', async () => {
    expect((await fetch(`${lab.twilio.url}/nope`)).status).toBe(404);
    expect((await fetch(`${lab.twilio.url}/messages/wait`)).status).toBe(400);
  });
});

describe('Twilio stand-in, spoken to directly', () => {
  const path = () => `/2010-04-01/Accounts/${lab.accountSid}/Messages.json`;

  it('answers 201 with a Twilio-shaped message resource', async () => {
    const res = await twilioPost(path(), { To: '+4915112345678', From: '+15005550006', Body: 'hi' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      account_sid: lab.accountSid,
      api_version: '2010-04-01',
      to: '+4915112345678',
      from: '+15005550006',
      body: 'hi',
      status: 'queued',
      direction: 'outbound-api',
    });
    expect(body.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(body.uri).toBe(`/2010-04-01/Accounts/${lab.accountSid}/Messages/${String(body.sid)}.json`);
  });

  it('answers 401 with Twilio error 20003 for wrong credentials', async () => {
    const res = await twilioPost(
      path(),
      { To: '+4915112345678', From: '+1', Body: 'x' },
      `${lab.accountSid}:wrong`,
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Basic');
    expect(await res.json()).toMatchObject({ code: 20003, status: 401 });
  });

  it('answers 404 for another account and 400 for missing fields', async () => {
    const other = await twilioPost('/2010-04-01/Accounts/AC11111111111111111111111111111111/Messages.json', {
      To: '+4915112345678',
      From: '+1',
      Body: 'x',
    });
    expect(other.status).toBe(404);
    expect(await (await twilioPost(path(), { From: '+1', Body: 'x' })).json()).toMatchObject({ code: 21604 });
    expect(await (await twilioPost(path(), { To: '+4915112345678', Body: 'x' })).json()).toMatchObject({
      code: 21603,
    });
    expect(await (await twilioPost(path(), { To: '+4915112345678', From: '+1' })).json()).toMatchObject({
      code: 21602,
    });
    expect(await lab.client.listMessages()).toEqual([]);
  });
});
