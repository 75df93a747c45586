/**
 * `pinverify setup` and `pinverify doctor`: every check an operator needs between "I installed
 * it" and "callers are verified", each ending in one line that names the problem and what to do.
 *
 * The checks read the system through SystemProbe (src/ops/system-probe.ts talks to Postgres,
 * ARI, AMI, SMTP and the app; unit tests pass a fake). A check whose prerequisite failed is
 * skipped with the reason, so one dead service yields one failure, not twenty.
 *
 * setup: the configuration as a whole, Postgres (and applies the migrations), ARI, both AMI
 * users and SMTP: what must hold before the app is started.
 * doctor: the same on a running system without changing anything, plus what only a running
 * system shows: the Asterisk modules, the app registered with ARI, its prompts installed, the
 * dialplan routines and every route's previous hop and destinations, settings, templates and
 * limits, and the app's own health endpoint.
 */
import type { FlowSettings, Route } from '../domain';
import type { MessageTemplate } from '../flow/ports';
import { parseDestination } from '../flow/destination';
import { PROMPTS, type PromptName } from '../flow/prompts';
import type { DialplanChecker } from './dialplan-checker';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** What was checked, e.g. "postgres", "ari modules", "route support-verify". */
  check: string;
  status: CheckStatus;
  /** One line: what was found, or the problem and what to do about it. */
  detail: string;
}

/** What an AMI user may do, found by asking Asterisk (refused actions say "Permission denied"). */
export interface AmiRights {
  user: string;
  /** UserEvent (write class user): the app's result event. */
  userEvents: boolean;
  /** ShowDialPlan (write class reporting): destination and route checks. */
  showDialPlan: boolean;
  /** Command (write class command or system): more than pinverify needs. */
  cliCommands: boolean;
}

export interface DatabaseState {
  server: string;
  /** Latest applied migration, null on an empty database. */
  current: string | null;
  /** Migrations of this version not yet applied. */
  pending: string[];
}

export interface StoredConfig {
  settings: FlowSettings;
  routes: Route[];
  templates: MessageTemplate[];
  /** Stored values the app cannot use (it falls back to defaults), one sentence each. */
  problems: string[];
}

/** The system as the checks see it. Every method throws an Error whose message is for the operator. */
export interface SystemProbe {
  /** Every problem with the app's environment (missing, malformed, lab secrets outside the lab). */
  configProblems(): string[];
  /** Which settings the probe has, so a check that needs a missing one is skipped, not failed. */
  has(what: 'database' | 'ari' | 'ami' | 'ami-cli' | 'smtp' | 'admin'): boolean;
  database(): Promise<DatabaseState>;
  /** Applies pending migrations (setup only). */
  migrate(): Promise<{ applied: string[]; current: string | null }>;
  storedConfig(): Promise<StoredConfig>;
  ariVersion(): Promise<string>;
  /** Loaded modules by file name (res_ari.so) with Asterisk's status word (Running, Not Running). */
  ariModules(): Promise<Map<string, string>>;
  ariAppRegistered(): Promise<boolean>;
  /** The prompts (sound ids pinverify/<name>) Asterisk does not have. */
  missingSounds(ids: readonly string[]): Promise<string[]>;
  amiRights(who: 'app' | 'cli'): Promise<AmiRights>;
  dialplan(): DialplanChecker;
  /** Logs in to the SMTP server without sending; returns what it connected to. */
  smtp(): Promise<string>;
  /** The app's /v1/health/live answer. */
  appLive(): Promise<string>;
  appName: string;
}

