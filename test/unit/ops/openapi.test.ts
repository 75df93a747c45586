/**
 * The OpenAPI document is generated from the endpoint table: every ENDPOINTS entry appears
 * under its path (":param" written "{param}") with its method, declares API key security and
 * its path parameters, every POST and PATCH has a request body (text/csv for the import), and
 * health and the document itself are the only operations without a key.
 */
import { ENDPOINTS } from '../../../src/http/admin-endpoints';
import { buildOpenApi } from '../../../src/http/openapi';

interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security: unknown[];
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, unknown>;
}

const doc = buildOpenApi(ENDPOINTS, '1.2.3') as {
  openapi: string;
  info: { version: string };
  components: { securitySchemes: Record<string, Record<string, unknown>>; schemas: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
};

const openapiPath = (url: string) => url.replace(/:([A-Za-z]+)/g, '{$1}');
const operation = (method: string, url: string): Operation | undefined =>
  doc.paths[openapiPath(url)]?.[method.toLowerCase()];

describe('buildOpenApi', () => {
  it('is an OpenAPI 3.1 document with the given version and a bearer API key scheme', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('1.2.3');
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it.each(ENDPOINTS.map((e) => [e.method, e.url] as const))('describes %s %s', (method, url) => {
    const op = operation(method, url);
    expect(op).toBeDefined();
    expect(op?.security).toEqual([{ apiKey: [] }]);
    expect(op?.responses['401']).toBeDefined();
    const endpoint = ENDPOINTS.find((e) => e.method === method && e.url === url);
    expect(op?.summary).toBe(endpoint?.summary);
    expect(op?.responses).toHaveProperty(String(endpoint?.status ?? 200));
  });

  it('has no operation that the endpoint table does not have, besides health, metrics and itself', () => {
    const described = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const expected = [
      ...ENDPOINTS.map((e) => `${e.method} ${openapiPath(e.url)}`),
      'GET /v1/health',
      'GET /v1/health/live',
      'GET /metrics',
      'GET /v1/openapi.json',
    ];
    expect(described.sort()).toEqual(expected.sort());
  });

  it('needs no key for liveness and the document, an optional one for health, one for metrics', () => {
    expect(doc.paths['/v1/health/live']?.get?.security).toEqual([]);
    expect(doc.paths['/v1/openapi.json']?.get?.security).toEqual([]);
    expect(doc.paths['/v1/health']?.get?.security).toEqual([{}, { apiKey: [] }]);
    expect(doc.paths['/metrics']?.get?.security).toEqual([{ apiKey: [] }]);
  });

  it('declares every path parameter as required', () => {
    for (const e of ENDPOINTS) {
      const names = [...e.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]);
      const declared = (operation(e.method, e.url)?.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name)).toEqual(names);
      expect(declared.every((p) => p.required)).toBe(true);
    }
  });

  it('gives every POST, PATCH and PUT that takes input a request body: JSON with its fields, or CSV for the import', () => {
    // Actions on one resource need no body (unlock, cancel); resend takes an optional one.
    const bodiless = ['POST /v1/contacts/:id/unlock', 'POST /v1/verifications/:id/cancel'];
    const optional = ['POST /v1/verifications/:id/resend'];
    for (const e of ENDPOINTS.filter((x) => ['POST', 'PATCH', 'PUT'].includes(x.method))) {
      const name = `${e.method} ${e.url}`;
      const body = operation(e.method, e.url)?.requestBody;
      if (bodiless.includes(name)) {
        expect({ name, body }).toEqual({ name, body: undefined });
        continue;
      }
      expect({ endpoint: name, required: body?.required }).toEqual({
        endpoint: name,
        required: !optional.includes(name),
      });
      const types = Object.keys(body?.content ?? {});
      expect(types).toEqual([e.csvBody ? 'text/csv' : 'application/json']);
    }
    const route = operation('POST', '/v1/routes')?.requestBody?.content['application/json']?.schema;
    expect(route).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: expect.arrayContaining([
        'title',
        'previousHop',
        'successDestination',
        'failedDestination',
      ]) as unknown,
    });
    expect(Object.keys((route?.properties as object) ?? {}).sort()).toEqual(
      ['enabled', 'failedDestination', 'mode', 'previousHop', 'successDestination', 'title'].sort(),
    );
  });

  it('lists query parameters with their descriptions', () => {
    const force = operation('POST', '/v1/routes')?.parameters?.find((p) => p.name === 'force');
    expect(force).toMatchObject({ in: 'query', required: false });
    const number = operation('GET', '/v1/contacts/lookup')?.parameters?.find((p) => p.name === 'number');
    expect(number).toMatchObject({ in: 'query', required: true });
  });

  it('gives every operation a unique operationId', () => {
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(operation('GET', '/v1/routes/:route')?.operationId).toBe('getRoutesRoute');
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});
