/**
 * The OpenAPI 3.1 document served at GET /v1/openapi.json, generated from the endpoint table
 * (admin-endpoints.ts) and its zod schemas, so what is described is what is validated.
 */
import { z } from 'zod';
import { scopeOf, type Endpoint } from './admin-endpoints';

const problem = {
  type: 'object',
  properties: {
    error: {
      type: 'string',
      enum: ['invalid', 'not_found', 'conflict', 'unavailable', 'unauthorized', 'internal'],
    },
    message: { type: 'string' },
    problems: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
  required: ['error', 'message'],
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest;
}

function errorResponses(e: Endpoint, authenticated: boolean): Record<string, unknown> {
  const ref = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } } };
  const out: Record<string, unknown> = {};
  if (e.body || e.query || e.params || e.csvBody)
    out['400'] = { description: 'invalid input; problems name each field', ...ref };
  if (authenticated) out['401'] = { description: 'missing, unknown or revoked API key', ...ref };
  if (e.params) out['404'] = { description: 'no such item', ...ref };
  if (e.method === 'POST' || e.method === 'PATCH')
    out['409'] = { description: 'conflicts with an existing item', ...ref };
  out['503'] = { description: 'Postgres or the PBX (for dialplan checks) unreachable', ...ref };
  return out;
}

export function buildOpenApi(endpoints: readonly Endpoint[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const e of endpoints) {
    const path = e.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [name, description] of Object.entries(e.params ?? {}))
      parameters.push({ name, in: 'path', required: true, description, schema: { type: 'string' } });
    if (e.query) {
      const q = jsonSchema(e.query) as {
        properties?: Record<string, { description?: string }>;
        required?: string[];
      };
      for (const [name, schema] of Object.entries(q.properties ?? {}))
        parameters.push({
          name,
          in: 'query',
          required: q.required?.includes(name) ?? false,
          description: schema.description,
          schema,
        });
    }
    const operation: Record<string, unknown> = {
      summary: e.summary,
      tags: [e.tag],
      operationId: `${e.method.toLowerCase()}${path
        .replace(/[{}]/g, '')
        .replace(/\/([a-z])/g, (_, c: string) => c.toUpperCase())
        .replace(/^V1/, '')}`,
      parameters,
      security: [{ apiKey: [] }],
      // The least API key scope this operation needs (read < contacts < admin).
      'x-required-scope': scopeOf(e),
      responses: {
        [String(e.status ?? 200)]: { description: 'done', content: { 'application/json': { schema: {} } } },
        ...errorResponses(e, true),
      },
    };
    if (e.csvBody)
      operation.requestBody = { required: true, content: { 'text/csv': { schema: { type: 'string' } } } };
    else if (e.body)
      operation.requestBody = {
        // A body the endpoint can do without (resend without customCode) is optional.
        required: !e.body.safeParse(undefined).success,
        content: { 'application/json': { schema: jsonSchema(e.body) } },
      };
    paths[path] = { ...paths[path], [e.method.toLowerCase()]: operation };
  }
  paths['/v1/health'] = {
    get: {
      summary:
        'Readiness: 200 or 503 with {status} for anyone; with an API key, the checks of Postgres, ARI and AMI with versions and problems',
      tags: ['health'],
      operationId: 'getHealth',
      security: [{}, { apiKey: [] }],
      responses: {
        '200': { description: 'every dependency answers' },
        '401': { description: 'an API key was sent and is unknown or revoked' },
        '503': { description: 'at least one dependency does not; with a key, checks name it' },
      },
    },
  };
  paths['/v1/health/live'] = {
    get: {
      summary: 'Liveness: {"status": "ok"} while the process runs; reveals nothing else',
      tags: ['health'],
      operationId: 'getHealthLive',
      security: [],
      responses: { '200': { description: 'the process answers' } },
    },
  };
  paths['/metrics'] = {
    get: {
      summary: 'Prometheus metrics (text exposition format); API key required',
      tags: ['health'],
      operationId: 'getMetrics',
      security: [{ apiKey: [] }],
      responses: { '200': { description: 'metrics' }, '401': { description: 'missing or unknown API key' } },
    },
  };
  paths['/v1/openapi.json'] = {
    get: {
      summary: 'This document',
      tags: ['health'],
      operationId: 'getOpenApi',
      security: [],
      responses: { '200': { description: 'OpenAPI 3.1' } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'pinverify admin API',
      version,
      description:
        'Routes, call profiles, settings, templates, contacts and the call audit trail of pinverify. Authenticate with an API key created by `pinverify api-keys create <name>`, sent as `Authorization: Bearer <key>`.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description:
            'pinverify API key (pvk_...) with a scope: read (every GET), contacts (also contacts, imports, PINs, unlock and verifications), admin (everything). Each operation names its x-required-scope; a key below it gets 403.',
        },
      },
      schemas: { Problem: problem },
    },
    paths,
  };
}
