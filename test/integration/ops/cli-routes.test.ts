/**
 * `pinverify routes ...` run in-process against the test database and the lab's running
 * Asterisk (AMI): every subcommand's happy path and --json output, and each refusal with its
 * exit code and a message naming the problem: a destination or previous hop missing from the
 * running dialplan (and --force saving it with a warning), a duplicate previous hop, an unknown
 * route, AMI unreachable or not configured. Changes are recorded in config_changes as cli:<actor>.
 */
import type { Pool } from 'pg';
import type { Route } from '../../../src/domain';
import { DEMO_NEW_DEPARTMENT_HOP, DEMO_ROUTES, loadDemoData } from '../../../src/store/demo-data';
import { freshDatabase } from '../helpers';
import { AMI_ENV, CLI_ENV, cli } from './cli-harness';

const SUPPORT = DEMO_ROUTES.support.previousHop;
const ACCOUNTING = DEMO_ROUTES.accounting.previousHop;
/** A context of the lab dialplan without a demo route (README's "Adding a department"). */
const SALES = DEMO_NEW_DEPARTMENT_HOP;

const AMI_DOWN = { ...CLI_ENV, AMI_PORT: '1' };
/** How messages name the AMI nobody answers at. */
const DEAD_AMI = `AMI ${AMI_ENV.AMI_HOST}:1`;

async function routeRow(pool: Pool, hop: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool.query('SELECT * FROM routes WHERE previous_hop = $1', [hop]);
  return rows[0] as Record<string, unknown> | undefined;
}

async function lastChange(pool: Pool): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool.query('SELECT * FROM config_changes ORDER BY id DESC LIMIT 1');
  return rows[0] as Record<string, unknown> | undefined;
}

const addSales = (...extra: string[]) => [
  'routes',
  'add',
  '--title',
  'Sales PIN verification',
  '--previous-hop',
  SALES,
  '--success',
  '2003',
  '--failed',
  '2903',
  ...extra,
];

