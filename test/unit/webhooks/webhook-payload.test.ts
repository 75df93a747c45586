import {
  allowedDataFields,
  isWebhookEventType,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_TEST_EVENT,
  webhookPayload,
} from '../../../src/webhooks/webhook-events';

const occurredAt = new Date('2025-03-01T12:00:00.000Z');

describe('webhook payloads', () => {
  it('are {type, timestamp, data} with the time the event happened', () => {
    const p = webhookPayload({
      id: 'evt_1',
      type: 'verification.approved',
      occurredAt,
      data: { id: 'VE1', status: 'approved' },
    });
    expect(p).toEqual({
      type: 'verification.approved',
      timestamp: '2025-03-01T12:00:00.000Z',
      data: { id: 'VE1', status: 'approved' },
    });
  });

  it('never carry a code, a code hash or a full destination, whatever the stored data holds', () => {
    const leaky = {
      id: 'VE1',
      status: 'pending',
      destinationMasked: '+1202***0101',
      destination: '+12025550101',
      code: '123456',
      code_hash: 'abc',
      codeHash: 'abc',
      caller: '+12025550101',
      override_reason: 'typed by an agent',
    };
    const text = JSON.stringify(
      webhookPayload({ id: 'evt_1', type: 'verification.pending', occurredAt, data: leaky }),
    );
    expect(text).not.toContain('12025550101');
    expect(text).not.toContain('123456');
    expect(text).not.toMatch(/code/i);
    expect(text).not.toContain('typed by an agent');
    expect(text).toContain('+1202***0101');
  });

  test.each([
    [
      'verification.approved',
      ['id', 'status', 'channel', 'origin', 'contactId', 'callId', 'destinationMasked'],
    ],
    [
      'call.ended',
      ['callId', 'result', 'reason', 'method', 'contactId', 'route', 'destination', 'startedAt', 'endedAt'],
    ],
  ])('%s keeps its documented fields', (type, fields) => {
    const data = Object.fromEntries(fields.map((f) => [f, `value of ${f}`]));
    expect(webhookPayload({ id: 'evt_1', type, occurredAt, data }).data).toEqual(data);
  });

  it('has no field that holds a number or address in the clear', () => {
    for (const type of [...WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT]) {
      const fields = allowedDataFields(type);
      expect(fields.length).toBeGreaterThan(0);
      for (const f of fields)
        expect(f).not.toMatch(/^(code|codeHash|to|phone|email|mobile|caller|number|pin)$/i);
      // call.ended's destination is a dialplan target (2001@ctx), the one "destination" allowed.
      if (type !== 'call.ended') expect(fields).not.toContain('destination');
    }
  });

  it('drop everything of an unknown type', () => {
    expect(webhookPayload({ id: 'evt_1', type: 'something.else', occurredAt, data: { a: 1 } }).data).toEqual(
      {},
    );
  });

  it('know the subscribable types, not the test event', () => {
    expect(isWebhookEventType('verification.max_attempts_reached')).toBe(true);
    expect(isWebhookEventType('call.ended')).toBe(true);
    expect(isWebhookEventType(WEBHOOK_TEST_EVENT)).toBe(false);
    expect(isWebhookEventType('verification.code_sent')).toBe(false);
  });
});
