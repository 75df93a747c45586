/**
 * The desk's HTTP API against the real Postgres, through TWO app instances (two admin servers on
 * one database, each on port 0), as browsers reach it: cookies, JSON, server-sent events.
 * Proves sign-in (argon2 passwords, HTTP-only SameSite=Strict cookie, sessions shared by the
 * instances, sign-in failures limited across instances, set-password signing out), the PIN
 * verification tool (ticket required, discouraged override with a reason, right and wrong codes,
 * Completed only after the right code, Incomplete cancelling a pending code, ticket notes with
 * and without the code), limits in words, every action audited with the agent's login, screen
 * pops pushed by the other instance to the right agents only (verified, multi_match with the
 * contacts to pick from), cross-site POSTs refused, and the page served under a strict CSP.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { systemClock } from '../../../src/call/clock';
import { createPasswordHasher } from '../../../src/desk/agent-password';
import type { MeResponse, PopView, VerificationView } from '../../../src/desk/desk-api';
import { createDeskService } from '../../../src/desk/desk-service';
import { createLoginLimiter } from '../../../src/desk/login-limiter';
import { PgAgentStore } from '../../../src/desk/pg-agent-store';
import { recordPops, startPopHub, type PopHub } from '../../../src/desk/screen-pops';
import { createAdminServer } from '../../../src/http/admin-server';
import { createHealthCheck } from '../../../src/http/health-check';
import { createOpsServices } from '../../../src/ops/ops-services';
import { DEMO_AGENT_PASSWORD, DEMO_NUMBERS, loadDemoData } from '../../../src/store/demo-data';
import { writeAuditRecord } from '../../../src/store/pg-audit-trail';
import { PgConfigStore, readSettings } from '../../../src/store/pg-config-store';
import type { TicketNote } from '../../../src/tickets/ticket-connector';
import { createPgVerificationService } from '../../../src/verification/create-pg-verification-service';
import { FakeCodeDelivery } from '../../fakes/fake-code-delivery';
import { freshDatabase, recordingLogger, waitFor } from '../helpers';

const SECRET = 'desk-test-secret-0123456789abcdef';

interface Instance {
  server: FastifyInstance;
  url: string;
  pops: PopHub;
}

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A browser: keeps the session cookie between requests, sends JSON. */
class Browser {
  cookie = '';
  constructor(public base: string) {}
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0] ?? '';
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  async login(login: string, password = DEMO_AGENT_PASSWORD): Promise<Answer<MeResponse>> {
    return this.call<MeResponse>('POST', '/desk/api/login', { login, password });
  }
}

/** Reads a server-sent event stream, collecting `pop` events. */
function openStream(base: string, cookie: string) {
  const pops: PopView[] = [];
  const abort = new AbortController();
  let status = 0;
  const done = (async () => {
    const res = await fetch(`${base}/desk/api/events`, { headers: { cookie }, signal: abort.signal });
    status = res.status;
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split('\n');
        if (lines.some((l) => l === 'event: pop')) {
          const data = lines.find((l) => l.startsWith('data: '));
          if (data) pops.push(JSON.parse(data.slice(6)) as PopView);
        }
      }
    }
  })().catch(() => undefined);
  return {
    pops,
    status: () => status,
    close: async () => {
      abort.abort();
      await done;
    },
  };
}

