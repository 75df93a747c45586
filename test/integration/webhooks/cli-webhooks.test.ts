/**
 * `pinverify webhooks ...` run in-process (the shared runner in ops/cli-harness.ts), against the
 * test database, a dispatcher and the lab webhook sink.
 */
import type { Pool } from 'pg';
import { LAB_WEBHOOK_SECRET, type WebhookSink } from '../../../src/lab/webhook-sink';
import { freshDatabase, TEST_DATABASE_URL, waitFor } from '../helpers';
import { cli as runCli } from '../ops/cli-harness';
import {
  clearWebhookTables,
  dispatchers,
  failNext,
  insertVerification,
  setStatus,
  startSink,
} from './webhook-harness';

jest.setTimeout(60_000);

/** The shared in-process CLI runner, as this test's own actor (no AMI needed). */
const cli = (argv: readonly string[]) =>
  runCli(argv, { env: { DATABASE_URL: TEST_DATABASE_URL, PINVERIFY_ACTOR: 'webhook-test' } });

describe('pinverify webhooks', () => {
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

  it('adds an endpoint, prints its secret once, lists it without the secret, records the change', async () => {
    const add = await cli([
      'webhooks',
      'add',
      'https://crm.example.com/hooks',
      '--events',
      'verification.approved,call.ended',
    ]);
    expect(add.code).toBe(0);
    const secret = /^(whsec_\S+)$/m.exec(add.out)?.[1];
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(add.out).toContain(
      'added webhook endpoint 1: https://crm.example.com/hooks (events: verification.approved,call.ended)',
    );

    const list = await cli(['webhooks', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^ID\s+URL\s+EVENTS\s+ENABLED\s+PENDING/);
    expect(list.out).toMatch(
      /1\s+https:\/\/crm.example.com\/hooks\s+verification.approved,call.ended\s+yes\s+0/,
    );
    expect(list.out).not.toContain(secret);

    const json = await cli(['--json', 'webhooks', 'list']);
    const parsed = JSON.parse(json.out) as Record<string, unknown>[];
    expect(parsed).toEqual([
      expect.objectContaining({
        id: 1,
        enabled: true,
        pending: 0,
        events: ['verification.approved', 'call.ended'],
      }),
    ]);
    expect(json.out).not.toContain('whsec_');

    const { rows } = await pool.query(
      `SELECT actor, action, subject, detail::text AS detail FROM config_changes WHERE action LIKE 'webhook.%'`,
    );
    expect(rows).toEqual([
      expect.objectContaining({ actor: 'cli:webhook-test', action: 'webhook.add', subject: '1' }),
    ]);
    expect(JSON.stringify(rows)).not.toContain('whsec_');
  });

  test.each([
    [
      ['http://crm.example.com/hooks'],
      /url: must be https:\/\/ \(plain http:\/\/ only to 127.0.0.1, localhost or ::1\)/,
    ],
    [
      ['https://crm.example.com/hooks', '--events', 'verification.sent'],
      /events: unknown event type verification.sent/,
    ],
    [['https://crm.example.com/hooks', '--secret', 'whsec_c2hvcnQ='], /secret: expected whsec_/],
  ])('refuses add %j', async (args, why) => {
    const r = await cli(['webhooks', 'add', ...args]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(why);
  });

  it('tests an endpoint through the running app: delivered, failed', async () => {
    await d.start();
    const add = await cli(['webhooks', 'add', sink.url, '--secret', LAB_WEBHOOK_SECRET]);
    expect(add.code).toBe(0);

    const ok = await cli(['webhooks', 'test', '1']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^delivered test event evt_[0-9a-f]{32} to endpoint 1: HTTP 204 in \d+ ms$/);
    expect(sink.deliveries()).toEqual([
      expect.objectContaining({
        type: 'webhook.test',
        verified: true,
        data: { endpointId: 1, message: 'a test event from pinverify webhooks test' },
      }),
    ]);

    await failNext(sink, 1, 500);
    const failed = await cli(['--json', 'webhooks', 'test', '1']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.out)).toMatchObject({ outcome: 'failed', status: 500, error: 'HTTP 500' });
    // A failed test holds nothing back: the next event goes at once.
    const list = await cli(['--json', 'webhooks', 'list']);
    expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ lastStatus: 500, pending: 0 })]);
    const v = await insertVerification(pool);
    await setStatus(pool, v, 'approved');
    await waitFor(() => sink.deliveries().length >= 3, 5000);
    expect(sink.deliveries().map((x) => x.type)).toEqual([
      'webhook.test',
      'verification.pending',
      'verification.approved',
    ]);
  });

  it('reports a test that nobody delivers, and one held behind an older failing event', async () => {
    const add = await cli(['webhooks', 'add', sink.url, '--secret', LAB_WEBHOOK_SECRET]);
    expect(add.code).toBe(0);
    await insertVerification(pool);
    // No app running: the test stays queued, behind the older event.
    const pending = await cli(['webhooks', 'test', '1']);
    expect(pending.code).toBe(1);
    expect(pending.out).toMatch(
      /^test event evt_\w+ was not delivered within 1\d s: the older event evt_\w+ is sent first \(order is kept\) and was not delivered yet. It stays queued.$/,
    );

    // The app runs, the receiver fails: the older event waits a minute for its retry...
    await failNext(sink, 1000);
    await d.start({ schedule: [0, 60_000] });
    await waitFor(async () => {
      const { rows } = await pool.query('SELECT 1 FROM webhook_deliveries WHERE attempts > 0');
      return rows.length > 0;
    }, 10_000);
    // ...and a test tries it again now, first, and reports why the test itself was not sent.
    const blocked = await cli(['--json', 'webhooks', 'test', '1']);
    expect(blocked.code).toBe(1);
    expect(JSON.parse(blocked.out)).toMatchObject({
      outcome: 'blocked',
      ahead: 2,
      blockedBy: { status: 503, error: 'HTTP 503' },
    });
    const { rows } = await pool.query<{ attempts: number }>(
      'SELECT attempts FROM webhook_deliveries ORDER BY event_seq LIMIT 1',
    );
    expect(rows[0]?.attempts).toBe(2);
    expect(sink.deliveries()).toEqual([]);
  }, 40_000);

  it('disables, enables and removes', async () => {
    await cli(['webhooks', 'add', 'https://crm.example.com/hooks']);
    const off = await cli(['webhooks', 'disable', '1']);
    expect(off).toMatchObject({
      code: 0,
      out: 'disabled webhook endpoint 1 (https://crm.example.com/hooks)',
    });
    const test = await cli(['webhooks', 'test', '1']);
    expect(test.code).toBe(1);
    expect(test.err).toMatch(/endpoint 1 is disabled \(disabled by cli:webhook-test\); enable it first/);
    const on = await cli(['webhooks', 'enable', '1']);
    expect(on).toMatchObject({
      code: 0,
      out: 'enabled webhook endpoint 1 (https://crm.example.com/hooks); 0 deliveries waiting, sent now',
    });
    await insertVerification(pool);
    const rm = await cli(['webhooks', 'remove', '1']);
    expect(rm).toMatchObject({
      code: 0,
      out: 'removed webhook endpoint 1 (https://crm.example.com/hooks); 1 undelivered events dropped',
    });
    expect((await cli(['webhooks', 'remove', '1'])).err).toBe('pinverify: no webhook endpoint 1');
    expect((await cli(['webhooks', 'list'])).out).toBe(
      'no webhook endpoints (add one with: pinverify webhooks add <url>)',
    );
  });
});
