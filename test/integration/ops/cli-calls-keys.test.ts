/**
 * `pinverify calls ...`, `pinverify changes` and `pinverify api-keys ...` run in-process against
 * the test database: the audit trail read back (rows written with writeAuditRecord, as the app
 * writes them) with filters and a call's events, unknown calls refused; API keys printed once and
 * stored only as a hash (no column holds the key), listed without it, revoked so they stop
 * authenticating; the change log naming the CLI actor.
 */
import { createHash, randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Pool } from 'pg';
import { authenticateApiKey, type ApiKeyInfo } from '../../../src/ops/api-key-admin';
import type { CallEvent, CallSummary } from '../../../src/ops/call-history';
import type { ConfigChangeRow } from '../../../src/ops/config-change-log';
import { writeAuditRecord } from '../../../src/store/pg-audit-trail';
import { freshDatabase } from '../helpers';
import { CLI_ENV, cli } from './cli-harness';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** Three calls: verified (oldest), failed, and one still open (newest). */
async function insertCalls(pool: Pool): Promise<void> {
  await writeAuditRecord(pool, {
    op: 'open',
    call: {
      callId: 'call-verified',
      channelId: '1772359200.11',
      callerMasked: '+1202555****',
      previousHop: 'pinverify-support-autopin',
      startedAt: at(0),
    },
  });
  for (const [i, kind, detail] of [
    [1, 'lookup', { contactId: 1 }],
    [2, 'code_sent', { method: 'sms', to: '+1202555****' }],
    [3, 'attempt', { ok: true }],
  ] as const) {
    await writeAuditRecord(pool, {
      op: 'event',
      uid: randomUUID(),
      callId: 'call-verified',
      kind,
      detail,
      at: at(i),
    });
  }
  await writeAuditRecord(pool, {
    op: 'close',
    callId: 'call-verified',
    at: at(4),
    outcome: {
      result: 'verified',
      reason: 'ok',
      method: 'sms',
      contactId: 1,
      route: 'pinverify-support-autopin',
      destination: '2001',
    },
  });
  await writeAuditRecord(pool, {
    op: 'open',
    call: {
      callId: 'call-failed',
      channelId: '1772359260.12',
      callerMasked: '+1202555****',
      previousHop: 'pinverify-accounting-autopin',
      startedAt: at(60),
    },
  });
  await writeAuditRecord(pool, {
    op: 'close',
    callId: 'call-failed',
    at: at(70),
    outcome: {
      result: 'failed',
      reason: 'no_match',
      method: null,
      contactId: null,
      route: '',
      destination: '2900',
    },
  });
  await writeAuditRecord(pool, {
    op: 'open',
    call: {
      callId: 'call-open',
      channelId: '1772359320.13',
      callerMasked: 'anonymous',
      previousHop: 'pinverify-noroute-autopin',
      startedAt: at(120),
    },
  });
}

async function apiKeyRows(pool: Pool): Promise<Record<string, unknown>[]> {
  const { rows } = await pool.query('SELECT * FROM api_keys ORDER BY id');
  return rows as Record<string, unknown>[];
}