describe('the desk API (two instances, real Postgres)', () => {
  let pool: Pool;
  const delivery = new FakeCodeDelivery();
  const notes: TicketNote[] = [];
  const instances: Instance[] = [];
  const log = recordingLogger();

  async function startInstance(): Promise<Instance> {
    const config = new PgConfigStore(pool);
    const verifications = createPgVerificationService({ pool, config, delivery, secret: SECRET, log });
    const agents = new PgAgentStore(pool);
    const settings = () => readSettings(pool);
    const pops = startPopHub({ pool, log });
    await pops.ready;
    const server = createAdminServer({
      pool,
      ops: (actor) =>
        createOpsServices({
          pool,
          actor,
          dialplan: () => {
            throw new Error('no PBX in this test');
          },
        }),
      health: createHealthCheck({}),
      log,
      desk: {
        agents,
        hasher: createPasswordHasher(),
        limiter: createLoginLimiter({ pool }),
        service: createDeskService({
          pool,
          verifications,
          agents,
          settings,
          tickets: {
            connector: {
              system: 'zendesk',
              validateRef: (ref) =>
                /^#?\d{1,12}$/.test(ref) ? null : 'a Zendesk ticket number, such as 4711',
            },
            enqueue: async (note) => {
              notes.push(note);
            },
          },
          clock: systemClock,
          secret: SECRET,
          log,
        }),
        pops,
        settings,
        ticketSystem: 'zendesk',
        clock: systemClock,
        secureCookie: false,
        log,
        heartbeatMs: 200,
      },
    });
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    return { server, url, pops };
  }

  const setSetting = (key: string, value: unknown) =>
    pool.query(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
      [key, JSON.stringify(value)],
    );
  const contactId = async (name: string) =>
    (await pool.query<{ id: number }>('SELECT id FROM contacts WHERE name = $1', [name])).rows[0]?.id ?? 0;

  beforeAll(async () => {
    pool = await freshDatabase();
    await loadDemoData(pool);
    instances.push(await startInstance(), await startInstance());
  }, 60_000);

  afterAll(async () => {
    for (const i of instances) {
      await i.server.close();
      await i.pops.close();
    }
    await pool.end();
  });

  beforeEach(async () => {
    await pool.query('DELETE FROM api_rate_limits');
    await setSetting('requireTicket', false);
    await setSetting('ticketNoteIncludesCode', false);
    notes.length = 0;
  });

  const a = () => new Browser(instances[0]?.url ?? '');
  const b = () => new Browser(instances[1]?.url ?? '');

  describe('signing in', () => {
    it('refuses a wrong password, then signs in with an HTTP-only, SameSite=Strict cookie that both instances accept', async () => {
      const browser = a();
      const wrong = await browser.login('sam', 'not-the-password');
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ error: 'invalid_login', message: 'Wrong login or password.' });

      const res = await browser.call<MeResponse>('POST', '/desk/api/login', {
        login: 'sam',
        password: DEMO_AGENT_PASSWORD,
      });
      expect(res.status).toBe(200);
      const cookie = res.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/^pinverify_desk=[A-Za-z0-9_-]{43};/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      expect(cookie).toMatch(/Path=\/desk/);
      expect(res.body.agent).toEqual({
        login: 'sam',
        name: 'Sam Support',
        role: 'agent',
        extensions: ['2001', '2901'],
      });
      expect(res.body.settings).toMatchObject({
        requireTicket: false,
        ticketSystem: 'zendesk',
        codeLength: 6,
      });

      // The session lives in Postgres: the other instance knows it.
      const other = b();
      other.cookie = browser.cookie;
      expect((await other.call('GET', '/desk/api/me')).status).toBe(200);

      // Only the token's hash is stored.
      const token = browser.cookie.split('=')[1] ?? '';
      const stored = await pool.query('SELECT 1 FROM agent_sessions WHERE token_hash = $1', [token]);
      expect(stored.rowCount).toBe(0);

      expect((await other.call('POST', '/desk/api/logout')).status).toBe(204);
      expect((await browser.call('GET', '/desk/api/me')).status).toBe(401);
    });

    it('answers 401 in words without a session, and for a made-up cookie', async () => {
      const browser = a();
      expect(await browser.call('GET', '/desk/api/me')).toMatchObject({
        status: 401,
        body: { error: 'not_signed_in', message: 'Sign in to use the desk.' },
      });
      browser.cookie = 'pinverify_desk=made-up';
      expect((await browser.call('GET', '/desk/api/contacts?q=alice')).status).toBe(401);
    });

    it('limits failed sign-ins per login across both instances, even for the right password then', async () => {
      for (let i = 0; i < 5; i++) {
        const which = i % 2 === 0 ? a() : b();
        expect((await which.login('lee', `wrong-${i}-password`)).status).toBe(401);
      }
      const blocked = await b().login('lee');
      expect(blocked.status).toBe(429);
      expect(blocked.body).toMatchObject({
        error: 'rate_limited',
        message: expect.stringMatching(/try again in \d+ s/) as unknown,
      });
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another login from the same address is not blocked by lee's failures.
      expect((await a().login('sam')).status).toBe(200);
      const failed = await pool.query(
        "SELECT count(*)::int AS n FROM agent_actions WHERE agent_login = 'lee' AND action = 'login.failed'",
      );
      expect(failed.rows[0]).toEqual({ n: 5 });
    });

    it('signs an agent out everywhere when the password changes', async () => {
      const ops = createOpsServices({
        pool,
        actor: 'cli:test',
        dialplan: () => {
          throw new Error('unused');
        },
      });
      await ops.agents.add({
        login: 'tmp',
        name: 'Tmp Agent',
        extensions: '2005',
        role: 'agent',
        password: 'first-password-1',
      });
      const browser = a();
      expect((await browser.login('tmp', 'first-password-1')).status).toBe(200);
      await ops.agents.setPassword('tmp', 'second-password-2');
      expect((await browser.call('GET', '/desk/api/me')).status).toBe(401);
      expect((await browser.login('tmp', 'first-password-1')).status).toBe(401);
      expect((await browser.login('tmp', 'second-password-2')).status).toBe(200);
      await ops.agents.remove('tmp');
      expect((await browser.call('GET', '/desk/api/me')).status).toBe(401);
    });

    it('refuses a POST from another site and serves the page under a strict CSP', async () => {
      const browser = a();
      await browser.login('sam');
      const foreign = await browser.call(
        'POST',
        '/desk/api/verifications',
        { contactId: 1, channel: 'sms' },
        {
          origin: 'http://evil.example',
        },
      );
      expect(foreign.status).toBe(403);
      const page = await fetch(`${instances[0]?.url ?? ''}/desk/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(await page.text()).toMatch(/desk\.js/);
    });
  });

  describe('the PIN verification tool', () => {
    it('finds contacts by name, number and email, masked', async () => {
      const browser = a();
      await browser.login('sam');
      const byName = await browser.call<{ contacts: { name: string; emailMasked: string }[] }>(
        'GET',
        '/desk/api/contacts?q=alice',
      );
      expect(byName.body.contacts).toEqual([
        expect.objectContaining({
          name: 'Alice Example',
          emailMasked: expect.not.stringContaining('alice@') as unknown,
        }),
      ]);
      const byNumber = await browser.call<{ contacts: { name: string }[] }>(
        'GET',
        `/desk/api/contacts?q=${encodeURIComponent('(202) 555-0102')}`,
      );
      expect(byNumber.body.contacts.map((c) => c.name)).toEqual(['Bob Email']);
      const byEmail = await browser.call<{ contacts: { name: string }[] }>(
        'GET',
        '/desk/api/contacts?q=CAROL%40nowhere.example',
      );
      expect(byEmail.body.contacts).toEqual([]);
      const shared = await browser.call<{ contacts: { name: string }[] }>(
        'GET',
        `/desk/api/contacts?q=${encodeURIComponent(DEMO_NUMBERS.shared)}`,
      );
      expect(shared.body.contacts.map((c) => c.name)).toEqual(['Dan Shared', 'Erin Shared']);
    });

    it('needs a ticket when the setting says so, sends, tells right from wrong, and marks Completed only after the right code', async () => {
      await setSetting('requireTicket', true);
      const browser = a();
      await browser.login('sam');
      const alice = await contactId('Alice Example');

      const noTicket = await browser.call('POST', '/desk/api/verifications', {
        contactId: alice,
        channel: 'sms',
      });
      expect(noTicket).toMatchObject({ status: 400, body: { error: 'ticket_required' } });
      const badTicket = await browser.call('POST', '/desk/api/verifications', {
        contactId: alice,
        channel: 'sms',
        ticketRef: 'abc',
      });
      expect(badTicket).toMatchObject({
        status: 400,
        body: { message: expect.stringMatching(/Zendesk ticket number/) as unknown },
      });

      const sent = await browser.call<{ verification: VerificationView; message: string }>(
        'POST',
        '/desk/api/verifications',
        {
          contactId: alice,
          channel: 'sms',
          ticketRef: '4711',
        },
      );
      expect(sent.status).toBe(201);
      expect(sent.body.message).toMatch(/^Code sent by text message to \+\*+0101\. Ask the caller/);
      expect(sent.body.verification).toMatchObject({
        origin: 'agent',
        status: 'pending',
        ticketRef: '4711',
        actor: 'agent:sam',
      });
      const code = delivery.lastCode();
      const id = sent.body.verification.id;
      expect(notes).toEqual([
        expect.objectContaining({
          ticketRef: '4711',
          event: 'code_sent',
          agentLogin: 'sam',
          code: null,
          channel: 'sms',
        }),
      ]);

      // The other instance checks it: the digits the caller reads back.
      const other = b();
      other.cookie = browser.cookie;
      const early = await other.call('POST', `/desk/api/verifications/${id}/outcome`, {
        outcome: 'completed',
      });
      expect(early).toMatchObject({ status: 409, body: { error: 'not_verified' } });
      const wrongCode = code === '000000' ? '111111' : '000000';
      const wrong = await other.call('POST', `/desk/api/verifications/${id}/check`, { code: wrongCode });
      expect(wrong.body).toMatchObject({
        result: 'wrong',
        checksLeft: 2,
        message: 'Wrong code. 2 tries left.',
      });
      const right = await other.call('POST', `/desk/api/verifications/${id}/check`, {
        code: `${code.slice(0, 3)} ${code.slice(3)}`,
      });
      expect(right.body).toMatchObject({ result: 'right', verification: { status: 'approved' } });

      const done = await browser.call<{ verification: VerificationView; message: string }>(
        'POST',
        `/desk/api/verifications/${id}/outcome`,
        {
          outcome: 'completed',
        },
      );
      expect(done.status).toBe(200);
      expect(done.body.verification).toMatchObject({ agentOutcome: 'completed', agentOutcomeBy: 'sam' });
      expect(done.body.message).toBe('Marked Completed; a note goes to ticket 4711.');
      expect(notes.map((n) => n.event)).toEqual(['code_sent', 'completed']);
      const again = await other.call('POST', `/desk/api/verifications/${id}/outcome`, {
        outcome: 'incomplete',
      });
      expect(again).toMatchObject({ status: 409, body: { error: 'already_marked' } });

      const detail = await browser.call<{ verifications: VerificationView[] }>(
        'GET',
        `/desk/api/contacts/${alice}`,
      );
      expect(detail.body.verifications[0]).toMatchObject({
        id,
        statusText: 'Right code: verified',
        agentOutcome: 'completed',
      });

      const actions = await pool.query<{ action: string }>(
        'SELECT action FROM agent_actions WHERE verification_id = $1 ORDER BY id',
        [id],
      );
      expect(actions.rows.map((r) => r.action)).toEqual(['send', 'check', 'check', 'outcome.completed']);
    });

    it('puts the code in the ticket note only when ticketNoteIncludesCode is on', async () => {
      await setSetting('ticketNoteIncludesCode', true);
      const browser = a();
      await browser.login('sam');
      const sent = await browser.call<{ verification: VerificationView }>('POST', '/desk/api/verifications', {
        contactId: await contactId('Bob Email'),
        channel: 'email',
        ticketRef: '#12',
      });
      expect(sent.status).toBe(201);
      expect(notes[0]).toMatchObject({ ticketRef: '#12', channel: 'email', code: delivery.lastCode() });
    });

    it('sends elsewhere only with a reason, audited as an override; Incomplete cancels the pending code', async () => {
      const browser = a();
      await browser.login('sam');
      const carol = await contactId('Carol Sms');
      const noEmail = await browser.call('POST', '/desk/api/verifications', {
        contactId: carol,
        channel: 'email',
      });
      expect(noEmail).toMatchObject({
        status: 400,
        body: { error: 'no_destination', message: 'Carol Sms has no email address on file.' },
      });
      const noReason = await browser.call('POST', '/desk/api/verifications', {
        contactId: carol,
        channel: 'email',
        overrideDestination: 'carol.new@example.org',
      });
      expect(noReason).toMatchObject({ status: 400, body: { error: 'override_reason_required' } });
      const sent = await browser.call<{ verification: VerificationView }>('POST', '/desk/api/verifications', {
        contactId: carol,
        channel: 'email',
        overrideDestination: 'Carol.New@Example.org',
        overrideReason: 'new address, old one closed',
      });
      expect(sent.status).toBe(201);
      expect(delivery.sent.at(-1)?.message.contact.email).toBe('carol.new@example.org');
      expect(sent.body.verification).toMatchObject({
        overrideReason: 'new address, old one closed',
        destinationMasked: expect.not.stringContaining('carol.new') as unknown,
      });
      const audit = await pool.query<{ detail: Record<string, unknown> }>(
        "SELECT detail FROM agent_actions WHERE verification_id = $1 AND action = 'send'",
        [sent.body.verification.id],
      );
      expect(audit.rows[0]?.detail).toMatchObject({
        override: true,
        overrideReason: 'new address, old one closed',
      });
      expect(JSON.stringify(audit.rows)).not.toMatch(/carol\.new@/);

      const incomplete = await browser.call<{ verification: VerificationView }>(
        'POST',
        `/desk/api/verifications/${sent.body.verification.id}/outcome`,
        {
          outcome: 'incomplete',
        },
      );
      expect(incomplete.body.verification).toMatchObject({
        status: 'canceled',
        agentOutcome: 'incomplete',
        statusText: 'Marked Incomplete before the code was read back',
      });
      const late = await browser.call('POST', `/desk/api/verifications/${sent.body.verification.id}/check`, {
        code: delivery.lastCode(),
      });
      expect(late.body).toMatchObject({ result: 'already_decided' });
    });

    it('explains a limit in words: sending the same code again too soon', async () => {
      await setSetting('resendCooldownSeconds', 60);
      const browser = a();
      await browser.login('sam');
      const sent = await browser.call<{ verification: VerificationView }>('POST', '/desk/api/verifications', {
        contactId: await contactId('Alice Example'),
        channel: 'email',
      });
      const again = await b().call(
        'POST',
        `/desk/api/verifications/${sent.body.verification.id}/resend`,
        undefined,
        { cookie: browser.cookie },
      );
      expect(again.status).toBe(429);
      expect(again.body).toMatchObject({
        error: 'rate_limited',
        message: expect.stringMatching(/^Wait \d+ s before sending this code again/) as unknown,
      });
      await setSetting('resendCooldownSeconds', 30);
    });

    it('will not check codes of verifications it did not start (an inbound call checks its own)', async () => {
      const browser = a();
      await browser.login('sam');
      const alice = await contactId('Alice Example');
      const config = new PgConfigStore(pool);
      const service = createPgVerificationService({ pool, config, delivery, secret: SECRET, log });
      const r = await service.start({
        contact: {
          id: alice,
          name: 'Alice Example',
          email: 'alice@example.com',
          mobile: DEMO_NUMBERS.emailAndSms,
        },
        channel: 'sms',
        origin: 'api',
      });
      if (r.kind !== 'sent') throw new Error(r.kind);
      const check = await browser.call('POST', `/desk/api/verifications/${r.verification.id}/check`, {
        code: delivery.lastCode(),
      });
      expect(check).toMatchObject({ status: 409, body: { error: 'not_a_desk_verification' } });
    });
  });

  describe('screen pops', () => {
    async function callThatReachedPinverify(
      outcome: { result: string; reason: string; method: string | null; contactId: number | null },
      candidates?: number[],
    ) {
      const callId = randomUUID();
      const channelId = `${Date.now()}.${Math.floor(Math.random() * 1000)}`;
      const at = new Date();
      await writeAuditRecord(pool, {
        op: 'open',
        call: {
          callId,
          channelId,
          callerMasked: '+1202***0101',
          previousHop: 'pinverify-support-autopin',
          startedAt: at,
        },
      });
      if (candidates)
        await writeAuditRecord(pool, {
          op: 'event',
          uid: randomUUID(),
          callId,
          kind: 'lookup',
          detail: { count: candidates.length, contactIds: candidates },
          at,
        });
      await writeAuditRecord(pool, {
        op: 'close',
        callId,
        at,
        outcome: { ...outcome, route: 'Support', destination: '2001@pinverify-destinations' } as never,
      });
      return { callId, channelId };
    }

    it('pushes a verified call ringing 2001 to Sam (on the other instance) and not to Lee', async () => {
      const sam = a();
      await sam.login('sam');
      const lee = a();
      await lee.login('lee');
      const samStream = openStream(instances[1]?.url ?? '', sam.cookie);
      const leeStream = openStream(instances[1]?.url ?? '', lee.cookie);
      await waitFor(() => (instances[1]?.pops.subscribers() ?? 0) >= 2, 5000);

      const alice = await contactId('Alice Example');
      const call = await callThatReachedPinverify({
        result: 'verified',
        reason: 'ok',
        method: 'sms',
        contactId: alice,
      });
      // Instance A saw the DialBegin (twice: a second instance on the same Asterisk sees it too).
      const dial = { channelIds: [call.channelId], extensions: ['2001', 'lab-agents'] };
      expect(await recordPops(pool, dial)).toHaveLength(1);
      expect(await recordPops(pool, dial)).toHaveLength(0);

      await waitFor(() => samStream.pops.length > 0, 5000);
      expect(samStream.pops[0]).toMatchObject({
        callId: call.callId,
        extension: '2001',
        result: 'verified',
        headline: 'Verified by text message',
        strength: 'strong',
        contact: { id: alice, name: 'Alice Example' },
        route: 'Support',
      });
      expect(JSON.stringify(samStream.pops[0])).not.toMatch(/alice@example|2025550101/);
      const recent = await sam.call<{ pops: PopView[] }>('GET', '/desk/api/pops');
      expect(recent.body.pops[0]?.callId).toBe(call.callId);
      await new Promise((r) => setTimeout(r, 300));
      expect(leeStream.pops).toEqual([]);
      await samStream.close();
      await leeStream.close();
    });

    it('pops a shared number with both contacts to pick from', async () => {
      const sam = b();
      await sam.login('sam');
      const stream = openStream(instances[0]?.url ?? '', sam.cookie);
      await waitFor(() => (instances[0]?.pops.subscribers() ?? 0) >= 1, 5000);
      const ids = [await contactId('Dan Shared'), await contactId('Erin Shared')];
      const call = await callThatReachedPinverify(
        { result: 'failed', reason: 'multi_match', method: null, contactId: null },
        ids,
      );
      await recordPops(pool, { channelIds: ['nothing', call.channelId], extensions: ['2901'] });
      await waitFor(() => stream.pops.length > 0, 5000);
      expect(stream.pops[0]).toMatchObject({
        headline: 'Two contacts share this number: pick one',
        contact: null,
        candidates: [
          expect.objectContaining({ name: 'Dan Shared' }),
          expect.objectContaining({ name: 'Erin Shared' }),
        ],
      });
      await stream.close();
    });

    it('records no pop for a call pinverify did not handle, or an extension no agent answers', async () => {
      expect(await recordPops(pool, { channelIds: ['never-seen'], extensions: ['2001'] })).toEqual([]);
      const call = await callThatReachedPinverify({
        result: 'verified',
        reason: 'ok',
        method: 'email',
        contactId: null,
      });
      expect(await recordPops(pool, { channelIds: [call.channelId], extensions: ['2999'] })).toEqual([]);
    });

    it('ends the stream when the agent is signed out', async () => {
      const ops = createOpsServices({
        pool,
        actor: 'cli:test',
        dialplan: () => {
          throw new Error('unused');
        },
      });
      await ops.agents.add({
        login: 'short',
        name: 'Short Lived',
        extensions: '2001',
        role: 'agent',
        password: 'short-lived-pass',
      });
      const browser = a();
      await browser.login('short', 'short-lived-pass');
      const stream = openStream(instances[0]?.url ?? '', browser.cookie);
      await waitFor(() => stream.status() === 200, 5000);
      const before = instances[0]?.pops.subscribers() ?? 0;
      await ops.agents.remove('short');
      await waitFor(() => (instances[0]?.pops.subscribers() ?? 0) < before, 5000);
      await stream.close();
    });
  });
});
