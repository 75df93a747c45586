/**
 * `pinverify setup` and `doctor` checks against a fake SystemProbe: a healthy system passes
 * every check; each problem fails (or warns about) exactly the check it concerns, with a line
 * naming it and what to do; a check whose prerequisite failed is skipped, not failed; setup
 * applies the migrations and doctor never does. Plus limitNotes, checksPassed and formatChecks.
 */
import type { FlowSettings } from '../../../src/domain';
import { PbxUnreachableError } from '../../../src/ops/dialplan-checker';
import { PROMPTS } from '../../../src/flow/prompts';
import {
  checksPassed,
  DROP_IN_ROUTINES,
  formatChecks,
  limitNotes,
  REQUIRED_MODULES,
  runDoctorChecks,
  runSetupChecks,
  USEFUL_MODULES,
  type CheckResult,
  type CheckStatus,
} from '../../../src/ops/system-checks';
import { DEFAULT_SETTINGS } from '../../../src/store/config-defaults';
import {
  allModulesRunning,
  FakeDialplan,
  FakeSystemProbe,
  healthyStoredConfig,
  route,
  type ProbeSetting,
} from '../../fakes/fake-system-probe';

const SETUP_CHECKS = ['configuration', 'postgres', 'ari', 'ami (app user)', 'ami (cli user)', 'smtp'];

const DOCTOR_CHECKS = [
  ...SETUP_CHECKS,
  'asterisk modules',
  'ari app',
  'prompts',
  'settings',
  'templates',
  'limits',
  'dialplan routines',
  'default destinations',
  'route support-verify',
  'route billing',
  'app health',
];

/** Each check's status by name. */
function statuses(results: readonly CheckResult[]): Record<string, CheckStatus> {
  return Object.fromEntries(results.map((r) => [r.check, r.status]));
}

/** The one result of a check (fails the test when there is none, or more than one). */
function result(results: readonly CheckResult[], check: string): CheckResult {
  const found = results.filter((r) => r.check === check);
  expect(found).toHaveLength(1);
  return found[0] as CheckResult;
}

/** Checks other than those named, with a status other than ok. */
function notOkExcept(results: readonly CheckResult[], ...checks: string[]): CheckResult[] {
  return results.filter((r) => r.status !== 'ok' && !checks.includes(r.check));
}

function probeWithout(...settings: ProbeSetting[]): FakeSystemProbe {
  const probe = new FakeSystemProbe();
  for (const s of settings) probe.configured.delete(s);
  return probe;
}

describe('runSetupChecks on a healthy system', () => {
  it('passes every check, in order, and changes nothing but the schema', async () => {
    const probe = new FakeSystemProbe();
    const results = await runSetupChecks(probe);
    expect(results.map((r) => r.check)).toEqual(SETUP_CHECKS);
    expect(results.every((r) => r.status === 'ok')).toBe(true);
    expect(probe.count('migrate')).toBe(1);
    expect(probe.calls).not.toContain('storedConfig');
    expect(probe.calls).not.toContain('ariModules');
    expect(probe.calls).not.toContain('dialplan');
    expect(probe.calls).not.toContain('appLive');
  });

  it('names the server, the schema and the migrations it applied', async () => {
    const results = await runSetupChecks(new FakeSystemProbe());
    expect(result(results, 'postgres').detail).toBe(
      'PostgreSQL 16.4 at db.example:5432; schema at 004_routes_mode (applied 003_pins, 004_routes_mode)',
    );
  });

  it('says no migration was needed when none was applied', async () => {
    const probe = new FakeSystemProbe();
    probe.migration = { applied: [], current: '004_routes_mode' };
    expect(result(await runSetupChecks(probe), 'postgres').detail).toContain('(no migration needed)');
  });

  it('reports the services it reached', async () => {
    const results = await runSetupChecks(new FakeSystemProbe());
    expect(result(results, 'ari').detail).toBe('Asterisk 20.9.3 answers; login accepted');
    expect(result(results, 'smtp').detail).toBe('smtp.example:587 accepts the connection and login');
    expect(result(results, 'ami (app user)').detail).toBe(
      'AMI user "pinverify" logs in with just the rights pinverify needs',
    );
  });

  it('fails postgres with the probe message and does not migrate when the database cannot be reached', async () => {
    const probe = new FakeSystemProbe();
    probe.databaseState = new Error('nothing answers at db.example:5432 (connection refused)');
    const results = await runSetupChecks(probe);
    expect(result(results, 'postgres')).toEqual({
      check: 'postgres',
      status: 'fail',
      detail: 'nothing answers at db.example:5432 (connection refused)',
    });
    expect(probe.count('migrate')).toBe(0);
  });

  it('fails postgres when a migration fails', async () => {
    const probe = new FakeSystemProbe();
    probe.migration = new Error('migration 004_routes_mode failed: permission denied for schema public');
    const pg = result(await runSetupChecks(probe), 'postgres');
    expect(pg.status).toBe('fail');
    expect(pg.detail).toContain('permission denied for schema public');
  });
});

