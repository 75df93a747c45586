/**
 * Settings, routes and templates from Postgres, read on every call and therefore cached.
 * The cache is dropped as soon as the database announces a change (NOTIFY pinverify_config,
 * sent by triggers from migration 003) so an edit applies to the next call; the TTL is only a
 * safety net for a notification lost while the listener was reconnecting.
 */
import NodeCache from 'node-cache';
import { systemClock, type Clock, type TimerHandle } from '../call/clock';
import type { ClientConfig, Pool } from 'pg';
import type { ConfigStore, MessageTemplate, TemplateStore } from '../flow/ports';
import type { DeliveryChannel, FlowSettings, Route } from '../domain';
import { DEFAULT_TEMPLATES } from './config-defaults';
import { errorMessage, silentLogger, type Queryable, type StoreLogger } from './db';
import { startPgListener, type PgListener, type PgListenerOptions } from './pg-listener';
import { parseSettings, templateProblem, type SettingIssue } from './settings-schema';

export const CONFIG_CHANNEL = 'pinverify_config';

export interface PgConfigStoreOptions {
  logger?: StoreLogger;
  /** Safety-net lifetime of cached config, in seconds. */
  ttlSeconds?: number;
  /** How long a read may take before the last good value is used instead (ms, default 500). */
  staleAfterMs?: number;
  clock?: Pick<Clock, 'setTimer'>;
}

export interface RouteRow {
  id: number;
  title: string;
  previous_hop: string;
  success_destination: string;
  failed_destination: string;
  enabled: boolean;
  mode: string;
}

export const ROUTE_COLUMNS =
  'id, title, previous_hop, success_destination, failed_destination, enabled, mode';

export function routeFromRow(row: RouteRow): Route {
  return {
    id: row.id,
    title: row.title,
    previousHop: row.previous_hop,
    successDestination: row.success_destination,
    failedDestination: row.failed_destination,
    enabled: row.enabled,
    // The column's CHECK keeps it to known modes.
    mode: row.mode as Route['mode'],
  };
}

/** The settings as the flow reads them, straight from the table; `report` hears each value not used. */
export async function readSettings(
  db: Queryable,
  report: (issue: SettingIssue) => void = () => undefined,
): Promise<FlowSettings> {
  const { rows } = await db.query<{ key: string; value: unknown }>('SELECT key, value FROM settings');
  return parseSettings(rows, report);
}

interface TemplateRow {
  channel: string;
  subject: string | null;
  text: string;
  html: string | null;
}

export class PgConfigStore implements ConfigStore, TemplateStore {
  private readonly cache: NodeCache;
  private readonly logger: StoreLogger;
  /** Bumped by invalidate(), so a load that started before a change is not cached after it. */
  private generation = 0;
  /** One load per key at a time: a burst of calls after an invalidation makes one query. */
  private readonly loading = new Map<string, Promise<unknown>>();
  /** Problems already reported, so a bad value is logged once, not on every reload. */
  private readonly reported = new Set<string>();
  /**
   * The last values read successfully, kept through invalidations: when the database is slow or
   * down, a caller gets these (after staleAfterMs) rather than the defaults, which would send
   * them to the wrong department.
   */
  private readonly lastGood = new Map<string, { value: unknown; at: Date }>();
  private readonly staleAfterMs: number;
  private readonly clock: Pick<Clock, 'setTimer'>;

  constructor(
    private readonly db: Queryable,
    options: PgConfigStoreOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.staleAfterMs = options.staleAfterMs ?? 500;
    this.clock = options.clock ?? systemClock;
    // checkperiod 0: expiry is checked on read, no background timer to keep the process alive.
    // useClones false: values are never handed out directly (see the getters), so no copies here.
    this.cache = new NodeCache({ stdTTL: options.ttlSeconds ?? 30, checkperiod: 0, useClones: false });
  }

  async getSettings(): Promise<FlowSettings> {
    const settings = await this.cached('settings', () => this.loadSettings());
    return { ...settings };
  }

  async findRoute(previousHop: string): Promise<Route | null> {
    const routes = await this.cached('routes', () => this.loadRoutes());
    const route = routes.get(previousHop);
    return route?.enabled ? { ...route } : null;
  }

  async getTemplate(channel: DeliveryChannel): Promise<MessageTemplate> {
    const templates = await this.cached('templates', () => this.loadTemplates());
    return { ...(templates.get(channel) ?? DEFAULT_TEMPLATES[channel]) };
  }

