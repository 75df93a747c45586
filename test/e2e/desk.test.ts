import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import createManager from 'asterisk-manager';
import type { Pool } from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parseDialBegin } from '../../src/desk/dial-begin';
import { createSinkClient, extractCode } from '../../src/lab/sink-client';
import { startWebhookSink, type WebhookSink } from '../../src/lab/webhook-sink';
import { DEMO_AGENT_PASSWORD, DEMO_NUMBERS } from '../../src/store/demo-data';
import {
  connectTestCaller,
  env,
  latestCall,
  openDb,
  parseAgentLine,
  run,
  startAgent,
  waitUntil,
} from './lab-harness';

/**
 * The agent's desk, the way an agent uses it: Debian's chromium (headless, driven by
 * playwright-core) signs in to /desk as Sam (extensions 2001 and 2901) on the running lab.
 * - A caller verified by SMS through 7001 pops on Sam's page as "Verified by text message"
 *   within a second of Asterisk ringing 2001 (AMI DialBegin, heard by this test).
 * - A caller whose number two contacts share pops at 2901 with both contacts to pick from.
 * - With a ticket required, Sam sends Bob a code by email, a wrong code read back shows as
 *   wrong, the right one as right, Completed is recorded, and the Zendesk stand-in holds the note.
 * - A webhook subscriber of its own receives every event signed and in order, including events
 *   that happened while the app was stopped and started again.
 */
jest.setTimeout(240_000);