describe('runDoctorChecks on a healthy system', () => {
  it('passes every check, in order', async () => {
    const results = await runDoctorChecks(new FakeSystemProbe());
    expect(results.map((r) => r.check)).toEqual(DOCTOR_CHECKS);
    expect(notOkExcept(results)).toEqual([]);
    expect(checksPassed(results)).toBe(true);
  });

  it('never applies migrations', async () => {
    const probe = new FakeSystemProbe();
    await runDoctorChecks(probe);
    expect(probe.count('database')).toBe(1);
    expect(probe.count('migrate')).toBe(0);
  });

  it('reports an up-to-date schema, the modules, the app, the prompts and each route', async () => {
    const results = await runDoctorChecks(new FakeSystemProbe());
    const moduleCount = Object.keys(REQUIRED_MODULES).length + Object.keys(USEFUL_MODULES).length;
    expect(result(results, 'postgres').detail).toBe(
      'PostgreSQL 16.4 at db.example:5432; schema at 004_routes_mode, up to date',
    );
    expect(result(results, 'asterisk modules').detail).toBe(
      `the ${moduleCount} modules pinverify uses are running`,
    );
    expect(result(results, 'ari app').detail).toBe('the app "pinverify" is registered with Asterisk');
    expect(result(results, 'prompts').detail).toMatch(/^all \d+ prompts are installed$/);
    expect(result(results, 'dialplan routines').detail).toBe(
      'pinverify-app-unavailable and pinverify-agent-headers are in the dialplan',
    );
    expect(result(results, 'default destinations').detail).toBe(
      '2000 and 2900 exist (context pinverify-destinations)',
    );
    expect(result(results, 'route support-verify').detail).toBe('otp: success 2001, failed 2901');
    expect(result(results, 'route billing').detail).toBe(
      'pin: success 2002@pinverify-destinations:1, failed 2902',
    );
    expect(result(results, 'app health').detail).toBe('the app answers /v1/health/live: live');
  });

  it('asks the dialplan for the routines, the default destinations and each route', async () => {
    const probe = new FakeSystemProbe();
    await runDoctorChecks(probe);
    expect(probe.dialplanChecker.asked).toEqual([
      's@pinverify-app-unavailable:1',
      's@pinverify-agent-headers:1',
      '2000@pinverify-destinations:1',
      '2900@pinverify-destinations:1',
      'hop support-verify',
      '2001@pinverify-destinations:1',
      '2901@pinverify-destinations:1',
      'hop billing',
      '2002@pinverify-destinations:1',
      '2902@pinverify-destinations:1',
    ]);
  });
});

describe('configuration', () => {
  test.each([
    ['setup', runSetupChecks],
    ['doctor', runDoctorChecks],
  ])('%s lists every problem of the environment in one failed line', async (_name, runChecks) => {
    const probe = new FakeSystemProbe();
    probe.configuration = ['ARI_URL is not a URL', 'PINVERIFY_CODE_SECRET is the lab secret outside the lab'];
    const results = await runChecks(probe);
    expect(results.filter((r) => r.check === 'configuration')).toEqual([
      {
        check: 'configuration',
        status: 'fail',
        detail: 'ARI_URL is not a URL; PINVERIFY_CODE_SECRET is the lab secret outside the lab',
      },
    ]);
    if (_name === 'doctor') expect(notOkExcept(results, 'configuration')).toEqual([]);
    else {
      // setup changes nothing while the environment is wrong: it might name the wrong database.
      expect(notOkExcept(results, 'configuration', 'postgres')).toEqual([]);
      expect(result(results, 'postgres').status).toBe('warn');
      expect(result(results, 'postgres').detail).toContain(
        'migrations not applied until the configuration is valid',
      );
      expect(probe.calls).not.toContain('migrate');
    }
  });

  it('is ok with a valid environment', async () => {
    expect(result(await runSetupChecks(new FakeSystemProbe()), 'configuration')).toEqual({
      check: 'configuration',
      status: 'ok',
      detail: 'every setting of the environment is valid',
    });
  });
});

describe('settings the probe lacks', () => {
  test.each<[ProbeSetting, string, string]>([
    ['database', 'postgres', 'DATABASE_URL is not set'],
    ['ari', 'ari', 'ARI_URL, ARI_USER or ARI_PASSWORD is not set'],
    ['ami', 'ami (app user)', 'AMI_USER or AMI_SECRET is not set'],
    ['ami-cli', 'ami (cli user)', 'AMI_CLI_USER is not set'],
    ['smtp', 'smtp', 'SMTP_HOST is not set'],
  ])('without %s, setup skips %s (%s)', async (setting, check, why) => {
    const results = await runSetupChecks(probeWithout(setting));
    const r = result(results, check);
    expect(r.status).toBe('skip');
    expect(r.detail).toContain(why);
    expect(notOkExcept(results, check)).toEqual([]);
  });

  it('does not ask for the cli user rights without ami-cli, and the app user is still checked', async () => {
    const probe = probeWithout('ami-cli');
    const results = await runDoctorChecks(probe);
    expect(statuses(results)).toMatchObject({ 'ami (app user)': 'ok', 'ami (cli user)': 'skip' });
    expect(probe.calls).not.toContain('amiRights cli');
    expect(result(results, 'dialplan routines').status).toBe('ok');
  });

  it('skips the dialplan when neither AMI user is configured', async () => {
    const probe = probeWithout('ami', 'ami-cli');
    const results = await runDoctorChecks(probe);
    for (const check of ['dialplan routines', 'default destinations', 'routes'])
      expect(result(results, check)).toEqual({ check, status: 'skip', detail: 'AMI is not configured' });
    expect(probe.calls).not.toContain('dialplan');
    expect(checksPassed(results)).toBe(true);
  });

  it('skips the app health without admin', async () => {
    const probe = probeWithout('admin');
    const results = await runDoctorChecks(probe);
    expect(result(results, 'app health')).toEqual({
      check: 'app health',
      status: 'skip',
      detail: 'ADMIN_PORT is off',
    });
    expect(probe.calls).not.toContain('appLive');
  });
});

