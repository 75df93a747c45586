import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { generateWebhookSecret, signWebhook, WEBHOOK_USER_AGENT } from '../../../src/webhooks/sign-webhook';

describe('webhook signing', () => {
  it('makes whsec_ secrets of 24 random bytes', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(24);
    expect(a).not.toBe(b);
  });

  it('signs so that a Standard Webhooks receiver verifies it', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({
      type: 'call.ended',
      timestamp: '2025-03-01T12:00:00.000Z',
      data: { callId: 'c1' },
    });
    const headers = signWebhook({ secret, eventId: 'evt_0123', at: new Date(), body });
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      'webhook-id': 'evt_0123',
    });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('puts the attempt time in whole seconds in webhook-timestamp', () => {
    const at = new Date('2025-03-01T12:00:00.999Z');
    const headers = signWebhook({ secret: generateWebhookSecret(), eventId: 'evt_1', at, body: '{}' });
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(at.getTime() / 1000)));
  });

  it('does not verify with another secret, another body or another id', () => {
    const secret = generateWebhookSecret();
    const body = '{"type":"webhook.test"}';
    const headers = signWebhook({ secret, eventId: 'evt_1', at: new Date(), body });
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(
      WebhookVerificationError,
    );
    expect(() => new Webhook(secret).verify('{"type":"webhook.tesT"}', headers)).toThrow(
      WebhookVerificationError,
    );
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_2' })).toThrow(
      WebhookVerificationError,
    );
  });

  it('is refused as a replay once the timestamp is old (receivers check it)', () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook({
      secret,
      eventId: 'evt_1',
      at: new Date(Date.now() - 10 * 60_000),
      body: '{}',
    });
    expect(() => new Webhook(secret).verify('{}', headers)).toThrow(/too old/);
  });
});