/** Modules pinverify cannot work without, and what each is for. */
export const REQUIRED_MODULES: Readonly<Record<string, string>> = {
  'res_ari.so': 'ARI itself',
  'res_ari_channels.so': 'answering, playing and continuing calls',
  'res_ari_events.so': "the app's event websocket",
  'res_ari_applications.so': 'the app registering and finding its calls after a restart',
  'res_ari_playbacks.so': 'stopping prompts',
  'res_http_websocket.so': "the app's event websocket",
  'res_stasis.so': 'Stasis applications',
  'res_stasis_playback.so': 'prompts',
  'app_stasis.so': 'Stasis() in the dialplan',
  'app_stack.so': 'Gosub (pinverify-app-unavailable, pre-dial handlers)',
  'func_logic.so': 'IF() in the drop-in routines',
  'format_wav.so': "the prompts' WAV files",
  // A dialplan application that is missing hangs the caller up in the fallback routine.
  'app_verbose.so': 'Verbose() in pinverify-app-unavailable',
  'app_userevent.so': 'UserEvent() in pinverify-app-unavailable',
};

/** Modules one part needs: missing means a warning that names the part. */
export const USEFUL_MODULES: Readonly<Record<string, string>> = {
  'res_pjsip_header_funcs.so': 'X-PinVerify-* headers to the agent (pinverify-agent-headers)',
  'func_strings.so': 'HASH() in the FreePBX header bridge (pinverify-freepbx)',
};

/** Contexts of asterisk-conf/production/extensions_pinverify.conf the sub-IVR pattern calls. */
export const DROP_IN_ROUTINES = ['pinverify-app-unavailable', 'pinverify-agent-headers'] as const;

type StepResult = Omit<CheckResult, 'check'> | string;
/** A check: its finding, or a throw whose message is the problem. */
type Step = () => Promise<StepResult> | StepResult;

class CheckRun {
  readonly results: CheckResult[] = [];

  /** Records the check; true when it passed (ok or warn). */
  async run(check: string, step: Step): Promise<boolean> {
    try {
      const r = await step();
      this.results.push(typeof r === 'string' ? { check, status: 'ok', detail: r } : { check, ...r });
      return typeof r === 'string' || r.status === 'ok' || r.status === 'warn';
    } catch (err) {
      this.results.push({ check, status: 'fail', detail: err instanceof Error ? err.message : String(err) });
      return false;
    }
  }

  skip(check: string, why: string): void {
    this.results.push({ check, status: 'skip', detail: why });
  }
}

/** Whether the database could be read and ARI answered, for the checks that build on them. */
interface Reachable {
  database: boolean;
  ari: boolean;
}

async function commonChecks(probe: SystemProbe, run: CheckRun, mode: 'setup' | 'doctor'): Promise<Reachable> {
  const reachable: Reachable = { database: false, ari: false };
  const configOk = await run.run('configuration', () => {
    const problems = probe.configProblems();
    if (problems.length > 0) throw new Error(problems.join('; '));
    return 'every setting of the environment is valid';
  });

  if (!probe.has('database')) run.skip('postgres', 'DATABASE_URL is not set');
  else {
    await run.run('postgres', async () => {
      const db = await probe.database();
      // Readable even with migrations pending: the checks of settings and routes still apply.
      reachable.database = true;
      if (mode === 'setup' && !configOk)
        return {
          status: 'warn',
          detail: `${db.server}; schema at ${db.current ?? 'nothing'}; migrations not applied until the configuration is valid`,
        };
      if (mode === 'setup') {
        const m = await probe.migrate();
        const applied = m.applied.length > 0 ? `applied ${m.applied.join(', ')}` : 'no migration needed';
        return `${db.server}; schema at ${m.current ?? 'nothing'} (${applied})`;
      }
      if (db.pending.length > 0)
        return {
          status: 'fail',
          detail: `${db.server}; schema at ${db.current ?? 'nothing'}, ${db.pending.length} migration(s) pending (${db.pending.join(', ')}): run pinverify setup, or start the app, which applies them`,
        };
      return `${db.server}; schema at ${db.current ?? 'nothing'}, up to date`;
    });
  }

  if (!probe.has('ari')) run.skip('ari', 'ARI_URL, ARI_USER or ARI_PASSWORD is not set');
  else
    reachable.ari = await run.run(
      'ari',
      async () => `Asterisk ${await probe.ariVersion()} answers; login accepted`,
    );

  if (!probe.has('ami')) run.skip('ami (app user)', 'AMI_USER or AMI_SECRET is not set');
  else await run.run('ami (app user)', async () => rightsVerdict(await probe.amiRights('app'), 'app'));
  if (!probe.has('ami-cli'))
    run.skip(
      'ami (cli user)',
      'AMI_CLI_USER is not set: the CLI uses the app user (test-call needs read rights)',
    );
  else await run.run('ami (cli user)', async () => rightsVerdict(await probe.amiRights('cli'), 'cli'));

  if (!probe.has('smtp')) run.skip('smtp', 'SMTP_HOST is not set');
  else await run.run('smtp', async () => `${await probe.smtp()} accepts the connection and login`);
  return reachable;
}