  /** Forgets everything cached; the next read goes to the database. */
  invalidate(): void {
    this.generation += 1;
    this.loading.clear();
    this.cache.flushAll();
    // After a change, report the problems that remain once more.
    this.reported.clear();
  }

  close(): void {
    this.cache.close();
  }

  private async cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get<T>(key);
    if (hit !== undefined) return hit;
    const pending = this.loading.get(key) as Promise<T> | undefined;
    if (pending) return this.orLastGood(key, pending);
    const generation = this.generation;
    const promise = load()
      .then((value) => {
        if (generation === this.generation) this.cache.set(key, value);
        this.lastGood.set(key, { value, at: new Date() });
        this.reported.delete(`stale:${key}`);
        return value;
      })
      .finally(() => {
        if (this.loading.get(key) === promise) this.loading.delete(key);
      });
    this.loading.set(key, promise);
    return this.orLastGood(key, promise);
  }

  /** The load, unless it fails or takes longer than staleAfterMs and a last good value exists. */
  private orLastGood<T>(key: string, load: Promise<T>): Promise<T> {
    const good = this.lastGood.get(key);
    if (!good) return load;
    const stale = (why: string): T => {
      this.reportOnce(
        `stale:${key}`,
        `database ${why}: using the last good ${key} read at ${good.at.toISOString()}`,
        {
          key,
          since: good.at.toISOString(),
        },
      );
      return good.value as T;
    };
    let timer: TimerHandle | undefined;
    const late = new Promise<T>((resolve) => {
      timer = this.clock.setTimer(this.staleAfterMs, () =>
        resolve(stale(`slower than ${this.staleAfterMs} ms`)),
      );
    });
    return Promise.race([
      load.then(
        (v) => v,
        (err: unknown) => stale(`unreachable (${errorMessage(err)})`),
      ),
      late,
    ]).finally(() => timer?.cancel());
  }

  private reportOnce(signature: string, msg: string, meta: Record<string, unknown>): void {
    if (this.reported.has(signature)) return;
    this.reported.add(signature);
    this.logger.warn(msg, meta);
  }

  private async loadSettings(): Promise<FlowSettings> {
    return readSettings(this.db, (issue) => {
      const msg =
        issue.defaultValue === undefined
          ? `setting ${issue.key}: ${issue.problem}`
          : `setting ${issue.key} is ${issue.value === undefined ? 'missing' : 'invalid'}, using default ${JSON.stringify(issue.defaultValue)}`;
      this.reportOnce(`setting:${issue.key}:${JSON.stringify(issue.value)}`, msg, {
        key: issue.key,
        value: issue.value,
        problem: issue.problem,
        default: issue.defaultValue,
      });
    });
  }

  private async loadRoutes(): Promise<Map<string, Route>> {
    const { rows } = await this.db.query<RouteRow>(`SELECT ${ROUTE_COLUMNS} FROM routes`);
    return new Map(rows.map((row) => [row.previous_hop, routeFromRow(row)]));
  }

  private async loadTemplates(): Promise<Map<DeliveryChannel, MessageTemplate>> {
    const { rows } = await this.db.query<TemplateRow>('SELECT channel, subject, text, html FROM templates');
    const templates = new Map<DeliveryChannel, MessageTemplate>();
    for (const channel of ['email', 'sms'] as const) {
      const row = rows.find((r) => r.channel === channel);
      if (!row) {
        this.reportOnce(
          `template:${channel}:missing`,
          `template ${channel} is missing, using the built-in one`,
          {
            channel,
          },
        );
        continue;
      }
      const template: MessageTemplate = { channel, subject: row.subject, text: row.text, html: row.html };
      const problem = templateProblem(template);
      if (problem) {
        this.reportOnce(
          `template:${channel}:${JSON.stringify(row)}`,
          `template ${channel} is invalid (${problem}), using the built-in one`,
          { channel, problem },
        );
        continue;
      }
      templates.set(channel, template);
    }
    return templates;
  }
}

export type ConfigListenerOptions = PgListenerOptions;
export type ConfigListener = PgListener;

/**
 * Calls store.invalidate() on every pinverify_config notification, and again after each
 * reconnect, since changes made meanwhile were not announced.
 */
export function startConfigListener(
  source: Pool | string | ClientConfig,
  store: { invalidate(): void },
  options: ConfigListenerOptions = {},
): ConfigListener {
  return startPgListener(
    source,
    CONFIG_CHANNEL,
    {
      onNotify: () => store.invalidate(),
      onConnected: () => store.invalidate(),
      onLost: () => store.invalidate(),
    },
    { ...options, name: 'config listener' },
  );
}