describe('pinverify calls, changes and api-keys (CLI)', () => {
  let pool: Pool;

  beforeAll(async () => {
    pool = await freshDatabase();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE calls, call_events, api_keys, config_changes CASCADE');
  });
  afterAll(async () => {
    await pool.end();
  });

  describe('calls recent', () => {
    beforeEach(() => insertCalls(pool));

    it('lists calls newest first, as JSON with every field', async () => {
      const run = await cli(['--json', 'calls', 'recent']);
      expect(run.code).toBe(0);
      const calls = run.json<CallSummary[]>();
      expect(calls.map((c) => c.callId)).toEqual(['call-open', 'call-failed', 'call-verified']);
      expect(calls[2]).toEqual({
        callId: 'call-verified',
        channelId: '1772359200.11',
        caller: '+1202555****',
        previousHop: 'pinverify-support-autopin',
        startedAt: at(0).toISOString(),
        endedAt: at(4).toISOString(),
        result: 'verified',
        reason: 'ok',
        method: 'sms',
        contactId: 1,
        route: 'pinverify-support-autopin',
        destination: '2001',
      });
    });

    it('shows an open call as "open" in the table', async () => {
      const run = await cli(['calls', 'recent']);
      expect(run.code).toBe(0);
      const lines = run.out.split('\n');
      expect(lines[0]).toMatch(
        /^STARTED\s+CALL ID\s+CALLER\s+PREVIOUS HOP\s+RESULT\s+REASON\s+METHOD\s+DESTINATION$/,
      );
      expect(lines[1]).toMatch(
        /^2026-03-01 10:02:00Z\s+call-open\s+anonymous\s+pinverify-noroute-autopin\s+open\s+-\s+-\s+-$/,
      );
      expect(lines[3]).toMatch(/call-verified .*verified\s+ok\s+sms\s+2001$/);
    });

    it('filters by result, time and count', async () => {
      const ids = async (...args: string[]) =>
        (await cli(['--json', 'calls', 'recent', ...args])).json<CallSummary[]>().map((c) => c.callId);
      expect(await ids('--result', 'verified')).toEqual(['call-verified']);
      expect(await ids('--result', 'failed')).toEqual(['call-failed']);
      expect(await ids('--result', 'open')).toEqual(['call-open']);
      expect(await ids('--since', at(60).toISOString())).toEqual(['call-open', 'call-failed']);
      expect(await ids('--limit', '1')).toEqual(['call-open']);
    });

    it('refuses a bad filter, naming it', async () => {
      const result = await cli(['calls', 'recent', '--result', 'ok']);
      expect(result.code).toBe(1);
      expect(result.err).toContain('result: expected verified, failed or open');
      const limit = await cli(['calls', 'recent', '--limit', 'ten']);
      expect(limit.code).toBe(1);
      expect(limit.err).toContain('limit: expected a whole number');
      const since = await cli(['calls', 'recent', '--since', 'yesterday']);
      expect(since.code).toBe(1);
      expect(since.err).toContain('since: expected a date and time');
    });

    it('says so when there are no calls', async () => {
      await pool.query('TRUNCATE calls CASCADE');
      expect((await cli(['calls', 'recent'])).out).toBe('no calls');
    });
  });

  describe('calls show', () => {
    beforeEach(() => insertCalls(pool));

    it('shows a call and its events in order, by call id or by channel id', async () => {
      const run = await cli(['--json', 'calls', 'show', 'call-verified']);
      expect(run.code).toBe(0);
      const call = run.json<CallSummary & { events: CallEvent[] }>();
      expect(call).toMatchObject({ callId: 'call-verified', result: 'verified' });
      expect(call.events).toEqual([
        { at: at(1).toISOString(), kind: 'lookup', detail: { contactId: 1 } },
        { at: at(2).toISOString(), kind: 'code_sent', detail: { method: 'sms', to: '+1202555****' } },
        { at: at(3).toISOString(), kind: 'attempt', detail: { ok: true } },
      ]);
      const byChannel = await cli(['--json', 'calls', 'show', '1772359200.11']);
      expect(byChannel.json()).toEqual(call);
      const text = await cli(['calls', 'show', 'call-verified']);
      expect(text.out).toMatch(/^AT\s+EVENT\s+DETAIL$/m);
      expect(text.out).toMatch(
        /^2026-03-01 10:00:02Z\s+code_sent\s+\{"to":"\+1202555\*\*\*\*","method":"sms"\}$/m,
      );
    });

    it('refuses an unknown call id', async () => {
      const run = await cli(['calls', 'show', 'no-such-call']);
      expect(run).toMatchObject({ code: 1, out: '' });
      expect(run.err).toBe('pinverify: no call with id no-such-call');
    });
  });

  describe('api-keys', () => {
    it('prints a new key once and stores only its SHA-256', async () => {
      const run = await cli(['api-keys', 'create', 'crm-sync']);
      expect(run.code).toBe(0);
      const key = /^(pvk_[0-9a-f]{12}_[A-Za-z0-9_-]{32})$/m.exec(run.out)?.[1];
      expect(key).toBeDefined();
      expect(run.out).toContain('It is shown only now');
      const rows = await apiKeyRows(pool);
      expect(rows).toHaveLength(1);
      const row = rows[0] ?? {};
      expect(row).toMatchObject({ name: 'crm-sync', revoked_at: null, last_used_at: null });
      expect(row.key_hash).toBe(
        createHash('sha256')
          .update(key ?? '')
          .digest('hex'),
      );
      // The whole 32-character secret after "pvk_<prefix>_" (base64url: it may hold '_' itself,
      // so splitting on '_' could leave a fragment, even an empty one that every value contains).
      const secret = (key ?? '').slice('pvk_'.length + 12 + 1);
      expect(secret).toHaveLength(32);
      for (const value of Object.values(row)) {
        expect(String(value)).not.toContain(key);
        expect(String(value)).not.toContain(secret);
      }
      expect(await authenticateApiKey(pool, key ?? '')).toEqual({
        id: row.id,
        name: 'crm-sync',
        scope: 'admin',
      });
      const { rows: changes } = await pool.query('SELECT actor, action, subject, detail FROM config_changes');
      expect(changes).toEqual([
        { actor: 'cli:ops-test', action: 'api_key.create', subject: 'crm-sync', detail: { scope: 'admin' } },
      ]);
      expect(JSON.stringify(changes)).not.toContain(secret);
    });

    it('gives the key in the JSON of create, and never in list', async () => {
      const created = await cli(['--json', 'api-keys', 'create', 'billing']);
      expect(created.code).toBe(0);
      const info = created.json<ApiKeyInfo & { key: string }>();
      expect(info).toMatchObject({
        name: 'billing',
        prefix: expect.stringMatching(/^[0-9a-f]{12}$/) as unknown,
      });
      expect(info.key.startsWith(`pvk_${info.prefix}_`)).toBe(true);
      await cli(['api-keys', 'create', 'another']);

      const list = await cli(['--json', 'api-keys', 'list']);
      expect(list.code).toBe(0);
      const keys = list.json<Record<string, unknown>[]>();
      expect(keys.map((k) => k.name)).toEqual(['another', 'billing']);
      expect(Object.keys(keys[1] ?? {}).sort()).toEqual([
        'createdAt',
        'id',
        'lastUsedAt',
        'name',
        'prefix',
        'revokedAt',
        'scope',
      ]);
      expect(list.out).not.toContain(info.key);
      const text = await cli(['api-keys', 'list']);
      expect(text.out).toMatch(/^ID\s+NAME\s+PREFIX\s+SCOPE\s+CREATED\s+LAST USED\s+REVOKED$/m);
      expect(text.out).toContain(info.prefix);
      expect(text.out).not.toContain(info.key);
    });

    it('creates a key with a narrower scope, and refuses an unknown scope', async () => {
      const run = await cli(['--json', 'api-keys', 'create', 'crm-read', '--scope', 'read']);
      expect(run.code).toBe(0);
      const info = run.json<ApiKeyInfo & { key: string }>();
      expect(info.scope).toBe('read');
      expect(await authenticateApiKey(pool, info.key)).toMatchObject({ name: 'crm-read', scope: 'read' });
      const bad = await cli(['api-keys', 'create', 'crm-x', '--scope', 'root']);
      expect(bad.code).toBe(1);
      expect(bad.err).toContain('scope: scope must be one of read, contacts, admin');
    });

    it('refuses a duplicate name as a conflict and a bad name as invalid', async () => {
      expect((await cli(['api-keys', 'create', 'crm-sync'])).code).toBe(0);
      const dup = await cli(['api-keys', 'create', 'crm-sync']);
      expect(dup.code).toBe(1);
      expect(dup.err).toBe('pinverify: name: an API key named crm-sync already exists');
      const bad = await cli(['api-keys', 'create', 'crm sync!']);
      expect(bad.code).toBe(1);
      expect(bad.err).toContain('name: letters, digits, _ . - (up to 63), e.g. crm-sync');
      expect(await apiKeyRows(pool)).toHaveLength(1);
    });

    it('revokes a key by name or id: it stops authenticating at once', async () => {
      const a = (await cli(['--json', 'api-keys', 'create', 'a'])).json<ApiKeyInfo & { key: string }>();
      const b = (await cli(['--json', 'api-keys', 'create', 'b'])).json<ApiKeyInfo & { key: string }>();
      const byName = await cli(['api-keys', 'revoke', 'a']);
      expect(byName).toMatchObject({ code: 0, out: `revoked API key a (${a.prefix})` });
      expect(await authenticateApiKey(pool, a.key)).toBeNull();
      expect(await authenticateApiKey(pool, b.key)).toEqual({ id: b.id, name: 'b', scope: 'admin' });

      const byId = await cli(['--json', 'api-keys', 'revoke', String(b.id)]);
      const revoked = byId.json<ApiKeyInfo>();
      expect(revoked.revokedAt).not.toBeNull();
      expect(await authenticateApiKey(pool, b.key)).toBeNull();
      // Revoking again keeps the first revocation time.
      const again = (await cli(['--json', 'api-keys', 'revoke', 'b'])).json<ApiKeyInfo>();
      expect(again.revokedAt).toEqual(revoked.revokedAt);

      const list = (await cli(['--json', 'api-keys', 'list'])).json<ApiKeyInfo[]>();
      expect(list.every((k) => k.revokedAt !== null)).toBe(true);
    });

    it('refuses to revoke an unknown key', async () => {
      const run = await cli(['api-keys', 'revoke', 'nope']);
      expect(run.code).toBe(1);
      expect(run.err).toBe('pinverify: no API key nope');
    });

    it('says so when there are no keys', async () => {
      expect((await cli(['api-keys', 'list'])).out).toContain('no API keys');
    });
  });

  describe('changes', () => {
    it('lists who changed what, newest first, with --limit', async () => {
      await cli(['api-keys', 'create', 'first']);
      await cli(['api-keys', 'revoke', 'first']);
      const run = await cli(['--json', 'changes']);
      expect(run.code).toBe(0);
      const changes = run.json<ConfigChangeRow[]>();
      expect(changes.map((c) => [c.actor, c.action, c.subject])).toEqual([
        ['cli:ops-test', 'api_key.revoke', 'first'],
        ['cli:ops-test', 'api_key.create', 'first'],
      ]);
      expect((await cli(['--json', 'changes', '--limit', '1'])).json<unknown[]>()).toHaveLength(1);
      const text = await cli(['changes']);
      expect(text.out).toMatch(/^AT\s+ACTOR\s+ACTION\s+SUBJECT$/m);
      expect(text.out).toMatch(/cli:ops-test\s+api_key\.revoke\s+first$/m);
    });

    it('names the operating system user when PINVERIFY_ACTOR is not set', async () => {
      const { PINVERIFY_ACTOR: _actor, ...env } = CLI_ENV;
      await cli(['api-keys', 'create', 'by-os-user'], { env });
      const { rows } = await pool.query<{ actor: string }>('SELECT actor FROM config_changes');
      let user = 'unknown';
      try {
        user = userInfo().username;
      } catch {
        // no passwd entry: the CLI says "unknown" too
      }
      expect(rows).toEqual([{ actor: `cli:${user}` }]);
    });

    it('says so when nothing was changed', async () => {
      expect((await cli(['changes'])).out).toBe('no changes recorded');
    });
  });
});
