import nodemailer from 'nodemailer';
import { decodeEncodedWords, parseMail } from '../../../src/lab/parse-mail';

/** What the real nodemailer writes on the wire for a message, without any network. */
async function compose(mail: {
  subject: string;
  text?: string;
  html?: string;
  from?: string;
}): Promise<Buffer> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await transport.sendMail({
    from: mail.from ?? 'noreply@acme.test',
    to: 'bob@example.com',
    ...mail,
  });
  if (!Buffer.isBuffer(info.message)) throw new Error('expected a buffered message');
  return info.message;
}

describe('parseMail on nodemailer output', () => {
  it('reads a 7bit text + html message', async () => {
    const parsed = parseMail(
      await compose({ subject: 'Your code', text: 'Code 482913.\nBye', html: '<p>x</p>' }),
    );
    expect(parsed).toMatchObject({ to: 'bob@example.com', from: 'noreply@acme.test', subject: 'Your code' });
    expect(parsed.text).toBe('Code 482913.\nBye');
  });

  it('decodes a quoted-printable text part with long lines and accents', async () => {
    const text = `Héllo Zoë, your code is 482913 — valid for 10 minutes. ${'x'.repeat(120)}`;
    const raw = await compose({ subject: 's', text, html: `<p>${text}</p>` });
    expect(raw.toString()).toContain('quoted-printable');
    expect(parseMail(raw).text).toBe(text);
  });

  it('decodes a base64 text part', async () => {
    const text = '日本語のコード 482913';
    const raw = await compose({ subject: 's', text, html: `<p>${text}</p>` });
    expect(raw.toString()).toContain('base64');
    expect(parseMail(raw).text).toBe(text);
  });

  it('decodes encoded-word subjects and senders, folded over lines', async () => {
    const subject = `Ÿour code from Ãcme ${'long '.repeat(20)}`.trim();
    const parsed = parseMail(
      await compose({ subject, text: 't', from: '"Acme Ümlaut" <noreply@acme.test>' }),
    );
    expect(parsed.subject).toBe(subject);
    expect(parsed.from).toBe('Acme Ümlaut <noreply@acme.test>');
  });

  it('reads a text-only message', async () => {
    expect(parseMail(await compose({ subject: 'plain', text: 'just 1234' })).text).toBe('just 1234');
  });

  it('falls back to the html part without tags', async () => {
    const parsed = parseMail(
      await compose({ subject: 's', html: '<style>p{}</style><p>Code <b>482913</b> &amp; more</p>' }),
    );
    expect(parsed.text).toBe('Code 482913 & more');
  });
});

describe('parseMail on hand-written input', () => {
  it('finds the text part inside nested multiparts', () => {
    const raw = [
      'Subject: nested',
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Gr=FC=DFe 482913',
      '--inner--',
      '--outer--',
      '',
    ].join('\r\n');
    expect(parseMail(raw).text).toBe('Grüße 482913');
  });

  it('copes with no body at all', () => {
    expect(parseMail('Subject: x')).toMatchObject({ subject: 'x', text: '' });
  });

  it('decodes B and Q encoded words and joins adjacent ones', () => {
    expect(decodeEncodedWords('=?UTF-8?B?w5xtbGF1dA==?= =?UTF-8?Q?_and_more?=')).toBe('Ümlaut and more');
    expect(decodeEncodedWords('plain text')).toBe('plain text');
  });
});