describe('doctor: postgres', () => {
  it('fails on pending migrations, naming them and pinverify setup', async () => {
    const probe = new FakeSystemProbe();
    probe.databaseState = {
      server: 'PostgreSQL 16.4 at db.example:5432',
      current: '002_default_config',
      pending: ['003_pins', '004_routes_mode'],
    };
    const results = await runDoctorChecks(probe);
    const pg = result(results, 'postgres');
    expect(pg.status).toBe('fail');
    expect(pg.detail).toContain('schema at 002_default_config');
    expect(pg.detail).toContain('2 migration(s) pending (003_pins, 004_routes_mode)');
    expect(pg.detail).toContain('run pinverify setup');
    expect(probe.count('migrate')).toBe(0);
  });

  it('still reads the settings on a database with pending migrations', async () => {
    const probe = new FakeSystemProbe();
    probe.databaseState = { server: 'PostgreSQL 16.4', current: null, pending: ['001_init'] };
    const results = await runDoctorChecks(probe);
    expect(result(results, 'postgres').detail).toContain('schema at nothing');
    expect(statuses(results)).toMatchObject({
      settings: 'ok',
      templates: 'ok',
      limits: 'ok',
      'route billing': 'ok',
    });
  });

  test.each<[string, (p: FakeSystemProbe) => void, string]>([
    [
      'cannot be reached',
      (p) => (p.databaseState = new Error('nothing answers at db.example:5432 (connection refused)')),
      'Postgres is not reachable',
    ],
    ['is not configured', (p) => p.configured.delete('database'), 'Postgres is not reachable'],
  ])('skips settings, templates, limits and routes when Postgres %s', async (_why, breakIt, reason) => {
    const probe = new FakeSystemProbe();
    breakIt(probe);
    const results = await runDoctorChecks(probe);
    expect(['fail', 'skip']).toContain(result(results, 'postgres').status);
    for (const check of ['settings', 'templates', 'limits'])
      expect(result(results, check)).toEqual({ check, status: 'skip', detail: reason });
    expect(result(results, 'routes')).toEqual({
      check: 'routes',
      status: 'skip',
      detail: 'the settings and routes could not be read',
    });
    expect(result(results, 'default destinations').status).toBe('skip');
    expect(probe.calls).not.toContain('storedConfig');
    expect(result(results, 'dialplan routines').status).toBe('ok');
    expect(
      notOkExcept(results, 'postgres', 'settings', 'templates', 'limits', 'default destinations', 'routes'),
    ).toEqual([]);
  });

  it('fails only postgres, with the probe message, when it cannot be reached', async () => {
    const probe = new FakeSystemProbe();
    probe.databaseState = new Error('nothing answers at db.example:5432 (connection refused)');
    const results = await runDoctorChecks(probe);
    expect(results.filter((r) => r.status === 'fail')).toEqual([
      {
        check: 'postgres',
        status: 'fail',
        detail: 'nothing answers at db.example:5432 (connection refused)',
      },
    ]);
  });
});

