import { DeliveryError } from '../../../src/senders/delivery-error';
import { createEmailTransport, type EmailTransport } from '../../../src/senders/email-transport';
import { sleep, startLabSinks, timeRejection, type LabSinks } from './start-lab-sinks';

let lab: LabSinks;
let email: EmailTransport;
const live = () => new AbortController().signal;

beforeAll(async () => {
  lab = await startLabSinks();
  email = createEmailTransport({
    host: '127.0.0.1',
    port: lab.smtp.port,
    secure: false,
    from: '"Acme Verification" <noreply@acme.test>',
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

describe('email through real nodemailer to the SMTP sink', () => {
  it('delivers subject, sender and the text part', async () => {
    const messageId = await email.send(
      {
        to: 'zoe@example.com',
        subject: 'Acme: your code',
        text: 'Hello Zoë, your code is 482913. It is valid for 10 minutes.',
        html: '<p>Hello Zoë, your code is <b>482913</b>.</p>',
      },
      live(),
    );
    expect(messageId).toMatch(/^<.+@acme\.test>$/);
    const [message, ...rest] = await lab.client.listMessages('zoe@example.com');
    expect(rest).toEqual([]);
    expect(message).toMatchObject({
      channel: 'email',
      to: 'zoe@example.com',
      from: 'Acme Verification <noreply@acme.test>',
      subject: 'Acme: your code',
      body: 'Hello Zoë, your code is 482913. It is valid for 10 minutes.',
    });
    expect(Number.isNaN(Date.parse(message?.receivedAt ?? ''))).toBe(false);
  });

  it('round-trips non-ASCII subjects and long lines (encoded words, quoted-printable)', async () => {
    const text = `Grüße — ${'lang '.repeat(40)}code 482913`;
    await email.send({ to: 'zoe@example.com', subject: 'Ihr Code für Ümlaut GmbH', text }, live());
    const [message] = await lab.client.listMessages('zoe@example.com');
    expect(message?.subject).toBe('Ihr Code für Ümlaut GmbH');
    expect(message?.body).toBe(text);
  });

  it('with requireTls (the default outside the lab), sends nothing to a server without STARTTLS', async () => {
    const strict = createEmailTransport({
      host: '127.0.0.1',
      port: lab.smtp.port,
      secure: false,
      requireTls: true,
      from: 'noreply@acme.test',
    });
    try {
      const { error } = await timeRejection(
        strict.send({ to: 'zoe@example.com', subject: 'code', text: 'your code is 482913' }, live()),
      );
      expect(error).toBeInstanceOf(DeliveryError);
      expect(error.message).toMatch(/TLS/);
      expect(error.message).not.toContain('482913');
      expect(await lab.client.listMessages('zoe@example.com')).toEqual([]);
    } finally {
      strict.close();
    }
  });

  it('rejects with the SMTP reply when the sink is set to fail', async () => {
    await lab.client.setFaults({ smtp: 'fail' });
    const { error } = await timeRejection(
      email.send({ to: 'zoe@example.com', subject: 's', text: 't 482913' }, live()),
    );
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error.message).toBe(
      `SMTP 127.0.0.1:${lab.smtp.port} answered 451 4.3.0 pinverify lab sink: fault injected (smtp=fail), message refused (to MAIL FROM)`,
    );
    expect((error as DeliveryError).status).toBe(451);
    expect(await lab.client.listMessages()).toEqual([]);
  });

  it('rejects promptly when the signal aborts while the sink is slow, and nothing arrives later', async () => {
    await lab.client.setFaults({ smtp: 'slow', slowMs: 700 });
    const { ms, error } = await timeRejection(
      email.send({ to: 'zoe@example.com', subject: 's', text: 't' }, AbortSignal.timeout(200)),
    );
    expect(error.message).toBe(`SMTP 127.0.0.1:${lab.smtp.port}: sending aborted`);
    expect((error as DeliveryError).failure).toBe('aborted');
    expect(ms).toBeLessThan(600);
    // nodemailer closed the connection, so the held message is never accepted.
    await sleep(900);
    expect(await lab.client.listMessages()).toEqual([]);
  });

  it('honours its own socket timeout', async () => {
    await lab.client.setFaults({ smtp: 'slow', slowMs: 5_000 });
    const impatient = createEmailTransport({
      host: '127.0.0.1',
      port: lab.smtp.port,
      secure: false,
      from: 'a@acme.test',
      socketTimeoutMs: 200,
    });
    const { ms, error } = await timeRejection(
      impatient.send({ to: 'zoe@example.com', subject: 's', text: 't' }, live()),
    );
    expect(error.message).toBe(
      `SMTP 127.0.0.1:${lab.smtp.port} timed out (no reply within the socket timeout)`,
    );
    expect(ms).toBeLessThan(2_000);
  });

  it('names a refused connection', async () => {
    // Port 1 on loopback: nothing listens there.
    const nowhere = createEmailTransport({ host: '127.0.0.1', port: 1, secure: false, from: 'a@acme.test' });
    const { error } = await timeRejection(
      nowhere.send({ to: 'zoe@example.com', subject: 's', text: 't' }, live()),
    );
    expect(error.message).toBe('SMTP 127.0.0.1:1 refused connection');
  });

  it('explains a TLS mismatch', async () => {
    const tls = createEmailTransport({
      host: '127.0.0.1',
      port: lab.smtp.port,
      secure: true,
      from: 'a@acme.test',
    });
    const { error } = await timeRejection(
      tls.send({ to: 'zoe@example.com', subject: 's', text: 't' }, live()),
    );
    expect(error.message).toContain('TLS handshake failed');
  });
});
