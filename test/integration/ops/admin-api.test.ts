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
import { buildOpenApi } from '../../../src/http/openapi';
import type { Route } from '../../../src/domain';
import type { CallSummary } from '../../../src/ops/call-history';
import type { ImportReport, NumberLookup } from '../../../src/ops/contact-admin';
import { createOpsServices } from '../../../src/ops/ops-services';
import type { Saved } from '../../../src/ops/route-admin';
import type { TemplateView } from '../../../src/ops/template-admin';
import type { RenderedMessage } from '../../../src/senders/render-template';
import type { ContactWithPhones } from '../../../src/store/pg-contact-admin';
import { checkDb, createPool } from '../../../src/store/db';
import {
  DEMO_NEW_DEPARTMENT_HOP,
  DEMO_NUMBERS,
  DEMO_ROUTES,
  loadDemoData,
} from '../../../src/store/demo-data';
import { migrate } from '../../../src/store/migrate';
import { writeAuditRecord } from '../../../src/store/pg-audit-trail';
import { freshDatabase, recordingLogger, UNREACHABLE_DATABASE_URL } from '../helpers';
import { AMI_ENV, STACK_LINE } from './cli-harness';

const VERSION = '9.8.7-test';
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
}

/** Every body answered in this file, checked for stack traces at the end. */
const answered: string[] = [];
/** Every request that succeeded, to check at the end that each endpoint was exercised. */
const succeeded: { method: string; path: string }[] = [];

function record<T>(status: number, text: string, contentType: string | null): Answer<T> {
  answered.push(text);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status, body: body as T, text, contentType };
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
  return record<T>(res.status, await res.text(), res.headers.get('content-type'));
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

describe('admin HTTP API', () => {
  let pool: Pool;
  let checker: AmiDialplanChecker;
  let app: FastifyInstance;
  let baseUrl: string;
  let key: string;
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
    checker = createAmiDialplanChecker({
      ami: createAmiClient({ ...AMI, onError: () => undefined }),
      app: process.env.ARI_APP || 'pinverify',
      ownsAmi: true,
    });
    app = createAdminServer({
      pool,
      ops: (actor) => createOpsServices({ pool, actor, dialplan: () => checker }),
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
    await pool.query('DELETE FROM settings; DELETE FROM templates');
    await pool.query(`DELETE FROM schema_migrations WHERE name = '002_default_config'`);
    await migrate(pool);
    await loadDemoData(pool);
    log.entries.length = 0;
  });
  afterAll(async () => {
    await app.close();
    checker.close();
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

    it('serves health', async () => {
      const res = await api('GET', '/v1/health', { key: null });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        checks: { postgres: { ok: true, detail: expect.stringContaining('004_api_keys') as unknown } },
      });
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
        DEMO_ROUTES.support.previousHop,
      ]);

      const added = await api<Saved<Route>>('POST', '/v1/routes', { body: SALES_ROUTE });
      expect(added.status).toBe(201);
      expect(added.body).toEqual({
        value: { id: expect.any(Number) as unknown, ...SALES_ROUTE, enabled: true },
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
      expect(shown.body).toHaveLength(14);
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

  describe('health with fake probes', () => {
    async function healthOf(probes: Record<string, HealthProbe>): Promise<Answer<HealthReport>> {
      const server = createAdminServer({
        pool,
        ops: (actor) => createOpsServices({ pool, actor, dialplan: () => checker }),
        health: createHealthCheck(probes, { timeoutMs: 100 }),
        log: recordingLogger(),
      });
      return once<HealthReport>(server, key, 'GET', '/v1/health', { key: null });
    }

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

  it('exercised every endpoint of the table with a successful request', () => {
    const missed = ENDPOINTS.filter((e) => {
      const pattern = new RegExp(`^${e.url.replace(/:[A-Za-z]+/g, '[^/]+')}$`);
      return !succeeded.some((r) => r.method === e.method && pattern.test(r.path));
    }).map((e) => `${e.method} ${e.url}`);
    expect(missed).toEqual([]);
  });

  it('never answered with a stack trace', () => {
    expect(answered.length).toBeGreaterThan(50);
    for (const text of answered) expect(text).not.toMatch(STACK_LINE);
    for (const text of answered) expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });
});
