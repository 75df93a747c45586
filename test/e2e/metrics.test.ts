import { createApiKey, listenAmi, runSippScenario } from './lab-harness';

/**
 * GET /metrics on the running lab app after real calls: Prometheus text from prom-client with
 * pinverify's counters and timings, behind an API key, and never a phone number or email.
 */
jest.setTimeout(120_000);

const BASE = `http://127.0.0.1:${process.env.ADMIN_PORT ?? '8090'}`;

/** The value of one sample line, e.g. pinverify_calls_total{reason="caller_bailed",result="failed"}. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

test('counts calls, verifications, sends and ARI timings without a number or address in sight', async () => {
  const key = await createApiKey('e2e-metrics', 'read');
  const scrape = async () => {
    const res = await fetch(`${BASE}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };
  expect((await fetch(`${BASE}/metrics`)).status).toBe(401);

  const before = await scrape();
  const ami = listenAmi();
  try {
    // One bail-out (no code) and one wrong-code call (an SMS sent, three checks).
    expect((await runSippScenario('bail-out')).output).toContain('sipp: PASS');
    expect((await runSippScenario('wrong-code')).output).toContain('sipp: PASS');
  } finally {
    ami.close();
  }
  const after = await scrape();
  const grew = (name: string, labels: Record<string, string>) =>
    sample(after, name, labels) - sample(before, name, labels);
  expect(grew('pinverify_calls_total', { result: 'failed', reason: 'caller_bailed' })).toBeGreaterThanOrEqual(
    1,
  );
  expect(grew('pinverify_calls_total', { result: 'failed', reason: 'max_attempts' })).toBeGreaterThanOrEqual(
    1,
  );
  expect(grew('pinverify_verifications_total', { channel: 'sms', status: 'pending' })).toBeGreaterThanOrEqual(
    1,
  );
  expect(
    grew('pinverify_verifications_total', { channel: 'sms', status: 'max_attempts_reached' }),
  ).toBeGreaterThanOrEqual(1);
  expect(grew('pinverify_sends_total', { channel: 'sms', result: 'sent' })).toBeGreaterThanOrEqual(1);
  expect(
    grew('pinverify_ari_request_duration_seconds_count', { operation: 'play', outcome: 'ok' }),
  ).toBeGreaterThan(0);
  expect(grew('pinverify_dtmf_to_action_seconds_count', {})).toBeGreaterThan(0);
  expect(sample(after, 'pinverify_ari_connected')).toBe(1);
  // The backlog of webhooks and ticket notes, read from Postgres (the lab's sink takes every event).
  expect(after).toMatch(/^pinverify_webhook_deliveries_pending \d+$/m);
  expect(after).toMatch(/^pinverify_webhook_oldest_pending_seconds [0-9.e+-]+$/m);
  expect(after).toMatch(/^pinverify_webhook_endpoints_disabled 0$/m);
  expect(after).toMatch(/^pinverify_ticket_notes_waiting \d+$/m);
  expect(after).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
  // No number, email or code ever becomes a label.
  expect(after).not.toMatch(/\+?1?202555|@example\.com/);
});