describe('doctor: ARI', () => {
  it('fails ari with the probe message and skips what needs it', async () => {
    const probe = new FakeSystemProbe();
    probe.version = new Error('ARI at http://127.0.0.1:8088 refused user "pinverify": wrong ARI_PASSWORD');
    const results = await runDoctorChecks(probe);
    expect(result(results, 'ari')).toEqual({
      check: 'ari',
      status: 'fail',
      detail: 'ARI at http://127.0.0.1:8088 refused user "pinverify": wrong ARI_PASSWORD',
    });
    for (const check of ['asterisk modules', 'ari app', 'prompts'])
      expect(result(results, check)).toEqual({ check, status: 'skip', detail: 'ARI is not reachable' });
    expect(results.filter((r) => r.status === 'fail').map((r) => r.check)).toEqual(['ari']);
    expect(probe.calls).not.toContain('ariModules');
    expect(probe.calls).not.toContain('ariAppRegistered');
    expect(probe.calls).not.toContain('missingSounds');
  });

  it('skips the modules, the app and the prompts when ARI is not configured', async () => {
    const results = await runDoctorChecks(probeWithout('ari'));
    expect(statuses(results)).toMatchObject({
      ari: 'skip',
      'asterisk modules': 'skip',
      'ari app': 'skip',
      prompts: 'skip',
    });
  });

  test.each<[string, Record<string, string>, CheckStatus, string[]]>([
    [
      'a required module not loaded',
      { 'res_ari_playbacks.so': 'absent' },
      'fail',
      ['not running: res_ari_playbacks.so (stopping prompts)', 'modules_pinverify.conf'],
    ],
    [
      'a required module Not Running',
      { 'app_stasis.so': 'Not Running' },
      'fail',
      ['app_stasis.so (Stasis() in the dialplan)'],
    ],
    [
      'a required and a useful module missing',
      { 'func_logic.so': 'absent', 'func_hash.so': 'absent' },
      'fail',
      ['func_logic.so'],
    ],
    [
      'only a useful module missing',
      { 'res_pjsip_header_funcs.so': 'Not Running' },
      'warn',
      [
        'not running: res_pjsip_header_funcs.so (X-PinVerify-* headers to the agent (pinverify-agent-headers))',
      ],
    ],
    ['every module running', {}, 'ok', ['modules pinverify uses are running']],
  ])('asterisk modules with %s: %s', async (_case, changes, status, fragments) => {
    const probe = new FakeSystemProbe();
    const modules = allModulesRunning();
    for (const [name, state] of Object.entries(changes)) {
      if (state === 'absent') modules.delete(name);
      else modules.set(name, state);
    }
    probe.modules = modules;
    const r = result(await runDoctorChecks(probe), 'asterisk modules');
    expect(r.status).toBe(status);
    for (const f of fragments) expect(r.detail).toContain(f);
  });

  it('names only the failing required modules, not the useful ones, when both are missing', async () => {
    const probe = new FakeSystemProbe();
    const modules = allModulesRunning();
    modules.delete('func_logic.so');
    modules.delete('func_hash.so');
    probe.modules = modules;
    const r = result(await runDoctorChecks(probe), 'asterisk modules');
    expect(r.detail).not.toContain('func_hash.so');
  });

  it('fails the modules check when the module list cannot be read', async () => {
    const probe = new FakeSystemProbe();
    probe.modules = new Error('ARI /asterisk/modules answered HTTP 500');
    const results = await runDoctorChecks(probe);
    expect(result(results, 'asterisk modules')).toEqual({
      check: 'asterisk modules',
      status: 'fail',
      detail: 'ARI /asterisk/modules answered HTTP 500',
    });
    expect(statuses(results)).toMatchObject({ 'ari app': 'ok', prompts: 'ok' });
  });

  it('fails ari app, naming the app, when it is not registered', async () => {
    const probe = new FakeSystemProbe();
    probe.appName = 'pinverify-east';
    probe.appRegistered = false;
    const r = result(await runDoctorChecks(probe), 'ari app');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('no app "pinverify-east" is registered with Asterisk');
    expect(r.detail).toContain('Stasis(pinverify-east)');
  });
});

describe('doctor: prompts', () => {
  const expectedIds = Object.keys(PROMPTS)
    .filter((name) => !name.startsWith('lab-'))
    .map((name) => `pinverify/${name}`);

  it('asks for every production prompt and never for a lab prompt', async () => {
    const probe = new FakeSystemProbe();
    await runDoctorChecks(probe);
    expect(probe.soundsAsked).toHaveLength(1);
    const asked = probe.soundsAsked[0] ?? [];
    expect([...asked].sort()).toEqual([...expectedIds].sort());
    expect(asked).toContain('pinverify/enter-code');
    expect(asked.filter((id) => id.includes('lab-'))).toEqual([]);
    expect(Object.keys(PROMPTS).some((name) => name.startsWith('lab-'))).toBe(true);
  });

  it('fails naming how many are missing and the first three', async () => {
    const probe = new FakeSystemProbe();
    probe.missing = [
      'pinverify/enter-code',
      'pinverify/code-wrong',
      'pinverify/sent-sms',
      'pinverify/goodbye',
    ];
    const r = result(await runDoctorChecks(probe), 'prompts');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain(
      `4 of ${expectedIds.length} prompts missing in Asterisk's sounds (pinverify/enter-code, pinverify/code-wrong, pinverify/sent-sms, ...)`,
    );
    expect(r.detail).not.toContain('pinverify/goodbye');
    expect(r.detail).toContain('sounds/en/pinverify/');
  });

  it('lists one missing prompt without an ellipsis', async () => {
    const probe = new FakeSystemProbe();
    probe.missing = ['pinverify/not-verified'];
    const r = result(await runDoctorChecks(probe), 'prompts');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain(
      `1 of ${expectedIds.length} prompts missing in Asterisk's sounds (pinverify/not-verified):`,
    );
  });

  it('says how many are installed when none is missing', async () => {
    const r = result(await runDoctorChecks(new FakeSystemProbe()), 'prompts');
    expect(r).toEqual({
      check: 'prompts',
      status: 'ok',
      detail: `all ${expectedIds.length} prompts are installed`,
    });
  });
});

