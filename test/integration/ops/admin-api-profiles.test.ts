/**
 * The call profile endpoints of the admin HTTP API (/v1/profiles), through a real socket
 * against createAdminServer with the real pool and ops services: list, show by id or name, add
 * (201, defaults filled in), change (200), remove (200), the scopes (a read key may GET but not
 * write, nor may a contacts key), refusals naming each field (400), unknown profiles (404),
 * a duplicate name or call-back number (409), the change records with the key as actor, and no
 * answer with a stack trace. The rest of the API is admin-api.test.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { CallProfile } from '../../../src/domain';
import { ENDPOINTS } from '../../../src/http/admin-endpoints';
import { createAdminServer } from '../../../src/http/admin-server';
import { createHealthCheck } from '../../../src/http/health-check';
import { PbxUnreachableError } from '../../../src/ops/dialplan-checker';
import { createOpsServices } from '../../../src/ops/ops-services';
import { DEMO_PROFILES, loadDemoData } from '../../../src/store/demo-data';
import { freshDatabase, recordingLogger } from '../helpers';
import { STACK_LINE } from './cli-harness';

/** Profiles are never checked against the dialplan: asking for it would be a bug. */
const noPbx = (): never => {
  throw new PbxUnreachableError('no PBX in this test');
};

const NEW_PROFILE = { name: 'login-call', title: 'Login by phone', callerId: '+12025550123' };

interface ErrorBody {
  error: string;
  message: string;
  problems?: { field: string; message: string }[];
}

interface Answer<T> {
  status: number;
  body: T;
  text: string;
}

/** Every body answered in this file, checked for stack traces at the end. */
const answered: string[] = [];
/** Every request that succeeded, to check at the end that each profile endpoint was exercised. */
const succeeded: { method: string; path: string }[] = [];

