/**
 * A SystemProbe for the setup and doctor checks: every answer is a field a test can replace,
 * either with a value or with an Error the method then throws (its message is for the
 * operator). The defaults describe a healthy system: everything configured, the schema up to
 * date, every module running, the app registered, every prompt installed, AMI users with just
 * the rights pinverify needs, and a dialplan holding the drop-in routines, the default
 * destinations and both routes' previous hops and destinations.
 */
import type { Route } from '../../src/domain';
import type { DialplanChecker, DialplanTargetRef } from '../../src/ops/dialplan-checker';
import {
  REQUIRED_MODULES,
  USEFUL_MODULES,
  type AmiRights,
  type DatabaseState,
  type StoredConfig,
  type SystemProbe,
} from '../../src/ops/system-checks';
import { DEFAULT_SETTINGS, DEFAULT_TEMPLATES } from '../../src/store/config-defaults';

/** What a fake method answers: a value, or an Error it throws (rejects with, when async). */
export type Answer<T> = T | Error;

export type ProbeSetting = Parameters<SystemProbe['has']>[0];

export const ALL_SETTINGS: readonly ProbeSetting[] = ['database', 'ari', 'ami', 'ami-cli', 'smtp', 'admin'];

function answer<T>(a: Answer<T>): T {
  if (a instanceof Error) throw a;
  return a;
}

/**
 * A dialplan of known contexts, each with its extensions (exact names, no patterns), and of
 * known route names passed to Stasis. Records every question in `asked`.
 */
export class FakeDialplan implements DialplanChecker {
  readonly asked: string[] = [];
  /** Thrown by every question when set (an AMI connection lost midway). */
  failure: Error | null = null;
  closed = 0;

  constructor(
    readonly contexts: Map<string, Set<string>>,
    readonly stasisRoutes: Set<string> = new Set(),
  ) {}

  async destinationProblem(t: DialplanTargetRef): Promise<string | null> {
    this.asked.push(`${t.exten}@${t.context}:${t.priority}`);
    if (this.failure) throw this.failure;
    const extensions = this.contexts.get(t.context);
    if (!extensions) return `context "${t.context}" does not exist in the running dialplan`;
    return extensions.has(t.exten) ? null : `extension ${t.exten} is not in context "${t.context}"`;
  }

  async previousHopProblem(hop: string): Promise<string | null> {
    this.asked.push(`hop ${hop}`);
    if (this.failure) throw this.failure;
    if (this.contexts.has(hop) || this.stasisRoutes.has(hop)) return null;
    return `"${hop}" is neither a context of the running dialplan nor a route name passed to Stasis`;
  }

  close(): void {
    this.closed += 1;
  }
}

export function route(previousHop: string, over: Partial<Route> = {}): Route {
  return {
    id: 1,
    title: previousHop,
    previousHop,
    successDestination: '2001',
    failedDestination: '2901',
    enabled: true,
    mode: 'otp',
    ...over,
  };
}

export function healthyDialplan(): FakeDialplan {
  return new FakeDialplan(
    new Map([
      ['pinverify-app-unavailable', new Set(['s'])],
      ['pinverify-agent-headers', new Set(['s'])],
      ['pinverify-destinations', new Set(['2000', '2001', '2002', '2900', '2901', '2902'])],
      ['support-verify', new Set(['s'])],
    ]),
    new Set(['billing']),
  );
}

export function healthyStoredConfig(): StoredConfig {
  return {
    settings: { ...DEFAULT_SETTINGS },
    routes: [
      route('support-verify', { id: 1, title: 'Support' }),
      route('billing', {
        id: 2,
        title: 'Billing',
        successDestination: '2002@pinverify-destinations:1',
        failedDestination: '2902',
        mode: 'pin',
      }),
    ],
    templates: [DEFAULT_TEMPLATES.email, DEFAULT_TEMPLATES.sms],
    problems: [],
  };
}

export function allModulesRunning(): Map<string, string> {
  return new Map(
    [...Object.keys(REQUIRED_MODULES), ...Object.keys(USEFUL_MODULES)].map((m) => [m, 'Running']),
  );
}

export class FakeSystemProbe implements SystemProbe {
  appName = 'pinverify';
  /** The settings has() says are configured. */
  configured = new Set<ProbeSetting>(ALL_SETTINGS);
  configuration: Answer<string[]> = [];
  databaseState: Answer<DatabaseState> = {
    server: 'PostgreSQL 16.4 at db.example:5432',
    current: '004_routes_mode',
    pending: [],
  };
  migration: Answer<{ applied: string[]; current: string | null }> = {
    applied: ['003_pins', '004_routes_mode'],
    current: '004_routes_mode',
  };
  stored: Answer<StoredConfig> = healthyStoredConfig();
  version: Answer<string> = '20.9.3';
  modules: Answer<Map<string, string>> = allModulesRunning();
  appRegistered: Answer<boolean> = true;
  /** What missingSounds answers, whatever it is asked. */
  missing: Answer<string[]> = [];
  rights: Record<'app' | 'cli', Answer<AmiRights>> = {
    app: { user: 'pinverify', userEvents: true, showDialPlan: true, cliCommands: false },
    cli: { user: 'pinverify-cli', userEvents: false, showDialPlan: true, cliCommands: false },
  };
  checker: Answer<FakeDialplan> = healthyDialplan();
  smtpTarget: Answer<string> = 'smtp.example:587';
  live: Answer<string> = 'the app answers /v1/health/live: live';

  /** Every method called, in order (has() excluded). */
  readonly calls: string[] = [];
  /** The ids of each missingSounds call. */
  readonly soundsAsked: Array<readonly string[]> = [];

  /** The fake dialplan (throws if a test made dialplan() fail). */
  get dialplanChecker(): FakeDialplan {
    return answer(this.checker);
  }

  count(method: string): number {
    return this.calls.filter((c) => c === method).length;
  }

  configProblems(): string[] {
    this.calls.push('configProblems');
    return answer(this.configuration);
  }

  has(what: ProbeSetting): boolean {
    return this.configured.has(what);
  }

  async database(): Promise<DatabaseState> {
    this.calls.push('database');
    return answer(this.databaseState);
  }

  async migrate(): Promise<{ applied: string[]; current: string | null }> {
    this.calls.push('migrate');
    return answer(this.migration);
  }

  async storedConfig(): Promise<StoredConfig> {
    this.calls.push('storedConfig');
    return answer(this.stored);
  }

  async ariVersion(): Promise<string> {
    this.calls.push('ariVersion');
    return answer(this.version);
  }

  async ariModules(): Promise<Map<string, string>> {
    this.calls.push('ariModules');
    return answer(this.modules);
  }

  async ariAppRegistered(): Promise<boolean> {
    this.calls.push('ariAppRegistered');
    return answer(this.appRegistered);
  }

  async missingSounds(ids: readonly string[]): Promise<string[]> {
    this.calls.push('missingSounds');
    this.soundsAsked.push([...ids]);
    return answer(this.missing);
  }

  async amiRights(who: 'app' | 'cli'): Promise<AmiRights> {
    this.calls.push(`amiRights ${who}`);
    return answer(this.rights[who]);
  }

  dialplan(): DialplanChecker {
    this.calls.push('dialplan');
    return answer(this.checker);
  }

  async smtp(): Promise<string> {
    this.calls.push('smtp');
    return answer(this.smtpTarget);
  }

  async appLive(): Promise<string> {
    this.calls.push('appLive');
    return answer(this.live);
  }
}
