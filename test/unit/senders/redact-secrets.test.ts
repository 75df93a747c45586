import { redactSecrets } from '../../../src/senders/redact-secrets';

describe('redactSecrets', () => {
  it('masks the given addresses wherever they appear', () => {
    const out = redactSecrets('550 5.1.1 <Bob.Smith@Example.com>: no such user bob.smith@example.com', {
      addresses: ['bob.smith@example.com'],
    });
    expect(out).not.toMatch(/bob\.smith/i);
    expect(out).toContain('b***@e***.com');
  });

  it('masks phone numbers given with or without the plus', () => {
    const out = redactSecrets("The 'To' number +4915112345678 (4915112345678) is not valid", {
      addresses: ['+4915112345678'],
    });
    expect(out).not.toContain('4915112345678');
    expect(out).toContain('5678');
  });

  it('masks addresses it was not told about', () => {
    const out = redactSecrets('mail for alice@corp.example and +15551234567 refused');
    expect(out).not.toContain('alice@corp.example');
    expect(out).not.toContain('+15551234567');
  });

  it('removes the code but keeps error numbers, ports and addresses of servers', () => {
    const out = redactSecrets('SMTP 127.0.0.1:2525 answered 451 4.3.0, code 482913 rejected, error 20003', {
      code: '482913',
    });
    expect(out).toBe('SMTP 127.0.0.1:2525 answered 451 4.3.0, code [code] rejected, error 20003');
  });

  it('only removes the code as a whole number', () => {
    expect(redactSecrets('port 25250 and 2525', { code: '2525' })).toBe('port 25250 and [code]');
  });
});