describe('AMI rights', () => {
  const rights = (
    user: string,
    over: { userEvents?: boolean; showDialPlan?: boolean; cliCommands?: boolean },
  ) => ({
    user,
    userEvents: true,
    showDialPlan: true,
    cliCommands: false,
    ...over,
  });

  test.each<[string, 'app' | 'cli', Parameters<typeof rights>[1], CheckStatus, string[]]>([
    [
      'app user without UserEvent',
      'app',
      { userEvents: false },
      'fail',
      ['"ops-app"', 'UserEvent (write = user)', 'manager_pinverify.conf'],
    ],
    [
      'app user without ShowDialPlan',
      'app',
      { showDialPlan: false },
      'fail',
      ['ShowDialPlan (write = reporting)'],
    ],
    [
      'app user without either',
      'app',
      { userEvents: false, showDialPlan: false },
      'fail',
      ['UserEvent (write = user) or ShowDialPlan (write = reporting)'],
    ],
    [
      'app user with CLI commands',
      'app',
      { cliCommands: true },
      'warn',
      ['may run CLI commands', 'write = user,reporting'],
    ],
    [
      'app user with just enough',
      'app',
      {},
      'ok',
      ['"ops-app" logs in with just the rights pinverify needs'],
    ],
    [
      'cli user without ShowDialPlan',
      'cli',
      { showDialPlan: false },
      'fail',
      ['"ops-cli"', 'ShowDialPlan (write = reporting)'],
    ],
    ['cli user without UserEvent', 'cli', { userEvents: false }, 'ok', ['just the rights pinverify needs']],
    ['cli user with CLI commands', 'cli', { cliCommands: true }, 'warn', ['give it only write = reporting']],
  ])('%s: %s', async (_case, who, over, status, fragments) => {
    const probe = new FakeSystemProbe();
    probe.rights[who] = rights(who === 'app' ? 'ops-app' : 'ops-cli', over);
    const results = await runSetupChecks(probe);
    const r = result(results, `ami (${who} user)`);
    expect(r.status).toBe(status);
    for (const f of fragments) expect(r.detail).toContain(f);
    expect(notOkExcept(results, `ami (${who} user)`)).toEqual([]);
  });

  it('warns the cli user about CLI commands without suggesting write = user', async () => {
    const probe = new FakeSystemProbe();
    probe.rights.cli = rights('ops-cli', { cliCommands: true });
    const r = result(await runSetupChecks(probe), 'ami (cli user)');
    expect(r.detail).not.toContain('user,reporting');
  });

  it('fails with the probe message when the app user cannot log in', async () => {
    const probe = new FakeSystemProbe();
    probe.rights.app = new Error('AMI 127.0.0.1:5038 refused user "pinverify": wrong AMI_SECRET');
    expect(result(await runSetupChecks(probe), 'ami (app user)')).toEqual({
      check: 'ami (app user)',
      status: 'fail',
      detail: 'AMI 127.0.0.1:5038 refused user "pinverify": wrong AMI_SECRET',
    });
  });

  it('skips the dialplan checks, not fails them, when the cli user cannot log in', async () => {
    const probe = new FakeSystemProbe();
    probe.rights.cli = new Error('AMI 127.0.0.1:5038 refused user "pinverify-cli"');
    const results = await runDoctorChecks(probe);
    expect(result(results, 'ami (cli user)').status).toBe('fail');
    for (const check of ['dialplan routines', 'default destinations', 'routes'])
      expect(result(results, check)).toEqual({
        check,
        status: 'skip',
        detail: 'AMI cannot be asked (ami (cli user) failed)',
      });
    expect(results.filter((r) => r.status === 'fail').map((r) => r.check)).toEqual(['ami (cli user)']);
    const checks = results.map((r) => r.check);
    for (const check of ['route support-verify', 'route billing']) expect(checks).not.toContain(check);
    expect(probe.calls).not.toContain('dialplan');
  });

  it('skips the dialplan checks when the cli user may not read the dialplan', async () => {
    const probe = new FakeSystemProbe();
    probe.rights.cli = rights('ops-cli', { showDialPlan: false });
    const results = await runDoctorChecks(probe);
    expect(result(results, 'dialplan routines').status).toBe('skip');
    expect(probe.calls).not.toContain('dialplan');
  });

  it('skips the dialplan checks when the app user cannot log in and there is no cli user', async () => {
    const probe = probeWithout('ami-cli');
    probe.rights.app = new Error('AMI 127.0.0.1:5038: connection refused');
    const results = await runDoctorChecks(probe);
    expect(result(results, 'dialplan routines')).toEqual({
      check: 'dialplan routines',
      status: 'skip',
      detail: 'AMI cannot be asked (ami (app user) failed)',
    });
    expect(results.filter((r) => r.status === 'fail').map((r) => r.check)).toEqual(['ami (app user)']);
  });

  it('still reads the dialplan as the cli user when only the app user fails', async () => {
    const probe = new FakeSystemProbe();
    probe.rights.app = new Error('AMI 127.0.0.1:5038 refused user "pinverify"');
    const results = await runDoctorChecks(probe);
    expect(statuses(results)).toMatchObject({
      'ami (app user)': 'fail',
      'dialplan routines': 'ok',
      'route support-verify': 'ok',
    });
    expect(result(results, 'dialplan routines').status).toBe('ok');
  });

  it('checks the dialplan when the app user only warns', async () => {
    const probe = probeWithout('ami-cli');
    probe.rights.app = rights('ops-app', { cliCommands: true });
    const results = await runDoctorChecks(probe);
    expect(statuses(results)).toMatchObject({ 'ami (app user)': 'warn', 'dialplan routines': 'ok' });
  });
});

