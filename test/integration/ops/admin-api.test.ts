/**
 * The admin HTTP API end to end: createAdminServer listening on a real port with the real pool,
 * the real ops services and the real AMI dialplan checker against the lab's Asterisk. Proves
 * every endpoint's happy path, API key checks (missing, wrong, malformed, revoked), refusals
 * naming their fields (400), unknown ids and paths (404), duplicates (409), ?force=true, CSV
 * imports, the OpenAPI document, health (fake probes), a dead database or PBX as 503, an
 * internal error as a bare 500, and that no answer ever carries a stack trace.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { createAmiClient } from '../../../src/ami/ami-client';
import { createAmiDialplanChecker, type AmiDialplanChecker } from '../../../src/ami/ami-dialplan-checker';
import { ENDPOINTS } from '../../../src/http/admin-endpoints';
import { createAdminServer } from '../../../src/http/admin-server';
import { createHealthCheck, type HealthProbe, type HealthReport } from '../../../src/http/health-check';
import { createPgRequestLimiter } from '../../../src/http/request-limiter';
import { buildOpenApi } from '../../../src/http/openapi';
import type { FlowSettings, Route } from '../../../src/domain';
import { extractCode, type SinkMessage } from '../../../src/lab/sink-client';
import type { CallSummary } from '../../../src/ops/call-history';
import type { ImportReport, NumberLookup } from '../../../src/ops/contact-admin';
import { createOpsServices } from '../../../src/ops/ops-services';
import type { Saved } from '../../../src/ops/route-admin';
import type { TemplateView } from '../../../src/ops/template-admin';
import type { VerificationView } from '../../../src/ops/verification-admin';
import { SETTING_KEYS } from '../../../src/ops/settings-admin';
import { createDeliveryFromConfig, senderConfigSchema } from '../../../src/senders/delivery-from-config';
import type { RenderedMessage } from '../../../src/senders/render-template';
import type { ContactWithPhones } from '../../../src/store/pg-contact-admin';
import { checkDb, createPool } from '../../../src/store/db';
import { loadMigrations } from '../../../src/store/migrate';
import {
  DEMO_NEW_DEPARTMENT_HOP,
  DEMO_NUMBERS,
  DEMO_ROUTES,
  loadDemoData,
} from '../../../src/store/demo-data';
import { writeAuditRecord } from '../../../src/store/pg-audit-trail';
import { PgConfigStore, startConfigListener, type ConfigListener } from '../../../src/store/pg-config-store';
import { createPgVerificationService } from '../../../src/verification/create-pg-verification-service';
import type { VerificationService } from '../../../src/verification/verification-service';
import { freshDatabase, reseedConfig, recordingLogger, testPool, UNREACHABLE_DATABASE_URL } from '../helpers';
import { senderEnv, startLabSinks, type LabSinks } from '../senders/start-lab-sinks';
import { AMI_ENV, STACK_LINE } from './cli-harness';

const VERSION = '9.8.7-test';
const LATEST_MIGRATION = loadMigrations().at(-1)?.name ?? '';
const KEY_NAME = 'admin-api-test';
const SALES = DEMO_NEW_DEPARTMENT_HOP;
const SALES_ROUTE = {
  title: 'Sales PIN verification',
  previousHop: SALES,
  successDestination: '2003',
  failedDestination: '2903',
};

const AMI = {
  host: AMI_ENV.AMI_HOST,
  port: Number(AMI_ENV.AMI_PORT),
  user: AMI_ENV.AMI_USER,
  secret: AMI_ENV.AMI_SECRET,
};

interface Problem {
  field: string;
  message: string;
}

/** What every refusal looks like. */
interface ErrorBody {
  error: string;
  message: string;
  problems: Problem[];
}

interface Answer<T> {
  status: number;
  /** Parsed JSON (as the test expects it to be: the assertions check it), or the text. */
  body: T;
  text: string;
  contentType: string | null;
  retryAfter: string | null;
}

/** Every body answered in this file, checked for stack traces at the end. */
const answered: string[] = [];
/** Every request that succeeded, to check at the end that each endpoint was exercised. */
const succeeded: { method: string; path: string }[] = [];

function record<T>(
  status: number,
  text: string,
  contentType: string | null,
  retryAfter: string | null = null,
): Answer<T> {
  answered.push(text);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status, body: body as T, text, contentType, retryAfter };
}

interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, with contentType. */
  raw?: string;
  contentType?: string;
  /** The API key; null sends none. Default: the test's key. */
  key?: string | null;
  headers?: Record<string, string>;
}

function requestHeaders(defaultKey: string, o: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = { ...o.headers };
  const key = o.key === undefined ? defaultKey : o.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (o.body !== undefined || o.raw !== undefined)
    headers['content-type'] = o.contentType ?? 'application/json';
  return headers;
}

function payload(o: RequestOptions): string | undefined {
  return o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
}

/** Whether a problem names `word`, in its field or its message. */
function mentions(problems: readonly Problem[], word: string): boolean {
  return problems.some((p) => `${p.field} ${p.message}`.includes(word));
}

/** A request to `baseUrl` through a real socket. */
async function send<T = ErrorBody>(
  baseUrl: string,
  key: string,
  method: string,
  url: string,
  o: RequestOptions = {},
): Promise<Answer<T>> {
  const res = await fetch(`${baseUrl}${url}`, { method, headers: requestHeaders(key, o), body: payload(o) });
  if (res.ok) succeeded.push({ method, path: url.split('?')[0] ?? url });
  return record<T>(
    res.status,
    await res.text(),
    res.headers.get('content-type'),
    res.headers.get('retry-after'),
  );
}

/**
 * Starts `server` on a free port for one request (app.inject cannot be used under jest: its
 * cookie dependency ships ESM only), then closes it.
 */
async function once<T = ErrorBody>(
  server: FastifyInstance,
  key: string,
  method: string,
  url: string,
  o: RequestOptions = {},
): Promise<Answer<T>> {
  const baseUrl = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    return await send<T>(baseUrl, key, method, url, o);
  } finally {
    await server.close();
  }
}

/** Full addresses of the demo contacts, which no verification answer may carry (only masked). */
const FULL_ADDRESSES = [
  'alice@example.com',
  DEMO_NUMBERS.emailAndSms,
  DEMO_NUMBERS.emailAndSms.slice(2),
  'bob@example.com',
  DEMO_NUMBERS.smsOnly,
  DEMO_NUMBERS.smsOnly.slice(2),
];

/**
 * What in `texts` gives away a secret: a code (as a run of digits of its own, ids left out),
 * a code hash, or a full number or email address.
 */
function leaks(texts: readonly string[], codes: readonly string[], hashes: readonly string[]): string[] {
  const found: string[] = [];
  for (const text of texts) {
    const lower = text.toLowerCase();
    const withoutIds = text.replace(/VE[0-9a-f]{32}/g, 'VE<id>');
    for (const code of codes)
      if (new RegExp(`(?<!\\d)${code}(?!\\d)`).test(withoutIds)) found.push(`code ${code} in ${text}`);
    for (const hash of hashes) if (lower.includes(hash.toLowerCase())) found.push(`code hash in ${text}`);
    for (const address of FULL_ADDRESSES)
      if (lower.includes(address.toLowerCase())) found.push(`${address} in ${text}`);
  }
  return found;
}

