/**
 * API keys for the admin HTTP API. A key is "pvk_<prefix>_<secret>": the prefix finds the row
 * and names the key in lists and logs; only SHA-256 of the whole key is stored (migration 004
 * says why a plain hash suffices for 192-bit random keys). Keys are created and revoked with
 * the CLI only: whoever can run the CLI already has the database credentials.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { withTransaction, type Queryable } from '../store/db';
import { recordConfigChange } from './config-change-log';
import type { OpsDeps } from './ops-deps';
import { isUniqueViolation, notFound, OpsError, parseInput } from './ops-error';

/**
 * What a key may do, each scope including the ones before it: `read` every GET; `contacts` the
 * people as well (contacts, imports, PINs, unlock, verifications: what a CRM or help-desk
 * integration needs); `admin` everything, routes, settings and templates included.
 */
export const API_KEY_SCOPES = ['read', 'contacts', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Whether a key of scope `has` may do what needs `needs`. */
export function scopeAllows(has: ApiKeyScope, needs: ApiKeyScope): boolean {
  return API_KEY_SCOPES.indexOf(has) >= API_KEY_SCOPES.indexOf(needs);
}

export const apiKeyScopeSchema = z.enum(API_KEY_SCOPES, {
  error: `scope must be one of ${API_KEY_SCOPES.join(', ')}`,
});

export interface ApiKeyInfo {
  id: number;
  name: string;
  prefix: string;
  scope: ApiKeyScope;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const KEY_RE = /^pvk_([0-9a-f]{12})_([A-Za-z0-9_-]{32})$/;

export const apiKeyNameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (up to 63), e.g. crm-sync');

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

const INFO = `id, name, prefix, scope, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`;

/** Who a presented key belongs to, or null; never throws for a malformed key. */
export async function authenticateApiKey(
  db: Queryable,
  key: string,
): Promise<{ id: number; name: string; scope: ApiKeyScope } | null> {
  const m = KEY_RE.exec(key.trim());
  if (!m) return null;
  const { rows } = await db.query<{ id: number; name: string; key_hash: string; scope: ApiKeyScope }>(
    'SELECT id, name, key_hash, scope FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL',
    [m[1]],
  );
  const row = rows[0];
  if (!row) return null;
  const given = Buffer.from(hashKey(key.trim()), 'hex');
  const stored = Buffer.from(row.key_hash, 'hex');
  if (given.length !== stored.length || !timingSafeEqual(given, stored)) return null;
  // Best effort: a failed bookkeeping write must not refuse a valid key.
  await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [row.id]).catch(() => undefined);
  return { id: row.id, name: row.name, scope: row.scope };
}

export function createApiKeyAdmin(deps: OpsDeps) {
  const { pool } = deps;

  async function find(ref: string): Promise<ApiKeyInfo> {
    const text = ref.trim();
    const { rows } = await pool.query<ApiKeyInfo>(
      `SELECT ${INFO} FROM api_keys WHERE ${/^[0-9]+$/.test(text) ? 'id = $1::int' : 'name = $1'}`,
      [text],
    );
    const row = rows[0];
    if (!row) throw notFound(`no API key ${text}`);
    return row;
  }

  return {
    /** Creates a key; the returned `key` is the only time it is ever shown. */
    async create(nameInput: string, scopeInput: string = 'admin'): Promise<ApiKeyInfo & { key: string }> {
      const name = parseInput(apiKeyNameSchema, nameInput, 'name');
      const scope = parseInput(apiKeyScopeSchema, scopeInput, 'scope');
      const prefix = randomBytes(6).toString('hex');
      const key = `pvk_${prefix}_${randomBytes(24).toString('base64url')}`;
      try {
        const info = await withTransaction(pool, async (db) => {
          const { rows } = await db.query<ApiKeyInfo>(
            `INSERT INTO api_keys (name, prefix, key_hash, scope) VALUES ($1, $2, $3, $4) RETURNING ${INFO}`,
            [name, prefix, hashKey(key), scope],
          );
          await recordConfigChange(db, {
            actor: deps.actor,
            action: 'api_key.create',
            subject: name,
            detail: { scope },
          });
          return rows[0] as ApiKeyInfo;
        });
        return { ...info, key };
      } catch (err) {
        if (isUniqueViolation(err))
          throw new OpsError('conflict', `name: an API key named ${name} already exists`, [
            { field: 'name', message: `an API key named ${name} already exists` },
          ]);
        throw err;
      }
    },

    async list(): Promise<ApiKeyInfo[]> {
      const { rows } = await pool.query<ApiKeyInfo>(`SELECT ${INFO} FROM api_keys ORDER BY name`);
      return rows;
    },

    /** Revokes by id or name; revoking twice is not an error (the first time is kept). */
    async revoke(ref: string): Promise<ApiKeyInfo> {
      const key = await find(ref);
      return withTransaction(pool, async (db) => {
        const { rows } = await db.query<ApiKeyInfo>(
          `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${INFO}`,
          [key.id],
        );
        await recordConfigChange(db, { actor: deps.actor, action: 'api_key.revoke', subject: key.name });
        return rows[0] as ApiKeyInfo;
      });
    },
  };
}

export type ApiKeyAdmin = ReturnType<typeof createApiKeyAdmin>;
