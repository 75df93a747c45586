/**
 * The CLI's own contract, in-process: usage errors exit 2 naming what was wrong, help exits 0,
 * an unreachable or refusing database exits 3 naming the server (never a stack trace), and
 * settings come from --env-file or PINVERIFY_ENV_FILE with the environment winning over the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import type { Route } from '../../../src/domain';
import { DEMO_ROUTES, loadDemoData } from '../../../src/store/demo-data';
import { freshDatabase, TEST_DATABASE_URL, UNREACHABLE_DATABASE_URL } from '../helpers';
import { AMI_ENV, CLI_ENV, cli, STACK_LINE } from './cli-harness';

describe('pinverify CLI usage, environment and outages', () => {
  let pool: Pool;
  let dir: string;

  beforeAll(async () => {
    pool = await freshDatabase();
    await loadDemoData(pool);
    dir = mkdtempSync(join(tmpdir(), 'pinverify-cli-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pool.end();
  });

  describe('usage errors (exit 2)', () => {
    it('refuses an unknown command, naming it', async () => {
      const run = await cli(['routs', 'list']);
      expect(run.code).toBe(2);
      expect(run.err).toContain("unknown command 'routs'");
    });

    it('refuses an unknown subcommand', async () => {
      const run = await cli(['routes', 'frobnicate']);
      expect(run.code).toBe(2);
      expect(run.err).toContain("unknown command 'frobnicate'");
    });

    it('refuses a missing required option, naming it', async () => {
      const run = await cli(['routes', 'add', '--title', 'X', '--success', '2003', '--failed', '2903']);
      expect(run.code).toBe(2);
      expect(run.err).toContain("required option '--previous-hop <hop>' not specified");
    });

    it('refuses a missing argument and an unknown option', async () => {
      const arg = await cli(['routes', 'show']);
      expect(arg.code).toBe(2);
      expect(arg.err).toContain("missing required argument 'route'");
      const option = await cli(['routes', 'list', '--colour']);
      expect(option.code).toBe(2);
      expect(option.err).toContain("unknown option '--colour'");
    });

    it('prints the help with exit 2 when given nothing, and with exit 0 for --help', async () => {
      const nothing = await cli([]);
      expect(nothing.code).toBe(2);
      expect(`${nothing.out}${nothing.err}`).toContain('Usage: pinverify');
      const help = await cli(['routes', '--help']);
      expect(help.code).toBe(0);
      expect(help.out).toContain('Usage: pinverify routes');
      expect(help.out).toContain('add [options]');
    });
  });

  describe('database unavailable (exit 3)', () => {
    it('names the server that refused the connection', async () => {
      const run = await cli(['routes', 'list'], {
        env: { ...CLI_ENV, DATABASE_URL: UNREACHABLE_DATABASE_URL },
      });
      expect(run).toMatchObject({ code: 3, out: '' });
      expect(run.err).toBe(
        'pinverify: cannot connect to 127.0.0.1:1 (connection refused): is PostgreSQL running?',
      );
    });

    it('fails the same way for a command that writes', async () => {
      const run = await cli(['settings', 'set', 'codeLength', '8'], {
        env: { ...CLI_ENV, DATABASE_URL: UNREACHABLE_DATABASE_URL },
      });
      expect(run.code).toBe(3);
      expect(run.err).toContain('cannot connect to 127.0.0.1:1');
    });

    it('says the login was refused, without printing the password', async () => {
      const url = new URL(TEST_DATABASE_URL);
      url.password = 'not-the-password';
      const run = await cli(['routes', 'list'], { env: { ...CLI_ENV, DATABASE_URL: url.toString() } });
      expect(run.code).toBe(3);
      expect(run.err).toContain(`${url.hostname}:${url.port || '5432'} refused the login`);
      expect(run.err).not.toContain('not-the-password');
    });

    it('names a database that does not exist', async () => {
      const url = new URL(TEST_DATABASE_URL);
      url.pathname = '/pinverify_no_such_test_db';
      const run = await cli(['routes', 'list'], { env: { ...CLI_ENV, DATABASE_URL: url.toString() } });
      expect(run.code).toBe(3);
      expect(run.err).toContain('database "pinverify_no_such_test_db" does not exist');
    });
  });

  describe('an unexpected error (a bug)', () => {
    // The real AMI cannot produce this: a dialplan checker that fails with a plain error.
    const buggy = () => ({
      destinationProblem: () =>
        Promise.reject(new TypeError("Cannot read properties of undefined (reading 'exten')")),
      previousHopProblem: async () => null,
      close: () => undefined,
    });
    const argv = ['routes', 'update', DEMO_ROUTES.support.previousHop, '--failed', '2903'];

    it('is reported in one line with exit 1, not as an outage, and saves nothing', async () => {
      const run = await cli(argv, { dialplan: buggy });
      expect(run).toMatchObject({ code: 1, out: '' });
      expect(run.err).toBe("pinverify: failed: Cannot read properties of undefined (reading 'exten')");
      const { rows } = await pool.query('SELECT failed_destination FROM routes WHERE previous_hop = $1', [
        DEMO_ROUTES.support.previousHop,
      ]);
      expect(rows).toEqual([{ failed_destination: DEMO_ROUTES.support.failedDestination }]);
    });

    it('comes with its stack trace when PINVERIFY_DEBUG is set', async () => {
      const run = await cli(argv, {
        dialplan: buggy,
        env: { ...CLI_ENV, PINVERIFY_DEBUG: '1' },
        allowStack: true,
      });
      expect(run.code).toBe(1);
      expect(run.err).toMatch(STACK_LINE);
    });
  });

  describe('--env-file', () => {
    const hops = (run: { json<T>(): T }) => run.json<Route[]>().map((r) => r.previousHop);

    it('reads DATABASE_URL and AMI settings from the file', async () => {
      const file = join(dir, 'pinverify.env');
      writeFileSync(
        file,
        [
          '# written by the lab',
          `DATABASE_URL=${TEST_DATABASE_URL}`,
          ...Object.entries(AMI_ENV).map(([k, v]) => `${k}="${v}"`),
          'PINVERIFY_ACTOR=from-env-file',
          '',
        ].join('\n'),
      );
      const run = await cli(['--env-file', file, '--json', 'routes', 'list'], { env: {} });
      expect(run.code).toBe(0);
      expect(hops(run)).toEqual(
        [DEMO_ROUTES.accounting, DEMO_ROUTES.billing, DEMO_ROUTES.fraud, DEMO_ROUTES.support].map(
          (r) => r.previousHop,
        ),
      );

      // AMI from the file too: a destination check runs and refuses a missing extension.
      const refused = await cli(
        ['--env-file', file, 'routes', 'update', DEMO_ROUTES.support.previousHop, '--failed', '9999'],
        { env: {} },
      );
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('extension 9999 is not in context');

      const ok = await cli(
        ['--env-file', file, 'routes', 'update', DEMO_ROUTES.support.previousHop, '--title', 'T'],
        {
          env: {},
        },
      );
      expect(ok.code).toBe(0);
      const { rows } = await pool.query<{ actor: string }>(
        'SELECT actor FROM config_changes ORDER BY id DESC LIMIT 1',
      );
      expect(rows[0]?.actor).toBe('cli:from-env-file');
    });

    it('lets the environment win over the file, and reads PINVERIFY_ENV_FILE', async () => {
      const file = join(dir, 'unreachable.env');
      writeFileSync(file, `DATABASE_URL=${UNREACHABLE_DATABASE_URL}\n`);
      const fileOnly = await cli(['--env-file', file, 'routes', 'list'], { env: {} });
      expect(fileOnly.code).toBe(3);
      expect(fileOnly.err).toContain('127.0.0.1:1');
      const envWins = await cli(['--env-file', file, '--json', 'routes', 'list'], {
        env: { DATABASE_URL: TEST_DATABASE_URL },
      });
      expect(envWins.code).toBe(0);
      expect(hops(envWins)).toHaveLength(Object.keys(DEMO_ROUTES).length);
      const viaVariable = await cli(['routes', 'list'], { env: { PINVERIFY_ENV_FILE: file } });
      expect(viaVariable.code).toBe(3);
      expect(viaVariable.err).toContain('127.0.0.1:1');
    });

    it('refuses an env file that does not exist as a usage error', async () => {
      const missing = join(dir, 'missing.env');
      const run = await cli(['--env-file', missing, 'routes', 'list'], { env: CLI_ENV });
      expect(run.code).toBe(2);
      expect(run.err).toBe(`pinverify: env file ${missing} does not exist`);
    });
  });
});