function rightsVerdict(r: AmiRights, who: 'app' | 'cli'): Omit<CheckResult, 'check'> | string {
  const missing: string[] = [];
  if (who === 'app' && !r.userEvents) missing.push('UserEvent (write = user)');
  if (!r.showDialPlan) missing.push('ShowDialPlan (write = reporting)');
  if (missing.length > 0)
    return {
      status: 'fail',
      detail: `AMI user "${r.user}" logs in but may not send ${missing.join(' or ')}: see asterisk-conf/production/manager_pinverify.conf`,
    };
  if (r.cliCommands)
    return {
      status: 'warn',
      detail: `AMI user "${r.user}" may run CLI commands (write = command or system): more than pinverify needs; give it only ${who === 'app' ? 'write = user,reporting' : 'write = reporting'}`,
    };
  return `AMI user "${r.user}" logs in with just the rights pinverify needs`;
}

/** `pinverify setup`: applies migrations and checks what must hold before the app starts. */
export async function runSetupChecks(probe: SystemProbe): Promise<CheckResult[]> {
  const run = new CheckRun();
  await commonChecks(probe, run, 'setup');
  return run.results;
}

/** `pinverify doctor`: changes nothing; checks a running system end to end. */
export async function runDoctorChecks(probe: SystemProbe): Promise<CheckResult[]> {
  const run = new CheckRun();
  const { results } = run;
  const reachable = await commonChecks(probe, run, 'doctor');

  if (!reachable.ari) {
    const why = probe.has('ari') ? 'ARI is not reachable' : 'ARI is not configured';
    for (const c of ['asterisk modules', 'ari app', 'prompts']) run.skip(c, why);
  } else {
    await run.run('asterisk modules', async () => {
      const modules = await probe.ariModules();
      const notRunning = (name: string) => modules.get(name) !== 'Running';
      const missing = Object.keys(REQUIRED_MODULES).filter(notRunning);
      if (missing.length > 0)
        throw new Error(
          `not running: ${missing.map((m) => `${m} (${REQUIRED_MODULES[m]})`).join(', ')}; load them (asterisk-conf/production/modules_pinverify.conf)`,
        );
      const useful = Object.keys(USEFUL_MODULES).filter(notRunning);
      if (useful.length > 0)
        return {
          status: 'warn',
          detail: `not running: ${useful.map((m) => `${m} (${USEFUL_MODULES[m]})`).join(', ')}`,
        };
      return `the ${Object.keys(REQUIRED_MODULES).length + Object.keys(USEFUL_MODULES).length} modules pinverify uses are running`;
    });
    await run.run('ari app', async () => {
      if (await probe.ariAppRegistered()) return `the app "${probe.appName}" is registered with Asterisk`;
      throw new Error(
        `no app "${probe.appName}" is registered with Asterisk: the app is not running or not connected (systemctl status pinverify; ARI_APP must match Stasis(${probe.appName}))`,
      );
    });
    await run.run('prompts', async () => {
      const ids = (Object.keys(PROMPTS) as PromptName[])
        .filter((name) => !name.startsWith('lab-'))
        .map((name) => `pinverify/${name}`);
      const missing = await probe.missingSounds(ids);
      if (missing.length > 0)
        throw new Error(
          `${missing.length} of ${ids.length} prompts missing in Asterisk's sounds (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}): copy the package's sounds/pinverify/ to <astdatadir>/sounds/en/pinverify/`,
        );
      return `all ${ids.length} prompts are installed`;
    });
  }

  let stored: StoredConfig | null = null;
  if (!reachable.database) {
    for (const c of ['settings', 'templates', 'limits']) run.skip(c, 'Postgres is not reachable');
  } else {
    const read = await run.run('settings', async () => {
      stored = await probe.storedConfig();
      const problems = stored.problems.filter((p) => !p.startsWith('template'));
      if (problems.length > 0)
        return {
          status: 'warn',
          detail: `the app uses defaults instead of: ${problems.join('; ')} (pinverify settings show)`,
        };
      return 'every stored setting is valid';
    });
    const s = stored as StoredConfig | null;
    if (!read || !s) {
      for (const c of ['templates', 'limits']) run.skip(c, 'the settings could not be read');
    } else {
      await run.run('templates', (): StepResult => {
        const problems = s.problems.filter((p) => p.startsWith('template'));
        if (problems.length > 0)
          return { status: 'warn', detail: `${problems.join('; ')} (pinverify templates show)` };
        return 'the email and SMS templates are valid';
      });
      await run.run('limits', (): StepResult => {
        const notes = limitNotes(s.settings);
        if (notes.length > 0) return { status: 'warn', detail: notes.join('; ') };
        return 'code length, tries, lockout and send limits are within sane bounds';
      });
    }
  }

  await dialplanChecks(probe, run, stored);

  if (!probe.has('admin')) run.skip('app health', 'ADMIN_PORT is off');
  else await run.run('app health', async () => probe.appLive());
  return results;
}

