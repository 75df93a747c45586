import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { createSinkClient } from '../../src/lab/sink-client';
import { DEMO_NUMBERS } from '../../src/store/demo-data';
import {
  connectTestCaller,
  env,
  latestCall,
  openDb,
  parseAgentLine,
  startAgent,
  waitUntil,
} from './lab-harness';

/**
 * Fault cases with a caller in flight (README, "When things fail"; also in `npm run faults`):
 * the mail server refusing, the SMS API answering 5xx, and the SMS API hanging. In each the
 * caller who chose that channel (and has no other) is not left waiting: they reach their
 * department's failed destination as `delivery_failed`, with the send failure and the outcome in
 * the audit trail, and nothing is left in the Stasis app.
 */
jest.setTimeout(120_000);

const TESTER_APP = 'pinverify-faults-tester';
const sinks = createSinkClient(env.sinkUrl);
let caller: Awaited<ReturnType<typeof connectTestCaller>>;
let db: Pool;
let sendTimeoutMs = 8000;

beforeAll(async () => {
  db = openDb();
  caller = await connectTestCaller(TESTER_APP);
  const { rows } = await db.query<{ value: number }>(
    "SELECT value FROM settings WHERE key = 'sendTimeoutMs'",
  );
  sendTimeoutMs = Number(rows[0]?.value ?? sendTimeoutMs);
});
afterEach(async () => {
  await sinks.setFaults({ smtp: 'ok', sms: 'ok' });
});
afterAll(async () => {
  caller.close();
  await db.end();
});

const cases = [
  {
    name: 'the mail server refusing (451)',
    faults: { smtp: 'fail' as const },
    caller: DEMO_NUMBERS.emailOnly,
    service: '7001',
    key: '1',
    failed: '2901',
    within: 20_000,
  },
  {
    name: 'the SMS API answering 5xx',
    faults: { sms: 'fail' as const },
    caller: DEMO_NUMBERS.smsOnly,
    service: '7002',
    key: '2',
    failed: '2902',
    within: 20_000,
  },
  {
    name: 'the SMS API hanging (no answer for 60 s)',
    faults: { sms: 'slow' as const, slowMs: 60_000 },
    caller: DEMO_NUMBERS.smsOnly,
    service: '7002',
    key: '2',
    failed: '2902',
    // The send deadline (sendTimeoutMs), then the "could not send" prompt and the transfer.
    within: 0,
  },
];

describe('a code that cannot be delivered, with the caller on the line', () => {
  test.each(cases)(
    '$name: the caller reaches $failed as delivery_failed, audited, nobody left in the app',
    async (c) => {
      await sinks.setFaults(c.faults);
      const since = new Date();
      const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-faults-')));
      await new Promise((r) => setTimeout(r, 300)); // let the agent phone bind its port

      const leg = await caller.placeCall(c.caller, c.service);
      await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
      await waitUntil('the call to enter the app', () => caller.appHasCall(), 15_000);
      await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: c.key });
      const chose = Date.now();

      const seen = await agent;
      const tookMs = Date.now() - chose;
      expect(parseAgentLine(seen.line)).toMatchObject({
        exten: c.failed,
        result: 'failed',
        reason: 'delivery_failed',
      });
      expect(tookMs).toBeLessThan(c.within || sendTimeoutMs + 20_000);

      const call = await latestCall(db, c.caller.slice(-4), since);
      expect(call).toMatchObject({ result: 'failed', reason: 'delivery_failed' });
      expect(call?.kinds).toEqual(expect.arrayContaining(['choice', 'send_failed', 'outcome']));
      await waitUntil('the app to hold no call', async () => !(await caller.appHasCall()), 10_000);
    },
  );
});
