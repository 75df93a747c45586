/** The lab webhook sink's own HTTP API, as tests and people use it. */
import { Webhook } from 'standardwebhooks';
import {
  LAB_WEBHOOK_SECRET,
  startWebhookSink,
  WEBHOOK_SINK_DEFAULT_PORT,
  type WebhookSink,
} from '../../../src/lab/webhook-sink';
import { signWebhook } from '../../../src/webhooks/sign-webhook';

describe('lab webhook sink', () => {
  let sink: WebhookSink;

  beforeEach(async () => {
    sink = await startWebhookSink({ host: '127.0.0.1', port: 0, secret: LAB_WEBHOOK_SECRET });
  });
  afterEach(async () => {
    await sink.close();
  });

  const post = (body: string, secret = LAB_WEBHOOK_SECRET, id = 'evt_1') =>
    fetch(sink.url, {
      method: 'POST',
      headers: signWebhook({ secret, eventId: id, at: new Date(), body }),
      body,
    });

  it('has fixed lab constants', () => {
    expect(WEBHOOK_SINK_DEFAULT_PORT).toBe(8026);
    expect(() => new Webhook(LAB_WEBHOOK_SECRET)).not.toThrow();
  });

  it('verifies and keeps deliveries, lists and forgets them', async () => {
    const body = JSON.stringify({
      type: 'call.ended',
      timestamp: '2030-01-01T12:00:00.000Z',
      data: { callId: 'c1' },
    });
    expect((await post(body)).status).toBe(204);
    expect((await post(body, `whsec_${Buffer.alloc(24, 1).toString('base64')}`, 'evt_2')).status).toBe(204);
    const list = (await (await fetch(`${sink.url}deliveries`)).json()) as unknown[];
    expect(list).toEqual([
      expect.objectContaining({
        id: 'evt_1',
        type: 'call.ended',
        data: { callId: 'c1' },
        verified: true,
        problem: null,
      }),
      expect.objectContaining({ id: 'evt_2', verified: false, problem: 'No matching signature found' }),
    ]);
    expect((await fetch(`${sink.url}deliveries`, { method: 'DELETE' })).status).toBe(204);
    expect(sink.deliveries()).toEqual([]);
  });

  it('fails the next N deliveries when asked', async () => {
    expect((await fetch(`${sink.url}fail?count=2&status=429`, { method: 'POST' })).status).toBe(200);
    expect((await post('{}')).status).toBe(429);
    expect((await post('{}')).status).toBe(429);
    expect((await post('{}')).status).toBe(204);
    expect(sink.deliveries()).toHaveLength(1);
    expect((await fetch(`${sink.url}fail?count=x`, { method: 'POST' })).status).toBe(400);
  });
});