const DIALPLAN_CHECKS = ['dialplan routines', 'default destinations', 'routes'] as const;

/** The drop-in's routines, the default destinations and every route, asked of the running dialplan. */
async function dialplanChecks(probe: SystemProbe, run: CheckRun, stored: StoredConfig | null): Promise<void> {
  const skipAll = (why: string) => DIALPLAN_CHECKS.forEach((c) => run.skip(c, why));
  // The dialplan is read as the CLI's AMI user when there is one (cli-env.ts amiSettings).
  const amiCheck = run.results.find(
    (r) => r.check === (probe.has('ami-cli') ? 'ami (cli user)' : 'ami (app user)'),
  );
  if (!probe.has('ami') && !probe.has('ami-cli')) return skipAll('AMI is not configured');
  if (amiCheck?.status === 'fail') return skipAll(`AMI cannot be asked (${amiCheck.check} failed)`);

  let checker: DialplanChecker | null = null;
  let unreachable = false;
  await run.run('dialplan routines', async () => {
    checker = probe.dialplan();
    const missing: string[] = [];
    try {
      for (const context of DROP_IN_ROUTINES) {
        if (await checker.destinationProblem({ exten: 's', context, priority: 1 })) missing.push(context);
      }
    } catch (err) {
      unreachable = true;
      throw err;
    }
    if (missing.length > 0)
      throw new Error(
        `${missing.join(' and ')} not in the running dialplan: add #include pinverify/extensions_pinverify.conf to extensions.conf and run "dialplan reload"`,
      );
    return `${DROP_IN_ROUTINES.join(' and ')} are in the dialplan`;
  });
  const c = checker as DialplanChecker | null;
  if (!c || unreachable) {
    for (const name of DIALPLAN_CHECKS.slice(1)) run.skip(name, 'the dialplan could not be asked');
    return;
  }
  if (!stored) {
    for (const name of DIALPLAN_CHECKS.slice(1)) run.skip(name, 'the settings and routes could not be read');
    return;
  }
  await routeChecks(c, stored, run);
}

