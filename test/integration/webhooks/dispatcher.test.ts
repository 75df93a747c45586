/**
 * The webhook dispatcher against the real database and the lab webhook sink: shared work between
 * instances, order, retries on a short injected schedule, disabling, restarts, crashed leases.
 */
import type { Pool } from 'pg';
import type { WebhookSink } from '../../../src/lab/webhook-sink';
import { createWebhookAdmin } from '../../../src/webhooks/webhook-admin';
import { freshDatabase, waitFor } from '../helpers';
import {
  allEvents,
  clearWebhookTables,
  deliveryRows,
  dispatchers,
  eventIdsFor,
  failNext,
  insertVerification,
  setStatus,
  sinkDeliveries,
  startSink,
  subscribe,
} from './webhook-harness';

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A verification created and approved: two events, committed one after the other. */
async function verifiedOnce(pool: Pool): Promise<string> {
  const id = await insertVerification(pool);
  await setStatus(pool, id, 'approved');
  return id;
}

describe('webhook dispatcher', () => {
  let pool: Pool;
  let sink: WebhookSink;
  let d: ReturnType<typeof dispatchers>;

  beforeAll(async () => {
    pool = await freshDatabase();
  });
  beforeEach(async () => {
    await clearWebhookTables(pool);
    sink = await startSink();
    d = dispatchers(pool);
  });
  afterEach(async () => {
    await d.stopAll();
    await sink.close();
  });
  afterAll(async () => {
    await pool.end();
  });

  it('two instances deliver every event exactly once, in order, signed', async () => {
    const other = await startSink();
    try {
      const endpoint = await subscribe(pool, sink);
      const approvals = await subscribe(pool, other, ['verification.approved']);
      await d.start();
      await d.start();
      for (let i = 0; i < 20; i++) await verifiedOnce(pool);

      const expected = await eventIdsFor(pool, endpoint);
      const expectedApprovals = await eventIdsFor(pool, approvals);
      expect(expected).toHaveLength(40);
      expect(expectedApprovals).toHaveLength(20);
      await waitFor(() => sink.deliveries().length >= 40 && other.deliveries().length >= 20, 20_000);
      // Long enough for a duplicate to show.
      await sleep(1500);

      const got = await sinkDeliveries(sink);
      expect(got.map((x) => x.id)).toEqual(expected);
      expect(other.deliveries().map((x) => x.id)).toEqual(expectedApprovals);
      expect(got.every((x) => x.verified)).toBe(true);
      expect(other.deliveries().every((x) => x.verified && x.type === 'verification.approved')).toBe(true);
      expect(got[0]).toMatchObject({
        type: 'verification.pending',
        data: { status: 'pending', destinationMasked: '+1202***0101' },
      });
      const rows = await deliveryRows(pool, endpoint);
      expect(rows.every((r) => r.status === 'delivered' && r.attempts === 1 && r.lastStatus === 204)).toBe(
        true,
      );
    } finally {
      await other.close();
    }
  });

  it('keeps each verification in order when its changes come from concurrent transactions', async () => {
    await subscribe(pool, sink);
    await d.start();
    await d.start();
    const ids = await Promise.all(Array.from({ length: 15 }, () => verifiedOnce(pool)));
    await waitFor(() => sink.deliveries().length >= 30, 20_000);
    await sleep(1000);
    const got = sink.deliveries();
    expect(got).toHaveLength(30);
    expect(new Set(got.map((x) => x.id)).size).toBe(30);
    for (const id of ids) {
      const types = got.filter((x) => (x.data as { id?: string }).id === id).map((x) => x.type);
      expect(types).toEqual(['verification.pending', 'verification.approved']);
    }
  });

  it('retries a failing endpoint on the schedule, holding later events back, then delivers all', async () => {
    const endpoint = await subscribe(pool, sink);
    await failNext(sink, 2);
    await d.start({ schedule: [0, 300, 300, 300, 300] });
    await verifiedOnce(pool);
    await waitFor(() => sink.deliveries().length >= 2, 10_000);

    const expected = await eventIdsFor(pool, endpoint);
    expect(sink.deliveries().map((x) => x.id)).toEqual(expected);
    const rows = await deliveryRows(pool, endpoint);
    expect(rows[0]).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 204, lastError: null });
    expect(rows[1]).toMatchObject({ status: 'delivered', attempts: 1 });
    const retries = d.log.entries.filter((e) => e.msg === 'webhook delivery failed, will retry');
    expect(retries.map((e) => [e.meta.attempts, e.meta.error, e.meta.eventId])).toEqual([
      [1, 'HTTP 503', expected[0]],
      [2, 'HTTP 503', expected[0]],
    ]);
  });

  it('disables an endpoint failing past the rule, tells the operator, and catches up in order when enabled', async () => {
    const endpoint = await subscribe(pool, sink);
    await failNext(sink, 1000);
    await d.start({ schedule: [0, 200, 200], disableAfterMs: 1000 });
    await verifiedOnce(pool);

    await waitFor(async () => {
      const { rows } = await pool.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 AND NOT enabled', [
        endpoint,
      ]);
      return rows.length > 0;
    }, 15_000);

    const disabled = d.log.entries.filter(
      (e) => e.level === 'error' && e.msg === 'webhook endpoint disabled',
    );
    expect(disabled).toHaveLength(1);
    expect(disabled[0]?.meta).toMatchObject({
      endpointId: endpoint,
      url: sink.url.replace(/\/$/, '/'),
      lastStatus: 503,
      lastError: 'HTTP 503',
      pending: 2,
    });
    expect(disabled[0]?.meta.attempts).toBeGreaterThanOrEqual(3);
    const admin = createWebhookAdmin({ pool, actor: 'cli:test' });
    const [info] = await admin.list();
    expect(info).toMatchObject({ enabled: false, pending: 2, lastStatus: 503 });
    expect(info?.disabledReason).toMatch(/failed every attempt since \d{4}-.*last: HTTP 503/);
    const rows = await deliveryRows(pool, endpoint);
    expect(rows.map((r) => r.status)).toEqual(['pending', 'pending']);
    expect(rows[1]?.attempts).toBe(0);

    // While disabled nothing is queued for it; once enabled, what was pending goes, in order.
    await verifiedOnce(pool);
    expect(await eventIdsFor(pool, endpoint)).toHaveLength(2);
    await failNext(sink, 0);
    await admin.enable(String(endpoint));
    await waitFor(async () => (await admin.list())[0]?.pending === 0, 10_000);
    expect(sink.deliveries().map((x) => x.id)).toEqual(await eventIdsFor(pool, endpoint));
    expect((await admin.list())[0]).toMatchObject({ enabled: true, pending: 0, disabledReason: null });
  });

  it('loses nothing when an instance stops mid-way: the next one delivers the rest', async () => {
    const endpoint = await subscribe(pool, sink);
    const slowFetch: typeof fetch = async (...args) => {
      await sleep(150);
      return fetch(...args);
    };
    const first = await d.start({ fetch: slowFetch });
    for (let i = 0; i < 6; i++) await verifiedOnce(pool);
    await waitFor(() => sink.deliveries().length >= 3, 10_000);
    await first.stop();
    const afterStop = sink.deliveries().length;
    expect(afterStop).toBeLessThan(12);
    // Events while no instance runs: their notifications reach nobody.
    await verifiedOnce(pool);
    await sleep(300);
    expect(sink.deliveries()).toHaveLength(afterStop);
    const { rows } = await pool.query('SELECT drain_lease_owner FROM webhook_endpoints WHERE id = $1', [
      endpoint,
    ]);
    expect(rows[0]).toEqual({ drain_lease_owner: null });

    await d.start();
    await waitFor(() => sink.deliveries().length >= 14, 10_000);
    await sleep(1000);
    expect(sink.deliveries().map((x) => x.id)).toEqual(await eventIdsFor(pool, endpoint));
  });

  it("waits out a crashed instance's lease, then delivers", async () => {
    const endpoint = await subscribe(pool, sink);
    await pool.query(
      `UPDATE webhook_endpoints SET drain_lease_until = now() + interval '2 seconds', drain_lease_owner = 'crashed'
        WHERE id = $1`,
      [endpoint],
    );
    await d.start();
    const started = Date.now();
    await verifiedOnce(pool);
    await waitFor(() => sink.deliveries().length >= 2, 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(sink.deliveries().map((x) => x.id)).toEqual(await eventIdsFor(pool, endpoint));
  });

  it('signs with the endpoint secret: a receiver with another secret rejects it', async () => {
    const admin = createWebhookAdmin({ pool, actor: 'cli:test' });
    // A fresh random secret, not the sink's.
    await admin.add(sink.url);
    await d.start();
    await insertVerification(pool);
    await waitFor(() => sink.deliveries().length >= 1, 10_000);
    expect(sink.deliveries()[0]).toMatchObject({ verified: false, problem: 'No matching signature found' });
    expect((await allEvents(pool))[0]?.id).toBe(sink.deliveries()[0]?.id);
  });
});