const ADMIN_URL = `http://127.0.0.1:${process.env.ADMIN_PORT ?? '8090'}`;
const TICKETS_URL = `http://127.0.0.1:${process.env.TICKET_STAND_IN_PORT ?? '8027'}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TESTER_APP = 'pinverify-desk-tester';
const WEBHOOK_SECRET = 'whsec_ZTJlLWRlc2stdGVzdC13ZWJob29rLXNlY3JldC0xMjM0NQ==';

// `npm run desk-screenshots` sets this: the test then saves README's pictures of the desk there.
const SHOTS_DIR = process.env.DESK_SCREENSHOTS_DIR;

const sinks = createSinkClient(env.sinkUrl);
let db: Pool;
let caller: Awaited<ReturnType<typeof connectTestCaller>>;
let browser: BrowserContext;
let userDataDir: string;
let page: Page;
let webhookSink: WebhookSink;
let endpointId = '';
let originalSendsPerHour = '';
const dialBegins: Array<{ at: number; extensions: string[] }> = [];
let amiEvents: ReturnType<typeof createManager>;

function cli(args: string[]) {
  return run('node', ['dist/cli/main.js', ...args], 120_000);
}

async function cliOk(args: string[]): Promise<string> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`pinverify ${args.join(' ')} failed (${r.code}): ${r.output}`);
  return r.output;
}

beforeAll(async () => {
  db = openDb();
  // Bob's address gets codes from other suites in the same hour: room for this one's two.
  const shown = await cliOk(['settings', 'show', 'maxSendsPerDestinationPerHour', '--json']);
  originalSendsPerHour = String((JSON.parse(shown) as { value: number }).value);
  await cliOk(['settings', 'set', 'maxSendsPerDestinationPerHour', '20']);
  // A ticket is required for desk verifications in this test (read by the page at sign-in).
  await cliOk(['settings', 'set', 'requireTicket', 'true']);

  // An endpoint of an earlier run that was killed before its afterAll would only collect retries.
  const listed = JSON.parse(await cliOk(['--json', 'webhooks', 'list'])) as Array<{
    id: number;
    description: string | null;
  }>;
  for (const e of listed.filter((x) => x.description === 'desk e2e'))
    await cliOk(['webhooks', 'remove', String(e.id)]);

  webhookSink = await startWebhookSink({ host: '127.0.0.1', port: 0, secret: WEBHOOK_SECRET });
  const added = JSON.parse(
    await cliOk([
      '--json',
      'webhooks',
      'add',
      webhookSink.url,
      '--secret',
      WEBHOOK_SECRET,
      '--description',
      'desk e2e',
    ]),
  ) as { id: number | string };
  endpointId = String(added.id);

  // The CLI's AMI user hears call events: the moment Asterisk starts ringing an agent phone.
  amiEvents = createManager(5038, '127.0.0.1', env.amiUser, env.amiSecret, true);
  amiEvents.on('dialbegin', (e: Record<string, unknown>) => {
    const d = parseDialBegin(e);
    if (d) dialBegins.push({ at: Date.now(), extensions: d.extensions });
  });

  caller = await connectTestCaller(TESTER_APP);

  userDataDir = mkdtempSync(path.join(tmpdir(), 'pinverify-desk-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  // When each pop first shows with a result: the page's own clock is this machine's clock.
  // (Plain JavaScript: it runs in the page, and this project's types have no DOM.)
  await page.addInitScript({
    content: `
      window.popSeen = {};
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid="pop"]')) {
          const key = (el.dataset.callId || '') + ':' + (el.dataset.result || '');
          if (!(key in window.popSeen)) window.popSeen[key] = Date.now();
        }
      }).observe(document, { subtree: true, childList: true, attributes: true });`,
  });
});

afterAll(async () => {
  await browser?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  caller?.close();
  amiEvents?.disconnect();
  if (endpointId) await cli(['webhooks', 'remove', endpointId]);
  await webhookSink?.close();
  await cli(['settings', 'set', 'requireTicket', 'false']);
  if (originalSendsPerHour)
    await cli(['settings', 'set', 'maxSendsPerDestinationPerHour', originalSendsPerHour]);
  await db?.end();
});

async function shot(name: string): Promise<void> {
  if (!SHOTS_DIR) return;
  await page.waitForTimeout(300); // the arrival highlight settles
  await page.screenshot({ path: path.join(SHOTS_DIR, `desk-${name}.png`) });
}

const popSeenAt = (callId: string, result: string): Promise<number | null> =>
  page.evaluate(`window.popSeen[${JSON.stringify(`${callId}:${result}`)}] ?? null`);

describe('the agent desk in a real browser', () => {
  test('Sam signs in; a wrong password is refused in words', async () => {
    await page.goto(`${ADMIN_URL}/desk/`);
    await page.getByTestId('login-name').fill('sam');
    await page.getByTestId('login-password').fill('not-the-password');
    await page.getByTestId('login-submit').click();
    await page
      .getByTestId('login-error')
      .filter({ hasText: /password/i })
      .waitFor({ timeout: 10_000 });

    await shot('signin');
    await page.getByTestId('login-password').fill(DEMO_AGENT_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('agent-name').getByText('Sam Support').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 10_000 });
  });

  test('a caller verified by SMS through 7001 pops for 2001 within a second of the phone ringing', async () => {
    const since = new Date();
    const before = (await sinks.listMessages(DEMO_NUMBERS.emailAndSms)).at(-1)?.id ?? 0;
    const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-desk-')));
    await new Promise((r) => setTimeout(r, 300)); // let the agent phone bind its port

    const leg = await caller.placeCall(DEMO_NUMBERS.emailAndSms, '7001');
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
    await waitUntil('the call to enter the app', () => caller.appHasCall(), 15_000);
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '2' });
    const msg = await sinks.waitForMessage(DEMO_NUMBERS.emailAndSms, before, 30_000);
    await caller.client.channels.sendDTMF({
      channelId: leg.id,
      dtmf: `${extractCode(msg.body) ?? ''}#`,
      between: 150,
    });
    const seen = await agent;
    expect(parseAgentLine(seen.line)).toMatchObject({ exten: '2001', result: 'verified', method: 'sms' });

    const call = await latestCall(db, DEMO_NUMBERS.emailAndSms.slice(-4), since);
    expect(call).toMatchObject({ result: 'verified', method: 'sms' });
    const callId = call?.call_id ?? '';
    const pop = page.locator(`[data-testid="pop"][data-call-id="${callId}"][data-result="verified"]`);
    await pop.waitFor({ timeout: 5_000 });
    await expect(pop.getByTestId('pop-headline').textContent()).resolves.toMatch(/^Verified by text message/);
    await expect(pop.getByTestId('pop-strength').textContent()).resolves.toMatch(/\S/);
    await expect(pop.textContent()).resolves.toContain('Alice Example');

    const rang = dialBegins.find((d) => d.at >= since.getTime() && d.extensions.includes('2001'));
    expect(rang).toBeDefined();
    const shown = await popSeenAt(callId, 'verified');
    expect(shown).not.toBeNull();
    expect((shown ?? 0) - (rang?.at ?? 0)).toBeLessThanOrEqual(1000);
    await shot('verified-pop');
  });

  test('a caller whose number two contacts share pops at 2901 with both to pick from', async () => {
    const since = new Date();
    const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-desk-')));
    await new Promise((r) => setTimeout(r, 300));
    const leg = await caller.placeCall(DEMO_NUMBERS.shared, '7001');
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
    const seen = await agent;
    expect(parseAgentLine(seen.line)).toMatchObject({
      exten: '2901',
      result: 'failed',
      reason: 'multi_match',
    });

    const call = await latestCall(db, DEMO_NUMBERS.shared.slice(-4), since);
    const pop = page.locator(
      `[data-testid="pop"][data-call-id="${call?.call_id ?? ''}"][data-result="failed"]`,
    );
    await pop.waitFor({ timeout: 5_000 });
    await expect(pop.getByTestId('pop-headline').textContent()).resolves.toMatch(
      /Two contacts share this number/,
    );
    const names = await pop.getByTestId('pop-candidate').allTextContents();
    expect(names.join(' | ')).toMatch(/Dan Shared.*\|.*Erin Shared|Erin Shared.*\|.*Dan Shared/);
    await shot('multi-match');

    // Picking one opens that contact, ready for the verification tool.
    await pop.getByTestId('pop-candidate').filter({ hasText: 'Dan Shared' }).click();
    await page.getByTestId('contact-view').getByTestId('contact-name').getByText('Dan Shared').waitFor();
  });

  test('Bob by email with a ticket required: wrong shows wrong, right then Completed, and Zendesk has the note', async () => {
    const ticket = String(40_000 + Math.floor(Math.random() * 9_999));
    await fetch(`${TICKETS_URL}/requests`, { method: 'DELETE' });
    const before = (await sinks.listMessages('bob@example.com')).at(-1)?.id ?? 0;

    await page.getByTestId('contact-search-input').fill('Bob');
    await page.getByTestId('contact-search-input').press('Enter');
    await page.getByTestId('contact-result').filter({ hasText: 'Bob Email' }).first().click();
    const view = page.getByTestId('contact-view');
    await view.getByTestId('contact-name').getByText('Bob Email').waitFor();

    await view.getByTestId('send-email').check();
    await view.getByTestId('send-code').click();
    await view.locator('[data-testid="send-result"][data-result="ticket_required"]').waitFor();

    await view.getByTestId('ticket-ref').fill(ticket);
    await view.getByTestId('send-code').click();
    await view.locator('[data-testid="send-result"][data-result="sent"]').waitFor({ timeout: 15_000 });
    const mail = await sinks.waitForMessage('bob@example.com', before, 30_000);
    const code = extractCode(mail.body) ?? '';
    expect(code).toMatch(/^[0-9]{6}$/);

    const wrong = code.replace(/.$/, (d) => String((Number(d) + 1) % 10));
    await view.getByTestId('code-input').fill(wrong);
    await view.getByTestId('check-code').click();
    await view.locator('[data-testid="check-result"][data-result="wrong"]').waitFor();
    await shot('code-wrong');
    await expect(view.getByTestId('mark-completed').isDisabled()).resolves.toBe(true);

    await view.getByTestId('code-input').fill(code);
    await view.getByTestId('check-code').click();
    await view.locator('[data-testid="check-result"][data-result="right"]').waitFor();
    await shot('code-right');
    await view.getByTestId('mark-completed').click();
    await view.locator('[data-testid="outcome-result"][data-result="completed"]').waitFor();
    await shot('completed');

    // The notes reach the stand-in through the queue: one on send, one on Completed.
    let notes: Array<{ system: string; ticketId: string; body: unknown }> = [];
    await waitUntil(
      'the Zendesk stand-in to hold both notes',
      async () => {
        const all = (await (await fetch(`${TICKETS_URL}/requests`)).json()) as typeof notes;
        notes = all.filter((n) => n.system === 'zendesk' && n.ticketId === ticket);
        return notes.length >= 2;
      },
      30_000,
    );
    const text = notes.map((n) => JSON.stringify(n.body)).join('\n');
    expect(text).toMatch(/Completed/);
    expect(text).toMatch(/sam/i);
    expect(text).not.toContain('bob@example.com'); // masked
    expect(text).not.toContain(code); // ticketNoteIncludesCode is off by default
    const body = notes[0]?.body as { ticket?: { comment?: { public?: boolean } } };
    expect(body.ticket?.comment?.public).toBe(false);

    const row = await db.query<{ agent_outcome: string; ticket_ref: string; status: string }>(
      `SELECT agent_outcome, ticket_ref, status FROM verifications
        WHERE origin = 'agent' ORDER BY created_at DESC LIMIT 1`,
    );
    expect(row.rows[0]).toEqual({ agent_outcome: 'completed', ticket_ref: ticket, status: 'approved' });
  });

  test('the webhook subscriber gets every event signed and in order, across an app restart', async () => {
    // Events while the app is down are written by Postgres triggers and wait there.
    expect((await run('bash', ['scripts/lab.sh', 'app-stop'], 60_000)).code).toBe(0);
    const out = await cliOk([
      '--json',
      'verifications',
      'start',
      '--channel',
      'email',
      '--to',
      'bob@example.com',
    ]);
    const started = JSON.parse(out) as { id: string };
    expect((await run('bash', ['scripts/lab.sh', 'app-start'], 120_000)).code).toBe(0);

    const expected = async () =>
      (
        await db.query<{ event_id: string }>(
          `SELECT e.id AS event_id FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
            WHERE d.endpoint_id = $1 ORDER BY e.seq`,
          [endpointId],
        )
      ).rows.map((r) => r.event_id);
    let want: string[] = [];
    await waitUntil(
      'every event to reach the subscriber',
      async () => {
        want = await expected();
        const got = new Set(webhookSink.deliveries().map((d) => d.id));
        return want.length > 0 && want.every((id) => got.has(id));
      },
      60_000,
    );
    const deliveries = webhookSink.deliveries();
    expect(deliveries.every((d) => d.verified)).toBe(true);
    // In order: the first arrival of each event follows the events' commit order.
    const firstArrival = [...new Set(deliveries.map((d) => d.id))];
    expect(firstArrival).toEqual(want);

    const types = deliveries.map((d) => d.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'call.ended',
        'verification.pending',
        'verification.approved',
        'verification.completed',
      ]),
    );
    // The one started while the app was down arrived too.
    expect(
      deliveries.some(
        (d) => d.type === 'verification.pending' && (d.data as { id?: string }).id === started.id,
      ),
    ).toBe(true);
    // Thin payloads: no code, no full number or address.
    const all = JSON.stringify(deliveries);
    expect(all).not.toContain('bob@example.com');
    expect(all).not.toContain(DEMO_NUMBERS.emailAndSms);
  });
});
