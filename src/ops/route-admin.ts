/**
 * Routes as ops edit them: which destinations callers reach after verification, chosen by the
 * previous hop (the sub-IVR's dialplan context, or a route name passed as a Stasis argument).
 * Every write is checked against the running dialplan (pbx-checks.ts) and recorded in
 * config_changes; the NOTIFY trigger of migration 003 tells running apps to reload.
 */
import { z } from 'zod';
import { destinationSchema } from '../flow/destination';
import { ROUTE_MODES, type Route } from '../domain';
import { withTransaction, type Queryable } from '../store/db';
import { ROUTE_COLUMNS, routeFromRow, type RouteRow } from '../store/pg-config-store';
import { recordConfigChange } from './config-change-log';
import type { OpsDeps } from './ops-deps';
import { invalid, isUniqueViolation, notFound, OpsError, parseInput } from './ops-error';
import { checkAgainstPbx, type ForceOption, type PbxCheck } from './pbx-checks';
import { readSettings } from '../store/pg-config-store';

/** A destination's shape; whether it exists is the PBX check's job. */
export const destinationField = destinationSchema;

export const routeFields = {
  title: z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters'),
  // A context name or a Stasis argument: no spaces, commas or "=" (they would split the argument).
  previousHop: z
    .string()
    .trim()
    .regex(/^[^\s,=@:]{1,79}$/, 'a dialplan context or route name: 1-79 characters, no spaces , = @ :'),
  successDestination: destinationField,
  failedDestination: destinationField,
  enabled: z.boolean(),
  mode: z.enum(ROUTE_MODES, { error: `mode must be one of ${ROUTE_MODES.join(', ')}` }),
};

export const newRouteSchema = z
  .object({
    ...routeFields,
    enabled: routeFields.enabled.default(true),
    mode: routeFields.mode.default('otp'),
  })
  .strict();
export const routePatchSchema = z.object(routeFields).partial().strict();

export type NewRoute = z.input<typeof newRouteSchema>;
export type RoutePatch = z.input<typeof routePatchSchema>;

export interface Saved<T> {
  value: T;
  /** Problems accepted because of force. */
  warnings: string[];
}

/** A route is named by its id or its previous hop, whichever the user has at hand. */
async function findRoute(db: Queryable, ref: string | number): Promise<Route> {
  const text = String(ref).trim();
  const byId = /^[0-9]+$/.test(text);
  const { rows } = await db.query<RouteRow>(
    `SELECT ${ROUTE_COLUMNS} FROM routes WHERE ${byId ? 'id = $1::int' : 'previous_hop = $1'}`,
    [text],
  );
  const row = rows[0];
  if (!row) throw notFound(`no route ${byId ? 'with id' : 'for previous hop'} ${text}`);
  return routeFromRow(row);
}

export function createRouteAdmin(deps: OpsDeps) {
  const { pool } = deps;

  async function pbxChecks(fields: Partial<Route>): Promise<PbxCheck[]> {
    const checks: PbxCheck[] = [];
    if (fields.previousHop !== undefined)
      checks.push({ field: 'previousHop', kind: 'previous_hop', value: fields.previousHop });
    if (fields.successDestination !== undefined || fields.failedDestination !== undefined) {
      const { defaultContext } = await readSettings(pool);
      for (const field of ['successDestination', 'failedDestination'] as const) {
        const value = fields[field];
        if (value !== undefined) checks.push({ field, kind: 'destination', value, defaultContext });
      }
    }
    return checks;
  }

  function duplicateHop(hop: string, err: unknown): OpsError {
    return new OpsError(
      'conflict',
      `previousHop: a route for previous hop ${hop} already exists`,
      [{ field: 'previousHop', message: `a route for ${hop} already exists` }],
      { cause: err },
    );
  }

  return {
    async list(): Promise<Route[]> {
      const { rows } = await pool.query<RouteRow>(
        `SELECT ${ROUTE_COLUMNS} FROM routes ORDER BY previous_hop`,
      );
      return rows.map(routeFromRow);
    },

    get(ref: string | number): Promise<Route> {
      return findRoute(pool, ref);
    },

    async add(input: unknown, options: ForceOption = {}): Promise<Saved<Route>> {
      const route = parseInput(newRouteSchema, input);
      const warnings = await checkAgainstPbx(deps.dialplan, await pbxChecks(route), options);
      try {
        const saved = await withTransaction(pool, async (db) => {
          const { rows } = await db.query<RouteRow>(
            `INSERT INTO routes (title, previous_hop, success_destination, failed_destination, enabled, mode)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ROUTE_COLUMNS}`,
            [
              route.title,
              route.previousHop,
              route.successDestination,
              route.failedDestination,
              route.enabled,
              route.mode,
            ],
          );
          const value = routeFromRow(rows[0] as RouteRow);
          await recordConfigChange(db, {
            actor: deps.actor,
            action: 'route.add',
            subject: value.previousHop,
            detail: { route: value, forced: warnings.length > 0 },
          });
          return value;
        });
        return { value: saved, warnings };
      } catch (err) {
        if (isUniqueViolation(err)) throw duplicateHop(route.previousHop, err);
        throw err;
      }
    },

    async update(ref: string | number, input: unknown, options: ForceOption = {}): Promise<Saved<Route>> {
      const patch = parseInput(routePatchSchema, input);
      if (Object.keys(patch).length === 0)
        throw invalid([{ field: 'body', message: 'nothing to change: give at least one field' }]);
      const before = await findRoute(pool, ref);
      // Only what changes is checked: an unrelated edit (the title) must not be blocked by a
      // destination that went missing from the dialplan since.
      const changed: Partial<Route> = {};
      for (const [key, value] of Object.entries(patch) as [keyof Route, never][]) {
        if (before[key] !== value) (changed as Record<string, unknown>)[key] = value;
      }
      const warnings = await checkAgainstPbx(deps.dialplan, await pbxChecks(changed), options);
      const after = { ...before, ...patch };
      try {
        const saved = await withTransaction(pool, async (db) => {
          const { rows } = await db.query<RouteRow>(
            `UPDATE routes SET title = $2, previous_hop = $3, success_destination = $4,
                    failed_destination = $5, enabled = $6, mode = $7
              WHERE id = $1 RETURNING ${ROUTE_COLUMNS}`,
            [
              before.id,
              after.title,
              after.previousHop,
              after.successDestination,
              after.failedDestination,
              after.enabled,
              after.mode,
            ],
          );
          const row = rows[0];
          if (!row) throw notFound(`route ${before.id} was removed meanwhile`);
          const value = routeFromRow(row);
          await recordConfigChange(db, {
            actor: deps.actor,
            action: 'route.update',
            subject: value.previousHop,
            detail: { before, changed, forced: warnings.length > 0 },
          });
          return value;
        });
        return { value: saved, warnings };
      } catch (err) {
        if (isUniqueViolation(err)) throw duplicateHop(after.previousHop, err);
        throw err;
      }
    },

    async remove(ref: string | number): Promise<Route> {
      const route = await findRoute(pool, ref);
      await withTransaction(pool, async (db) => {
        await db.query('DELETE FROM routes WHERE id = $1', [route.id]);
        await recordConfigChange(db, {
          actor: deps.actor,
          action: 'route.remove',
          subject: route.previousHop,
          detail: { route },
        });
      });
      return route;
    },
  };
}

export type RouteAdmin = ReturnType<typeof createRouteAdmin>;
