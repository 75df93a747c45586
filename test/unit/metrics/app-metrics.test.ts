import { createAppMetrics } from '../../../src/metrics/app-metrics';
import { VerificationService } from '../../../src/verification/verification-service';
import { FakeClock } from '../../fakes/fake-clock';
import { FakeCodeDelivery } from '../../fakes/fake-code-delivery';
import { FakeFlowLogger } from '../../fakes/fake-flow-logger';
import { FakeVerificationStore } from '../../fakes/fake-verification-store';
import { DEFAULT_SETTINGS } from '../../../src/store/config-defaults';

const ALICE = { id: 7, name: 'Alice', email: 'alice@example.com', mobile: '+12025550188' };

describe('app metrics', () => {
  it('names, labels and values in Prometheus text, gauges read at scrape time', async () => {
    const m = createAppMetrics({ defaultMetrics: false });
    let inApp = 3;
    m.gauges({ callsInApp: () => inApp, poolWaiting: () => 1, poolTotal: () => 4, ariConnected: () => true });
    m.callEnded({ result: 'failed', reason: 'caller_bailed' });
    m.callEnded({ result: 'failed', reason: 'caller_bailed' });
    m.ariRequest('play', 0.004, true);
    m.dtmfToAction(0.003);
    let text = await m.registry.metrics();
    expect(text).toContain('pinverify_calls_total{result="failed",reason="caller_bailed"} 2');
    expect(text).toContain('pinverify_calls_in_app 3');
    expect(text).toContain('pinverify_db_pool_waiting 1');
    expect(text).toContain('pinverify_ari_connected 1');
    expect(text).toContain(
      'pinverify_ari_request_duration_seconds_bucket{le="0.005",operation="play",outcome="ok"} 1',
    );
    expect(text).toContain('pinverify_dtmf_to_action_seconds_count 1');
    inApp = 0;
    text = await m.registry.metrics();
    expect(text).toContain('pinverify_calls_in_app 0');
  });

  it('counts the verification service: created, sent, refused, decided; never an address', async () => {
    const m = createAppMetrics({ defaultMetrics: false });
    const clock = new FakeClock();
    const delivery = new FakeCodeDelivery();
    const service = new VerificationService({
      store: new FakeVerificationStore(),
      delivery,
      settings: async () => ({ ...DEFAULT_SETTINGS, maxSendsPerDestinationPerHour: 1 }),
      contactById: async () => ALICE,
      clock,
      secret: 'test-secret',
      log: new FakeFlowLogger(),
      observer: m,
    });
    const started = await service.start({ contact: ALICE, channel: 'sms', origin: 'api' });
    if (started.kind !== 'sent') throw new Error(started.kind);
    await service.check(started.verification.id, '000000');
    await service.check(started.verification.id, delivery.lastCode());
    // A second start to the same number is refused by the per-destination limit of 1.
    expect((await service.start({ contact: ALICE, channel: 'sms', origin: 'api' })).kind).toBe('refused');
    const text = await m.registry.metrics();
    expect(text).toContain('pinverify_verifications_total{channel="sms",status="pending"} 1');
    expect(text).toContain('pinverify_verifications_total{channel="sms",status="approved"} 1');
    expect(text).toContain('pinverify_sends_total{channel="sms",result="sent"} 1');
    expect(text).toContain('pinverify_sends_total{channel="sms",result="refused"} 1');
    expect(text).not.toMatch(/202555|example\.com/);
  });

  it('reads the webhook and ticket backlog once per scrape, and keeps the last values when the read fails', async () => {
    const m = createAppMetrics({ defaultMetrics: false });
    let reads = 0;
    let fail = false;
    m.gauges({
      callsInApp: () => 0,
      poolWaiting: () => 0,
      poolTotal: () => 1,
      ariConnected: () => true,
      backlog: () => {
        reads += 1;
        if (fail) return Promise.reject(new Error('database down'));
        return Promise.resolve({
          webhookDeliveriesPending: 7,
          webhookOldestPendingSeconds: 42.5,
          webhookEndpointsDisabled: 1,
          ticketNotesWaiting: 3,
        });
      },
    });
    const text = await m.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('pinverify_webhook_deliveries_pending 7');
    expect(text).toContain('pinverify_webhook_oldest_pending_seconds 42.5');
    expect(text).toContain('pinverify_webhook_endpoints_disabled 1');
    expect(text).toContain('pinverify_ticket_notes_waiting 3');

    fail = true;
    jest.useFakeTimers({ now: Date.now() + 5000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const again = await m.registry.metrics();
      expect(reads).toBe(2);
      expect(again).toContain('pinverify_webhook_deliveries_pending 7');
    } finally {
      jest.useRealTimers();
    }
  });
});
