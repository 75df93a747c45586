/**
 * Migration 016's triggers: every verification status change, desk outcome and call outcome is
 * an event, written in the transaction of the change, and fanned out to the subscribed
 * endpoints in that transaction too.
 */
import { Client, type Pool } from 'pg';
import type { CallOutcome } from '../../../src/domain';
import { withTransaction } from '../../../src/store/db';
import { writeAuditRecord } from '../../../src/store/pg-audit-trail';
import { createWebhookAdmin } from '../../../src/webhooks/webhook-admin';
import { freshDatabase, TEST_DATABASE_URL, waitFor } from '../helpers';
import {
  allEvents,
  clearWebhookTables,
  eventIdsFor,
  insertVerification,
  newVerificationId,
  setStatus,
} from './webhook-harness';

const OUTCOME: CallOutcome = {
  result: 'verified',
  reason: 'ok',
  method: 'sms',
  contactId: 42,
  route: 'support',
  destination: '2001@pinverify-destinations',
};

const opened = (callId: string) => ({
  op: 'open' as const,
  call: {
    callId,
    channelId: `chan-${callId}`,
    callerMasked: '+1202***0101',
    previousHop: 'support',
    startedAt: new Date('2030-01-01T12:00:00Z'),
  },
});
const closed = (callId: string, outcome: CallOutcome = OUTCOME) => ({
  op: 'close' as const,
  callId,
  outcome,
  at: new Date('2030-01-01T12:01:30Z'),
});

