import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { REPO, run, waitUntil, type RunResult } from './lab-harness';

/**
 * README's "Install on an existing PBX", done for real: the package packed with `npm pack`,
 * installed offline into a clean prefix, run against a second Asterisk configured as an operator
 * would (test/e2e/operator-pbx/: its own small extensions.conf plus the drop-in's one include per
 * file, not the lab's configs), set up and checked with the installed `pinverify setup` and
 * `doctor`, configured with the installed CLI, and proved with SIPp calls through that PBX. The
 * systemd unit shipped in the package is checked with systemd-analyze.
 */
jest.setTimeout(600_000);

const ARI_PASSWORD = 'operator-ari-password-1';
const AMI_SECRET = 'operator-ami-secret-1';
const AMI_CLI_SECRET = 'operator-ami-cli-secret-1';
const DB_NAME = 'pinverify_operator_e2e';
const DB_URL = `postgres://pinverify:pinverify@127.0.0.1:5432/${DB_NAME}`;
const ADMIN_PORT = '8097';
const CALLER = '+12025550161';

let tmp: string;
let prefix: string;
let pkgDir: string;
let tarball: string;
let envFile: string;
let app: ChildProcess | null = null;
let appLog = '';

/** The operator's shell: only PATH (with the prefix's bin first), HOME and the env file. */
function operatorEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${prefix}/bin:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? '/root',
    PINVERIFY_ENV_FILE: envFile,
    ...extra,
  };
}

function pinverify(args: string[], stdin?: string, extra: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(`${prefix}/bin/pinverify`, args, 60_000, stdin, operatorEnv(extra));
}

function psql(sql: string): Promise<RunResult> {
  return run('su', ['postgres', '-c', `psql -v ON_ERROR_STOP=1 -qc "${sql}"`], 30_000);
}

/** A call of the SIPp pack, placed to the operator's PBX; its agent phone answers at 5085. */
function call(scenario: string, expect: string): Promise<RunResult> {
  return run(
    'bash',
    ['test/sipp/run.sh', scenario, '--service', '8001', '--caller', CALLER, '--expect', expect],
    170_000,
    undefined,
    { ...process.env, SIPP_PBX: '127.0.0.1:5062', SIPP_AGENT_PORT: '5085' },
  );
}

async function ariAppRegistered(): Promise<boolean> {
  const auth = Buffer.from(`pinverify:${ARI_PASSWORD}`).toString('base64');
  const res = await fetch('http://127.0.0.1:8098/ari/applications/pinverify', {
    headers: { authorization: `Basic ${auth}` },
  }).catch(() => null);
  return res?.status === 200;
}

