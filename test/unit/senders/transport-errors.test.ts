import { describeSmtpError } from '../../../src/senders/email-transport';
import { describeTwilioError, redirectTwilioUri } from '../../../src/senders/sms-transport';

describe('redirectTwilioUri', () => {
  it('swaps the api.twilio.com origin, keeping path and query', () => {
    expect(
      redirectTwilioUri(
        'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?x=1',
        'http://127.0.0.1:8025',
      ),
    ).toBe('http://127.0.0.1:8025/2010-04-01/Accounts/AC1/Messages.json?x=1');
  });

  it('keeps a path prefix of the base URL', () => {
    expect(redirectTwilioUri('https://api.twilio.com/2010-04-01/A.json', 'http://sink:8025/twilio/')).toBe(
      'http://sink:8025/twilio/2010-04-01/A.json',
    );
  });

  it('refuses to redirect any other host, so the lab never reaches the internet by accident', () => {
    expect(() =>
      redirectTwilioUri('https://messaging.twilio.com/v1/Services', 'http://127.0.0.1:8025'),
    ).toThrow(/only https:\/\/api\.twilio\.com/);
  });
});

describe('describeSmtpError', () => {
  const target = 'SMTP 127.0.0.1:2525';

  it('names a refused connection', () => {
    const err = describeSmtpError(
      target,
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2525'), { code: 'ESOCKET' }),
      'x@y.z',
    );
    expect(err.message).toBe('SMTP 127.0.0.1:2525 refused connection');
    expect(err.failure).toBe('unreachable');
  });

  it('quotes the server reply without the recipient address', () => {
    const err = describeSmtpError(
      target,
      Object.assign(new Error('Can not send'), {
        code: 'EENVELOPE',
        responseCode: 550,
        command: 'RCPT TO',
        response: '550 5.1.1 <zoe@example.com>: Recipient address rejected',
      }),
      'zoe@example.com',
    );
    expect(err.message).toBe(
      'SMTP 127.0.0.1:2525 answered 550 5.1.1 <z***@e***.com>: Recipient address rejected (to RCPT TO)',
    );
    expect(err.status).toBe(550);
    expect(err.failure).toBe('rejected');
  });

  it('names timeouts and login failures', () => {
    expect(
      describeSmtpError(
        target,
        Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' }),
        '',
      ).message,
    ).toBe('SMTP 127.0.0.1:2525 timed out (greeting never received)');
    const auth = describeSmtpError(
      target,
      Object.assign(new Error('Invalid login'), {
        code: 'EAUTH',
        responseCode: 535,
        response: '535 5.7.8 bad credentials',
      }),
      '',
    );
    expect(auth.message).toBe('SMTP 127.0.0.1:2525 rejected the login: 535 5.7.8 bad credentials');
    expect(auth.failure).toBe('auth');
  });
});

describe('describeTwilioError', () => {
  it('names the HTTP status, the Twilio error code and the message', () => {
    const err = describeTwilioError(
      'Twilio API',
      { status: 401, code: 20003, message: 'Authenticate' },
      '+1555',
      1000,
    );
    expect(err.message).toBe(
      'Twilio API answered 401 (error 20003): Authenticate - check the account SID and auth token',
    );
    expect(err.failure).toBe('auth');
    expect(err.status).toBe(401);
  });

  it('masks the number Twilio echoes back', () => {
    const err = describeTwilioError(
      'Twilio API',
      { status: 400, code: 21211, message: "The 'To' number +4915112345678 is not a valid phone number." },
      '+4915112345678',
      1000,
    );
    expect(err.message).not.toContain('4915112345678');
  });

  it('names connection problems of the HTTP client', () => {
    expect(
      describeTwilioError('Twilio API', { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, '', 1)
        .message,
    ).toBe('Twilio API refused connection');
    expect(
      describeTwilioError('Twilio API', { code: 'ECONNABORTED', message: 'timeout of 10ms exceeded' }, '', 10)
        .message,
    ).toBe('Twilio API did not answer within 10 ms');
    expect(
      describeTwilioError('Twilio API', { code: 'ERR_CANCELED', message: 'canceled' }, '', 10).failure,
    ).toBe('aborted');
  });
});
