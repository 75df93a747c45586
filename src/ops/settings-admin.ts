/**
 * The flow's settings as ops see and change them. `set` takes several keys at once so that
 * related values (a new default context and its destinations) are checked together and saved
 * in one transaction: one NOTIFY, so no call ever sees half of the change.
 */
import { pinPolicyProblem, type FlowSettings } from '../domain';
import { withTransaction } from '../store/db';
import { DEFAULT_SETTINGS } from '../store/config-defaults';
import { readSettings } from '../store/pg-config-store';
import {
  guessBoundProblem,
  SETTING_DOCS,
  SETTING_SCHEMAS,
  type SettingIssue,
} from '../store/settings-schema';
import { recordConfigChange } from './config-change-log';
import type { OpsDeps } from './ops-deps';
import { invalid, type FieldProblem } from './ops-error';
import { checkAgainstPbx, type ForceOption, type PbxCheck } from './pbx-checks';

export type SettingKey = keyof FlowSettings;
export const SETTING_KEYS = Object.keys(SETTING_SCHEMAS) as SettingKey[];

export interface SettingView {
  key: SettingKey;
  /** What the flow uses now. */
  value: unknown;
  defaultValue: unknown;
  /** "stored": from the settings table; "default": missing or invalid there (see problem). */
  source: 'stored' | 'default';
  problem: string | null;
  description: string;
}

function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTING_SCHEMAS, key);
}

/**
 * A value typed on a command line is text; numbers must be whole numbers written as such.
 * API callers send JSON and their values are taken as they are.
 */
export function coerceSettingText(key: SettingKey, text: string): unknown {
  const t = text.trim();
  if (typeof DEFAULT_SETTINGS[key] === 'boolean') {
    // The words an operator types for a switch; anything else is left for the schema to refuse.
    if (/^(true|on|yes|1)$/i.test(t)) return true;
    if (/^(false|off|no|0)$/i.test(t)) return false;
    return text;
  }
  if (typeof DEFAULT_SETTINGS[key] !== 'number') return text;
  return /^-?[0-9]+$/.test(t) ? Number(t) : text;
}

/** Edit distance, to suggest the key a typo meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function closestKey(key: string): SettingKey | undefined {
  const lower = key.toLowerCase();
  const best = SETTING_KEYS.map((k) => ({ k, d: distance(lower, k.toLowerCase()) })).sort(
    (x, y) => x.d - y.d,
  )[0];
  return best && best.d <= 3 ? best.k : undefined;
}

export function createSettingsAdmin(deps: OpsDeps) {
  const { pool } = deps;
  return {
    async show(): Promise<SettingView[]> {
      const issues = new Map<string, SettingIssue>();
      const settings = await readSettings(pool, (issue) => issues.set(issue.key, issue));
      return SETTING_KEYS.map((key) => {
        const issue = issues.get(key);
        return {
          key,
          value: settings[key],
          defaultValue: DEFAULT_SETTINGS[key],
          source: issue ? 'default' : 'stored',
          problem: issue ? issue.problem : null,
          description: SETTING_DOCS[key],
        };
      });
    },

    /** Validates every change (all problems at once), checks destinations, saves atomically. */
    async set(
      changes: Record<string, unknown>,
      options: ForceOption = {},
    ): Promise<{ value: FlowSettings; changed: SettingKey[]; warnings: string[] }> {
      const entries = Object.entries(changes);
      if (entries.length === 0) throw invalid([{ field: 'settings', message: 'nothing to change' }]);
      const problems: FieldProblem[] = [];
      const parsed: Partial<Record<SettingKey, unknown>> = {};
      for (const [key, value] of entries) {
        if (!isSettingKey(key)) {
          const near = closestKey(key);
          problems.push({
            field: key,
            message: near
              ? `unknown setting (did you mean ${near}?)`
              : `unknown setting (known: ${SETTING_KEYS.join(', ')})`,
          });
          continue;
        }
        if (typeof DEFAULT_SETTINGS[key] === 'number' && typeof value !== 'number') {
          problems.push({ field: key, message: `expected a whole number, got ${JSON.stringify(value)}` });
          continue;
        }
        const result = SETTING_SCHEMAS[key].safeParse(value);
        if (result.success) parsed[key] = result.data;
        else problems.push({ field: key, message: result.error.issues.map((i) => i.message).join('; ') });
      }
      if (problems.length > 0) throw invalid(problems);

      const current = await readSettings(pool);
      const next = { ...current, ...parsed } as FlowSettings;
      const bound = guessBoundProblem(next);
      if (bound) {
        const named = (['codeLength', 'maxFailedChecksPerContact'] as const).filter((k) => k in parsed);
        throw invalid([{ field: named.join(', ') || 'maxFailedChecksPerContact', message: bound }]);
      }
      const pinBound = pinPolicyProblem(next);
      if (pinBound) {
        const named = (['pinMinLength', 'pinMaxLength', 'maxFailedChecksPerContact'] as const).filter(
          (k) => k in parsed,
        );
        throw invalid([{ field: named.join(', ') || 'pinMinLength', message: pinBound }]);
      }
      if (next.pinSource === 'webhook' && next.pinWebhookUrl === '')
        throw invalid([
          { field: 'pinSource', message: 'pinSource webhook needs pinWebhookUrl (set both at once)' },
        ]);
      const checks: PbxCheck[] = [];
      const contextChanged =
        parsed.defaultContext !== undefined && parsed.defaultContext !== current.defaultContext;
      for (const key of ['defaultSuccessDestination', 'defaultFailedDestination'] as const) {
        if (parsed[key] !== undefined || contextChanged)
          checks.push({
            field: key,
            kind: 'destination',
            value: next[key],
            defaultContext: next.defaultContext,
          });
      }
      const warnings = await checkAgainstPbx(deps.dialplan, checks, options);

      const keys = Object.keys(parsed) as SettingKey[];
      await withTransaction(pool, async (db) => {
        for (const key of keys) {
          await db.query(
            `INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
            [key, JSON.stringify(parsed[key])],
          );
        }
        await recordConfigChange(db, {
          actor: deps.actor,
          action: 'settings.set',
          subject: keys.join(','),
          detail: {
            before: Object.fromEntries(keys.map((k) => [k, current[k]])),
            after: parsed,
            forced: warnings.length > 0,
          },
        });
      });
      return { value: next, changed: keys, warnings };
    },
  };
}

export type SettingsAdmin = ReturnType<typeof createSettingsAdmin>;