describe('admin HTTP API: call profiles', () => {
  let pool: Pool;
  let app: FastifyInstance;
  let baseUrl: string;
  /** Keys by scope; admin is also the name recorded as actor (api:<name>). */
  const keys = { admin: '', contacts: '', read: '' };
  const ADMIN_KEY_NAME = 'profiles-admin';

  async function api<T = ErrorBody>(
    method: string,
    url: string,
    o: { body?: unknown; key?: string } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${o.key ?? keys.admin}` };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    const text = await res.text();
    answered.push(text);
    if (res.ok) succeeded.push({ method, path: url.split('?')[0] ?? url });
    return { status: res.status, body: JSON.parse(text) as T, text };
  }

  async function lastChange(): Promise<Record<string, unknown> | undefined> {
    const { rows } = await pool.query(
      'SELECT actor, action, subject, detail FROM config_changes ORDER BY id DESC LIMIT 1',
    );
    return rows[0] as Record<string, unknown> | undefined;
  }

  async function changeCount(): Promise<number> {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM config_changes');
    return rows[0]?.n ?? -1;
  }

  async function profileId(name: string): Promise<number> {
    const { rows } = await pool.query<{ id: number }>('SELECT id FROM call_profiles WHERE name = $1', [name]);
    return rows[0]?.id ?? -1;
  }

  beforeAll(async () => {
    pool = await freshDatabase();
    app = createAdminServer({
      pool,
      ops: (actor) =>
        createOpsServices({
          pool,
          actor,
          dialplan: noPbx,
        }),
      health: createHealthCheck({}),
      log: recordingLogger(),
      version: '1.0.0-test',
    });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    const ops = createOpsServices({ pool, actor: 'cli:test', dialplan: noPbx });
    keys.admin = (await ops.apiKeys.create(ADMIN_KEY_NAME, 'admin')).key;
    keys.contacts = (await ops.apiKeys.create('profiles-contacts', 'contacts')).key;
    keys.read = (await ops.apiKeys.create('profiles-reader', 'read')).key;
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE call_profiles, config_changes');
    await loadDemoData(pool);
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
  });

  describe('reading', () => {
    it('lists the profiles by name, for a read key too', async () => {
      const list = await api<CallProfile[]>('GET', '/v1/profiles', { key: keys.read });
      expect(list.status).toBe(200);
      expect(list.body).toEqual(
        [DEMO_PROFILES.input, DEMO_PROFILES.read].map((p) => ({ id: expect.any(Number) as unknown, ...p })),
      );
    });

    it('shows one profile by name or by id', async () => {
      const byName = await api<CallProfile>('GET', '/v1/profiles/lab-read', { key: keys.read });
      expect(byName.status).toBe(200);
      expect(byName.body).toEqual({ id: expect.any(Number) as unknown, ...DEMO_PROFILES.read });
      const byId = await api<CallProfile>('GET', `/v1/profiles/${byName.body.id}`, { key: keys.read });
      expect(byId).toMatchObject({ status: 200, body: byName.body });
    });

    it('answers 404 for an unknown id or name, whatever the method', async () => {
      const byId = await api('GET', '/v1/profiles/99999');
      expect(byId.status).toBe(404);
      expect(byId.body).toEqual({ error: 'not_found', message: 'no profile with id 99999' });
      const byName = await api('GET', '/v1/profiles/no-such-profile');
      expect(byName.body).toEqual({ error: 'not_found', message: 'no profile named no-such-profile' });
      const patch = await api('PATCH', '/v1/profiles/no-such-profile', { body: { title: 'X' } });
      expect(patch.status).toBe(404);
      expect((await api('DELETE', '/v1/profiles/99999999999')).status).toBe(404);
    });

    it('describes the endpoints in the OpenAPI document with their scopes', async () => {
      const res = await fetch(`${baseUrl}/v1/openapi.json`);
      const doc = (await res.json()) as {
        paths: Record<string, Record<string, { 'x-required-scope': string }>>;
      };
      expect(Object.keys(doc.paths['/v1/profiles'] ?? {}).sort()).toEqual(['get', 'post']);
      expect(Object.keys(doc.paths['/v1/profiles/{profile}'] ?? {}).sort()).toEqual([
        'delete',
        'get',
        'patch',
      ]);
      expect(doc.paths['/v1/profiles']?.get?.['x-required-scope']).toBe('read');
      expect(doc.paths['/v1/profiles']?.post?.['x-required-scope']).toBe('admin');
      expect(doc.paths['/v1/profiles/{profile}']?.patch?.['x-required-scope']).toBe('admin');
      expect(doc.paths['/v1/profiles/{profile}']?.delete?.['x-required-scope']).toBe('admin');
    });
  });

  describe('scopes', () => {
    it('refuses every write with a read key (403 naming both scopes), and changes nothing', async () => {
      const before = await changeCount();
      const post = await api('POST', '/v1/profiles', { key: keys.read, body: NEW_PROFILE });
      expect(post.status).toBe(403);
      expect(post.body).toEqual({
        error: 'forbidden',
        message: 'API key profiles-reader has scope read; POST /v1/profiles needs scope admin',
      });
      const patch = await api('PATCH', '/v1/profiles/lab-read', { key: keys.read, body: { repeats: 1 } });
      expect(patch.status).toBe(403);
      expect(patch.body.message).toBe(
        'API key profiles-reader has scope read; PATCH /v1/profiles/:profile needs scope admin',
      );
      expect((await api('DELETE', '/v1/profiles/lab-read', { key: keys.read })).status).toBe(403);
      expect(await profileId(NEW_PROFILE.name)).toBe(-1);
      expect((await api<CallProfile>('GET', '/v1/profiles/lab-read')).body.repeats).toBe(3);
      expect(await changeCount()).toBe(before);
    });

    it('refuses writes with a contacts key: profiles are PBX configuration', async () => {
      const post = await api('POST', '/v1/profiles', { key: keys.contacts, body: NEW_PROFILE });
      expect(post.status).toBe(403);
      expect(post.body.message).toContain('needs scope admin');
      expect((await api('GET', '/v1/profiles', { key: keys.contacts })).status).toBe(200);
    });
  });

  describe('writing', () => {
    it('adds a profile (201) with the defaults filled in, recording the key as actor', async () => {
      const added = await api<CallProfile>('POST', '/v1/profiles', { body: NEW_PROFILE });
      expect(added.status).toBe(201);
      expect(added.body).toEqual({
        id: expect.any(Number) as unknown,
        ...NEW_PROFILE,
        enabled: true,
        mode: 'read',
        codeSource: 'auto',
        codeLength: 6,
        callbackNumber: '',
        repeats: 3,
        keyBeforeCode: true,
        smsAfterCall: 'off',
        locale: 'en',
        ringTimeoutSeconds: 30,
        retriesOnNoAnswer: 0,
        requireContact: true,
      });
      expect(await lastChange()).toEqual({
        actor: `api:${ADMIN_KEY_NAME}`,
        action: 'profile.add',
        subject: NEW_PROFILE.name,
        detail: { profile: added.body },
      });
      const shown = await api('GET', `/v1/profiles/${added.body.id}`, { key: keys.read });
      expect(shown.body).toEqual(added.body);
    });

    it('adds a profile with every field given', async () => {
      const body = {
        ...NEW_PROFILE,
        enabled: false,
        mode: 'input',
        codeSource: 'manual',
        codeLength: 10,
        callbackNumber: '+12025550188',
        repeats: 5,
        keyBeforeCode: false,
        smsAfterCall: 'not_answered',
        locale: 'de_DE',
        ringTimeoutSeconds: 120,
        retriesOnNoAnswer: 3,
        requireContact: false,
      };
      const added = await api<CallProfile>('POST', '/v1/profiles', { body });
      expect(added.status).toBe(201);
      expect(added.body).toEqual({ id: expect.any(Number) as unknown, ...body });
    });

    it('changes one field (200), leaving the others, and records what changed', async () => {
      const id = await profileId('lab-input');
      const patched = await api<CallProfile>('PATCH', '/v1/profiles/lab-input', {
        body: { smsAfterCall: 'always' },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toEqual({ id, ...DEMO_PROFILES.input, smsAfterCall: 'always' });
      expect(await lastChange()).toMatchObject({
        actor: `api:${ADMIN_KEY_NAME}`,
        action: 'profile.update',
        subject: 'lab-input',
        detail: { changed: { smsAfterCall: 'always' } },
      });
      const byId = await api<CallProfile>('PATCH', `/v1/profiles/${id}`, {
        body: { enabled: false, callbackNumber: '' },
      });
      expect(byId.body).toMatchObject({ enabled: false, callbackNumber: '', smsAfterCall: 'always' });
    });

    it('removes a profile (200, answering what was removed), then it is gone', async () => {
      const id = await profileId('lab-read');
      const removed = await api<CallProfile>('DELETE', '/v1/profiles/lab-read');
      expect(removed.status).toBe(200);
      expect(removed.body).toEqual({ id, ...DEMO_PROFILES.read });
      expect(await lastChange()).toMatchObject({ action: 'profile.remove', subject: 'lab-read' });
      const gone = await api('GET', `/v1/profiles/${id}`);
      expect(gone.status).toBe(404);
      expect(gone.body).toEqual({ error: 'not_found', message: `no profile with id ${id}` });
    });
  });

  describe('refusals', () => {
    it('names every bad field of a new profile (400), and saves nothing', async () => {
      const before = await changeCount();
      const res = await api('POST', '/v1/profiles', {
        body: {
          name: '-login',
          title: '',
          callerId: '+1 202 555 0123',
          mode: 'READ',
          codeLength: '6',
          callbackNumber: 'ext. 7100',
          repeats: 2.5,
          keyBeforeCode: 'yes',
          ringTimeoutSeconds: 4,
          retriesOnNoAnswer: -1,
          colour: 'red',
        },
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid');
      expect(res.body.problems).toEqual([
        {
          field: 'name',
          message:
            'lower case letters, digits and "-", at most 40 characters, starting with a letter or digit',
        },
        { field: 'title', message: 'must not be empty' },
        { field: 'mode', message: 'must be one of read, input' },
        { field: 'codeLength', message: 'must be a whole number from 4 to 10' },
        { field: 'callerId', message: 'must be an E.164 number like +12025550100' },
        { field: 'callbackNumber', message: 'digits, *, # and + only, at most 40 (empty for none)' },
        { field: 'repeats', message: 'must be a whole number from 1 to 5' },
        { field: 'keyBeforeCode', message: 'must be true or false' },
        { field: 'ringTimeoutSeconds', message: 'must be a whole number from 5 to 120' },
        { field: 'retriesOnNoAnswer', message: 'must be a whole number from 0 to 3' },
        { field: 'colour', message: 'unknown field colour' },
      ]);
      expect(res.body.message).toContain('callerId: must be an E.164 number like +12025550100');
      expect(await changeCount()).toBe(before);
    });

    it('names the required fields left out', async () => {
      const res = await api('POST', '/v1/profiles', { body: { mode: 'input' } });
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual([
        { field: 'name', message: 'required' },
        { field: 'title', message: 'required' },
        { field: 'callerId', message: 'required' },
      ]);
    });

    it('refuses a bad field of a change, a change of nothing, and a change of the id', async () => {
      const bad = await api('PATCH', '/v1/profiles/lab-read', {
        body: { locale: 'EN', smsAfterCall: 'never' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.problems).toEqual([
        { field: 'smsAfterCall', message: 'must be one of off, always, not_answered' },
        { field: 'locale', message: 'a language like en, or language_COUNTRY like en_US' },
      ]);
      const nothing = await api('PATCH', '/v1/profiles/lab-read', { body: {} });
      expect(nothing.status).toBe(400);
      expect(nothing.body.problems).toEqual([
        { field: 'body', message: 'nothing to change: give at least one field' },
      ]);
      const id = await api('PATCH', '/v1/profiles/lab-read', { body: { id: 7 } });
      expect(id.body.problems).toEqual([{ field: 'id', message: 'unknown field id' }]);
    });

    it('refuses a duplicate name with 409 naming the field', async () => {
      const res = await api('POST', '/v1/profiles', { body: { ...NEW_PROFILE, name: 'lab-read' } });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        error: 'conflict',
        message: 'name: a profile named lab-read already exists',
        problems: [{ field: 'name', message: 'a profile named lab-read already exists' }],
      });
      const renamed = await api('PATCH', '/v1/profiles/lab-input', { body: { name: 'lab-read' } });
      expect(renamed.status).toBe(409);
    });

    it('refuses a call-back number another profile has with 409 naming that profile', async () => {
      const res = await api('POST', '/v1/profiles', { body: { ...NEW_PROFILE, callbackNumber: '7100' } });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        error: 'conflict',
        message: 'callbackNumber: 7100 is already the call-back number of profile lab-input',
        problems: [{ field: 'callbackNumber', message: 'already the call-back number of profile lab-input' }],
      });
      const moved = await api('PATCH', '/v1/profiles/lab-input', { body: { callbackNumber: '7101' } });
      expect(moved.status).toBe(409);
      expect(moved.body.message).toBe(
        'callbackNumber: 7101 is already the call-back number of profile lab-read',
      );
    });
  });

  it('exercised every profile endpoint with a successful request', () => {
    const missed = ENDPOINTS.filter((e) => e.url.startsWith('/v1/profiles'))
      .filter((e) => {
        const pattern = new RegExp(`^${e.url.replace(/:[A-Za-z]+/g, '[^/]+')}$`);
        return !succeeded.some((r) => r.method === e.method && pattern.test(r.path));
      })
      .map((e) => `${e.method} ${e.url}`);
    expect(missed).toEqual([]);
    expect(ENDPOINTS.filter((e) => e.url.startsWith('/v1/profiles'))).toHaveLength(5);
  });

  it('never answered with a stack trace', () => {
    expect(answered.length).toBeGreaterThan(20);
    for (const text of answered) expect(text).not.toMatch(STACK_LINE);
    for (const text of answered) expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });
});
