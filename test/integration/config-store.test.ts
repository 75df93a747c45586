import type { Pool } from 'pg';
import { DEFAULT_SETTINGS, DEFAULT_TEMPLATES } from '../../src/store/config-defaults';
import { PgConfigStore, startConfigListener, type ConfigListener } from '../../src/store/pg-config-store';
import { freshDatabase, reseedConfig, recordingLogger, TEST_DATABASE_URL, waitFor } from './helpers';

const SUPPORT = {
  title: 'Support',
  previous_hop: 'support-autopin',
  success_destination: '2001',
  failed_destination: '2901@support-failed:2',
};

async function insertRoute(pool: Pool, r: typeof SUPPORT, enabled = true): Promise<void> {
  await pool.query(
    `INSERT INTO routes (title, previous_hop, success_destination, failed_destination, enabled)
     VALUES ($1, $2, $3, $4, $5)`,
    [r.title, r.previous_hop, r.success_destination, r.failed_destination, enabled],
  );
}

async function setSetting(pool: Pool, key: string, value: unknown): Promise<void> {
  await pool.query(
    `INSERT INTO settings (key, value) VALUES ($1, $2::jsonb)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [key, JSON.stringify(value)],
  );
}

describe('PgConfigStore', () => {
  let pool: Pool;
  let store: PgConfigStore;
  let logger: ReturnType<typeof recordingLogger>;

  beforeAll(async () => {
    pool = await freshDatabase();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE routes');
    // Back to the seeded defaults, as a fresh install has them.
    await reseedConfig(pool);
    logger = recordingLogger();
    store = new PgConfigStore(pool, { logger });
  });
  afterEach(() => {
    store.close();
  });
  afterAll(async () => {
    await pool.end();
  });

  describe('settings', () => {
    it('seeds exactly the built-in defaults', async () => {
      expect(await store.getSettings()).toEqual(DEFAULT_SETTINGS);
      expect(logger.entries).toEqual([]);
    });

    it('uses valid stored values', async () => {
      await setSetting(pool, 'codeLength', 8);
      await setSetting(pool, 'companyName', 'ACME Ltd');
      await setSetting(pool, 'defaultSuccessDestination', '100@sales:2');
      expect(await store.getSettings()).toEqual({
        ...DEFAULT_SETTINGS,
        codeLength: 8,
        companyName: 'ACME Ltd',
        defaultSuccessDestination: '100@sales:2',
      });
    });

    it.each([
      ['codeLength', 3],
      ['codeLength', 11],
      ['codeLength', '6'],
      ['codeLength', 6.5],
      ['codeValiditySeconds', 601],
      ['codeValiditySeconds', 10],
      ['maxTriesPerCode', 0],
      ['menuTimeoutMs', null],
      ['defaultCountry', 'XX'],
      ['defaultCountry', 'us'],
      ['defaultSuccessDestination', '2000@'],
      ['defaultContext', 'has space'],
      ['companyName', ''],
      ['companyName', '{code}'],
    ])('falls back to the default for %s = %j and says so', async (key, value) => {
      await setSetting(pool, key, value);
      const settings = await store.getSettings();
      expect(settings).toEqual(DEFAULT_SETTINGS);
      expect(logger.entries).toHaveLength(1);
      expect(logger.entries[0]).toEqual(
        expect.objectContaining({
          level: 'warn',
          msg: expect.stringContaining(`setting ${key} is invalid`) as unknown,
          meta: expect.objectContaining({
            key,
            value,
            default: DEFAULT_SETTINGS[key as keyof typeof DEFAULT_SETTINGS],
          }) as unknown,
        }),
      );
    });

    it('keeps the other settings when one is invalid, and reports a missing or unknown key', async () => {
      await setSetting(pool, 'codeLength', 99);
      await setSetting(pool, 'maxSendsPerCall', 5);
      await setSetting(pool, 'codelength', 8);
      await pool.query(`DELETE FROM settings WHERE key = 'companyName'`);
      const settings = await store.getSettings();
      expect(settings).toEqual({ ...DEFAULT_SETTINGS, maxSendsPerCall: 5 });
      const keys = logger.entries.map((e) => e.meta.key);
      expect(keys.sort()).toEqual(['codeLength', 'codelength', 'companyName']);
    });

    it('reports the same bad value once, not on every reload, and again after a change', async () => {
      store.close();
      store = new PgConfigStore(pool, { logger, ttlSeconds: 0.05 });
      await setSetting(pool, 'codeLength', 99);
      await store.getSettings();
      await new Promise((r) => setTimeout(r, 80)); // past the TTL: reloaded
      await store.getSettings();
      expect(logger.entries).toHaveLength(1);
      store.invalidate();
      await store.getSettings();
      expect(logger.entries).toHaveLength(2);
    });

    it('serves from cache until invalidated', async () => {
      expect((await store.getSettings()).codeLength).toBe(6);
      await setSetting(pool, 'codeLength', 8);
      expect((await store.getSettings()).codeLength).toBe(6);
      store.invalidate();
      expect((await store.getSettings()).codeLength).toBe(8);
    });

    it('hands out copies: a caller mutating its settings does not change the cache', async () => {
      const s = await store.getSettings();
      s.codeLength = 4;
      expect((await store.getSettings()).codeLength).toBe(6);
    });

    it('makes one query for a burst of concurrent reads', async () => {
      const query = jest.spyOn(pool, 'query');
      try {
        await Promise.all(Array.from({ length: 20 }, () => store.getSettings()));
        expect(query).toHaveBeenCalledTimes(1);
      } finally {
        query.mockRestore();
      }
    });
  });

  describe('routes', () => {
    it('finds an enabled route by previous hop', async () => {
      await insertRoute(pool, SUPPORT);
      expect(await store.findRoute('support-autopin')).toEqual({
        id: expect.any(Number) as unknown,
        title: 'Support',
        previousHop: 'support-autopin',
        successDestination: '2001',
        failedDestination: '2901@support-failed:2',
        enabled: true,
        mode: 'otp',
      });
    });

    it('treats a disabled or unknown route as no route', async () => {
      await insertRoute(pool, SUPPORT, false);
      expect(await store.findRoute('support-autopin')).toBeNull();
      expect(await store.findRoute('nowhere')).toBeNull();
    });

    it('rejects malformed destinations in the database itself', async () => {
      await expect(insertRoute(pool, { ...SUPPORT, success_destination: '2001@ctx:first' })).rejects.toThrow(
        /check constraint/,
      );
      await expect(insertRoute(pool, { ...SUPPORT, failed_destination: '' })).rejects.toThrow(
        /check constraint/,
      );
    });
  });

  describe('templates', () => {
    it('seeds exactly the built-in templates, each saying we never ask for the code', async () => {
      for (const channel of ['email', 'sms'] as const) {
        const template = await store.getTemplate(channel);
        expect(template).toEqual(DEFAULT_TEMPLATES[channel]);
        expect(template.text).toContain('We will never ask you for this code');
        for (const placeholder of ['{code}', '{company}', '{minutes}'])
          expect(template.text).toContain(placeholder);
      }
      expect((await store.getTemplate('email')).text).toContain('{name}');
      expect((await store.getTemplate('email')).html).toContain('We will never ask you for this code');
      expect(logger.entries).toEqual([]);
    });

    it('uses an edited template', async () => {
      await pool.query(`UPDATE templates SET text = 'Code {code} for {name}' WHERE channel = 'sms'`);
      expect(await store.getTemplate('sms')).toEqual({
        channel: 'sms',
        subject: null,
        text: 'Code {code} for {name}',
        html: null,
      });
    });

    it('falls back to the built-in template when the stored one is unusable or missing', async () => {
      await pool.query(`UPDATE templates SET text = 'Your code is coming' WHERE channel = 'sms'`);
      await pool.query(`DELETE FROM templates WHERE channel = 'email'`);
      expect(await store.getTemplate('sms')).toEqual(DEFAULT_TEMPLATES.sms);
      expect(await store.getTemplate('email')).toEqual(DEFAULT_TEMPLATES.email);
      expect(logger.entries.map((e) => e.meta.channel).sort()).toEqual(['email', 'sms']);
      expect(logger.entries.find((e) => e.meta.channel === 'sms')?.meta.problem).toMatch(/\{code\}/);
    });

    it('keeps SMS without subject or HTML in the database', async () => {
      await expect(pool.query(`UPDATE templates SET subject = 'x' WHERE channel = 'sms'`)).rejects.toThrow(
        /check constraint/,
      );
    });
  });
});

describe('startConfigListener', () => {
  let pool: Pool;
  let store: PgConfigStore;
  let listener: ConfigListener | null = null;

  beforeAll(async () => {
    pool = await freshDatabase();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE routes');
    await insertRoute(pool, SUPPORT);
    // A long TTL, so only a notification can explain seeing a change.
    store = new PgConfigStore(pool, { ttlSeconds: 3600 });
  });
  afterEach(async () => {
    await listener?.close();
    listener = null;
    store.close();
  });
  afterAll(async () => {
    await pool.end();
  });

  async function successOf(hop: string): Promise<string | undefined> {
    return (await store.findRoute(hop))?.successDestination;
  }

  it('sees a route changed in SQL within a second', async () => {
    listener = startConfigListener(pool, store);
    await listener.ready;
    expect(await successOf('support-autopin')).toBe('2001');
    await pool.query(`UPDATE routes SET success_destination = '3001' WHERE previous_hop = 'support-autopin'`);
    await waitFor(async () => (await successOf('support-autopin')) === '3001', 1000);
  });

  it('sees settings and templates changes too, and a route being disabled', async () => {
    listener = startConfigListener(TEST_DATABASE_URL, store);
    await listener.ready;
    expect((await store.getSettings()).maxSendsPerCall).toBe(3);
    expect((await store.getTemplate('sms')).text).toBe(DEFAULT_TEMPLATES.sms.text);
    await setSetting(pool, 'maxSendsPerCall', 2);
    await pool.query(`UPDATE templates SET text = 'Code {code}' WHERE channel = 'sms'`);
    await pool.query(`UPDATE routes SET enabled = false`);
    await waitFor(async () => (await store.getSettings()).maxSendsPerCall === 2, 1000);
    await waitFor(async () => (await store.getTemplate('sms')).text === 'Code {code}', 1000);
    await waitFor(async () => (await store.findRoute('support-autopin')) === null, 1000);
    await setSetting(pool, 'maxSendsPerCall', 3);
    await pool.query(`UPDATE templates SET text = $1 WHERE channel = 'sms'`, [DEFAULT_TEMPLATES.sms.text]);
  });

  it('reconnects after losing its connection and keeps delivering changes', async () => {
    const logger = recordingLogger();
    listener = startConfigListener(pool, store, { logger, reconnectDelayMs: 50 });
    await listener.ready;
    expect(await successOf('support-autopin')).toBe('2001');
    const killed = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND query = 'LISTEN pinverify_config' AND pid <> pg_backend_pid()`,
    );
    expect(killed.rowCount).toBe(1);
    await waitFor(() => logger.entries.some((e) => e.msg.includes('reconnecting')), 1000);
    await waitFor(() => listener?.isListening() === true, 2000);
    await pool.query(`UPDATE routes SET success_destination = '4001'`);
    await waitFor(async () => (await successOf('support-autopin')) === '4001', 1000);
  });

  it('stops for good when closed', async () => {
    listener = startConfigListener(pool, store);
    await listener.ready;
    await listener.close();
    expect(listener.isListening()).toBe(false);
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>(
        // Only this database's: the lab app listens too, on the lab database.
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE query = 'LISTEN pinverify_config' AND datname = current_database()`,
      );
      return rows[0]?.n === 0;
    });
  });
});
