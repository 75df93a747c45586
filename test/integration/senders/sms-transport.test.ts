import { DeliveryError } from '../../../src/senders/delivery-error';
import { createSmsTransport, type SmsTransport } from '../../../src/senders/sms-transport';
import { sleep, startLabSinks, timeRejection, type LabSinks } from './start-lab-sinks';

let lab: LabSinks;
let sms: SmsTransport;
const live = () => new AbortController().signal;
const TO = '+4915112345678';

beforeAll(async () => {
  lab = await startLabSinks();
  sms = createSmsTransport({
    accountSid: lab.accountSid,
    authToken: lab.authToken,
    from: '+15005550006',
    apiBaseUrl: lab.twilio.url,
  });
});
afterAll(() => lab.close());
beforeEach(async () => {
  await lab.client.clear();
  await lab.client.setFaults({ smtp: 'ok', sms: 'ok', slowMs: 30_000 });
});

describe('SMS through the real twilio client to the Twilio sink', () => {
  it('delivers the message and returns the Twilio message SID', async () => {
    const sid = await sms.send({ to: TO, body: 'Acme: your code is 482913' }, live());
    expect(sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(await lab.client.listMessages(TO)).toEqual([
      expect.objectContaining({
        channel: 'sms',
        to: TO,
        from: '+15005550006',
        subject: null,
        body: 'Acme: your code is 482913',
      }),
    ]);
  });

  it('sends through a Messaging Service when from is an MG SID', async () => {
    const viaService = createSmsTransport({
      accountSid: lab.accountSid,
      authToken: lab.authToken,
      from: 'MG00000000000000000000000000000000',
      apiBaseUrl: lab.twilio.url,
    });
    await viaService.send({ to: TO, body: 'x' }, live());
    expect((await lab.client.listMessages(TO))[0]?.from).toBe('MG00000000000000000000000000000000');
  });

  it('gets the 401 Twilio gives for a wrong auth token', async () => {
    const wrong = createSmsTransport({
      accountSid: lab.accountSid,
      authToken: 'nope',
      from: '+15005550006',
      apiBaseUrl: lab.twilio.url,
    });
    const { error } = await timeRejection(wrong.send({ to: TO, body: 'code 482913' }, live()));
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error.message).toBe(
      `Twilio API at ${lab.twilio.url} answered 401 (error 20003): Authenticate - check the account SID and auth token`,
    );
    expect((error as DeliveryError).failure).toBe('auth');
    expect(await lab.client.listMessages()).toEqual([]);
  });

  it('does not echo an invalid number back in full', async () => {
    const { error } = await timeRejection(sms.send({ to: '+0123', body: 'x' }, live()));
    expect(error.message).toContain('answered 400 (error 21211)');
    expect(error.message).not.toContain('0123');
  });

  it('rejects with a clear message when the sink is set to fail', async () => {
    await lab.client.setFaults({ sms: 'fail' });
    const { error } = await timeRejection(sms.send({ to: TO, body: 'x' }, live()));
    expect(error.message).toBe(
      `Twilio API at ${lab.twilio.url} answered 500 (error 20500): Internal Server Error (pinverify lab sink fault: sms=fail)`,
    );
  });

  it('rejects promptly when the signal aborts while the sink is slow, and the request is really cancelled', async () => {
    await lab.client.setFaults({ sms: 'slow', slowMs: 700 });
    const { ms, error } = await timeRejection(sms.send({ to: TO, body: 'x' }, AbortSignal.timeout(200)));
    expect(error.message).toBe(`Twilio API at ${lab.twilio.url}: sending aborted`);
    expect(ms).toBeLessThan(600);
    // Had the HTTP request stayed open, the sink would store and answer it at 700 ms.
    await sleep(900);
    expect(await lab.client.listMessages()).toEqual([]);
  });

  it('an aborted send does not disturb a concurrent one on the same client', async () => {
    await lab.client.setFaults({ sms: 'slow', slowMs: 300 });
    const [aborted, delivered] = await Promise.allSettled([
      sms.send({ to: '+4915100000001', body: 'a' }, AbortSignal.timeout(100)),
      sms.send({ to: '+4915100000002', body: 'b' }, AbortSignal.timeout(5_000)),
    ]);
    expect(aborted.status).toBe('rejected');
    expect(delivered.status).toBe('fulfilled');
    await sleep(400);
    expect((await lab.client.listMessages()).map((m) => m.to)).toEqual(['+4915100000002']);
  });

  it('honours the client timeout', async () => {
    await lab.client.setFaults({ sms: 'slow', slowMs: 5_000 });
    const impatient = createSmsTransport({
      ...{ accountSid: lab.accountSid, authToken: lab.authToken },
      from: '+15005550006',
      apiBaseUrl: lab.twilio.url,
      timeoutMs: 200,
    });
    const { ms, error } = await timeRejection(impatient.send({ to: TO, body: 'x' }, live()));
    expect(error.message).toBe(`Twilio API at ${lab.twilio.url} did not answer within 200 ms`);
    expect(ms).toBeLessThan(2_000);
  });

  it('names a refused connection', async () => {
    const nowhere = createSmsTransport({
      accountSid: lab.accountSid,
      authToken: lab.authToken,
      from: '+15005550006',
      apiBaseUrl: 'http://127.0.0.1:1',
    });
    const { error } = await timeRejection(nowhere.send({ to: TO, body: 'x' }, live()));
    expect(error.message).toBe('Twilio API at http://127.0.0.1:1 refused connection');
  });
});
