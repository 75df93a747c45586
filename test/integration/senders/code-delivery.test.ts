import type { MessageTemplate } from '../../../src/flow/ports';
import type { Contact, DeliveryChannel } from '../../../src/domain';
import { extractCode } from '../../../src/lab/sink-client';
import { createCodeDelivery } from '../../../src/senders/code-delivery';
import { createEmailTransport, type EmailTransport } from '../../../src/senders/email-transport';
import { createSmsTransport } from '../../../src/senders/sms-transport';
import { startLabSinks, timeRejection, type LabSinks } from './start-lab-sinks';

const templates: Record<DeliveryChannel, MessageTemplate> = {
  email: {
    channel: 'email',
    subject: '{company} verification code',
    text: 'Hello {name},\n\nyour code is {code}. It is valid for {minutes} minutes.',
    html: '<p>Hello {name},</p><p>your code is <b>{code}</b>.</p>',
  },
  sms: {
    channel: 'sms',
    subject: null,
    text: '{company}: your code is {code}, valid {minutes} min.',
    html: null,
  },
};
const contact: Contact = { id: 7, name: 'Zoë <Example>', email: 'zoe@example.com', mobile: '+4915112345678' };

let lab: LabSinks;
let email: EmailTransport;

beforeAll(async () => {
  lab = await startLabSinks();
  email = createEmailTransport({
    host: '127.0.0.1',
    port: lab.smtp.port,
    secure: false,
    from: 'noreply@acme.test',
  });
});
afterAll(async () => {
  email.close();
  await lab.close();
});
beforeEach(async () => {
  await lab.client.clear();
  await lab.client.setFaults({ smtp: 'ok', sms: 'ok', slowMs: 30_000 });
});

function delivery(authToken = lab.authToken) {
  const sms = createSmsTransport({
    accountSid: lab.accountSid,
    authToken,
    from: '+15005550006',
    apiBaseUrl: lab.twilio.url,
  });
  return createCodeDelivery({ templates: { getTemplate: async (c) => templates[c] }, email, sms });
}

const send = (channel: DeliveryChannel, signal = new AbortController().signal, authToken?: string) =>
  delivery(authToken).send(
    { channel, contact, code: '482913', validityMinutes: 10, companyName: 'Acme' },
    signal,
  );

describe('code delivery end to end through the real libraries', () => {
  it('emails the code to the address on file', async () => {
    const { messageId } = await send('email');
    expect(messageId).toMatch(/@acme\.test>$/);
    const message = await lab.client.waitForMessage('zoe@example.com', 0, 2_000);
    expect(message.subject).toBe('Acme verification code');
    expect(message.body).toBe('Hello Zoë <Example>,\n\nyour code is 482913. It is valid for 10 minutes.');
    expect(extractCode(message.body, 6)).toBe('482913');
  });

  it('texts the code to the mobile on file', async () => {
    const { messageId } = await send('sms');
    expect(messageId).toMatch(/^SM/);
    const message = await lab.client.waitForMessage('+4915112345678', 0, 2_000);
    expect(message.body).toBe('Acme: your code is 482913, valid 10 min.');
  });

  it('fails with a message naming the problem, without code or address', async () => {
    await lab.client.setFaults({ smtp: 'fail' });
    const mail = await timeRejection(send('email'));
    expect(mail.error.message).toMatch(
      /^email to z\*\*\*@e\*\*\*\.com failed: SMTP 127\.0\.0\.1:\d+ answered 451 /,
    );

    const sms = await timeRejection(send('sms', undefined, 'wrong-token'));
    expect(sms.error.message).toMatch(
      /^sms to \+\*+5678 failed: Twilio API at http:\/\/127\.0\.0\.1:\d+ answered 401 \(error 20003\)/,
    );

    for (const { error } of [mail, sms]) {
      expect(error.message).not.toContain('482913');
      expect(error.message).not.toContain('zoe@example.com');
      expect(error.message).not.toContain('4915112345678');
    }
  });

  it('stops waiting on a hanging server when the flow gives up', async () => {
    await lab.client.setFaults({ smtp: 'slow', sms: 'slow', slowMs: 5_000 });
    const [mail, sms] = await Promise.all([
      timeRejection(send('email', AbortSignal.timeout(200))),
      timeRejection(send('sms', AbortSignal.timeout(200))),
    ]);
    for (const { ms, error } of [mail, sms]) {
      expect(error.message).toContain('sending aborted');
      expect(ms).toBeLessThan(1_000);
    }
  });
});