function startApp(): void {
  appLog = '';
  app = spawn(`${prefix}/bin/pinverify-app`, [], { env: operatorEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  app.stdout?.on('data', (d: Buffer) => (appLog += d.toString()));
  app.stderr?.on('data', (d: Buffer) => (appLog += d.toString()));
}

async function stopApp(): Promise<number | null> {
  const child = app;
  app = null;
  if (!child || child.exitCode !== null) return child?.exitCode ?? null;
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** The latest call's outcome in the audit trail, once it has the expected reason (audit writes are batched). */
async function auditedOutcome(db: Pool, reason: string): Promise<Record<string, unknown> | undefined> {
  let latest: Record<string, unknown> | undefined;
  await waitUntil(
    `a call audited as ${reason}`,
    async () => {
      const { rows } = await db.query(
        'SELECT result, reason, route, destination FROM calls ORDER BY started_at DESC LIMIT 1',
      );
      latest = rows[0] as Record<string, unknown> | undefined;
      return latest?.reason === reason;
    },
    10_000,
  ).catch(() => undefined);
  return latest;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'pinverify-install-'));
  prefix = path.join(tmp, 'prefix');
  const packed = await run('npm', ['pack', '--pack-destination', tmp], 240_000);
  expect(packed.code).toBe(0);
  const name = packed.output.trim().split('\n').pop() ?? '';
  tarball = path.join(tmp, name);
  expect(existsSync(tarball)).toBe(true);

  await psql(`DROP DATABASE IF EXISTS ${DB_NAME}`);
  const created = await psql(`CREATE DATABASE ${DB_NAME} OWNER pinverify`);
  expect(created.code).toBe(0);

  envFile = path.join(tmp, 'pinverify.env');
  // As an operator fills in deploy/systemd/pinverify.env.example: their own secrets, not a lab.
  writeFileSync(
    envFile,
    [
      `DATABASE_URL=${DB_URL}`,
      'ARI_URL=http://127.0.0.1:8098',
      'ARI_USER=pinverify',
      `ARI_PASSWORD=${ARI_PASSWORD}`,
      'AMI_HOST=127.0.0.1',
      'AMI_PORT=5048',
      'AMI_USER=pinverify',
      `AMI_SECRET=${AMI_SECRET}`,
      'AMI_CLI_USER=pinverify-cli',
      `AMI_CLI_SECRET=${AMI_CLI_SECRET}`,
      'PINVERIFY_CODE_SECRET=operator-code-secret-0123456789',
      // The lab's mail sink speaks no TLS; an operator with such a relay says so explicitly.
      'SMTP_HOST=127.0.0.1',
      `SMTP_PORT=${process.env.SMTP_SINK_PORT ?? '2525'}`,
      'SMTP_REQUIRE_TLS=false',
      'SMTP_FROM=verify@operator.invalid',
      'TWILIO_ACCOUNT_SID=AC11111111111111111111111111111111',
      'TWILIO_AUTH_TOKEN=operator-twilio-token',
      'TWILIO_FROM=+12025550100',
      `TWILIO_API_BASE_URL=http://127.0.0.1:${process.env.TWILIO_SINK_PORT ?? '8025'}`,
      `ADMIN_PORT=${ADMIN_PORT}`,
      'SHUTDOWN_DRAIN_MS=2000',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
});

afterAll(async () => {
  await stopApp();
  await run('bash', ['scripts/operator-pbx.sh', 'down'], 30_000);
  await psql(`DROP DATABASE IF EXISTS ${DB_NAME}`);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('installing pinverify on an existing PBX', () => {
  test('the packed tarball holds the app, the drop-in, the unit, prompts and CHANGELOG, and no tests', async () => {
    const listing = await run('tar', ['tzf', tarball], 30_000);
    const files = listing.output.split('\n');
    for (const f of [
      'package/dist/main.js',
      'package/dist/cli/main.js',
      'package/dist/store/migrations/001_core_schema.sql',
      'package/asterisk-conf/production/extensions_pinverify.conf',
      'package/asterisk-conf/production/ari_pinverify.conf',
      'package/asterisk-conf/production/manager_pinverify.conf',
      'package/deploy/systemd/pinverify.service',
      'package/deploy/systemd/pinverify.env.example',
      'package/sounds/pinverify/intro.wav',
      'package/CHANGELOG.md',
      // Bundled: the install needs no registry.
      'package/node_modules/ari-client/package.json',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => /^package\/(test|src|scripts|\.lab)\//.test(f))).toEqual([]);
  });

  test('npm install -g works offline from the tarball and puts pinverify and pinverify-app on PATH', async () => {
    const installed = await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball],
      300_000,
    );
    expect(installed.code).toBe(0);
    pkgDir = path.join(prefix, 'lib', 'node_modules', 'pinverify');
    for (const bin of ['pinverify', 'pinverify-app'])
      expect(existsSync(path.join(prefix, 'bin', bin))).toBe(true);
    const version = await pinverify(['--version']);
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(version.output.trim()).toBe(pkg.version);
    // Without settings the app refuses to start and names every missing one (exit 2: no restart loop).
    const bare = await run(`${prefix}/bin/pinverify-app`, [], 30_000, undefined, { PATH: process.env.PATH });
    expect(bare.code).toBe(2);
    expect(bare.output).toContain('ARI_URL is required');
    expect(bare.output).toContain('DATABASE_URL is required');
  });

  test('systemd-analyze verify accepts the shipped unit and rejects a broken copy', async () => {
    const unit = readFileSync(path.join(pkgDir, 'deploy/systemd/pinverify.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=pinverify-app$/m);
    // verify checks that ExecStart can be executed: point it at the installed one.
    const verify = async (text: string): Promise<RunResult> => {
      const file = path.join(tmp, 'pinverify.service');
      writeFileSync(file, text);
      return run(
        'systemd-analyze',
        ['verify', '--man=no', '--generators=no', '--recursive-errors=no', file],
        30_000,
        undefined,
        { ...process.env, SYSTEMD_LOG_LEVEL: 'warning', SYSTEMD_LOG_TARGET: 'console' },
      );
    };
    const good = unit.replace(/^ExecStart=pinverify-app$/m, `ExecStart=${prefix}/bin/pinverify-app`);
    const ok = await verify(good);
    expect({ code: ok.code, output: ok.output.trim() }).toEqual({ code: 0, output: '' });
    // systemd-analyze only warns about a bad value (exit 0), so any output counts as a failure.
    const typo = await verify(good.replace('Restart=on-failure', 'Restart=sometimes'));
    expect(typo.output).toContain('sometimes');
    const missing = await verify(
      unit.replace(/^ExecStart=pinverify-app$/m, `ExecStart=${tmp}/nowhere/pinverify-app`),
    );
    expect(missing.code).not.toBe(0);
  });

  test("the operator's Asterisk comes up with the drop-in added by one include per file", async () => {
    const up = await run('bash', ['scripts/operator-pbx.sh', 'up', pkgDir], 90_000, undefined, {
      ...process.env,
      OPERATOR_ARI_PASSWORD: ARI_PASSWORD,
      OPERATOR_AMI_SECRET: AMI_SECRET,
      OPERATOR_AMI_CLI_SECRET: AMI_CLI_SECRET,
    });
    expect(up.code).toBe(0);
    const routines = await run(
      'bash',
      ['scripts/operator-pbx.sh', 'rx', 'dialplan show pinverify-app-unavailable'],
      30_000,
    );
    expect(routines.output).toContain('extensions_pinverify.conf');
  });

  test('pinverify setup names every problem of a wrong environment, without starting anything', async () => {
    const r = await pinverify(['setup'], undefined, {
      ARI_PASSWORD: 'not-the-password',
      AMI_CLI_SECRET: 'not-the-secret',
      PINVERIFY_CODE_SECRET: 'short',
    });
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/FAIL\s+configuration\s+PINVERIFY_CODE_SECRET must be at least 16 characters/);
    expect(r.output).toMatch(/FAIL\s+ari\s+ARI at http:\/\/127\.0\.0\.1:8098 refused user "pinverify"/);
    expect(r.output).toMatch(/FAIL\s+ami \(cli user\)\s+.*login as "pinverify-cli" refused/);
    expect(r.output).toMatch(/ok\s+ami \(app user\)/);
    // A wrong environment might name the wrong database: nothing is migrated until it is right.
    expect(r.output).toMatch(/WARN\s+postgres\s+.*migrations not applied until the configuration is valid/);
  });

  test('pinverify setup applies the migrations and finds Postgres, ARI, both AMI users and SMTP', async () => {
    const r = await pinverify(['setup']);
    expect(r.output).toMatch(/ok\s+postgres\s+.*applied 001_core_schema/);
    for (const check of ['configuration', 'ari', 'ami \\(app user\\)', 'ami \\(cli user\\)', 'smtp'])
      expect(r.output).toMatch(new RegExp(`ok\\s+${check}\\s`));
    expect(r.code).toBe(0);
    const again = await pinverify(['setup']);
    expect(again.output).toContain('no migration needed');
  });

  test("ops configure it with the installed CLI, checked against the operator's running dialplan", async () => {
    const contact = await pinverify([
      '--json',
      'contacts',
      'add',
      '--name',
      'Olive Operator',
      '--email',
      'olive@example.com',
      '--mobile',
      CALLER,
    ]);
    expect(contact.code).toBe(0);
    const id = String((JSON.parse(contact.output) as { id: number }).id);
    expect((await pinverify(['pins', 'set', id], '4721\n')).code).toBe(0);
    // The defaults point at the lab's context until ops name their own.
    expect((await pinverify(['settings', 'set', 'defaultContext', 'desk'])).code).toBe(0);
    const refused = await pinverify([
      'routes',
      'add',
      '--title',
      'Support',
      '--previous-hop',
      'support-verify',
      '--success',
      '2001@desk',
      '--failed',
      '2901@helpdesk',
      '--mode',
      'pin',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('context "helpdesk" does not exist in the running dialplan');
    const added = await pinverify([
      'routes',
      'add',
      '--title',
      'Support',
      '--previous-hop',
      'support-verify',
      '--success',
      '2001@desk',
      '--failed',
      '2901@desk',
      '--mode',
      'pin',
    ]);
    expect(added.code).toBe(0);
  });

  test('the installed app runs and pinverify doctor finds nothing wrong', async () => {
    startApp();
    await waitUntil('the app registered with the operator ARI', ariAppRegistered, 30_000).catch(
      (err: unknown) => {
        throw new Error(`${String(err)}\napp output:\n${appLog}`);
      },
    );
    const r = await pinverify(['doctor']);
    expect(r.output).toMatch(/ok\s+ari app\s+the app "pinverify" is registered/);
    expect(r.output).toMatch(/ok\s+prompts\s+all \d+ prompts are installed/);
    expect(r.output).toMatch(/ok\s+dialplan routines/);
    expect(r.output).toMatch(/ok\s+route support-verify\s+pin: success 2001@desk, failed 2901@desk/);
    expect(r.output).toMatch(/ok\s+app health/);
    expect(r.output).toContain('no problems found');
    expect(r.code).toBe(0);
  });

  describe("SIPp calls through the operator's PBX", () => {
    let db: Pool;
    beforeAll(() => {
      db = new Pool({ connectionString: DB_URL, max: 1 });
    });
    afterAll(async () => {
      await db.end();
    });

    test('the right PIN: verified at 2001, the agent phone gets the X-PinVerify-* headers', async () => {
      const r = await call(
        'pin-right',
        'exten=2001 result=verified reason=ok method=pin route=support-verify',
      );
      expect(r.output).toContain('sipp: PASS');
      expect(await auditedOutcome(db, 'ok')).toMatchObject({
        result: 'verified',
        reason: 'ok',
        route: 'support-verify',
        destination: '2001@desk:1',
      });
    });

    test('* during the greeting: skipped, caller_bailed at the failed destination 2901', async () => {
      const r = await call(
        'star-in-greeting',
        'exten=2901 result=failed reason=caller_bailed route=support-verify',
      );
      expect(r.output).toContain('sipp: PASS');
      expect(await auditedOutcome(db, 'caller_bailed')).toMatchObject({
        result: 'failed',
        destination: '2901@desk:1',
      });
    });

    test("with the app stopped, the drop-in's fallback routes the caller as unavailable and doctor says why", async () => {
      expect(await stopApp()).toBe(0);
      const r = await call('app-down', 'exten=2901 result=failed reason=unavailable route=support-verify');
      expect(r.output).toContain('sipp: PASS');
      const doctor = await pinverify(['doctor']);
      expect(doctor.code).toBe(1);
      expect(doctor.output).toMatch(/FAIL\s+ari app\s+no app "pinverify" is registered/);
      expect(doctor.output).toMatch(/FAIL\s+app health\s+nothing answers at http:\/\/127\.0\.0\.1:8097/);
    });
  });
});