describe('events (migration 016)', () => {
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

  it('records a verification created and decided, in order, with thin data', async () => {
    const id = await insertVerification(pool);
    await setStatus(pool, id, 'approved');
    await pool.query(
      `UPDATE verifications SET agent_outcome = 'completed', agent_outcome_at = now(),
              agent_outcome_by = 'alice', ticket_ref = 'T-1', override_reason = 'caller asked'
        WHERE id = $1`,
      [id],
    );
    // Neither a repeat of the same status nor another outcome is a new event.
    await pool.query(`UPDATE verifications SET checks = checks + 1 WHERE id = $1`, [id]);
    await pool.query(`UPDATE verifications SET agent_outcome = 'incomplete' WHERE id = $1`, [id]);

    const events = await allEvents(pool);
    expect(events.map((e) => e.type)).toEqual([
      'verification.pending',
      'verification.approved',
      'verification.completed',
    ]);
    expect(events[0]?.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    expect(events[0]?.data).toEqual({
      id,
      status: 'pending',
      channel: 'sms',
      origin: 'api',
      contactId: 42,
      callId: null,
      destinationMasked: '+1202***0101',
      failureReason: null,
      agentOutcome: null,
      agentOutcomeBy: null,
      ticketRef: null,
    });
    expect(events[2]?.data).toMatchObject({
      status: 'approved',
      agentOutcome: 'completed',
      agentOutcomeBy: 'alice',
      ticketRef: 'T-1',
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain('12025550101');
    expect(text).not.toContain('hmac-of-the-code');
    expect(text).not.toContain('caller asked');
  });

  test.each(['canceled', 'expired', 'max_attempts_reached', 'failed'])('verification.%s', async (status) => {
    const id = await insertVerification(pool);
    await setStatus(pool, id, status);
    const events = await allEvents(pool);
    expect(events.map((e) => e.type)).toEqual(['verification.pending', `verification.${status}`]);
    expect(events[1]?.data).toMatchObject({ id, status });
  });

  it('names a verification inserted already decided by its status', async () => {
    await insertVerification(pool, { status: 'failed' });
    expect((await allEvents(pool)).map((e) => e.type)).toEqual(['verification.failed']);
  });

  it('writes nothing when the change rolls back', async () => {
    await expect(
      withTransaction(pool, async (db) => {
        await insertVerification(db);
        throw new Error('the send failed');
      }),
    ).rejects.toThrow('the send failed');
    expect(await allEvents(pool)).toEqual([]);
  });

  it('records call.ended once per call, however the audit trail writes it', async () => {
    // open then close, then the close again (a retry whose acknowledgement was lost, a journal replay)
    await writeAuditRecord(pool, opened('c1'));
    await writeAuditRecord(pool, closed('c1'));
    await writeAuditRecord(pool, closed('c1'));
    await writeAuditRecord(pool, opened('c1'));
    // the open lost: the close inserts the row
    await writeAuditRecord(
      pool,
      closed('c2', { ...OUTCOME, result: 'failed', reason: 'no_match', method: null, contactId: null }),
    );
    await writeAuditRecord(pool, opened('c2'));
    // an event before the open: a placeholder row without a result, then the close
    await writeAuditRecord(pool, {
      op: 'event',
      uid: '00000000-0000-4000-8000-000000000003',
      callId: 'c3',
      kind: 'entered',
      detail: {},
      at: new Date('2030-01-01T12:00:01Z'),
    });
    // a call still in progress: no event
    await writeAuditRecord(pool, opened('c4'));
    await writeAuditRecord(pool, closed('c3'));

    const events = await allEvents(pool);
    expect(events.map((e) => [e.type, e.data.callId])).toEqual([
      ['call.ended', 'c1'],
      ['call.ended', 'c2'],
      ['call.ended', 'c3'],
    ]);
    expect(events[0]?.data).toEqual({
      callId: 'c1',
      result: 'verified',
      reason: 'ok',
      method: 'sms',
      contactId: 42,
      route: 'support',
      destination: '2001@pinverify-destinations',
      startedAt: '2030-01-01T12:00:00.000Z',
      endedAt: '2030-01-01T12:01:30.000Z',
    });
    expect(events[1]?.data).toMatchObject({
      result: 'failed',
      reason: 'no_match',
      method: null,
      contactId: null,
    });
    // Masked caller ids are not part of call.ended either.
    expect(JSON.stringify(events)).not.toContain('0101');
  });

  it('fans out to enabled endpoints whose filter takes the type, in the same transaction', async () => {
    const admin = createWebhookAdmin({ pool, actor: 'cli:test' });
    const all = (await admin.add('https://all.example/hook')).id;
    const calls = (await admin.add('https://calls.example/hook', { events: ['call.ended'] })).id;
    const decided = (
      await admin.add('https://decided.example/hook', {
        events: ['verification.approved', 'verification.failed'],
      })
    ).id;
    const off = (await admin.add('https://off.example/hook')).id;
    await admin.disable(String(off));

    const v = await insertVerification(pool);
    await setStatus(pool, v, 'approved');
    await writeAuditRecord(pool, closed('c9'));
    const events = await allEvents(pool);
    const id = (type: string) => events.find((e) => e.type === type)?.id;

    expect(await eventIdsFor(pool, all)).toEqual(events.map((e) => e.id));
    expect(await eventIdsFor(pool, calls)).toEqual([id('call.ended')]);
    expect(await eventIdsFor(pool, decided)).toEqual([id('verification.approved')]);
    expect(await eventIdsFor(pool, off)).toEqual([]);
    const { rows } = await pool.query<{ status: string; attempts: number }>(
      'SELECT DISTINCT status, attempts FROM webhook_deliveries',
    );
    expect(rows).toEqual([{ status: 'pending', attempts: 0 }]);
  });

  it('notifies the endpoint at commit, not before, and not on rollback', async () => {
    const admin = createWebhookAdmin({ pool, actor: 'cli:test' });
    const endpoint = (await admin.add('https://all.example/hook')).id;
    const listener = new Client({ connectionString: TEST_DATABASE_URL });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (m) => heard.push(`${m.channel}:${m.payload}`));
    await listener.query('LISTEN pinverify_webhooks');
    try {
      await expect(
        withTransaction(pool, async (db) => {
          await insertVerification(db);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow();
      await withTransaction(pool, async (db) => {
        const id = newVerificationId();
        await insertVerification(db, { id });
        await setStatus(db, id, 'approved');
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(heard).toEqual([]);
      });
      await waitFor(() => heard.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Two events in one transaction: one notification (Postgres folds equal payloads).
      expect(heard).toEqual([`pinverify_webhooks:${endpoint}`]);
    } finally {
      await listener.end();
    }
  });
});