describe('doctor: dialplan routines', () => {
  test.each<[string, string[], string]>([
    [
      'pinverify-agent-headers',
      ['pinverify-agent-headers'],
      'pinverify-agent-headers not in the running dialplan',
    ],
    [
      'pinverify-app-unavailable',
      ['pinverify-app-unavailable'],
      'pinverify-app-unavailable not in the running dialplan',
    ],
    [
      'both routines',
      [...DROP_IN_ROUTINES],
      'pinverify-app-unavailable and pinverify-agent-headers not in the running dialplan',
    ],
  ])('fails without %s, naming it and the #include line', async (_case, missing, fragment) => {
    const probe = new FakeSystemProbe();
    for (const context of missing) probe.dialplanChecker.contexts.delete(context);
    const results = await runDoctorChecks(probe);
    const r = result(results, 'dialplan routines');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain(fragment);
    expect(r.detail).toContain('#include pinverify/extensions_pinverify.conf');
    expect(r.detail).toContain('dialplan reload');
    expect(notOkExcept(results, 'dialplan routines')).toEqual([]);
  });

  it('fails with the message when the dialplan cannot be asked', async () => {
    const probe = new FakeSystemProbe();
    probe.dialplanChecker.failure = new PbxUnreachableError('AMI 127.0.0.1:5038 did not answer ShowDialPlan');
    const r = result(await runDoctorChecks(probe), 'dialplan routines');
    expect(r).toEqual({
      check: 'dialplan routines',
      status: 'fail',
      detail: 'AMI 127.0.0.1:5038 did not answer ShowDialPlan',
    });
  });
});

describe('doctor: routes and default destinations', () => {
  function withRoutes(...routes: ReturnType<typeof route>[]): FakeSystemProbe {
    const probe = new FakeSystemProbe();
    probe.stored = { ...healthyStoredConfig(), routes };
    return probe;
  }

  test.each<[string, ReturnType<typeof route>, string]>([
    [
      'previous hop',
      route('sales-verify', { successDestination: '2001', failedDestination: '2901' }),
      '"sales-verify" is neither a context',
    ],
    [
      'success destination',
      route('sales-verify', { successDestination: '2999' }),
      'success 2999: extension 2999 is not in context "pinverify-destinations"',
    ],
    [
      'failed destination in another context',
      route('sales-verify', { failedDestination: '100@sales:2' }),
      'failed 100@sales:2: context "sales" does not exist',
    ],
    [
      'malformed destination',
      route('sales-verify', { successDestination: '20 01' }),
      'success 20 01: extension "20 01" in destination "20 01" may only contain',
    ],
  ])('fails only the route whose %s is missing', async (_case, bad, fragment) => {
    const probe = withRoutes(route('support-verify'), bad, route('billing', { failedDestination: '2902' }));
    probe.dialplanChecker.contexts.delete('sales-verify');
    const results = await runDoctorChecks(probe);
    const r = result(results, 'route sales-verify');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain(fragment);
    expect(statuses(results)).toMatchObject({
      'route support-verify': 'ok',
      'route billing': 'ok',
      'default destinations': 'ok',
    });
    expect(results.filter((x) => x.status === 'fail')).toHaveLength(1);
  });

  it('lists every problem of one route in its line', async () => {
    const probe = withRoutes(route('nowhere', { successDestination: '2998', failedDestination: '2999' }));
    const r = result(await runDoctorChecks(probe), 'route nowhere');
    expect(r.status).toBe('fail');
    expect(r.detail.split('; ')).toEqual([
      expect.stringContaining('"nowhere" is neither'),
      'success 2998: extension 2998 is not in context "pinverify-destinations"',
      'failed 2999: extension 2999 is not in context "pinverify-destinations"',
    ]);
  });

  it('accepts a previous hop that is a Stasis route name and marks a disabled route', async () => {
    const probe = withRoutes(route('billing', { enabled: false, mode: 'pin_then_otp' }));
    const r = result(await runDoctorChecks(probe), 'route billing');
    expect(r).toEqual({
      check: 'route billing',
      status: 'ok',
      detail: 'pin_then_otp: success 2001, failed 2901 (disabled)',
    });
  });

  it('warns when there are no routes', async () => {
    const results = await runDoctorChecks(withRoutes());
    const r = result(results, 'routes');
    expect(r.status).toBe('warn');
    expect(r.detail).toContain('no routes: every caller gets the default destinations');
    expect(results.some((x) => x.check.startsWith('route '))).toBe(false);
    expect(result(results, 'default destinations').status).toBe('ok');
    expect(checksPassed(results)).toBe(true);
  });

  test.each<[string, Partial<FlowSettings>, string[]]>([
    [
      'a missing failed destination',
      { defaultFailedDestination: '2999' },
      ['defaultFailedDestination 2999: extension 2999 is not in context "pinverify-destinations"'],
    ],
    [
      'a missing success destination in another context',
      { defaultSuccessDestination: '100@ops' },
      ['defaultSuccessDestination 100@ops: context "ops" does not exist'],
    ],
    [
      'a default context that does not exist',
      { defaultContext: 'gone' },
      ['defaultSuccessDestination 2000: context "gone"', 'defaultFailedDestination 2900: context "gone"'],
    ],
  ])('fails the default destinations with %s', async (_case, settings, fragments) => {
    const probe = new FakeSystemProbe();
    const stored = healthyStoredConfig();
    probe.stored = {
      ...stored,
      settings: { ...stored.settings, ...settings },
      routes: [
        route('support-verify', {
          successDestination: '2001@pinverify-destinations',
          failedDestination: '2901@pinverify-destinations',
        }),
      ],
    };
    const results = await runDoctorChecks(probe);
    const r = result(results, 'default destinations');
    expect(r.status).toBe('fail');
    for (const f of fragments) expect(r.detail).toContain(f);
    expect(result(results, 'route support-verify').status).toBe('ok');
  });

  it('fails a route, not the whole run, when the dialplan cannot be asked about it', async () => {
    const probe = withRoutes(route('support-verify'));
    probe.dialplanChecker.previousHopProblem = () =>
      Promise.reject(new PbxUnreachableError('AMI connection lost'));
    const results = await runDoctorChecks(probe);
    expect(result(results, 'route support-verify')).toEqual({
      check: 'route support-verify',
      status: 'fail',
      detail: 'AMI connection lost',
    });
    expect(result(results, 'app health').status).toBe('ok');
  });

  it('checks the routes against a dialplan that is a FakeDialplan of its own', async () => {
    const probe = withRoutes(route('ivr-x'));
    probe.checker = new FakeDialplan(
      new Map([
        ['pinverify-app-unavailable', new Set(['s'])],
        ['pinverify-agent-headers', new Set(['s'])],
        ['pinverify-destinations', new Set(['2000', '2900', '2001', '2901'])],
        ['ivr-x', new Set(['s'])],
      ]),
    );
    const results = await runDoctorChecks(probe);
    expect(notOkExcept(results)).toEqual([]);
  });
});

