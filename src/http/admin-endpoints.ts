/**
 * The admin API's endpoints as data: method, path, what they take (zod schemas) and what they
 * do (an ops service call). admin-server.ts registers them with fastify and openapi.ts
 * describes the very same table, so the served OpenAPI document cannot drift from the routes.
 */
import { z } from 'zod';
import { invalid } from '../ops/ops-error';
import type { OpsServices } from '../ops/ops-services';
import type { ApiKeyScope } from '../ops/api-key-admin';
import { recentQuerySchema } from '../ops/call-history';
import { newContactSchema } from '../ops/contact-admin';
import { setPinSchema } from '../ops/pin-admin';
import { newProfileSchema, profilePatchSchema } from '../ops/profile-admin';
import { newRouteSchema, routePatchSchema } from '../ops/route-admin';
import { sampleValuesSchema, templatePatchSchema } from '../ops/template-admin';
import { SETTING_SCHEMAS } from '../store/settings-schema';
import {
  checkVerificationSchema,
  listVerificationsSchema,
  resendVerificationSchema,
  startVerificationSchema,
} from '../ops/verification-admin';

const flag = z
  .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1');

export const forceQuery = z
  .object({ force: flag.optional().describe('save even if the PBX check fails or cannot run') })
  .strict();

export interface EndpointInput {
  ops: OpsServices;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

export interface Endpoint {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** fastify syntax: /v1/routes/:route */
  url: string;
  summary: string;
  tag: string;
  params?: Record<string, string>;
  query?: z.ZodObject;
  /** For the OpenAPI document; the ops layer validates the body itself. */
  body?: z.ZodType;
  /** text/csv instead of JSON. */
  csvBody?: boolean;
  /** The least API key scope allowed; default: read for GET, admin otherwise. */
  scope?: ApiKeyScope;
  status?: number;
  handler(input: EndpointInput): Promise<unknown>;
}

const routeParam = { route: 'route id or previous hop' };
const profileParam = { profile: 'call profile id or name' };

export const ENDPOINTS: readonly Endpoint[] = [
  {
    method: 'GET',
    url: '/v1/routes',
    tag: 'routes',
    summary: 'List routes',
    handler: ({ ops }) => ops.routes.list(),
  },
  {
    method: 'POST',
    url: '/v1/routes',
    tag: 'routes',
    summary: 'Add a route; destinations and previous hop are checked against the running dialplan',
    query: forceQuery,
    body: newRouteSchema,
    status: 201,
    handler: ({ ops, query, body }) => ops.routes.add(body, { force: query.force === true }),
  },
  {
    method: 'GET',
    url: '/v1/routes/:route',
    tag: 'routes',
    summary: 'One route',
    params: routeParam,
    handler: ({ ops, params }) => ops.routes.get(params.route ?? ''),
  },
  {
    method: 'PATCH',
    url: '/v1/routes/:route',
    tag: 'routes',
    summary: 'Change fields of a route; changed destinations are checked against the running dialplan',
    params: routeParam,
    query: forceQuery,
    body: routePatchSchema,
    handler: ({ ops, params, query, body }) =>
      ops.routes.update(params.route ?? '', body, { force: query.force === true }),
  },
  {
    method: 'DELETE',
    url: '/v1/routes/:route',
    tag: 'routes',
    summary: 'Remove a route (its callers get the default destinations)',
    params: routeParam,
    handler: ({ ops, params }) => ops.routes.remove(params.route ?? ''),
  },
  {
    method: 'GET',
    url: '/v1/profiles',
    tag: 'profiles',
    summary: 'List call profiles (configurations of outbound OTP voice calls)',
    handler: ({ ops }) => ops.profiles.list(),
  },
  {
    method: 'POST',
    url: '/v1/profiles',
    tag: 'profiles',
    summary: 'Add a call profile; fields left out get their defaults',
    body: newProfileSchema,
    status: 201,
    handler: ({ ops, body }) => ops.profiles.add(body),
  },
  {
    method: 'GET',
    url: '/v1/profiles/:profile',
    tag: 'profiles',
    summary: 'One call profile',
    params: profileParam,
    handler: ({ ops, params }) => ops.profiles.show(params.profile ?? ''),
  },
  {
    method: 'PATCH',
    url: '/v1/profiles/:profile',
    tag: 'profiles',
    summary: 'Change fields of a call profile',
    params: profileParam,
    body: profilePatchSchema,
    handler: ({ ops, params, body }) => ops.profiles.update(params.profile ?? '', body),
  },
  {
    method: 'DELETE',
    url: '/v1/profiles/:profile',
    tag: 'profiles',
    summary: 'Remove a call profile (clients naming it can no longer start calls with it)',
    params: profileParam,
    handler: ({ ops, params }) => ops.profiles.remove(params.profile ?? ''),
  },
  {
    method: 'GET',
    url: '/v1/settings',
    tag: 'settings',
    summary: 'Every setting with its value, default and meaning',
    handler: ({ ops }) => ops.settings.show(),
  },
  {
    method: 'PATCH',
    url: '/v1/settings',
    tag: 'settings',
    summary: 'Change one or more settings at once (one transaction)',
    query: forceQuery,
    body: z.object(SETTING_SCHEMAS).partial().strict(),
    handler: async ({ ops, query, body }) => {
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw invalid([{ field: 'body', message: 'expected a JSON object of setting keys and values' }]);
      return ops.settings.set(body as Record<string, unknown>, { force: query.force === true });
    },
  },
  {
    method: 'GET',
    url: '/v1/templates',
    tag: 'templates',
    summary: 'The sms and email templates',
    handler: ({ ops }) => ops.templates.show(),
  },
  {
    method: 'GET',
    url: '/v1/templates/:channel',
    tag: 'templates',
    summary: 'One template',
    params: { channel: 'email or sms' },
    handler: async ({ ops, params }) => (await ops.templates.show(params.channel))[0],
  },
  {
    method: 'PATCH',
    url: '/v1/templates/:channel',
    tag: 'templates',
    summary: 'Change parts of a template; refused when a caller would get a broken message',
    params: { channel: 'email or sms' },
    body: templatePatchSchema,
    handler: ({ ops, params, body }) => ops.templates.set(params.channel ?? '', body),
  },
  {
    method: 'POST',
    url: '/v1/templates/:channel/preview',
    tag: 'templates',
    summary: 'Render a template (or a draft of changed parts) with sample values',
    params: { channel: 'email or sms' },
    body: z.object({ draft: templatePatchSchema.optional(), values: sampleValuesSchema.optional() }).strict(),
    handler: ({ ops, params, body }) => {
      const b = (body ?? {}) as { draft?: unknown; values?: unknown };
      return ops.templates.preview(params.channel ?? '', { draft: b.draft, values: b.values });
    },
  },
  {
    method: 'GET',
    url: '/v1/contacts',
    tag: 'contacts',
    summary: 'List contacts',
    query: z
      .object({ search: z.string().max(100).optional().describe('part of a name, email or number') })
      .strict(),
    handler: ({ ops, query }) => ops.contacts.list(query.search as string | undefined),
  },
  {
    method: 'POST',
    url: '/v1/contacts',
    scope: 'contacts',
    tag: 'contacts',
    summary: 'Add a contact (numbers normalised to E.164 with the defaultCountry setting)',
    body: newContactSchema,
    status: 201,
    handler: ({ ops, body }) => ops.contacts.add(body),
  },
  {
    method: 'GET',
    url: '/v1/contacts/lookup',
    tag: 'contacts',
    summary: 'How a caller number normalises and which contacts it matches',
    query: z
      .object({ number: z.string({ error: 'number is required' }).min(1, 'number is required').max(40) })
      .strict(),
    handler: ({ ops, query }) => ops.contacts.find(String(query.number)),
  },
  {
    method: 'DELETE',
    url: '/v1/contacts/:id',
    scope: 'contacts',
    tag: 'contacts',
    summary: 'Remove a contact',
    params: { id: 'contact id' },
    handler: ({ ops, params }) => ops.contacts.remove(params.id ?? ''),
  },
  {
    method: 'POST',
    url: '/v1/contacts/import',
    scope: 'contacts',
    tag: 'contacts',
    summary:
      'Import a CSV (header: name,email,mobile,phones[,id][,pin]); all-or-nothing unless partial=true; PINs are never printed back',
    csvBody: true,
    query: z.object({ partial: flag.optional(), dryRun: flag.optional() }).strict(),
    handler: async ({ ops, query, body }) => {
      const report = await ops.contacts.importCsv(typeof body === 'string' ? body : '', {
        partial: query.partial === true,
        dryRun: query.dryRun === true,
      });
      // A refused import is an error for the client, naming every rejected line (as the CLI's exit 1).
      if (!report.written && report.rejected > 0 && query.dryRun !== true)
        throw invalid(
          report.lines.flatMap((l) =>
            l.problems.map((p) => ({ field: `line ${l.line}: ${p.field}`, message: p.message })),
          ),
        );
      return report;
    },
  },
  {
    method: 'POST',
    url: '/v1/contacts/:id/unlock',
    scope: 'contacts',
    tag: 'contacts',
    summary: 'Clear a contact lockout (failed checks in the last 24 h) and the send counts of its addresses',
    params: { id: 'contact id' },
    handler: ({ ops, params }) => ops.verifications.unlock(params.id ?? ''),
  },
  {
    method: 'GET',
    url: '/v1/contacts/:id/pin',
    tag: 'contacts',
    summary: 'Whether the contact has a PIN (never the PIN), when and by whom it was set, and the lockout',
    params: { id: 'contact id' },
    handler: ({ ops, params }) => ops.pins.status(params.id ?? ''),
  },
  {
    method: 'PUT',
    url: '/v1/contacts/:id/pin',
    scope: 'contacts',
    tag: 'contacts',
    summary:
      'Set or replace the contact PIN (stored only as an argon2id hash; refused when too short, too long or trivial)',
    params: { id: 'contact id' },
    body: setPinSchema,
    handler: ({ ops, params, body }) => ops.pins.set(params.id ?? '', body),
  },
  {
    method: 'DELETE',
    url: '/v1/contacts/:id/pin',
    scope: 'contacts',
    tag: 'contacts',
    summary: 'Clear the contact PIN (callers on PIN routes then get reason no_pin)',
    params: { id: 'contact id' },
    handler: ({ ops, params }) => ops.pins.clear(params.id ?? ''),
  },
  {
    method: 'POST',
    url: '/v1/verifications',
    scope: 'contacts',
    tag: 'verifications',
    summary:
      'Start a verification: a code to the contact by sms or email (429 locked / rate_limited naming the limit, 502 delivery_failed)',
    body: startVerificationSchema,
    status: 201,
    handler: ({ ops, body }) => ops.verifications.start(body),
  },
  {
    method: 'GET',
    url: '/v1/verifications',
    tag: 'verifications',
    summary: 'Verifications, newest first',
    query: listVerificationsSchema,
    handler: ({ ops, query }) => ops.verifications.list(query),
  },
  {
    method: 'GET',
    url: '/v1/verifications/:id',
    tag: 'verifications',
    summary: 'One verification',
    params: { id: 'verification id (VE...)' },
    handler: ({ ops, params }) => ops.verifications.get(params.id ?? ''),
  },
  {
    method: 'POST',
    url: '/v1/verifications/:id/check',
    scope: 'contacts',
    tag: 'verifications',
    summary:
      'Check a code: status approved, pending (wrong code), max_attempts_reached or expired (409 when already decided, 429 max_attempts / locked)',
    params: { id: 'verification id (VE...)' },
    body: checkVerificationSchema,
    handler: ({ ops, params, body }) => ops.verifications.check(params.id ?? '', body),
  },
  {
    method: 'POST',
    url: '/v1/verifications/:id/resend',
    scope: 'contacts',
    tag: 'verifications',
    summary: 'Send the same code again while it is valid (429 max_sends / rate_limited with the cooldown)',
    params: { id: 'verification id (VE...)' },
    body: resendVerificationSchema.optional(),
    handler: ({ ops, params, body }) => ops.verifications.resend(params.id ?? '', body ?? {}),
  },
  {
    method: 'POST',
    url: '/v1/verifications/:id/cancel',
    scope: 'contacts',
    tag: 'verifications',
    summary: 'Cancel a pending verification (409 when already decided)',
    params: { id: 'verification id (VE...)' },
    handler: ({ ops, params }) => ops.verifications.cancel(params.id ?? ''),
  },
  {
    method: 'GET',
    url: '/v1/calls',
    tag: 'calls',
    summary: 'Recent calls from the audit trail, newest first (masked)',
    query: recentQuerySchema,
    handler: ({ ops, query }) => ops.calls.recent(query),
  },
  {
    method: 'GET',
    url: '/v1/calls/:id',
    tag: 'calls',
    summary: 'One call and its events, by call id or Asterisk channel id',
    params: { id: 'call id or channel id (AMI Uniqueid)' },
    handler: ({ ops, params }) => ops.calls.show(params.id ?? ''),
  },
  {
    method: 'GET',
    url: '/v1/changes',
    tag: 'changes',
    summary: 'Who changed the configuration, newest first',
    query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(20) }).strict(),
    handler: ({ ops, query }) => ops.changes(query.limit as number),
  },
];

/** The least API key scope an endpoint needs. */
export function scopeOf(e: Endpoint): ApiKeyScope {
  return e.scope ?? (e.method === 'GET' ? 'read' : 'admin');
}