/** A code the person did not receive: the right one with its first digit changed. */
function wrongCode(code: string): string {
  return `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
}

const ALICE_MOBILE = DEMO_NUMBERS.emailAndSms;
const NO_VERIFICATION = `VE${'0'.repeat(32)}`;

/** The code secret of the app instances in this file (16+ characters, as the app requires). */
const CODE_SECRET = 'admin-api-test-code-secret';

/**
 * What an app instance builds for verifications, as src/main.ts does: its own config cache kept
 * fresh by NOTIFY, the real senders (nodemailer, twilio) pointed at the in-process sinks, and
 * the verification service on `pool`.
 */
interface AppInstance {
  pool: Pool;
  config: PgConfigStore;
  service: VerificationService;
  /**
   * Resolves once this instance reads settings that pass `check`: it learns of a change by
   * NOTIFY, like the app, so the test waits for that notification (bounded), never a fixed time.
   */
  sees(check: (s: FlowSettings) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function appInstance(pool: Pool, sinks: LabSinks): Promise<AppInstance> {
  const config = new PgConfigStore(pool);
  const waiters = new Set<() => void>();
  const listener: ConfigListener = startConfigListener(pool, {
    invalidate() {
      config.invalidate();
      for (const wake of [...waiters]) wake();
    },
  });
  await listener.ready;
  const delivery = createDeliveryFromConfig(senderConfigSchema.parse(senderEnv(sinks)), config);
  const service = createPgVerificationService({
    pool,
    config,
    delivery,
    secret: CODE_SECRET,
    log: recordingLogger(),
  });
  return {
    pool,
    config,
    service,
    async sees(check, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // Armed before reading, so a notification that lands during the read is not missed.
        let wake: () => void = () => undefined;
        const notified = new Promise<void>((resolve) => {
          wake = resolve;
          waiters.add(resolve);
        });
        try {
          if (check(await config.getSettings())) return;
          const left = deadline - Date.now();
          if (left <= 0)
            throw new Error(`the app instance did not see the settings change within ${timeoutMs} ms`);
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            notified,
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, left);
            }),
          ]);
          clearTimeout(timer);
        } finally {
          waiters.delete(wake);
        }
      }
    },
    async close() {
      await listener.close();
      config.close();
    },
  };
}

describe('admin HTTP API', () => {
  let pool: Pool;
  let checker: AmiDialplanChecker;
  let app: FastifyInstance;
  let baseUrl: string;
  let key: string;
  let sinks: LabSinks;
  let instance: AppInstance;
  const log = recordingLogger();

  /** Through the real socket. */
  function api<T = ErrorBody>(method: string, url: string, o: RequestOptions = {}): Promise<Answer<T>> {
    return send<T>(baseUrl, key, method, url, o);
  }

  async function lastChange(): Promise<Record<string, unknown> | undefined> {
    const { rows } = await pool.query(
      'SELECT actor, action, subject FROM config_changes ORDER BY id DESC LIMIT 1',
    );
    return rows[0] as Record<string, unknown> | undefined;
  }

  beforeAll(async () => {
    pool = await freshDatabase();
    sinks = await startLabSinks();
    instance = await appInstance(pool, sinks);
    checker = createAmiDialplanChecker({
      ami: createAmiClient({ ...AMI, onError: () => undefined }),
      app: process.env.ARI_APP || 'pinverify',
      ownsAmi: true,
    });
    app = createAdminServer({
      pool,
      ops: (actor) =>
        createOpsServices({ pool, actor, dialplan: () => checker, verifications: () => instance.service }),
      health: createHealthCheck({
        async postgres() {
          const db = await checkDb(pool);
          if (!db.ok) throw new Error(db.error);
          return `PostgreSQL ${db.serverVersion}, schema ${db.schemaVersion ?? 'not migrated'}`;
        },
      }),
      log,
      version: VERSION,
    });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    key = (
      await createOpsServices({ pool, actor: 'cli:test', dialplan: () => checker }).apiKeys.create(KEY_NAME)
    ).key;
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE routes, contacts, calls, config_changes CASCADE');
    // DELETE, not TRUNCATE: these hold a few rows, and each truncated table costs file operations.
    await pool.query(
      'DELETE FROM verifications; DELETE FROM verification_sends; DELETE FROM verification_failures',
    );
    await reseedConfig(pool);
    await loadDemoData(pool);
    // The settings were reset behind the app's back (as by a restart): read them afresh.
    instance.config.invalidate();
    log.entries.length = 0;
    await sinks.client.clear();
    await sinks.client.setFaults({ smtp: 'ok', sms: 'ok' });
  });
  afterAll(async () => {
    await app.close();
    checker.close();
    await instance.close();
    await sinks.close();
    await pool.end();
  });

  describe('without an API key', () => {
    it('serves the OpenAPI document, built from the endpoint table', async () => {
      const res = await api<{ paths: Record<string, object> }>('GET', '/v1/openapi.json', { key: null });
      expect(res.status).toBe(200);
      expect(res.contentType).toContain('application/json');
      expect(res.body).toEqual(JSON.parse(JSON.stringify(buildOpenApi(ENDPOINTS, VERSION))));
      expect(res.body).toMatchObject({ openapi: '3.1.0', info: { version: VERSION } });
      expect(Object.keys(res.body.paths['/v1/routes'] ?? {}).sort()).toEqual(['get', 'post']);
    });

    it('serves health: liveness and the status to anyone, the checks only with a key', async () => {
      const live = await api('GET', '/v1/health/live', { key: null });
      expect([live.status, live.text]).toEqual([200, '{"status":"ok"}']);
      const open = await api('GET', '/v1/health', { key: null });
      expect([open.status, open.text]).toEqual([200, '{"status":"ok"}']);
      const res = await api('GET', '/v1/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        checks: {
          postgres: { ok: true, detail: expect.stringContaining(LATEST_MIGRATION) as unknown },
        },
      });
      const bad = await api('GET', '/v1/health', { key: 'pvk_not-a-key' });
      expect(bad.status).toBe(401);
    });
  });

  describe('API keys', () => {
    it('refuses a request without a key, saying how to send one', async () => {
      const res = await api('GET', '/v1/routes', { key: null });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: 'unauthorized',
        message:
          'missing API key: send Authorization: Bearer <key> (create one with `pinverify api-keys create <name>`)',
      });
    });

    it('refuses a wrong key and a malformed one, logging only the prefix', async () => {
      const wrong = `${key.slice(0, -4)}AAAA`;
      const res = await api('GET', '/v1/routes', { key: wrong });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'unauthorized', message: 'unknown or revoked API key' });
      expect(log.entries).toEqual([
        {
          level: 'warn',
          msg: 'admin API: refused API key',
          meta: expect.objectContaining({ prefix: wrong.slice(0, 16) }) as unknown,
        },
      ]);
      expect(JSON.stringify(log.entries)).not.toContain(wrong.slice(17));
      expect((await api('GET', '/v1/routes', { key: 'not-a-key' })).status).toBe(401);
      expect(
        (await api('GET', '/v1/routes', { key: null, headers: { authorization: `Basic ${key}` } })).status,
      ).toBe(401);
    });

    it('checks the key before anything else', async () => {
      const res = await api('POST', '/v1/routes?force=maybe', { key: null, body: { colour: 'red' } });
      expect(res.status).toBe(401);
    });

    it('holds each key to its scope: read only GETs, contacts the people, admin everything (403 naming both)', async () => {
      const ops = createOpsServices({ pool, actor: 'cli:test', dialplan: () => checker });
      const reader = await ops.apiKeys.create(`reader-${randomUUID().slice(0, 8)}`, 'read');
      const crm = await ops.apiKeys.create(`crm-${randomUUID().slice(0, 8)}`, 'contacts');
      expect((await api('GET', '/v1/settings', { key: reader.key })).status).toBe(200);
      expect((await api('GET', '/v1/health', { key: reader.key })).status).toBe(200);
      const refused = await api('POST', '/v1/contacts', {
        key: reader.key,
        body: { name: 'Nope', phones: ['+12025550170'] },
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({
        error: 'forbidden',
        message: `API key ${reader.name} has scope read; POST /v1/contacts needs scope contacts`,
      });
      const added = await api<ContactWithPhones>('POST', '/v1/contacts', {
        key: crm.key,
        body: { name: 'Scoped Sam', phones: ['+12025550171'] },
      });
      expect(added.status).toBe(201);
      expect((await api('DELETE', `/v1/contacts/${added.body.id}`, { key: crm.key })).status).toBe(200);
      const settings = await api('PATCH', '/v1/settings', { key: crm.key, body: { companyName: 'X' } });
      expect(settings.status).toBe(403);
      expect(settings.body.message).toContain('needs scope admin');
      // Nothing changed behind a refusal.
      expect((await pool.query(`SELECT 1 FROM contacts WHERE name = 'Nope'`)).rowCount).toBe(0);
    });

    it('refuses a revoked key at once', async () => {
      const ops = createOpsServices({ pool, actor: 'cli:test', dialplan: () => checker });
      const temp = await ops.apiKeys.create(`temp-${randomUUID().slice(0, 8)}`);
      expect((await api('GET', '/v1/settings', { key: temp.key })).status).toBe(200);
      await ops.apiKeys.revoke(temp.name);
      const res = await api('GET', '/v1/settings', { key: temp.key });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('unknown or revoked API key');
    });

    it('takes the key from X-API-Key too, and records when it was last used', async () => {
      await pool.query('UPDATE api_keys SET last_used_at = NULL');
      const res = await api('GET', '/v1/routes', { key: null, headers: { 'x-api-key': key } });
      expect(res.status).toBe(200);
      const { rows } = await pool.query<{ last_used_at: Date | null }>(
        'SELECT last_used_at FROM api_keys WHERE name = $1',
        [KEY_NAME],
      );
      expect(rows[0]?.last_used_at).toBeInstanceOf(Date);
    });
  });

  describe('routes', () => {
    it('lists, adds, shows, changes and removes a route, recording the key as actor', async () => {
      const list = await api<Route[]>('GET', '/v1/routes');
      expect(list.status).toBe(200);
      expect(list.body.map((r) => r.previousHop)).toEqual([
        DEMO_ROUTES.accounting.previousHop,
        DEMO_ROUTES.billing.previousHop,
        DEMO_ROUTES.fraud.previousHop,
        DEMO_ROUTES.support.previousHop,
      ]);

      const added = await api<Saved<Route>>('POST', '/v1/routes', { body: SALES_ROUTE });
      expect(added.status).toBe(201);
      expect(added.body).toEqual({
        value: { id: expect.any(Number) as unknown, ...SALES_ROUTE, enabled: true, mode: 'otp' },
        warnings: [],
      });
      expect(await lastChange()).toEqual({ actor: `api:${KEY_NAME}`, action: 'route.add', subject: SALES });
      const id = added.body.value.id;

      expect((await api('GET', `/v1/routes/${id}`)).body).toEqual(added.body.value);
      expect((await api('GET', `/v1/routes/${SALES}`)).body).toEqual(added.body.value);

      const patched = await api<Saved<Route>>('PATCH', `/v1/routes/${SALES}`, {
        body: { title: 'Sales', enabled: false },
      });
      expect(patched.status).toBe(200);
      expect(patched.body.value).toMatchObject({ id, title: 'Sales', enabled: false });
      expect(await lastChange()).toMatchObject({ action: 'route.update' });

      const removed = await api('DELETE', `/v1/routes/${id}`);
      expect(removed.status).toBe(200);
      expect(removed.body).toMatchObject({ id, title: 'Sales' });
      expect((await api('GET', `/v1/routes/${id}`)).status).toBe(404);
    });

    it('sets a route mode (otp, pin, pin_then_otp) and refuses others', async () => {
      const hop = DEMO_ROUTES.support.previousHop;
      const pin = await api<Saved<Route>>('PATCH', `/v1/routes/${hop}`, { body: { mode: 'pin' } });
      expect(pin.status).toBe(200);
      expect(pin.body.value).toMatchObject({ previousHop: hop, mode: 'pin' });
      const bad = await api('PATCH', `/v1/routes/${hop}`, { body: { mode: 'voice' } });
      expect(bad.status).toBe(400);
      expect(bad.body.problems).toEqual([
        { field: 'mode', message: 'mode must be one of otp, pin, pin_then_otp' },
      ]);
      expect(
        (await api<Saved<Route>>('PATCH', `/v1/routes/${hop}`, { body: { mode: 'otp' } })).body.value.mode,
      ).toBe('otp');
    });

    it('refuses unknown fields and an empty title, naming each', async () => {
      const res = await api('POST', '/v1/routes', { body: { ...SALES_ROUTE, title: ' ', colour: 'red' } });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid');
      expect(res.body.problems).toEqual([
        { field: 'title', message: 'must not be empty' },
        { field: 'colour', message: 'unknown field colour' },
      ]);
    });

    it('refuses a destination missing from the running dialplan; ?force=true saves it with a warning', async () => {
      const body = { ...SALES_ROUTE, failedDestination: '9999' };
      const refused = await api('POST', '/v1/routes', { body });
      expect(refused.status).toBe(400);
      expect(refused.body.problems).toEqual([
        {
          field: 'failedDestination',
          message:
            'extension 9999 is not in context "pinverify-destinations"; use --force (API: ?force=true) to save without the check',
        },
      ]);
      expect((await pool.query('SELECT 1 FROM routes WHERE previous_hop = $1', [SALES])).rowCount).toBe(0);

      const forced = await api<Saved<Route>>('POST', '/v1/routes?force=true', { body });
      expect(forced.status).toBe(201);
      expect(forced.body.warnings).toEqual([
        'failedDestination: extension 9999 is not in context "pinverify-destinations" (saved anyway, --force)',
      ]);
      expect(forced.body.value.failedDestination).toBe('9999');
    });

    it('refuses a bad force flag in the query', async () => {
      const res = await api('POST', '/v1/routes?force=yes', { body: SALES_ROUTE });
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual([{ field: 'query.force', message: 'expected true or false' }]);
    });

    it('refuses a duplicate previous hop with 409', async () => {
      const res = await api('POST', '/v1/routes', {
        body: { ...SALES_ROUTE, previousHop: DEMO_ROUTES.support.previousHop },
      });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        error: 'conflict',
        message: `previousHop: a route for previous hop ${DEMO_ROUTES.support.previousHop} already exists`,
        problems: [
          { field: 'previousHop', message: `a route for ${DEMO_ROUTES.support.previousHop} already exists` },
        ],
      });
    });

    it('answers 404 for an unknown route id or previous hop, whatever the method', async () => {
      const get = await api('GET', '/v1/routes/99999');
      expect(get.status).toBe(404);
      expect(get.body).toEqual({ error: 'not_found', message: 'no route with id 99999' });
      expect((await api('PATCH', '/v1/routes/no-such-hop', { body: { title: 'X' } })).status).toBe(404);
      expect((await api('DELETE', '/v1/routes/no-such-hop')).status).toBe(404);
    });

    it('refuses a PATCH that changes nothing', async () => {
      const res = await api('PATCH', `/v1/routes/${DEMO_ROUTES.support.previousHop}`, { body: {} });
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual([
        { field: 'body', message: 'nothing to change: give at least one field' },
      ]);
    });
  });

  describe('malformed requests', () => {
    it('answers invalid JSON with 400 and no parser internals', async () => {
      const res = await api('POST', '/v1/routes', {
        raw: '{"title": "x",',
        contentType: 'application/json',
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid', message: 'the body is not valid JSON' });
    });

    it('answers an empty body with 400', async () => {
      const res = await api('POST', '/v1/routes', { key, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid');
      expect(res.body.message).toContain('the body is empty');
    });

    it('answers an unsupported content type with 415 naming it', async () => {
      const res = await api('POST', '/v1/routes', { raw: '<route/>', contentType: 'application/xml' });
      expect(res.status).toBe(415);
      expect(res.body.message).toContain('unsupported content type application/xml');
    });

    it('answers an unknown path with 404 pointing at the OpenAPI document', async () => {
      const res = await api('GET', '/v1/nope?x=1');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error: 'not_found',
        message: 'no endpoint GET /v1/nope; see GET /v1/openapi.json',
      });
    });
  });

  describe('settings', () => {
    it('shows every setting and changes several in one request', async () => {
      const shown = await api('GET', '/v1/settings');
      expect(shown.status).toBe(200);
      expect(shown.body).toHaveLength(SETTING_KEYS.length);
      expect(SETTING_KEYS.length).toBeGreaterThanOrEqual(30);
      const res = await api('PATCH', '/v1/settings', { body: { codeLength: 8, companyName: 'ACME' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        changed: ['codeLength', 'companyName'],
        value: { codeLength: 8 },
        warnings: [],
      });
      const { rows } = await pool.query(`SELECT value FROM settings WHERE key = 'codeLength'`);
      expect(rows).toEqual([{ value: 8 }]);
      expect(await lastChange()).toEqual({
        actor: `api:${KEY_NAME}`,
        action: 'settings.set',
        subject: 'codeLength,companyName',
      });
    });

    it('refuses an unknown key with the key it probably meant, and a number sent as text', async () => {
      const typo = await api('PATCH', '/v1/settings', { body: { codelenght: 5 } });
      expect(typo.status).toBe(400);
      expect(typo.body.problems).toEqual([
        { field: 'codelenght', message: 'unknown setting (did you mean codeLength?)' },
      ]);
      const text = await api('PATCH', '/v1/settings', { body: { codeLength: '8' } });
      expect(text.status).toBe(400);
      expect(text.body.problems).toEqual([
        { field: 'codeLength', message: 'expected a whole number, got "8"' },
      ]);
      const { rows } = await pool.query(`SELECT value FROM settings WHERE key = 'codeLength'`);
      expect(rows).toEqual([{ value: 6 }]);
    });

    it('checks a destination setting against the dialplan, unless forced', async () => {
      const refused = await api('PATCH', '/v1/settings', { body: { defaultSuccessDestination: '9999' } });
      expect(refused.status).toBe(400);
      expect(refused.body.problems[0]?.field).toBe('defaultSuccessDestination');
      expect(refused.body.problems[0]?.message).toContain(
        'extension 9999 is not in context "pinverify-destinations"',
      );
      const forced = await api<{ warnings: string[] }>('PATCH', '/v1/settings?force=true', {
        body: { defaultSuccessDestination: '9999' },
      });
      expect(forced.status).toBe(200);
      expect(forced.body.warnings).toHaveLength(1);
    });
  });

  describe('templates', () => {
    it('shows both templates or one, and changes a template', async () => {
      const both = await api<TemplateView[]>('GET', '/v1/templates');
      expect(both.body.map((t) => t.channel)).toEqual(['email', 'sms']);
      const sms = await api('GET', '/v1/templates/sms');
      expect(sms.body).toMatchObject({ channel: 'sms', stored: true, problems: [] });
      const res = await api('PATCH', '/v1/templates/sms', { body: { text: '{company}: {code}' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ channel: 'sms', text: '{company}: {code}', subject: null });
      const email = await api('PATCH', '/v1/templates/email', { body: { html: null } });
      expect(email.body).toMatchObject({ channel: 'email', html: null });
      expect(await lastChange()).toEqual({
        actor: `api:${KEY_NAME}`,
        action: 'template.set',
        subject: 'email',
      });
    });

    it('refuses an unknown placeholder, a missing {code}, an unknown field and an SMS subject', async () => {
      const placeholder = await api('PATCH', '/v1/templates/sms', { body: { text: 'Hi {nmae}: {code}' } });
      expect(placeholder.status).toBe(400);
      expect(placeholder.body.problems).toEqual([
        { field: 'text', message: 'unknown placeholder {nmae} (known: {code} {name} {company} {minutes})' },
      ]);
      const noCode = await api('PATCH', '/v1/templates/sms', { body: { text: 'Call us' } });
      expect(noCode.body.problems).toEqual([{ field: 'text', message: 'missing the {code} placeholder' }]);
      const field = await api('PATCH', '/v1/templates/sms', { body: { txt: '{code}' } });
      expect(field.body.problems).toEqual([{ field: 'txt', message: 'unknown field txt' }]);
      const subject = await api('PATCH', '/v1/templates/sms', { body: { subject: 'Hi' } });
      expect(subject.body.problems).toEqual([
        { field: 'subject', message: 'an SMS template has only a text' },
      ]);
      const channel = await api('PATCH', '/v1/templates/fax', { body: { text: '{code}' } });
      expect(channel.status).toBe(400);
      expect(channel.body.problems).toEqual([{ field: 'channel', message: 'expected email or sms' }]);
      expect((await api<TemplateView>('GET', '/v1/templates/sms')).body.text).toContain(
        'your verification code is {code}',
      );
    });

    it('previews a draft with sample values without saving it', async () => {
      const res = await api<{ rendered: RenderedMessage }>('POST', '/v1/templates/sms/preview', {
        body: { draft: { text: '{name}, {company} code {code}' }, values: { code: '4242', name: 'Zoe' } },
      });
      expect(res.status).toBe(200);
      expect(res.body.rendered).toEqual({ subject: null, text: 'Zoe, Example Corp code 4242', html: null });
      expect((await api<TemplateView>('GET', '/v1/templates/sms')).body.text).not.toContain('Zoe');
      const bad = await api('POST', '/v1/templates/sms/preview', { body: { values: { code: 'abc' } } });
      expect(bad.status).toBe(400);
      expect(bad.body.problems).toEqual([{ field: 'values.code', message: 'digits only' }]);
    });
  });

  describe('contacts', () => {
    it('lists, searches, adds, looks up and removes contacts', async () => {
      expect((await api('GET', '/v1/contacts')).body).toHaveLength(5);
      const shared = await api<ContactWithPhones[]>('GET', '/v1/contacts?search=Shared');
      expect(shared.body.map((c) => c.name)).toEqual(['Dan Shared', 'Erin Shared']);

      const added = await api<ContactWithPhones>('POST', '/v1/contacts', {
        body: { name: 'Zoe Zed', email: 'zoe@example.com', phones: ['(202) 555-0160'] },
      });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ name: 'Zoe Zed', phones: ['+12025550160'], mobile: null });

      const lookup = await api<NumberLookup>(
        'GET',
        `/v1/contacts/lookup?number=${encodeURIComponent(DEMO_NUMBERS.shared)}`,
      );
      expect(lookup.status).toBe(200);
      expect(lookup.body).toMatchObject({ verdict: 'multi_match', e164: DEMO_NUMBERS.shared });
      expect(lookup.body.matches.map((c) => c.name)).toEqual(['Dan Shared', 'Erin Shared']);

      const removed = await api('DELETE', `/v1/contacts/${added.body.id}`);
      expect(removed.status).toBe(200);
      expect((await api('DELETE', `/v1/contacts/${added.body.id}`)).status).toBe(404);
      expect(await lastChange()).toMatchObject({ actor: `api:${KEY_NAME}`, action: 'contact.remove' });
    });

    it('refuses a bad contact naming each field, and a lookup without a number', async () => {
      const res = await api('POST', '/v1/contacts', {
        body: { name: '', email: 'x@', phones: ['555'], age: 3 },
      });
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual(
        expect.arrayContaining([
          { field: 'name', message: 'must not be empty' },
          { field: 'email', message: 'not an email address' },
        ]),
      );
      // The unknown field is named (see the report: today as field "contact", zod's wording).
      expect(mentions(res.body.problems, 'age')).toBe(true);
      const lookup = await api('GET', '/v1/contacts/lookup');
      expect(lookup.status).toBe(400);
      expect(lookup.body.problems).toEqual([{ field: 'query.number', message: 'number is required' }]);
    });

    const CSV = [
      'name,email,mobile,phones',
      'Nora New,nora@example.com,+12025550150,',
      'Alice Renamed,alice@example.com,+12025550101,',
      'Bad Number,badnum@example.com,12345,',
    ].join('\n');

    it('imports a CSV all-or-nothing: a rejected line is a 400 naming it, and nothing is written', async () => {
      const res = await api<{ error: string; problems: { field: string; message: string }[] }>(
        'POST',
        '/v1/contacts/import',
        { raw: CSV, contentType: 'text/csv' },
      );
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid');
      expect(res.body.problems).toEqual([
        {
          field: 'line 4: mobile',
          message: expect.stringContaining('"12345" is not a valid phone number') as unknown,
        },
      ]);
      const { rows } = await pool.query(
        `SELECT name FROM contacts WHERE name IN ('Nora New', 'Alice Renamed')`,
      );
      expect(rows).toEqual([]);
    });

    it('imports the good lines with partial=true, and nothing with dryRun=true', async () => {
      const dry = await api<ImportReport>('POST', '/v1/contacts/import?dryRun=true&partial=true', {
        raw: CSV,
        contentType: 'text/csv',
      });
      expect(dry.body.written).toBe(false);
      expect((await pool.query(`SELECT 1 FROM contacts WHERE name = 'Nora New'`)).rowCount).toBe(0);

      const res = await api('POST', '/v1/contacts/import?partial=true', {
        raw: CSV,
        contentType: 'text/csv',
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ added: 1, updated: 1, rejected: 1, written: true });
      const { rows } = await pool.query(
        `SELECT name FROM contacts WHERE name IN ('Nora New', 'Alice Renamed') ORDER BY name`,
      );
      expect(rows).toEqual([{ name: 'Alice Renamed' }, { name: 'Nora New' }]);
      expect(await lastChange()).toMatchObject({ actor: `api:${KEY_NAME}`, action: 'contact.import' });
    });

    it('sets, shows and clears a PIN; the PIN never comes back, only an argon2id hash is stored', async () => {
      const alice = (await api<ContactWithPhones[]>('GET', '/v1/contacts?search=Alice')).body[0]?.id ?? 0;
      const set = await api('PUT', `/v1/contacts/${alice}/pin`, { body: { pin: '583920' } });
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({
        contactId: alice,
        pinSet: true,
        setBy: `api:${KEY_NAME}`,
        warnings: [],
      });
      expect(set.text).not.toContain('583920');
      expect(await lastChange()).toEqual({
        actor: `api:${KEY_NAME}`,
        action: 'contact.pin.set',
        subject: String(alice),
      });
      const { rows } = await pool.query<{ pin_hash: string }>(
        'SELECT pin_hash FROM contact_pins WHERE contact_id = $1',
        [alice],
      );
      expect(rows[0]?.pin_hash).toMatch(/^\$argon2id\$/);
      const changes = await pool.query('SELECT detail::text AS d FROM config_changes');
      expect(JSON.stringify(changes.rows)).not.toContain('583920');

      const shown = await api('GET', `/v1/contacts/${alice}/pin`);
      expect(shown.status).toBe(200);
      expect(shown.body).toMatchObject({ pinSet: true, pinSource: 'database', locked: false });
      expect(shown.text).not.toMatch(/argon2|583920/);

      const cleared = await api('DELETE', `/v1/contacts/${alice}/pin`);
      expect(cleared.body).toMatchObject({ pinSet: false, cleared: true });
      expect((await api('DELETE', `/v1/contacts/${alice}/pin`)).body).toMatchObject({ cleared: false });
      expect((await api('GET', '/v1/contacts/99999/pin')).status).toBe(404);
    });

    it('refuses PINs against the policy, naming why without repeating the PIN', async () => {
      const alice = (await api<ContactWithPhones[]>('GET', '/v1/contacts?search=Alice')).body[0]?.id ?? 0;
      for (const [pin, why] of [
        ['123', 'a PIN has 4 to 8 digits'],
        ['123456789', 'a PIN has 4 to 8 digits'],
        ['12a4', 'a PIN is digits only'],
        ['0000', 'too easy to guess: one digit repeated'],
        ['3456', 'too easy to guess: a run of digits up or down'],
        ['4747', 'too easy to guess: a pair of digits repeated'],
        ['50101', "too easy to guess: the end of the contact's own phone number"],
      ] as const) {
        const res = await api('PUT', `/v1/contacts/${alice}/pin`, { body: { pin } });
        expect(res.status).toBe(400);
        expect(res.body.problems).toEqual([{ field: 'pin', message: why }]);
        expect(res.text).not.toContain(`"${pin}"`);
      }
      const numeric = await api('PUT', `/v1/contacts/${alice}/pin`, { body: { pin: 5839 } });
      expect(numeric.status).toBe(400);
      expect((await api('GET', `/v1/contacts/${alice}/pin`)).body).toMatchObject({ pinSet: true });
    });

    it('refuses an import sent as JSON', async () => {
      const res = await api('POST', '/v1/contacts/import', { body: { csv: CSV } });
      expect(res.status).toBe(415);
      expect(res.body.message).toContain('Content-Type: text/csv');
    });
  });

  describe('calls and changes', () => {
    beforeEach(async () => {
      const startedAt = new Date('2026-03-01T10:00:00Z');
      await writeAuditRecord(pool, {
        op: 'open',
        call: {
          callId: 'api-call-1',
          channelId: '1772359200.21',
          callerMasked: '+1202555****',
          previousHop: SALES,
          startedAt,
        },
      });
      await writeAuditRecord(pool, {
        op: 'event',
        uid: randomUUID(),
        callId: 'api-call-1',
        kind: 'lookup',
        detail: { matches: 1 },
        at: new Date(startedAt.getTime() + 1000),
      });
      await writeAuditRecord(pool, {
        op: 'open',
        call: {
          ...{ callId: 'api-call-2', channelId: '1772359260.22' },
          callerMasked: 'anonymous',
          previousHop: SALES,
          startedAt: new Date(startedAt.getTime() + 60_000),
        },
      });
    });

    it('lists recent calls with filters, and shows one with its events', async () => {
      const recent = await api<CallSummary[]>('GET', '/v1/calls');
      expect(recent.status).toBe(200);
      expect(recent.body.map((c) => c.callId)).toEqual(['api-call-2', 'api-call-1']);
      expect((await api('GET', '/v1/calls?limit=1')).body).toHaveLength(1);
      expect((await api('GET', '/v1/calls?result=verified')).body).toEqual([]);
      const one = await api('GET', '/v1/calls/1772359200.21');
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        callId: 'api-call-1',
        events: [{ kind: 'lookup', detail: { matches: 1 } }],
      });
    });

    it('refuses a bad query and answers 404 for an unknown call', async () => {
      const bad = await api('GET', '/v1/calls?limit=abc&colour=red');
      expect(bad.status).toBe(400);
      expect(bad.body.problems).toContainEqual({ field: 'query.limit', message: 'expected a whole number' });
      expect(mentions(bad.body.problems, 'colour')).toBe(true);
      const missing = await api('GET', '/v1/calls/no-such-call');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ error: 'not_found', message: 'no call with id no-such-call' });
    });

    it('lists configuration changes newest first', async () => {
      await api('PATCH', '/v1/settings', { body: { codeLength: 7 } });
      await api('PATCH', '/v1/settings', { body: { codeLength: 8 } });
      const res = await api('GET', '/v1/changes?limit=1');
      expect(res.status).toBe(200);
      expect(res.body).toEqual([
        expect.objectContaining({
          actor: `api:${KEY_NAME}`,
          action: 'settings.set',
          detail: expect.objectContaining({ after: { codeLength: 8 } }) as unknown,
        }),
      ]);
    });
  });

  describe('when a dependency is down', () => {
    it('answers 503 naming AMI when the dialplan cannot be asked, and saves with ?force=true', async () => {
      // One long-lived client, as the app has: once its connection is refused, an action waits
      // for the reconnect until its deadline, which is short here to keep the test fast.
      const deadAmi = createAmiDialplanChecker({
        ami: createAmiClient({ ...AMI, port: 1, onError: () => undefined }),
        app: 'pinverify',
        ownsAmi: true,
        timeoutMs: 500,
      });
      const server = createAdminServer({
        pool,
        ops: (actor) => createOpsServices({ pool, actor, dialplan: () => deadAmi }),
        health: async () => ({ status: 'ok', checks: {} }),
        log: recordingLogger(),
      });
      try {
        const url = await server.listen({ host: '127.0.0.1', port: 0 });
        const refused = await send(url, key, 'POST', '/v1/routes', { body: SALES_ROUTE });
        expect(refused.status).toBe(503);
        expect(refused.body.error).toBe('unavailable');
        expect(refused.body.message).toContain(`AMI ${AMI.host}:1`);
        expect(refused.body.message).toContain('?force=true');
        const forced = await send<Saved<Route>>(url, key, 'POST', '/v1/routes?force=true', {
          body: SALES_ROUTE,
        });
        expect(forced.status).toBe(201);
        expect(forced.body.warnings).toEqual([
          expect.stringMatching(new RegExp(`^not checked against the PBX: .*AMI ${AMI.host}:1`)),
        ]);
      } finally {
        await server.close();
        deadAmi.close();
      }
    });

    it('answers 503 "unavailable" when the database is down, and still serves the OpenAPI document', async () => {
      const deadPool = createPool(UNREACHABLE_DATABASE_URL);
      const serverLog = recordingLogger();
      const server = createAdminServer({
        pool: deadPool,
        ops: (actor) => createOpsServices({ pool: deadPool, actor, dialplan: () => checker }),
        health: async () => ({ status: 'ok', checks: {} }),
        log: serverLog,
      });
      try {
        const url = await server.listen({ host: '127.0.0.1', port: 0 });
        const res = await send(url, key, 'GET', '/v1/routes');
        expect(res.status).toBe(503);
        expect(res.body.error).toBe('unavailable');
        expect(res.body.message).toContain('database unavailable');
        expect(res.body.message).toContain('connection refused');
        expect(serverLog.entries.map((e) => e.msg)).toEqual(['admin API: database unavailable']);
        expect((await send(url, key, 'GET', '/v1/openapi.json', { key: null })).status).toBe(200);
      } finally {
        await server.close();
        await deadPool.end();
      }
    });

    it('answers an internal error with a bare 500 and a request id, the details only in the log', async () => {
      const serverLog = recordingLogger();
      const server = createAdminServer({
        pool,
        ops: () => {
          const err = new Error('secret internals: relation "x" does not exist');
          err.stack = `${err.message}\n    at handler (/app/src/ops/route-admin.ts:10:5)`;
          throw err;
        },
        health: async () => ({ status: 'ok', checks: {} }),
        log: serverLog,
      });
      try {
        const url = await server.listen({ host: '127.0.0.1', port: 0 });
        const res = await send(url, key, 'GET', '/v1/routes');
        expect(res.status).toBe(500);
        expect(res.body).toEqual({
          error: 'internal',
          message: expect.stringMatching(
            /^internal error \(request [0-9a-f]{8}\); the app log has the details$/,
          ) as unknown,
        });
        expect(res.text).not.toContain('secret internals');
        expect(serverLog.entries).toEqual([
          {
            level: 'error',
            msg: 'admin API: internal error',
            meta: expect.objectContaining({
              problem: 'secret internals: relation "x" does not exist',
            }) as unknown,
          },
        ]);
      } finally {
        await server.close();
      }
    });
  });

  describe('rate limits shared by two app instances', () => {
    function limitedServer(): FastifyInstance {
      return createAdminServer({
        pool,
        ops: (actor) => createOpsServices({ pool, actor, dialplan: () => checker }),
        health: async () => ({ status: 'ok', checks: {} }),
        log: recordingLogger(),
        limiter: createPgRequestLimiter({ pool, requestsPerMinute: 5, authFailuresPerMinute: 3 }),
      });
    }
    let a: FastifyInstance;
    let b: FastifyInstance;
    let urls: string[] = [];
    beforeAll(async () => {
      a = limitedServer();
      b = limitedServer();
      urls = [await a.listen({ host: '127.0.0.1', port: 0 }), await b.listen({ host: '127.0.0.1', port: 0 })];
    });
    beforeEach(async () => {
      await pool.query('TRUNCATE api_rate_limits');
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    it('counts one budget per API key across both instances: the sixth request a minute is 429 with Retry-After', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await send(urls[i % 2] ?? '', key, 'GET', '/v1/routes')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const refused = await send(urls[0] ?? '', key, 'GET', '/v1/routes');
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ error: 'rate_limited' });
      expect(String(refused.body.message)).toMatch(/at most 5 a minute; retry in \d+ s/);
      const { rows } = await pool.query<{ key: string }>('SELECT key FROM api_rate_limits');
      // The table holds the key's public prefix, never the key.
      expect(rows.map((r) => r.key).join(' ')).not.toContain(key);
    });

    it('after three wrong keys from an address, even a good key from it waits', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await send(urls[i % 2] ?? '', `pvk_${'0'.repeat(12)}_${'x'.repeat(32)}`, 'GET', '/v1/routes'))
            .status,
        );
      expect(statuses).toEqual([401, 401, 401, 429]);
      const good = await send(urls[0] ?? '', key, 'GET', '/v1/routes');
      expect(good.status).toBe(429);
      expect(String(good.body.message)).toContain('too many failed API key attempts from this address');
    });
  });

  describe('health with fake probes', () => {
    async function healthOf(probes: Record<string, HealthProbe>): Promise<Answer<HealthReport>> {
      const server = createAdminServer({
        pool,
        ops: (actor) => createOpsServices({ pool, actor, dialplan: () => checker }),
        health: createHealthCheck(probes, { timeoutMs: 100 }),
        log: recordingLogger(),
      });
      return once<HealthReport>(server, key, 'GET', '/v1/health');
    }

    it('tells anyone without a key only that it is degraded', async () => {
      const server = createAdminServer({
        pool,
        ops: (actor) => createOpsServices({ pool, actor, dialplan: () => checker }),
        health: createHealthCheck({ ami: () => Promise.reject(new Error('AMI 127.0.0.1:5038: refused')) }),
        log: recordingLogger(),
      });
      const res = await once<HealthReport>(server, key, 'GET', '/v1/health', { key: null });
      expect([res.status, res.text]).toEqual([503, '{"status":"degraded"}']);
    });

    it('answers 503 naming the failing dependency', async () => {
      const res = await healthOf({
        postgres: async () => 'PostgreSQL 16',
        ami: async () => {
          throw new Error('AMI 127.0.0.1:5038: connection refused');
        },
      });
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        status: 'degraded',
        checks: {
          postgres: { ok: true, latencyMs: expect.any(Number) as unknown, detail: 'PostgreSQL 16' },
          ami: {
            ok: false,
            latencyMs: expect.any(Number) as unknown,
            problem: 'AMI 127.0.0.1:5038: connection refused',
          },
        },
      });
    });

    it('answers 503 for a dependency that does not answer, with its deadline', async () => {
      const res = await healthOf({
        postgres: async () => 'ok',
        ari: () => new Promise<string>(() => undefined),
      });
      expect(res.status).toBe(503);
      expect(res.body.checks.ari).toMatchObject({ ok: false, problem: 'no answer within 100 ms' });
      expect(res.body.checks.postgres?.ok).toBe(true);
    });
  });

  describe('verifications', () => {
    /** Every answer of this block, checked after each test for what it must never carry. */
    let texts: string[] = [];
    /** Codes read from the sink (as the person would) and code hashes read from the table. */
    let codes: string[] = [];
    let hashes: string[] = [];
    let alice: number;

    async function vapi<T = ErrorBody>(
      method: string,
      url: string,
      o: RequestOptions = {},
    ): Promise<Answer<T>> {
      const res = await api<T>(method, url, o);
      texts.push(res.text);
      return res;
    }

    async function contactIdOf(name: string): Promise<number> {
      const { rows } = await pool.query<{ id: number }>('SELECT id FROM contacts WHERE name = $1', [name]);
      if (rows.length !== 1) throw new Error(`expected one contact ${name}`);
      return rows[0]?.id ?? 0;
    }

    /** The newest sink message id: a later message is one sent after this point. */
    async function lastMessageId(): Promise<number> {
      return (await sinks.client.listMessages()).at(-1)?.id ?? 0;
    }

    /** The code in the first message to `to` after `after`, as the person reads it. */
    async function codeSentTo(to: string, after: number, length = 6): Promise<string> {
      const message: SinkMessage = await sinks.client.waitForMessage(to, after, 5_000);
      const code = extractCode(message.body, length);
      if (code === null) throw new Error(`no ${length}-digit code in the message to ${to}: ${message.body}`);
      codes.push(code);
      return code;
    }

    async function rememberHash(id: string): Promise<void> {
      const { rows } = await pool.query<{ code_hash: string | null }>(
        'SELECT code_hash FROM verifications WHERE id = $1',
        [id],
      );
      const hash = rows[0]?.code_hash;
      if (hash) hashes.push(hash);
    }

    /** Starts a verification (expecting 201) and reads its code from the message sent. */
    async function started(
      body: Record<string, unknown>,
      to: string,
      length = 6,
    ): Promise<{ view: VerificationView; code: string }> {
      const mark = await lastMessageId();
      const res = await vapi<VerificationView>('POST', '/v1/verifications', { body });
      expect(res.status).toBe(201);
      await rememberHash(res.body.id);
      return { view: res.body, code: await codeSentTo(to, mark, length) };
    }

    /** A check's answer, or a refusal's (error, message). */
    type CheckAnswer = { id: string; status: string; checksLeft: number; error?: string; message?: string };
    const check = (id: string, code: string) =>
      vapi<CheckAnswer>('POST', `/v1/verifications/${id}/check`, { body: { code } });

    /** Changes settings through the API and waits until the app instance has heard of it. */
    async function setSettings(body: Partial<FlowSettings>, instances: AppInstance[] = [instance]) {
      const res = await api('PATCH', '/v1/settings', { body });
      expect(res.status).toBe(200);
      const entries = Object.entries(body) as [keyof FlowSettings, unknown][];
      await Promise.all(instances.map((i) => i.sees((s) => entries.every(([k, v]) => s[k] === v))));
    }

    beforeEach(async () => {
      texts = [];
      codes = [];
      hashes = [];
      alice = await contactIdOf('Alice Example');
    });
    afterEach(() => {
      expect(leaks(texts, codes, hashes)).toEqual([]);
    });

    it('starts by contactId and by to (number or email), answering the destination masked; shows and lists', async () => {
      const before = Date.now();
      const bySms = await started({ contactId: alice, channel: 'sms' }, ALICE_MOBILE);
      expect(bySms.view).toEqual({
        id: expect.stringMatching(/^VE[0-9a-f]{32}$/) as unknown,
        status: 'pending',
        channel: 'sms',
        to: '+*******0101',
        contactId: alice,
        origin: 'api',
        callId: null,
        actor: `api:${KEY_NAME}`,
        createdAt: expect.any(String) as unknown,
        expiresAt: expect.any(String) as unknown,
        decidedAt: null,
        sends: 1,
        checks: 0,
        maxSends: 5,
        maxChecks: 3,
        failureReason: null,
      });
      const expiresIn = Date.parse(String(bySms.view.expiresAt)) - before;
      expect(expiresIn).toBeGreaterThan(299_000);
      expect(expiresIn).toBeLessThan(301_000 + (Date.now() - before));

      const byNumber = await started({ to: '(202) 555-0101', channel: 'sms' }, ALICE_MOBILE);
      expect(byNumber.view).toMatchObject({ contactId: alice, channel: 'sms', to: '+*******0101' });
      const byEmail = await started({ to: 'Alice@Example.com', channel: 'email' }, 'alice@example.com');
      expect(byEmail.view).toMatchObject({ contactId: alice, channel: 'email', to: 'a***@e***.com' });
      // Each verification has a code of its own.
      expect(new Set([bySms.code, byNumber.code, byEmail.code]).size).toBe(3);

      const shown = await vapi<VerificationView>('GET', `/v1/verifications/${bySms.view.id}`);
      expect(shown.status).toBe(200);
      expect(shown.body).toEqual(bySms.view);

      const listed = await vapi<VerificationView[]>('GET', `/v1/verifications?contactId=${alice}`);
      expect(listed.status).toBe(200);
      expect(listed.body.map((v) => v.id)).toEqual([byEmail.view.id, byNumber.view.id, bySms.view.id]);
      const one = await vapi<VerificationView[]>('GET', '/v1/verifications?status=pending&limit=1');
      expect(one.body.map((v) => v.id)).toEqual([byEmail.view.id]);
      expect((await vapi<VerificationView[]>('GET', '/v1/verifications?status=approved')).body).toEqual([]);
    });

    it('refuses bad starts naming each field, unknown contacts and ids (404), and a shared to (409)', async () => {
      const refusal = async (body: unknown) => {
        const res = await vapi('POST', '/v1/verifications', { body });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid');
        return res.body.problems;
      };
      expect(await refusal({ contactId: alice, to: ALICE_MOBILE, channel: 'sms' })).toEqual([
        { field: 'contactId', message: 'give exactly one of contactId and to' },
      ]);
      expect(await refusal({ channel: 'sms' })).toEqual([
        { field: 'contactId', message: 'give exactly one of contactId and to' },
      ]);
      expect(await refusal({ contactId: alice, channel: 'voice' })).toEqual([
        { field: 'channel', message: 'channel must be sms, email or call' },
      ]);
      expect(await refusal({ contactId: alice, channel: 'sms', customCode: '12' })).toEqual([
        { field: 'customCode', message: 'customCode must be 4 to 10 digits' },
      ]);
      expect(await refusal({ contactId: alice, channel: 'sms', colour: 'red' })).toEqual([
        { field: 'colour', message: 'unknown field colour' },
      ]);
      expect(await refusal({ to: 'not a number', channel: 'sms' })).toEqual([
        { field: 'to', message: 'not a number is neither an email address nor a phone number' },
      ]);
      // Bob has no mobile; Alice's number cannot take an email.
      expect(await refusal({ contactId: await contactIdOf('Bob Email'), channel: 'sms' })).toEqual([
        { field: 'channel', message: expect.stringContaining('has no mobile number on file') as unknown },
      ]);
      expect(await refusal({ to: ALICE_MOBILE, channel: 'email' })).toEqual([
        { field: 'to', message: 'a phone number cannot take channel email' },
      ]);

      const noContact = await vapi('POST', '/v1/verifications', {
        body: { contactId: 99999, channel: 'sms' },
      });
      expect(noContact.status).toBe(404);
      expect(noContact.body).toEqual({ error: 'not_found', message: 'no contact with id 99999' });
      const noTo = await vapi('POST', '/v1/verifications', {
        body: { to: DEMO_NUMBERS.unknown, channel: 'sms' },
      });
      expect(noTo.status).toBe(404);
      expect(noTo.body.message).toBe('to: no contact has this mobile number or email address on file');
      // A number Dan and Erin only call from is no place to send a code: `to` is matched against
      // the addresses codes go to, so a code cannot be steered to another number of the contact.
      const callsFrom = await vapi('POST', '/v1/verifications', {
        body: { to: DEMO_NUMBERS.shared, channel: 'sms' },
      });
      expect(callsFrom.status).toBe(404);

      // Two contacts with one mobile: the API will not guess which one is meant.
      for (const name of ['Twin One', 'Twin Two'])
        expect((await api('POST', '/v1/contacts', { body: { name, mobile: '+12025550177' } })).status).toBe(
          201,
        );
      const shared = await vapi('POST', '/v1/verifications', {
        body: { to: '+12025550177', channel: 'sms' },
      });
      expect(shared.status).toBe(409);
      expect(shared.body).toEqual({
        error: 'conflict',
        message: 'to: several contacts have this mobile number or email address on file; give contactId',
      });

      for (const id of [NO_VERIFICATION, 'not-an-id']) {
        expect((await vapi('GET', `/v1/verifications/${id}`)).status).toBe(404);
        expect((await check(id, '123456')).status).toBe(404);
        expect((await vapi('POST', `/v1/verifications/${id}/resend`)).status).toBe(404);
        expect((await vapi('POST', `/v1/verifications/${id}/cancel`)).status).toBe(404);
      }
      const { view } = await started({ contactId: alice, channel: 'sms' }, ALICE_MOBILE);
      const badCode = await check(view.id, 'abc');
      expect(badCode.status).toBe(400);
      expect(badCode.body).toMatchObject({
        problems: [{ field: 'code', message: 'code must be 1 to 10 digits' }],
      });
      const badList = await vapi('GET', '/v1/verifications?status=done');
      expect(badList.status).toBe(400);
      expect(badList.body.problems[0]?.field).toBe('query.status');
      // Nothing was sent for any refusal: one message, the one started above.
      expect(await sinks.client.listMessages()).toHaveLength(1);
    });

    it('approves the code read from the message, once: a second check is 409', async () => {
      const { view, code } = await started({ contactId: alice, channel: 'sms' }, ALICE_MOBILE);
      const ok = await check(view.id, code);
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ id: view.id, status: 'approved' });
      const again = await check(view.id, code);
      expect(again.status).toBe(409);
      expect(again.body).toEqual({
        error: 'conflict',
        message: `verification ${view.id} is already approved`,
      });
      const shown = await vapi<VerificationView>('GET', `/v1/verifications/${view.id}`);
      expect(shown.body).toMatchObject({
        status: 'approved',
        checks: 1,
        decidedAt: expect.any(String) as unknown,
      });
      // Single use: the hash is gone once decided.
      const { rows } = await pool.query('SELECT code_hash FROM verifications WHERE id = $1', [view.id]);
      expect(rows).toEqual([{ code_hash: null }]);
    });

    it('counts wrong codes: pending with checksLeft, the third max_attempts_reached, a fourth 429 max_attempts', async () => {
      const { view, code } = await started({ contactId: alice, channel: 'email' }, 'alice@example.com');
      const wrong = wrongCode(code);
      const first = await check(view.id, wrong);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ id: view.id, status: 'pending', checksLeft: 2 });
      expect((await check(view.id, wrong)).body).toEqual({ id: view.id, status: 'pending', checksLeft: 1 });
      expect((await check(view.id, wrong)).body).toEqual({
        id: view.id,
        status: 'max_attempts_reached',
        checksLeft: 0,
      });
      // Even the right code is refused now.
      const fourth = await check(view.id, code);
      expect(fourth.status).toBe(429);
      expect(fourth.body).toEqual({
        error: 'max_attempts',
        message: `max_attempts: verification ${view.id} had 3 checks`,
      });
      expect((await vapi<VerificationView>('GET', `/v1/verifications/${view.id}`)).body).toMatchObject({
        status: 'max_attempts_reached',
        checks: 3,
      });
    });

    it('resends: within the cooldown 429 rate_limited with Retry-After; after it the same code again', async () => {
      const { view, code } = await started({ contactId: alice, channel: 'sms' }, ALICE_MOBILE);
      const early = await vapi('POST', `/v1/verifications/${view.id}/resend`);
      expect(early.status).toBe(429);
      expect(early.body.error).toBe('rate_limited');
      expect(early.body.message).toMatch(
        /^rate_limited: wait \d+ s before sending this code again \(cooldown 30 s\)$/,
      );
      const retryAfter = Number(early.retryAfter);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(30);
      expect(early.body.message).toContain(`wait ${retryAfter} s`);

      await setSettings({ resendCooldownSeconds: 0 });
      const mark = await lastMessageId();
      const resent = await vapi<VerificationView>('POST', `/v1/verifications/${view.id}/resend`);
      expect(resent.status).toBe(200);
      expect(resent.body).toMatchObject({ id: view.id, status: 'pending', sends: 2, to: '+*******0101' });
      expect(await codeSentTo(ALICE_MOBILE, mark)).toBe(code);
      // With an (empty) JSON body too.
      const third = await vapi<VerificationView>('POST', `/v1/verifications/${view.id}/resend`, { body: {} });
      expect(third.body).toMatchObject({ sends: 3 });

      expect((await check(view.id, code)).body).toMatchObject({ status: 'approved' });
      const decided = await vapi('POST', `/v1/verifications/${view.id}/resend`);
      expect(decided.status).toBe(409);
      expect(decided.body.message).toBe(`verification ${view.id} is already approved`);
    });

    it('cancels a pending verification; a check, a resend or a second cancel is then 409', async () => {
      const { view, code } = await started({ contactId: alice, channel: 'email' }, 'alice@example.com');
      const canceled = await vapi<VerificationView>('POST', `/v1/verifications/${view.id}/cancel`);
      expect(canceled.status).toBe(200);
      expect(canceled.body).toMatchObject({
        id: view.id,
        status: 'canceled',
        failureReason: `canceled by api:${KEY_NAME}`,
      });
      const late = await check(view.id, code);
      expect(late.status).toBe(409);
      expect(late.body.message).toBe(`verification ${view.id} is already canceled`);
      expect((await vapi('POST', `/v1/verifications/${view.id}/resend`)).status).toBe(409);
      expect((await vapi('POST', `/v1/verifications/${view.id}/cancel`)).status).toBe(409);
      const listed = await vapi<VerificationView[]>('GET', `/v1/verifications?status=canceled`);
      expect(listed.body.map((v) => v.id)).toEqual([view.id]);
    });

    it('refuses the next start to a destination at the hourly limit with 429 rate_limited naming it', async () => {
      await setSettings({ maxSendsPerDestinationPerHour: 2 });
      await started({ contactId: alice, channel: 'sms' }, ALICE_MOBILE);
      await started({ to: ALICE_MOBILE, channel: 'sms' }, ALICE_MOBILE);
      const third = await vapi('POST', '/v1/verifications', { body: { contactId: alice, channel: 'sms' } });
      expect(third.status).toBe(429);
      expect(third.body).toEqual({
        error: 'rate_limited',
        message: 'rate_limited: limit of 2 codes per hour to this destination reached',
      });
      const retryAfter = Number(third.retryAfter);
      expect(retryAfter).toBeGreaterThan(3500);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      // The limit is per destination: the same contact's email still gets a code.
      await started({ contactId: alice, channel: 'email' }, 'alice@example.com');
      expect(await sinks.client.listMessages(ALICE_MOBILE)).toHaveLength(2);
      expect(
        (await vapi<VerificationView[]>('GET', `/v1/verifications?contactId=${alice}`)).body,
      ).toHaveLength(3);

      // An operator's unlock clears the send counts of the contact's addresses too.
      const unlocked = await vapi('POST', `/v1/contacts/${alice}/unlock`);
      expect(unlocked.status).toBe(200);
      expect(unlocked.body).toMatchObject({ contactId: alice, lockedBefore: false, sendsCleared: 3 });
      await started({ contactId: alice, channel: 'sms' }, ALICE_MOBILE);
    });

    it('locks a contact after wrong checks across its verifications (429 locked), until POST /v1/contacts/:id/unlock', async () => {
      await setSettings({ maxFailedChecksPerContact: 3, maxTriesPerCode: 3 });
      const first = await started({ contactId: alice, channel: 'sms' }, ALICE_MOBILE);
      const second = await started({ contactId: alice, channel: 'email' }, 'alice@example.com');
      expect((await check(first.view.id, wrongCode(first.code))).body).toMatchObject({ checksLeft: 2 });
      expect((await check(first.view.id, wrongCode(first.code))).body).toMatchObject({ checksLeft: 1 });
      // The third failure is on another verification: the count is the contact's.
      expect((await check(second.view.id, wrongCode(second.code))).body).toEqual({
        id: second.view.id,
        status: 'pending',
        checksLeft: 2,
      });

      const locked = await vapi('POST', '/v1/verifications', {
        body: { contactId: alice, channel: 'email' },
      });
      expect(locked.status).toBe(429);
      expect(locked.body.error).toBe('locked');
      expect(locked.body.message).toMatch(
        /^locked: 3 failed checks in 24 h \(limit 3\); unlocks at \S+ or with "pinverify contacts unlock"$/,
      );
      const retryAfter = Number(locked.retryAfter);
      expect(retryAfter).toBeGreaterThan(24 * 3600 - 120);
      expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
      // The still-pending verifications cannot be resent or checked, even with the right code.
      const resend = await vapi('POST', `/v1/verifications/${first.view.id}/resend`);
      expect(resend.status).toBe(429);
      expect(resend.body.error).toBe('locked');
      const right = await check(second.view.id, second.code);
      expect(right.status).toBe(429);
      expect(right.body.error).toBe('locked');
      expect((await vapi<VerificationView>('GET', `/v1/verifications/${second.view.id}`)).body).toMatchObject(
        {
          status: 'failed',
          failureReason: 'locked',
        },
      );
      expect(await sinks.client.listMessages()).toHaveLength(2);

      const unlocked = await vapi('POST', `/v1/contacts/${alice}/unlock`);
      expect(unlocked.status).toBe(200);
      expect(unlocked.body).toEqual({
        contactId: alice,
        lockedBefore: true,
        failuresCleared: 3,
        sendsCleared: 2,
      });
      const again = await started({ contactId: alice, channel: 'email' }, 'alice@example.com');
      expect((await check(again.view.id, again.code)).body).toMatchObject({ status: 'approved' });

      const changes = await vapi<{ actor: string; action: string; subject: string }[]>(
        'GET',
        '/v1/changes?limit=1',
      );
      expect(changes.body).toEqual([
        expect.objectContaining({
          actor: `api:${KEY_NAME}`,
          action: 'contact.unlock',
          subject: String(alice),
          detail: expect.objectContaining({ locked: true, failuresBefore: 3, failuresCleared: 3 }) as unknown,
        }),
      ]);
      // Failures are kept as evidence, marked cleared.
      const { rows } = await pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM verification_failures WHERE contact_id = $1 AND cleared_at IS NOT NULL',
        [alice],
      );
      expect(Number(rows[0]?.n)).toBe(3);
    });

    it('refuses an unlock of an unknown contact (404) or a contact id that is not one (400)', async () => {
      const unknown = await vapi('POST', '/v1/contacts/99999/unlock');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ error: 'not_found', message: 'no contact with id 99999' });
      const bad = await vapi('POST', '/v1/contacts/abc/unlock');
      expect(bad.status).toBe(400);
      expect(bad.body.problems[0]?.field).toBe('id');
    });

    it('sends a customCode as given and approves it; a resend needs the same customCode', async () => {
      const custom = '73519264';
      codes.push(custom);
      const { view, code } = await started(
        { contactId: alice, channel: 'email', customCode: custom },
        'alice@example.com',
        8,
      );
      expect(code).toBe(custom);
      const without = await vapi('POST', `/v1/verifications/${view.id}/resend`);
      expect(without.status).toBe(400);
      expect(without.body.problems).toEqual([
        {
          field: 'customCode',
          message: 'this verification has a custom code; give the same customCode again to resend it',
        },
      ]);
      const other = await vapi('POST', `/v1/verifications/${view.id}/resend`, {
        body: { customCode: '11112222' },
      });
      expect(other.status).toBe(400);
      // With the same customCode (after the cooldown) it is sent again.
      await setSettings({ resendCooldownSeconds: 0 });
      const mark = await lastMessageId();
      const resent = await vapi<VerificationView>('POST', `/v1/verifications/${view.id}/resend`, {
        body: { customCode: custom },
      });
      expect(resent.status).toBe(200);
      expect(resent.body).toMatchObject({ sends: 2 });
      expect(await codeSentTo('alice@example.com', mark, 8)).toBe(custom);
      expect((await check(view.id, custom)).body).toMatchObject({ status: 'approved' });
    });

    it('answers 502 delivery_failed when the mail server refuses, and the verification is failed', async () => {
      await sinks.client.setFaults({ smtp: 'fail' });
      const res = await vapi('POST', '/v1/verifications', { body: { contactId: alice, channel: 'email' } });
      expect(res.status).toBe(502);
      expect(res.body.error).toBe('delivery_failed');
      expect(res.body.message).toMatch(/^delivery_failed: /);
      const listed = await vapi<VerificationView[]>('GET', `/v1/verifications?contactId=${alice}`);
      expect(listed.body).toMatchObject([{ status: 'failed', failureReason: 'delivery_failed' }]);
    });
  });

  describe('two app instances on one database', () => {
    interface Server {
      pool: Pool;
      instance: AppInstance;
      app: FastifyInstance;
      url: string;
    }
    let a: Server;
    let b: Server;
    let alice: number;

    async function server(): Promise<Server> {
      const own = testPool();
      const inst = await appInstance(own, sinks);
      const server = createAdminServer({
        pool: own,
        ops: (actor) =>
          createOpsServices({ pool: own, actor, dialplan: () => checker, verifications: () => inst.service }),
        health: async () => ({ status: 'ok', checks: {} }),
        log: recordingLogger(),
      });
      const url = await server.listen({ host: '127.0.0.1', port: 0 });
      return { pool: own, instance: inst, app: server, url };
    }

    /** This block's answers and the codes it read, checked after each test like the block above. */
    let texts: string[] = [];
    let codes: string[] = [];
    async function on<T = ErrorBody>(s: Server, method: string, url: string, o: RequestOptions = {}) {
      const res = await send<T>(s.url, key, method, url, o);
      texts.push(res.text);
      return res;
    }
    const start = (s: Server, channel: 'sms' | 'email', contactId = alice) =>
      on<VerificationView>(s, 'POST', '/v1/verifications', { body: { contactId, channel } });

    async function setSettings(via: Server, body: Partial<FlowSettings>): Promise<void> {
      expect((await on(via, 'PATCH', '/v1/settings', { body })).status).toBe(200);
      const entries = Object.entries(body) as [keyof FlowSettings, unknown][];
      await Promise.all([a, b].map((s) => s.instance.sees((x) => entries.every(([k, v]) => x[k] === v))));
    }

    beforeAll(async () => {
      a = await server();
      b = await server();
    });
    beforeEach(async () => {
      texts = [];
      codes = [];
      a.instance.config.invalidate();
      b.instance.config.invalidate();
      const { rows } = await pool.query<{ id: number }>(
        `SELECT id FROM contacts WHERE name = 'Alice Example'`,
      );
      alice = rows[0]?.id ?? 0;
    });
    afterEach(() => {
      expect(leaks(texts, codes, [])).toEqual([]);
    });
    afterAll(async () => {
      for (const s of [a, b]) {
        await s.app.close();
        await s.instance.close();
        await s.pool.end();
      }
    });

    it('share one per-destination limit: starts split across both, also at once, reach it exactly', async () => {
      await setSettings(a, { maxSendsPerDestinationPerHour: 3 });
      expect((await start(a, 'sms')).status).toBe(201);
      expect((await start(b, 'sms')).status).toBe(201);
      expect((await start(a, 'sms')).status).toBe(201);
      for (const s of [b, a]) {
        const refused = await start(s, 'sms');
        expect(refused.status).toBe(429);
        expect(refused.body).toMatchObject({
          error: 'rate_limited',
          message: 'rate_limited: limit of 3 codes per hour to this destination reached',
        });
      }
      expect(await sinks.client.listMessages(ALICE_MOBILE)).toHaveLength(3);

      // Cleared on one instance; then sixteen starts at once, across both instances and four
      // contacts who share the mobile (so no contact lock serialises them): exactly three go out.
      expect((await on(b, 'POST', `/v1/contacts/${alice}/unlock`)).status).toBe(200);
      const sharers = [alice];
      for (const name of ['Alex Example', 'Ada Example', 'Abe Example']) {
        const { rows } = await pool.query<{ id: number }>(
          'INSERT INTO contacts (name, email, mobile) VALUES ($1, NULL, $2) RETURNING id',
          [name, ALICE_MOBILE],
        );
        sharers.push(rows[0]?.id ?? 0);
      }
      const burst = await Promise.all(
        Array.from({ length: 16 }, (_, i) => start(i % 2 ? a : b, 'sms', sharers[i % 4])),
      );
      expect(burst.filter((r) => r.status === 201)).toHaveLength(3);
      expect(burst.filter((r) => r.status === 429)).toHaveLength(13);
      expect(await sinks.client.listMessages(ALICE_MOBILE)).toHaveLength(6);
      const { rows } = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM verifications WHERE contact_id = ANY($1) AND channel = 'sms'`,
        [sharers],
      );
      expect(Number(rows[0]?.n)).toBe(6);
    });

    it('share one lockout: wrong checks split across both lock the contact on both, unlock on either', async () => {
      await setSettings(b, { maxFailedChecksPerContact: 3, maxTriesPerCode: 3 });
      const mark = (await sinks.client.listMessages()).at(-1)?.id ?? 0;
      const v1 = await start(a, 'sms');
      const v2 = await start(b, 'email');
      expect([v1.status, v2.status]).toEqual([201, 201]);
      const message = await sinks.client.waitForMessage('alice@example.com', mark, 5_000);
      const code2 = extractCode(message.body, 6) ?? '';
      codes.push(code2);
      const checkOn = (s: Server, id: string, code: string) =>
        on<{ status: string; checksLeft: number }>(s, 'POST', `/v1/verifications/${id}/check`, {
          body: { code },
        });

      expect((await checkOn(b, v1.body.id, '000000')).body).toMatchObject({
        status: 'pending',
        checksLeft: 2,
      });
      expect((await checkOn(a, v2.body.id, wrongCode(code2))).body).toMatchObject({ status: 'pending' });
      expect((await checkOn(a, v1.body.id, '000001')).body).toMatchObject({
        status: 'pending',
        checksLeft: 1,
      });

      for (const s of [b, a]) {
        const refused = await start(s, 'email');
        expect(refused.status).toBe(429);
        expect(refused.body).toMatchObject({ error: 'locked' });
      }
      const right = await checkOn(b, v2.body.id, code2);
      expect(right.status).toBe(429);
      expect(right.body).toMatchObject({ error: 'locked' });

      const unlocked = await on(a, 'POST', `/v1/contacts/${alice}/unlock`);
      expect(unlocked.body).toMatchObject({ lockedBefore: true, failuresCleared: 3 });
      expect((await start(b, 'email')).status).toBe(201);
    });
  });

  it('exercised every endpoint of the table with a successful request', () => {
    // Call profiles have a file of their own (admin-api-profiles.test.ts), with the same check.
    const missed = ENDPOINTS.filter((e) => !e.url.startsWith('/v1/profiles'))
      .filter((e) => {
        const pattern = new RegExp(`^${e.url.replace(/:[A-Za-z]+/g, '[^/]+')}$`);
        return !succeeded.some((r) => r.method === e.method && pattern.test(r.path));
      })
      .map((e) => `${e.method} ${e.url}`);
    expect(missed).toEqual([]);
  });

  it('never answered with a stack trace', () => {
    expect(answered.length).toBeGreaterThan(50);
    for (const text of answered) expect(text).not.toMatch(STACK_LINE);
    for (const text of answered) expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });
});