describe('doctor: stored settings and templates', () => {
  it('warns about settings problems in the settings line and template problems in the templates line', async () => {
    const probe = new FakeSystemProbe();
    probe.stored = {
      ...healthyStoredConfig(),
      problems: [
        'setting codeLength is invalid, using default 6',
        'template sms is invalid (unknown placeholder {pin}), using the built-in one',
        'setting maxPinTries is missing, using default 3',
        'template email is missing, using the built-in one',
      ],
    };
    const results = await runDoctorChecks(probe);
    expect(result(results, 'settings')).toEqual({
      check: 'settings',
      status: 'warn',
      detail:
        'the app uses defaults instead of: setting codeLength is invalid, using default 6; setting maxPinTries is missing, using default 3 (pinverify settings show)',
    });
    expect(result(results, 'templates')).toEqual({
      check: 'templates',
      status: 'warn',
      detail:
        'template sms is invalid (unknown placeholder {pin}), using the built-in one; template email is missing, using the built-in one (pinverify templates show)',
    });
    expect(checksPassed(results)).toBe(true);
  });

  it('keeps the settings line ok when only templates have problems', async () => {
    const probe = new FakeSystemProbe();
    probe.stored = {
      ...healthyStoredConfig(),
      problems: ['template sms is missing, using the built-in one'],
    };
    const results = await runDoctorChecks(probe);
    expect(statuses(results)).toMatchObject({ settings: 'ok', templates: 'warn' });
    expect(result(results, 'settings').detail).toBe('every stored setting is valid');
  });

  it('keeps the templates line ok when only settings have problems', async () => {
    const probe = new FakeSystemProbe();
    probe.stored = {
      ...healthyStoredConfig(),
      problems: ['setting retentionDays is invalid, using default 90'],
    };
    const results = await runDoctorChecks(probe);
    expect(statuses(results)).toMatchObject({ settings: 'warn', templates: 'ok' });
    expect(result(results, 'templates').detail).toBe('the email and SMS templates are valid');
  });

  it('warns about unwise limits', async () => {
    const probe = new FakeSystemProbe();
    const stored = healthyStoredConfig();
    probe.stored = { ...stored, settings: { ...stored.settings, codeLength: 4, maxTriesPerCode: 8 } };
    const r = result(await runDoctorChecks(probe), 'limits');
    expect(r.status).toBe('warn');
    expect(r.detail).toBe(
      'codeLength 4: 6 digits or more is the usual minimum; maxTriesPerCode 8: more than 5 tries per code',
    );
  });

  it('fails settings with the message when they cannot be read, and skips the routes', async () => {
    const probe = new FakeSystemProbe();
    probe.stored = new Error('relation "settings" does not exist');
    const results = await runDoctorChecks(probe);
    expect(result(results, 'settings')).toEqual({
      check: 'settings',
      status: 'fail',
      detail: 'relation "settings" does not exist',
    });
    expect(result(results, 'routes').status).toBe('skip');
    expect(result(results, 'dialplan routines').status).toBe('ok');
  });
});

