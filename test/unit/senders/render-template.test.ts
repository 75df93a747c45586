import type { MessageTemplate } from '../../../src/flow/ports';
import { renderTemplate, validateTemplate } from '../../../src/senders/render-template';

const values = { code: '482913', name: 'Zoë <b>&</b> "Co"', company: 'Acme', minutes: '10' };

const email: MessageTemplate = {
  channel: 'email',
  subject: '{company} verification code',
  text: 'Hello {name}, your code is {code}. It is valid for {minutes} minutes.',
  html: '<style>p { color: red }</style><p>Hello {name}, your code is <b>{code}</b>.</p>',
};

describe('renderTemplate', () => {
  it('fills every placeholder in subject, text and html', () => {
    const out = renderTemplate(email, values);
    expect(out.subject).toBe('Acme verification code');
    expect(out.text).toBe('Hello Zoë <b>&</b> "Co", your code is 482913. It is valid for 10 minutes.');
    expect(out.html).toContain('your code is <b>482913</b>');
  });

  it('escapes values in the html part only', () => {
    const out = renderTemplate(email, values);
    expect(out.html).toContain('Hello Zoë &lt;b&gt;&amp;&lt;/b&gt; &quot;Co&quot;,');
    expect(out.text).toContain('<b>&</b>');
  });

  it('leaves CSS braces and unknown placeholders as written', () => {
    const out = renderTemplate({ ...email, text: '{code} {nope}' }, values);
    expect(out.text).toBe('482913 {nope}');
    expect(out.html).toContain('p { color: red }');
  });

  it('replaces repeated placeholders everywhere', () => {
    expect(renderTemplate({ ...email, text: '{code}-{code}' }, values).text).toBe('482913-482913');
  });

  it('keeps the subject on one line whatever the contact name holds', () => {
    const out = renderTemplate(
      { ...email, subject: 'Code for {name}' },
      { ...values, name: 'Eve\r\nBcc: x@evil' },
    );
    expect(out.subject).toBe('Code for Eve Bcc: x@evil');
  });

  it('renders SMS as text only, ignoring subject and html', () => {
    const sms: MessageTemplate = {
      channel: 'sms',
      subject: 'ignored',
      text: '{company}: {code}',
      html: '<p>x</p>',
    };
    expect(renderTemplate(sms, values)).toEqual({ subject: null, text: 'Acme: 482913', html: null });
  });

  it('gives no html when the email template has none', () => {
    expect(renderTemplate({ ...email, html: null }, values).html).toBeNull();
  });
});

describe('validateTemplate', () => {
  it('accepts a good template', () => {
    expect(validateTemplate(email)).toEqual([]);
    expect(validateTemplate({ channel: 'sms', subject: null, text: 'Code {code}', html: null })).toEqual([]);
  });

  it('names each unknown placeholder once, with the part it is in', () => {
    const problems = validateTemplate({
      ...email,
      subject: '{compnay} code',
      text: 'Hi {fullname} {fullname}, {code}',
    });
    const unknown = problems.filter((p) => p.kind === 'unknown_placeholder');
    expect(unknown.map((p) => [p.part, p.placeholder])).toEqual([
      ['subject', 'compnay'],
      ['text', 'fullname'],
    ]);
    expect(unknown[0]?.message).toContain('{compnay}');
  });

  it('reports a missing {code} in text and in html', () => {
    const problems = validateTemplate({ ...email, text: 'Hello {name}', html: '<p>Hello</p>' });
    expect(problems.filter((p) => p.kind === 'missing_code').map((p) => p.part)).toEqual(['text', 'html']);
    expect(problems.find((p) => p.part === 'text')?.message).toContain('{code}');
  });

  it('does not count {code} in the subject as the code being in the body', () => {
    const problems = validateTemplate({
      ...email,
      subject: 'Your code {code}',
      text: 'see subject',
      html: null,
    });
    expect(problems.map((p) => p.kind)).toEqual(['missing_code']);
  });

  it('wants a subject for email', () => {
    expect(validateTemplate({ ...email, subject: '  ' }).map((p) => p.kind)).toEqual(['missing_subject']);
    expect(validateTemplate({ ...email, subject: null }).map((p) => p.kind)).toEqual(['missing_subject']);
  });

  it('reports an empty text', () => {
    const kinds = validateTemplate({ channel: 'sms', subject: null, text: ' ', html: null }).map(
      (p) => p.kind,
    );
    expect(kinds).toEqual(['empty_text', 'missing_code']);
  });

  it('ignores subject and html of an SMS template', () => {
    expect(validateTemplate({ channel: 'sms', subject: '{bad}', text: '{code}', html: '{worse}' })).toEqual(
      [],
    );
  });
});