describe('pinverify routes (CLI)', () => {
  let pool: Pool;

  beforeAll(async () => {
    pool = await freshDatabase();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE routes, config_changes');
    await loadDemoData(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  describe('AMI unreachable or not configured', () => {
    // First in the file: asterisk-manager retries a refused connection 10 s later whatever we
    // do, and that timer then runs out while the other tests run instead of at the end.
    it('refuses `routes add` with exit 3, naming AMI and suggesting --force', async () => {
      const run = await cli(addSales(), { env: AMI_DOWN });
      expect(run.code).toBe(3);
      expect(run.err).toContain(DEAD_AMI);
      expect(run.err).toContain('cannot check against the running dialplan');
      expect(run.err).toContain('--force');
      expect(await routeRow(pool, SALES)).toBeUndefined();
    });

    it('saves with --force and warns that nothing was checked', async () => {
      const run = await cli(addSales('--force'), { env: AMI_DOWN });
      expect(run.code).toBe(0);
      expect(run.err).toMatch(/^warning: not checked against the PBX: /);
      expect(run.err).toContain(DEAD_AMI);
      expect(run.out).toContain(`added route`);
      expect(await routeRow(pool, SALES)).toMatchObject({ success_destination: '2003' });
      expect(await lastChange(pool)).toMatchObject({
        actor: 'cli:ops-test',
        action: 'route.add',
        detail: expect.objectContaining({ forced: true }) as unknown,
      });
    });

    it('says which variables are missing when AMI is not configured', async () => {
      const { AMI_USER: _user, AMI_SECRET: _secret, ...env } = CLI_ENV;
      const run = await cli(addSales(), { env });
      expect(run.code).toBe(3);
      expect(run.err).toContain('AMI is not configured (AMI_USER and AMI_SECRET not set)');
      expect(run.err).toContain('--force');
    });

    it('does not need AMI for commands that check nothing against the dialplan', async () => {
      expect((await cli(['routes', 'list'], { env: AMI_DOWN })).code).toBe(0);
      // Only the title changes: nothing to check, so no AMI connection is even tried.
      const run = await cli(['routes', 'update', SUPPORT, '--title', 'Support desk'], { env: AMI_DOWN });
      expect(run).toMatchObject({ code: 0, err: '' });
      expect(await routeRow(pool, SUPPORT)).toMatchObject({ title: 'Support desk' });
    });
  });

  describe('list and show', () => {
    it('lists the routes as a table', async () => {
      const run = await cli(['routes', 'list']);
      expect(run.code).toBe(0);
      const lines = run.out.split('\n');
      expect(lines[0]).toMatch(/^ID\s+TITLE\s+PREVIOUS HOP\s+MODE\s+SUCCESS\s+FAILED\s+ENABLED$/);
      expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(2))).toEqual([
        [ACCOUNTING, 'otp', '2002', '2902', 'yes'],
        [DEMO_ROUTES.billing.previousHop, 'pin', '2005', '2905', 'yes'],
        [DEMO_ROUTES.fraud.previousHop, 'pin_then_otp', '2006', '2906', 'yes'],
        [SUPPORT, 'otp', '2001', '2901', 'yes'],
      ]);
      expect(run.err).toBe('');
    });

    it('lists them as JSON with --json (before or after the command)', async () => {
      for (const argv of [
        ['--json', 'routes', 'list'],
        ['routes', 'list', '--json'],
      ]) {
        const run = await cli(argv);
        expect(run.code).toBe(0);
        const routes = run.json<Route[]>();
        expect(routes).toEqual(
          [DEMO_ROUTES.accounting, DEMO_ROUTES.billing, DEMO_ROUTES.fraud, DEMO_ROUTES.support].map((r) => ({
            id: expect.any(Number) as unknown,
            ...r,
            enabled: true,
          })),
        );
      }
    });

    it('says so when there are no routes', async () => {
      await pool.query('TRUNCATE routes');
      const run = await cli(['routes', 'list']);
      expect(run.code).toBe(0);
      expect(run.out).toContain('no routes');
      expect((await cli(['--json', 'routes', 'list'])).json()).toEqual([]);
    });

    it('shows one route by previous hop or by id', async () => {
      const byHop = await cli(['--json', 'routes', 'show', SUPPORT]);
      expect(byHop.code).toBe(0);
      const route = byHop.json<Route>();
      expect(route).toMatchObject({ ...DEMO_ROUTES.support, enabled: true });
      const byId = await cli(['--json', 'routes', 'show', String(route.id)]);
      expect(byId.json()).toEqual(route);
      const text = await cli(['routes', 'show', String(route.id)]);
      expect(text.out).toContain(SUPPORT);
      expect(text.out).not.toContain(ACCOUNTING);
    });

    it('refuses an unknown route with exit 1, saying how it was looked up', async () => {
      const byId = await cli(['routes', 'show', '9999']);
      expect(byId).toMatchObject({ code: 1, out: '' });
      expect(byId.err).toBe('pinverify: no route with id 9999');
      const byHop = await cli(['routes', 'show', 'no-such-hop']);
      expect(byHop.code).toBe(1);
      expect(byHop.err).toBe('pinverify: no route for previous hop no-such-hop');
      const json = await cli(['--json', 'routes', 'show', 'no-such-hop']);
      expect(json.code).toBe(1);
      expect(json.json()).toEqual({
        error: 'not_found',
        message: 'no route for previous hop no-such-hop',
        problems: [],
      });
    });
  });

  describe('add', () => {
    it('adds a route whose previous hop and destinations the running dialplan has', async () => {
      const run = await cli(addSales('--json'));
      expect(run.code).toBe(0);
      expect(run.err).toBe('');
      const saved = run.json<Route & { warnings: string[] }>();
      expect(saved).toEqual({
        id: expect.any(Number) as unknown,
        title: 'Sales PIN verification',
        previousHop: SALES,
        successDestination: '2003',
        failedDestination: '2903',
        enabled: true,
        mode: 'otp',
        warnings: [],
      });
      expect(await routeRow(pool, SALES)).toMatchObject({ id: saved.id, failed_destination: '2903' });
      expect(await lastChange(pool)).toMatchObject({
        actor: 'cli:ops-test',
        action: 'route.add',
        subject: SALES,
        detail: expect.objectContaining({ forced: false }) as unknown,
      });
    });

    it('prints a sentence without --json, and adds a disabled route with --disabled', async () => {
      const run = await cli([
        'routes',
        'add',
        '--title',
        'Later',
        '--previous-hop',
        SALES,
        '--success',
        '2003@pinverify-destinations:2',
        '--failed',
        '2903',
        '--disabled',
      ]);
      expect(run.code).toBe(0);
      expect(run.out).toMatch(
        new RegExp(
          `^added route \\d+ "Later": ${SALES} \\(otp\\) -> success 2003@pinverify-destinations:2, failed 2903 \\(disabled\\)$`,
        ),
      );
      expect(await routeRow(pool, SALES)).toMatchObject({ enabled: false });
    });

    it('refuses a destination the running dialplan does not have, naming it and the context', async () => {
      const run = await cli(addSales('--failed', '9999'));
      expect(run.code).toBe(1);
      expect(run.out).toBe('');
      expect(run.err).toBe(
        [
          'pinverify: refused:',
          '  failedDestination: extension 9999 is not in context "pinverify-destinations"; use --force (API: ?force=true) to save without the check',
        ].join('\n'),
      );
      expect(await routeRow(pool, SALES)).toBeUndefined();
      expect(await lastChange(pool)).toBeUndefined();
    });

    it('saves it anyway with --force, with a warning on stderr', async () => {
      const run = await cli(addSales('--failed', '9999', '--force', '--json'));
      expect(run.code).toBe(0);
      expect(run.err).toBe(
        'warning: failedDestination: extension 9999 is not in context "pinverify-destinations" (saved anyway, --force)',
      );
      // stdout stays parseable JSON; the warning is in it too.
      expect(run.json()).toMatchObject({
        failedDestination: '9999',
        warnings: [expect.stringContaining('9999')],
      });
      expect(await routeRow(pool, SALES)).toMatchObject({ failed_destination: '9999' });
      expect(await lastChange(pool)).toMatchObject({
        action: 'route.add',
        detail: expect.objectContaining({ forced: true }) as unknown,
      });
    });

    it('refuses a previous hop that is neither a context nor a Stasis route name', async () => {
      const run = await cli([
        'routes',
        'add',
        '--title',
        'X',
        '--previous-hop',
        'no-such-ivr',
        '--success',
        '2003',
        '--failed',
        '2903',
      ]);
      expect(run.code).toBe(1);
      expect(run.err).toContain('previousHop: "no-such-ivr" is neither a context of the running dialplan');
      expect(await routeRow(pool, 'no-such-ivr')).toBeUndefined();
    });

    it('names every problem of one command at once', async () => {
      const run = await cli(addSales('--success', '9998', '--failed', '9999@no-such-context'));
      expect(run.code).toBe(1);
      expect(run.err).toContain(
        'successDestination: extension 9998 is not in context "pinverify-destinations"',
      );
      expect(run.err).toContain('failedDestination: context "no-such-context" does not exist');
    });

    it('refuses malformed input before asking the PBX, naming the field', async () => {
      // AMI down: a malformed value must be refused as invalid (1), not as "cannot check" (3).
      const run = await cli(
        ['routes', 'add', '--title', ' ', '--previous-hop', 'a b', '--success', '20 03', '--failed', '2903@'],
        { env: AMI_DOWN },
      );
      expect(run.code).toBe(1);
      expect(run.err).toContain('title: must not be empty');
      expect(run.err).toContain('previousHop: a dialplan context or route name');
      expect(run.err).toContain('successDestination: extension "20 03"');
      expect(run.err).toContain('failedDestination:');
    });

    it('refuses a second route for the same previous hop as a conflict', async () => {
      const run = await cli([
        'routes',
        'add',
        '--title',
        'Support again',
        '--previous-hop',
        SUPPORT,
        '--success',
        '2003',
        '--failed',
        '2903',
      ]);
      expect(run.code).toBe(1);
      expect(run.err).toBe(`pinverify: previousHop: a route for previous hop ${SUPPORT} already exists`);
      expect(await routeRow(pool, SUPPORT)).toMatchObject({ title: DEMO_ROUTES.support.title });
      const json = await cli([
        '--json',
        'routes',
        'add',
        '--title',
        'Support again',
        '--previous-hop',
        SUPPORT,
        '--success',
        '2003',
        '--failed',
        '2903',
      ]);
      expect(json.json()).toMatchObject({ error: 'conflict', problems: [{ field: 'previousHop' }] });
    });
  });

  describe('update', () => {
    it('changes only the options given', async () => {
      const run = await cli(['--json', 'routes', 'update', SUPPORT, '--success', '2005', '--disable']);
      expect(run.code).toBe(0);
      expect(run.json()).toMatchObject({
        ...DEMO_ROUTES.support,
        successDestination: '2005',
        enabled: false,
        warnings: [],
      });
      expect(await routeRow(pool, SUPPORT)).toMatchObject({
        title: DEMO_ROUTES.support.title,
        success_destination: '2005',
        failed_destination: '2901',
        enabled: false,
      });
      const text = await cli(['routes', 'update', SUPPORT, '--enable']);
      expect(text.out).toMatch(/^updated route \d+ "Support PIN verification": /);
      expect(await routeRow(pool, SUPPORT)).toMatchObject({ enabled: true });
      expect(await lastChange(pool)).toMatchObject({ actor: 'cli:ops-test', action: 'route.update' });
    });

    it('refuses a new destination missing from the dialplan, and saves it with --force', async () => {
      const refused = await cli(['routes', 'update', SUPPORT, '--failed', '9999']);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(
        'failedDestination: extension 9999 is not in context "pinverify-destinations"',
      );
      expect(await routeRow(pool, SUPPORT)).toMatchObject({ failed_destination: '2901' });
      const forced = await cli(['routes', 'update', SUPPORT, '--failed', '9999', '--force']);
      expect(forced.code).toBe(0);
      expect(forced.err).toMatch(/^warning: failedDestination: extension 9999 .*\(saved anyway, --force\)$/);
      expect(await routeRow(pool, SUPPORT)).toMatchObject({ failed_destination: '9999' });
    });

    it('does not block an unrelated edit because a destination went missing since', async () => {
      await pool.query(`UPDATE routes SET failed_destination = '9999' WHERE previous_hop = $1`, [SUPPORT]);
      const run = await cli(['routes', 'update', SUPPORT, '--title', 'Renamed']);
      expect(run).toMatchObject({ code: 0, err: '' });
      expect(await routeRow(pool, SUPPORT)).toMatchObject({ title: 'Renamed', failed_destination: '9999' });
    });

    it("refuses to move a route onto another route's previous hop", async () => {
      const run = await cli(['routes', 'update', SUPPORT, '--previous-hop', ACCOUNTING]);
      expect(run.code).toBe(1);
      expect(run.err).toBe(`pinverify: previousHop: a route for previous hop ${ACCOUNTING} already exists`);
      expect(await routeRow(pool, SUPPORT)).toBeDefined();
    });

    it('refuses an unknown route, no options, and --enable with --disable', async () => {
      const unknown = await cli(['routes', 'update', 'no-such-hop', '--title', 'X']);
      expect(unknown.code).toBe(1);
      expect(unknown.err).toBe('pinverify: no route for previous hop no-such-hop');
      const nothing = await cli(['routes', 'update', SUPPORT]);
      expect(nothing.code).toBe(1);
      expect(nothing.err).toContain('nothing to change');
      const both = await cli(['routes', 'update', SUPPORT, '--enable', '--disable']);
      expect(both.code).toBe(2);
      expect(both.err).toBe('pinverify: --enable and --disable exclude each other');
    });
  });

  describe('remove', () => {
    it('removes by id, records it, and refuses the second time', async () => {
      const id = String((await routeRow(pool, ACCOUNTING))?.id);
      const run = await cli(['routes', 'remove', id]);
      expect(run.code).toBe(0);
      expect(run.out).toBe(
        `removed route ${id} "Accounting PIN verification": ${ACCOUNTING} (otp) -> success 2002, failed 2902`,
      );
      expect(await routeRow(pool, ACCOUNTING)).toBeUndefined();
      expect(await lastChange(pool)).toMatchObject({
        actor: 'cli:ops-test',
        action: 'route.remove',
        subject: ACCOUNTING,
      });
      const again = await cli(['routes', 'remove', id]);
      expect(again.code).toBe(1);
      expect(again.err).toBe(`pinverify: no route with id ${id}`);
    });

    it('removes by previous hop with --json', async () => {
      const run = await cli(['--json', 'routes', 'remove', SUPPORT]);
      expect(run.code).toBe(0);
      expect(run.json()).toMatchObject({ ...DEMO_ROUTES.support });
      expect(await routeRow(pool, SUPPORT)).toBeUndefined();
    });
  });
});
