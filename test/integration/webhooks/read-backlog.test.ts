/**
 * The backlog behind /metrics' webhook and ticket gauges, read from the real Postgres: pending
 * deliveries and the age of the oldest, disabled endpoints, and ticket notes waiting in pg-boss.
 */
import type { Pool } from 'pg';
import { readBacklog } from '../../../src/webhooks/read-backlog';
import { createWebhookAdmin } from '../../../src/webhooks/webhook-admin';
import { LAB_WEBHOOK_SECRET } from '../../../src/lab/webhook-sink';
import { freshDatabase } from '../helpers';
import { clearWebhookTables, insertVerification, setStatus } from './webhook-harness';

describe('readBacklog', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = await freshDatabase();
  });
  beforeEach(async () => {
    await clearWebhookTables(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  it('is all zero with nothing waiting (and no pg-boss schema yet, or an empty one)', async () => {
    expect(await readBacklog(pool, 'no-such-queue')).toEqual({
      webhookDeliveriesPending: 0,
      webhookOldestPendingSeconds: 0,
      webhookEndpointsDisabled: 0,
      ticketNotesWaiting: 0,
    });
  });

  it('counts pending deliveries per endpoint, the age of the oldest, and disabled endpoints', async () => {
    const admin = createWebhookAdmin({ pool, actor: 'cli:backlog-test' });
    const a = await admin.add('http://127.0.0.1:9/a', { events: [], secret: LAB_WEBHOOK_SECRET });
    await admin.add('http://127.0.0.1:9/b', {
      events: ['verification.approved'],
      secret: LAB_WEBHOOK_SECRET,
    });
    const id = await insertVerification(pool); // verification.pending: endpoint a only
    await setStatus(pool, id, 'approved'); // verification.approved: both
    await pool.query(
      "UPDATE events SET occurred_at = now() - interval '90 seconds' WHERE type = 'verification.pending'",
    );
    await admin.disable(String(a.id));

    const b = await readBacklog(pool, 'no-such-queue');
    expect(b.webhookDeliveriesPending).toBe(3);
    expect(b.webhookOldestPendingSeconds).toBeGreaterThanOrEqual(90);
    expect(b.webhookOldestPendingSeconds).toBeLessThan(120);
    expect(b.webhookEndpointsDisabled).toBe(1);

    await pool.query("UPDATE webhook_deliveries SET status = 'delivered'");
    expect(await readBacklog(pool, 'no-such-queue')).toMatchObject({
      webhookDeliveriesPending: 0,
      webhookOldestPendingSeconds: 0,
    });
  });
});
