/**
 * The real SystemProbe behind `pinverify setup` and `doctor`: Postgres through the CLI's pool,
 * ARI over plain HTTP (no ari-client: a check must not open the event websocket the app uses),
 * AMI with the configured users, SMTP with the app's own transport settings, and the app's
 * /v1/health/live. Each failure becomes a sentence that names the service, the address and what
 * usually causes it.
 */
import type { Pool } from 'pg';
import { createAmiClient } from '../ami/ami-client';
import { ConfigError, loadAppConfig } from '../config/app-config';
import { ticketConnectorFromEnv } from '../tickets/ticket-connector-from-config';
import type { FlowSettings, Route } from '../domain';
import type { MessageTemplate } from '../flow/ports';
import { emailTransportFromConfig, senderConfigSchema } from '../senders/delivery-from-config';
import { checkDb, describeDbError } from '../store/db';
import { loadMigrations, migrate } from '../store/migrate';
import { PgConfigStore } from '../store/pg-config-store';
import type { DialplanChecker } from './dialplan-checker';
import type { AmiRights, StoredConfig, SystemProbe } from './system-checks';

export interface SystemProbeDeps {
  env: NodeJS.ProcessEnv;
  databaseUrl: string;
  pool: () => Pool;
  dialplan: () => DialplanChecker;
  routes: () => Promise<Route[]>;
  /** Deadline of each HTTP request (ARI, the app). */
  timeoutMs?: number;
}

const has = (env: NodeJS.ProcessEnv, ...keys: string[]) => keys.every((k) => Boolean(env[k]));

