import { OpsError } from '../../../src/ops/ops-error';
import {
  checkWebhookEventTypes,
  checkWebhookSecret,
  checkWebhookUrl,
} from '../../../src/webhooks/webhook-admin';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OpsError);
    return (err as OpsError).message;
  }
  throw new Error('not refused');
}

describe('webhook endpoint input', () => {
  test.each([
    ['https://crm.example.com/hooks/pinverify', 'https://crm.example.com/hooks/pinverify'],
    ['  https://crm.example.com  ', 'https://crm.example.com/'],
    ['http://127.0.0.1:8026/', 'http://127.0.0.1:8026/'],
    ['http://localhost:9000/x', 'http://localhost:9000/x'],
    ['http://[::1]:9000/x', 'http://[::1]:9000/x'],
  ])('accepts %s', (url, normalised) => {
    expect(checkWebhookUrl(url)).toBe(normalised);
  });

  test.each([
    ['http://crm.example.com/hooks', /must be https/],
    ['http://10.0.0.5/hooks', /must be https/],
    ['ftp://crm.example.com/', /must be an https/],
    ['crm.example.com/hooks', /not a URL/],
    ['https://user:pass@crm.example.com/', /user name or password/],
  ])('refuses %s', (url, why) => {
    expect(refusal(() => checkWebhookUrl(url))).toMatch(why);
  });

  it('takes event types comma-separated or repeated, once each', () => {
    expect(checkWebhookEventTypes(['verification.approved,call.ended', 'call.ended'])).toEqual([
      'verification.approved',
      'call.ended',
    ]);
    expect(checkWebhookEventTypes([])).toEqual([]);
  });

  it('refuses unknown event types and lists the known ones', () => {
    const message = refusal(() => checkWebhookEventTypes(['verification.sent', 'webhook.test']));
    expect(message).toMatch(/unknown event types verification.sent, webhook.test/);
    expect(message).toContain('verification.approved');
  });

  it('checks a given secret', () => {
    const good = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    expect(checkWebhookSecret(good)).toBe(good);
    expect(refusal(() => checkWebhookSecret('whsec_c2hvcnQ='))).toMatch(/24 to 64 bytes/);
    expect(refusal(() => checkWebhookSecret('secret'))).toMatch(/whsec_/);
  });
});