describe('doctor: app health', () => {
  it('fails with the message when the app does not answer', async () => {
    const probe = new FakeSystemProbe();
    probe.live = new Error('nothing answers at http://127.0.0.1:8090/v1/health/live (connection refused)');
    const results = await runDoctorChecks(probe);
    expect(result(results, 'app health')).toEqual({
      check: 'app health',
      status: 'fail',
      detail: 'nothing answers at http://127.0.0.1:8090/v1/health/live (connection refused)',
    });
    expect(checksPassed(results)).toBe(false);
  });
});

describe('limitNotes', () => {
  it('has nothing to say about the default settings', () => {
    expect(limitNotes({ ...DEFAULT_SETTINGS })).toEqual([]);
  });

  test.each<[Partial<FlowSettings>, string]>([
    [{ codeLength: 5 }, 'codeLength 5: 6 digits or more is the usual minimum'],
    [
      { codeValiditySeconds: 301 },
      'codeValiditySeconds 301: codes valid over 5 minutes help guessers and phishers',
    ],
    [{ maxTriesPerCode: 6 }, 'maxTriesPerCode 6: more than 5 tries per code'],
    [
      { maxSendsPerHour: 2 },
      "maxSendsPerHour 2 is below maxSendsPerDestinationPerHour 3: one caller can use up everyone's sends",
    ],
    [
      { maxSendsPerDestinationPerDay: 2 },
      'maxSendsPerDestinationPerDay 2 is below maxSendsPerDestinationPerHour 3',
    ],
  ])('notes %j', (change, note) => {
    expect(limitNotes({ ...DEFAULT_SETTINGS, ...change })).toEqual([note]);
  });

  test.each<[Partial<FlowSettings>]>([
    [{ codeLength: 6 }],
    [{ codeValiditySeconds: 300 }],
    [{ maxTriesPerCode: 5 }],
    [{ maxSendsPerHour: 3 }],
    [{ maxSendsPerDestinationPerDay: 3 }],
  ])('has nothing to say at the boundary %j', (change) => {
    expect(limitNotes({ ...DEFAULT_SETTINGS, ...change })).toEqual([]);
  });

  it('lists every note, in order', () => {
    const notes = limitNotes({
      ...DEFAULT_SETTINGS,
      codeLength: 4,
      codeValiditySeconds: 600,
      maxTriesPerCode: 10,
      maxSendsPerDestinationPerHour: 20,
      maxSendsPerDestinationPerDay: 10,
      maxSendsPerHour: 15,
    });
    expect(notes.map((n) => n.split(' ')[0])).toEqual([
      'codeLength',
      'codeValiditySeconds',
      'maxTriesPerCode',
      'maxSendsPerHour',
      'maxSendsPerDestinationPerDay',
    ]);
  });
});

describe('checksPassed', () => {
  const r = (status: CheckStatus): CheckResult => ({ check: status, status, detail: '' });

  test.each<[CheckStatus[], boolean]>([
    [[], true],
    [['ok'], true],
    [['ok', 'warn', 'skip'], true],
    [['warn', 'warn'], true],
    [['skip'], true],
    [['fail'], false],
    [['ok', 'warn', 'skip', 'fail'], false],
  ])('%j: %s', (list, passed) => {
    expect(checksPassed(list.map(r))).toBe(passed);
  });
});

describe('formatChecks', () => {
  const results: CheckResult[] = [
    { check: 'configuration', status: 'ok', detail: 'every setting of the environment is valid' },
    { check: 'ari', status: 'fail', detail: 'connection refused' },
    { check: 'prompts', status: 'skip', detail: 'ARI is not reachable' },
    { check: 'routes', status: 'warn', detail: 'no routes' },
  ];

  it('prints one aligned line per check, then the counts', () => {
    expect(formatChecks(results)).toBe(
      [
        'ok    configuration  every setting of the environment is valid',
        'FAIL  ari            connection refused',
        'skip  prompts        ARI is not reachable',
        'WARN  routes         no routes',
        '1 problem(s): 1 ok, 1 warnings, 1 failed, 1 skipped',
      ].join('\n'),
    );
  });

  it('says no problems were found when nothing failed', () => {
    const text = formatChecks(results.filter((x) => x.status !== 'fail'));
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('no problems found: 1 ok, 1 warnings, 0 failed, 1 skipped');
  });

  it('counts the failures of a real doctor run', async () => {
    const probe = new FakeSystemProbe();
    probe.version = new Error('ARI down');
    probe.live = new Error('app down');
    const run = await runDoctorChecks(probe);
    const lines = formatChecks(run).split('\n');
    expect(lines).toHaveLength(run.length + 1);
    expect(lines.filter((l) => l.startsWith('FAIL'))).toHaveLength(2);
    expect(lines[lines.length - 1]).toBe(
      `2 problem(s): ${run.length - 5} ok, 0 warnings, 2 failed, 3 skipped`,
    );
  });
});
