/**
 * Who changed the configuration, when and how: every ops write records a row in
 * config_changes (migration 004) in the same transaction as the change itself, so a change
 * without its record cannot happen. The actor is "cli:<os user>" or "api:<key name>".
 */
import type { Queryable } from '../store/db';

export interface ConfigChange {
  actor: string;
  action: string;
  subject: string;
  detail?: Record<string, unknown>;
}

export async function recordConfigChange(db: Queryable, change: ConfigChange): Promise<void> {
  await db.query('INSERT INTO config_changes (actor, action, subject, detail) VALUES ($1, $2, $3, $4)', [
    change.actor,
    change.action,
    change.subject,
    JSON.stringify(change.detail ?? {}),
  ]);
}

export interface ConfigChangeRow {
  id: number;
  at: Date;
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

export async function recentConfigChanges(db: Queryable, limit: number): Promise<ConfigChangeRow[]> {
  const { rows } = await db.query<ConfigChangeRow>(
    `SELECT id::int AS id, at, actor, action, subject, detail
       FROM config_changes ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows;
}
