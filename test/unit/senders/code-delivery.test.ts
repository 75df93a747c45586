import type { CodeMessage, MessageTemplate, TemplateStore } from '../../../src/flow/ports';
import type { Contact, DeliveryChannel } from '../../../src/domain';
import { createCodeDelivery } from '../../../src/senders/code-delivery';
import { DeliveryError } from '../../../src/senders/delivery-error';
import type { EmailMessage, EmailTransport } from '../../../src/senders/email-transport';
import type { SmsMessage, SmsTransport } from '../../../src/senders/sms-transport';

const templates: Record<DeliveryChannel, MessageTemplate> = {
  email: {
    channel: 'email',
    subject: '{company} code',
    text: 'Hi {name}, your code is {code}, valid {minutes} min.',
    html: '<p>Hi {name}, your code is <b>{code}</b></p>',
  },
  sms: { channel: 'sms', subject: null, text: '{company}: your code is {code} ({minutes} min)', html: null },
};

function templateStore(overrides: Partial<Record<DeliveryChannel, MessageTemplate>> = {}): TemplateStore {
  return { getTemplate: async (channel) => overrides[channel] ?? templates[channel] };
}

class FakeEmail implements EmailTransport {
  readonly target = 'SMTP fake:25';
  sent: EmailMessage[] = [];
  failWith: Error | null = null;
  async send(message: EmailMessage, _signal: AbortSignal): Promise<string> {
    if (this.failWith) throw this.failWith;
    this.sent.push(message);
    return '<msg-1@fake>';
  }
  async verify(): Promise<void> {}
  close(): void {}
}

class FakeSms implements SmsTransport {
  readonly target = 'Twilio API';
  sent: SmsMessage[] = [];
  failWith: Error | null = null;
  async send(message: SmsMessage, _signal: AbortSignal): Promise<string> {
    if (this.failWith) throw this.failWith;
    this.sent.push(message);
    return 'SM0001';
  }
}

const contact: Contact = { id: 7, name: 'Zoë Example', email: 'zoe@example.com', mobile: '+4915112345678' };

function message(channel: DeliveryChannel, over: Partial<CodeMessage> = {}): CodeMessage {
  return { channel, contact, code: '482913', validityMinutes: 10, companyName: 'Acme', ...over };
}

function setup(overrides: Partial<Record<DeliveryChannel, MessageTemplate>> = {}) {
  const email = new FakeEmail();
  const sms = new FakeSms();
  const delivery = createCodeDelivery({ templates: templateStore(overrides), email, sms });
  return { email, sms, delivery };
}

const live = () => new AbortController().signal;

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(DeliveryError);
    return err as DeliveryError;
  }
  throw new Error('expected a rejection');
}

describe('createCodeDelivery', () => {
  it('sends the rendered email to the address on file', async () => {
    const { email, sms, delivery } = setup();
    await expect(delivery.send(message('email'), live())).resolves.toEqual({ messageId: '<msg-1@fake>' });
    expect(sms.sent).toEqual([]);
    expect(email.sent).toEqual([
      {
        to: 'zoe@example.com',
        subject: 'Acme code',
        text: 'Hi Zoë Example, your code is 482913, valid 10 min.',
        html: '<p>Hi Zoë Example, your code is <b>482913</b></p>',
      },
    ]);
  });

  it('sends the rendered SMS to the mobile on file', async () => {
    const { email, sms, delivery } = setup();
    await expect(delivery.send(message('sms'), live())).resolves.toEqual({ messageId: 'SM0001' });
    expect(email.sent).toEqual([]);
    expect(sms.sent).toEqual([{ to: '+4915112345678', body: 'Acme: your code is 482913 (10 min)' }]);
  });

  it('refuses when there is no address on file for the channel', async () => {
    const { email, sms, delivery } = setup();
    const noEmail = await failure(
      delivery.send(message('email', { contact: { ...contact, email: null } }), live()),
    );
    expect(noEmail.message).toContain('contact 7 has no email address on file');
    expect(noEmail.failure).toBe('invalid');
    const noMobile = await failure(
      delivery.send(message('sms', { contact: { ...contact, mobile: null } }), live()),
    );
    expect(noMobile.message).toContain('contact 7 has no mobile number on file');
    expect(email.sent).toEqual([]);
    expect(sms.sent).toEqual([]);
  });

  it('refuses a template that would send no code', async () => {
    const { sms, delivery } = setup({
      sms: { channel: 'sms', subject: null, text: 'Hello {name}', html: null },
    });
    const err = await failure(delivery.send(message('sms'), live()));
    expect(err.message).toContain('sms template unusable: text: missing the {code} placeholder');
    expect(sms.sent).toEqual([]);
  });

  it('still sends when a template only has an unknown placeholder', async () => {
    const { sms, delivery } = setup({
      sms: { channel: 'sms', subject: null, text: '{code} {typo}', html: null },
    });
    await delivery.send(message('sms'), live());
    expect(sms.sent[0]?.body).toBe('482913 {typo}');
  });

  it('does not start when the signal already aborted', async () => {
    const { email, delivery } = setup();
    const controller = new AbortController();
    controller.abort();
    const err = await failure(delivery.send(message('email'), controller.signal));
    expect(err.failure).toBe('aborted');
    expect(email.sent).toEqual([]);
  });

  it('passes the transport problem on, keeping its kind and status', async () => {
    const { email, delivery } = setup();
    email.failWith = new DeliveryError('SMTP 127.0.0.1:2525 refused connection', 'unreachable');
    const err = await failure(delivery.send(message('email'), live()));
    expect(err.message).toBe('email to z***@e***.com failed: SMTP 127.0.0.1:2525 refused connection');
    expect(err.failure).toBe('unreachable');
  });

  it('never lets the code or a full address into the error message', async () => {
    const { sms, email, delivery } = setup();
    sms.failWith = new DeliveryError(
      "Twilio API answered 400 (error 21211): The 'To' number +4915112345678 is not valid; body 'Acme: your code is 482913'",
      'rejected',
      400,
    );
    const smsErr = await failure(delivery.send(message('sms'), live()));
    expect(smsErr.message).toContain('Twilio API answered 400 (error 21211)');
    expect(smsErr.status).toBe(400);
    expect(smsErr.message).not.toContain('482913');
    expect(smsErr.message).not.toContain('4915112345678');

    email.failWith = new Error('550 <zoe@example.com> mailbox full, code 482913');
    const emailErr = await failure(delivery.send(message('email'), live()));
    expect(emailErr.message).not.toContain('482913');
    expect(emailErr.message).not.toContain('zoe@example.com');
    expect(emailErr.failure).toBe('unknown');
  });

  it('reports a template store failure as a delivery failure', async () => {
    const email = new FakeEmail();
    const delivery = createCodeDelivery({
      templates: { getTemplate: () => Promise.reject(new Error('db down')) },
      email,
      sms: new FakeSms(),
    });
    const err = await failure(delivery.send(message('email'), live()));
    expect(err.message).toBe('email to z***@e***.com failed: db down');
  });
});
