/**
 * Agents, their sessions and what they did, in Postgres (migration 015), so any app instance
 * serves any agent's browser and a session survives a restart.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { AgentRole } from './desk-api';

export interface Agent {
  id: number;
  login: string;
  name: string;
  extensions: string[];
  role: AgentRole;
  passwordHash: string;
  createdAt: Date;
  passwordChangedAt: Date;
}

/** One sitting: long enough for a shift, short enough that a forgotten browser signs itself out. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** No request for this long ends the session (an unattended desk). */
export const SESSION_IDLE_MS = 2 * 3600_000;
export const SESSION_COOKIE = 'pinverify_desk';

interface AgentRow {
  id: number;
  login: string;
  name: string;
  extensions: string[];
  role: AgentRole;
  password_hash: string;
  created_at: Date;
  password_changed_at: Date;
}

const AGENT_COLUMNS = 'id, login, name, extensions, role, password_hash, created_at, password_changed_at';

function toAgent(r: AgentRow): Agent {
  return {
    id: r.id,
    login: r.login,
    name: r.name,
    extensions: r.extensions,
    role: r.role,
    passwordHash: r.password_hash,
    createdAt: r.created_at,
    passwordChangedAt: r.password_changed_at,
  };
}

/** The cookie carries the token; the table keeps only its SHA-256 (a leaked table signs nobody in). */
export function sessionTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface AgentAction {
  agentLogin: string;
  action: string;
  verificationId?: string | null;
  contactId?: number | null;
  callId?: string | null;
  /** Masked values only: never a code, a password or a full number. */
  detail?: Record<string, unknown>;
}

export class PgAgentStore {
  constructor(private readonly pool: Pool) {}

  async byLogin(login: string): Promise<Agent | null> {
    const { rows } = await this.pool.query<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE login = $1`, [
      login,
    ]);
    return rows[0] ? toAgent(rows[0]) : null;
  }

  async list(): Promise<Agent[]> {
    const { rows } = await this.pool.query<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents ORDER BY login`);
    return rows.map(toAgent);
  }

  async insert(a: Pick<Agent, 'login' | 'name' | 'extensions' | 'role' | 'passwordHash'>): Promise<Agent> {
    const { rows } = await this.pool.query<AgentRow>(
      `INSERT INTO agents (login, name, extensions, role, password_hash) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (login) DO NOTHING RETURNING ${AGENT_COLUMNS}`,
      [a.login, a.name, a.extensions, a.role, a.passwordHash],
    );
    if (!rows[0]) throw new AgentExists(a.login);
    return toAgent(rows[0]);
  }

  /** Removes the agent; its sessions go with it (foreign key), its actions stay (by login). */
  async remove(login: string): Promise<Agent | null> {
    const { rows } = await this.pool.query<AgentRow>(
      `DELETE FROM agents WHERE login = $1 RETURNING ${AGENT_COLUMNS}`,
      [login],
    );
    return rows[0] ? toAgent(rows[0]) : null;
  }

  /** A new password ends every session of the agent: whoever knew the old one is signed out. */
  async setPassword(login: string, passwordHash: string): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: number }>(
        'UPDATE agents SET password_hash = $2, password_changed_at = now() WHERE login = $1 RETURNING id',
        [login, passwordHash],
      );
      if (rows[0]) await client.query('DELETE FROM agent_sessions WHERE agent_id = $1', [rows[0].id]);
      await client.query('COMMIT');
      return rows.length > 0;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async update(
    login: string,
    patch: { name?: string; extensions?: string[]; role?: AgentRole },
  ): Promise<Agent | null> {
    const { rows } = await this.pool.query<AgentRow>(
      `UPDATE agents SET name = COALESCE($2, name), extensions = COALESCE($3, extensions), role = COALESCE($4, role)
        WHERE login = $1 RETURNING ${AGENT_COLUMNS}`,
      [login, patch.name ?? null, patch.extensions ?? null, patch.role ?? null],
    );
    return rows[0] ? toAgent(rows[0]) : null;
  }

  /** Starts a session; returns the token for the cookie (shown to nobody else). */
  async createSession(agentId: number, now: Date): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.pool.query(
      `INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $3)`,
      [sessionTokenHash(token), agentId, now, new Date(now.getTime() + SESSION_TTL_MS)],
    );
    return token;
  }

  /**
   * The agent a cookie's token belongs to, or null when unknown, expired or idle too long; a
   * live session's last_seen_at moves on (at most once a minute, to spare the database).
   */
  async sessionAgent(token: string, now: Date): Promise<Agent | null> {
    const { rows } = await this.pool.query<AgentRow & { last_seen_at: Date }>(
      `SELECT a.id, a.login, a.name, a.extensions, a.role, a.password_hash, a.created_at, a.password_changed_at,
              s.last_seen_at
         FROM agent_sessions s JOIN agents a ON a.id = s.agent_id
        WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3`,
      [sessionTokenHash(token), now, new Date(now.getTime() - SESSION_IDLE_MS)],
    );
    const row = rows[0];
    if (!row) return null;
    if (now.getTime() - row.last_seen_at.getTime() > 60_000)
      await this.pool.query('UPDATE agent_sessions SET last_seen_at = $2 WHERE token_hash = $1', [
        sessionTokenHash(token),
        now,
      ]);
    return toAgent(row);
  }

  async endSession(token: string): Promise<void> {
    await this.pool.query('DELETE FROM agent_sessions WHERE token_hash = $1', [sessionTokenHash(token)]);
  }

  /** Housekeeping: sessions past their end. */
  async deleteExpiredSessions(now: Date): Promise<number> {
    const r = await this.pool.query(
      'DELETE FROM agent_sessions WHERE expires_at <= $1 OR last_seen_at <= $2',
      [now, new Date(now.getTime() - SESSION_IDLE_MS)],
    );
    return r.rowCount ?? 0;
  }

  async record(a: AgentAction): Promise<void> {
    await this.pool.query(
      `INSERT INTO agent_actions (agent_login, action, verification_id, contact_id, call_id, detail)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        a.agentLogin,
        a.action,
        a.verificationId ?? null,
        a.contactId ?? null,
        a.callId ?? null,
        a.detail ?? {},
      ],
    );
  }

  async actions(filter: { login?: string; limit?: number } = {}): Promise<(AgentAction & { at: Date })[]> {
    const { rows } = await this.pool.query<{
      at: Date;
      agent_login: string;
      action: string;
      verification_id: string | null;
      contact_id: number | null;
      call_id: string | null;
      detail: Record<string, unknown>;
    }>(
      `SELECT at, agent_login, action, verification_id, contact_id, call_id, detail FROM agent_actions
        WHERE ($1::text IS NULL OR agent_login = $1) ORDER BY id DESC LIMIT $2`,
      [filter.login ?? null, filter.limit ?? 50],
    );
    return rows.map((r) => ({
      at: r.at,
      agentLogin: r.agent_login,
      action: r.action,
      verificationId: r.verification_id,
      contactId: r.contact_id,
      callId: r.call_id,
      detail: r.detail,
    }));
  }
}

export class AgentExists extends Error {
  constructor(readonly login: string) {
    super(`an agent with login ${login} exists already`);
    this.name = 'AgentExists';
  }
}