/** A body we do not read still holds its socket until collected: let it go now. */
async function drain(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

export function createSystemProbe(deps: SystemProbeDeps): SystemProbe {
  const { env } = deps;
  const timeoutMs = deps.timeoutMs ?? 5000;
  const ariBase = (env.ARI_URL ?? '').replace(/\/+$/, '');
  const appName = env.ARI_APP || 'pinverify';

  async function http(url: string, init: RequestInit, what: string): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      if (cause === 'ECONNREFUSED')
        throw new Error(`nothing answers at ${url.replace(/\?.*$/, '')} (connection refused): ${what}`, {
          cause: err,
        });
      if ((err as Error).name === 'TimeoutError')
        throw new Error(`${url} did not answer within ${timeoutMs} ms: ${what}`, { cause: err });
      throw new Error(`${url}: ${cause ?? (err as Error).message}: ${what}`, { cause: err });
    }
  }

  async function ari(path: string): Promise<Response> {
    const auth = Buffer.from(`${env.ARI_USER ?? ''}:${env.ARI_PASSWORD ?? ''}`).toString('base64');
    const res = await http(
      `${ariBase}/ari${path}`,
      { headers: { authorization: `Basic ${auth}` } },
      'is Asterisk running, with enabled = yes and this bindaddr/bindport in http.conf?',
    );
    if (res.status === 401) {
      await drain(res);
      throw new Error(
        `ARI at ${ariBase} refused user "${env.ARI_USER}": wrong ARI_PASSWORD, or no such user in ari.conf (asterisk-conf/production/ari_pinverify.conf)`,
      );
    }
    return res;
  }

  async function ariJson<T>(path: string): Promise<T> {
    const res = await ari(path);
    if (!res.ok) await drain(res);
    if (res.status === 404 && path === '/asterisk/info')
      throw new Error(
        `${ariBase} answers HTTP but not ARI: load res_ari.so and set enabled = yes in ari.conf`,
      );
    if (!res.ok) throw new Error(`ARI ${path} answered HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  return {
    appName,

    configProblems() {
      // The same checks the app makes at boot: its settings and the ticket connector's.
      const tickets = ticketConnectorFromEnv(env).problems;
      try {
        loadAppConfig(env);
        return tickets;
      } catch (err) {
        if (err instanceof ConfigError) return [...err.problems, ...tickets];
        throw err;
      }
    },

    has(what) {
      switch (what) {
        case 'database':
          // The CLI's lab default must not stand in for an operator's missing setting.
          return has(env, 'DATABASE_URL');
        case 'ari':
          return has(env, 'ARI_URL', 'ARI_USER', 'ARI_PASSWORD');
        case 'ami':
          return has(env, 'AMI_USER', 'AMI_SECRET');
        case 'ami-cli':
          return has(env, 'AMI_CLI_USER', 'AMI_CLI_SECRET');
        case 'smtp':
          return has(env, 'SMTP_HOST');
        case 'admin':
          return env.ADMIN_PORT !== 'off' && env.ADMIN_PORT !== '0';
      }
    },

    async database() {
      const db = await checkDb(deps.pool());
      if (!db.ok) throw new Error(db.error);
      let applied = new Set<string>();
      try {
        const { rows } = await deps.pool().query<{ name: string }>('SELECT name FROM schema_migrations');
        applied = new Set(rows.map((r) => r.name));
      } catch (err) {
        // An empty database has no schema_migrations yet: everything is pending.
        if ((err as { code?: string }).code !== '42P01') throw err;
      }
      const pending = loadMigrations()
        .map((m) => m.name)
        .filter((name) => !applied.has(name));
      return { server: `PostgreSQL ${db.serverVersion}`, current: db.schemaVersion, pending };
    },

    async migrate() {
      try {
        return await migrate(deps.pool());
      } catch (err) {
        throw new Error(describeDbError(err, deps.databaseUrl), { cause: err });
      }
    },

    async storedConfig(): Promise<StoredConfig> {
      const problems: string[] = [];
      const store = new PgConfigStore(deps.pool(), {
        ttlSeconds: 1,
        logger: { warn: (msg: string) => problems.push(msg) },
      });
      const settings: FlowSettings = await store.getSettings();
      const templates: MessageTemplate[] = [await store.getTemplate('email'), await store.getTemplate('sms')];
      const routes = await deps.routes();
      return { settings, templates, routes, problems };
    },

    async ariVersion() {
      const info = await ariJson<{ system?: { version?: string } }>('/asterisk/info');
      return info.system?.version ?? 'of unknown version';
    },

    async ariModules() {
      const list = await ariJson<Array<{ name: string; status: string }>>('/asterisk/modules');
      return new Map(list.map((m) => [m.name, m.status]));
    },

    async ariAppRegistered() {
      const res = await ari(`/applications/${encodeURIComponent(appName)}`);
      await drain(res);
      if (res.status === 404) return false;
      if (!res.ok) throw new Error(`ARI /applications answered HTTP ${res.status}`);
      return true;
    },

    async missingSounds(ids) {
      const missing: string[] = [];
      for (const id of ids) {
        const res = await ari(`/sounds/${encodeURIComponent(id)}`);
        await drain(res);
        if (res.status === 404) missing.push(id);
        else if (!res.ok) throw new Error(`ARI /sounds answered HTTP ${res.status}`);
      }
      return missing;
    },

    async amiRights(who): Promise<AmiRights> {
      const [userKey, secretKey] =
        who === 'app' ? ['AMI_USER', 'AMI_SECRET'] : ['AMI_CLI_USER', 'AMI_CLI_SECRET'];
      const user = env[userKey] ?? '';
      const ami = createAmiClient({
        host: env.AMI_HOST || '127.0.0.1',
        port: Number(env.AMI_PORT || 5038),
        user,
        secret: env[secretKey] ?? '',
      });
      const denied = (err: unknown) => /permission denied/i.test(String((err as Error).message));
      try {
        // A list action first: a refused login or a closed port fails it at once with the reason.
        let showDialPlan = true;
        try {
          await ami.actionList({ Action: 'ShowDialPlan', Context: 'pinverify-app-unavailable' }, timeoutMs);
        } catch (err) {
          if (denied(err)) showDialPlan = false;
          else if (!/did not find/i.test(String((err as Error).message))) throw err;
        }
        const allowed = (fields: Record<string, string>) =>
          ami.action(fields, timeoutMs).then(
            () => true,
            (err: unknown) => {
              if (denied(err)) return false;
              const message = String((err as Error).message);
              // No answer or a lost connection says nothing about rights: report it, do not guess.
              if (/did not answer|closed|not connected/i.test(message)) throw err;
              // Any other refusal (bad arguments, a command that failed) still means allowed.
              return true;
            },
          );
        const userEvents = await allowed({ Action: 'UserEvent', UserEvent: 'PinVerifyDoctor' });
        const cliCommands = await allowed({ Action: 'Command', Command: 'core show uptime' });
        return { user, userEvents, showDialPlan, cliCommands };
      } finally {
        ami.close();
      }
    },

    dialplan: () => deps.dialplan(),

    async smtp() {
      const parsed = senderConfigSchema
        .pick({
          SMTP_HOST: true,
          SMTP_PORT: true,
          SMTP_SECURE: true,
          SMTP_REQUIRE_TLS: true,
          PINVERIFY_LAB: true,
          SMTP_USER: true,
          SMTP_PASSWORD: true,
          SMTP_FROM: true,
        })
        .safeParse(env);
      if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
      const transport = emailTransportFromConfig(parsed.data);
      try {
        await transport.verify();
        return transport.target;
      } finally {
        transport.close();
      }
    },

    async appLive() {
      const host = env.ADMIN_HOST || '127.0.0.1';
      const port = env.ADMIN_PORT || '8090';
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/v1/health/live`;
      const res = await http(url, {}, 'is the app running (systemctl status pinverify)?');
      await drain(res);
      if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
      return `the app answers at ${url}`;
    },
  };
}