async function routeChecks(checker: DialplanChecker, stored: StoredConfig, run: CheckRun): Promise<void> {
  const { settings } = stored;
  await run.run('default destinations', async () => {
    const problems = await destinationProblems(checker, settings, [
      ['defaultSuccessDestination', settings.defaultSuccessDestination],
      ['defaultFailedDestination', settings.defaultFailedDestination],
    ]);
    if (problems.length > 0) throw new Error(problems.join('; '));
    return `${settings.defaultSuccessDestination} and ${settings.defaultFailedDestination} exist (context ${settings.defaultContext})`;
  });
  if (stored.routes.length === 0) {
    run.results.push({
      check: 'routes',
      status: 'warn',
      detail:
        'no routes: every caller gets the default destinations (pinverify routes add <sub-IVR context> ...)',
    });
    return;
  }
  for (const route of stored.routes) {
    await run.run(`route ${route.previousHop}`, async () => {
      const problems: string[] = [];
      const hop = await checker.previousHopProblem(route.previousHop);
      if (hop) problems.push(hop);
      problems.push(
        ...(await destinationProblems(checker, settings, [
          ['success', route.successDestination],
          ['failed', route.failedDestination],
        ])),
      );
      if (problems.length > 0) throw new Error(problems.join('; '));
      const state = route.enabled ? '' : ' (disabled)';
      return `${route.mode}: success ${route.successDestination}, failed ${route.failedDestination}${state}`;
    });
  }
}

async function destinationProblems(
  checker: DialplanChecker,
  settings: FlowSettings,
  list: ReadonlyArray<readonly [string, string | null]>,
): Promise<string[]> {
  const out: string[] = [];
  for (const [what, text] of list) {
    if (text === null) continue;
    try {
      const problem = await checker.destinationProblem(parseDestination(text, settings.defaultContext));
      if (problem) out.push(`${what} ${text}: ${problem}`);
    } catch (err) {
      if (err instanceof Error && err.name === 'DestinationError')
        out.push(`${what} ${text}: ${err.message}`);
      else throw err;
    }
  }
  return out;
}

/**
 * Limits that are valid but unwise for a production PBX. The hard bounds (the guess chance per
 * contact and day) are enforced when settings are saved; these are the judgment calls.
 */
export function limitNotes(s: FlowSettings): string[] {
  const notes: string[] = [];
  if (s.codeLength < 6) notes.push(`codeLength ${s.codeLength}: 6 digits or more is the usual minimum`);
  if (s.codeValiditySeconds > 300)
    notes.push(
      `codeValiditySeconds ${s.codeValiditySeconds}: codes valid over 5 minutes help guessers and phishers`,
    );
  if (s.maxTriesPerCode > 5) notes.push(`maxTriesPerCode ${s.maxTriesPerCode}: more than 5 tries per code`);
  if (s.maxSendsPerHour < s.maxSendsPerDestinationPerHour)
    notes.push(
      `maxSendsPerHour ${s.maxSendsPerHour} is below maxSendsPerDestinationPerHour ${s.maxSendsPerDestinationPerHour}: one caller can use up everyone's sends`,
    );
  if (s.maxSendsPerDestinationPerDay < s.maxSendsPerDestinationPerHour)
    notes.push(
      `maxSendsPerDestinationPerDay ${s.maxSendsPerDestinationPerDay} is below maxSendsPerDestinationPerHour ${s.maxSendsPerDestinationPerHour}`,
    );
  return notes;
}

/** Exit status of a check run: 0 when nothing failed (warnings and skips allowed). */
export function checksPassed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== 'fail');
}

/** The human report: one line per check, then a summary line. */
export function formatChecks(results: readonly CheckResult[]): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };
  const width = Math.max(...results.map((r) => r.check.length));
  const lines = results.map((r) => `${mark[r.status]}  ${r.check.padEnd(width)}  ${r.detail}`);
  // width is -Infinity for no results; padEnd then pads nothing.
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  lines.push(
    `${count('fail') === 0 ? 'no problems found' : `${count('fail')} problem(s)`}: ${count('ok')} ok, ${count('warn')} warnings, ${count('fail')} failed, ${count('skip')} skipped`,
  );
  return lines.join('\n');
}
