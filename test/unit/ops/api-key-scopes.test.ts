import { ENDPOINTS, scopeOf } from '../../../src/http/admin-endpoints';
import { buildOpenApi } from '../../../src/http/openapi';
import { API_KEY_SCOPES, scopeAllows } from '../../../src/ops/api-key-admin';

describe('API key scopes', () => {
  test.each([
    ['read', 'read', true],
    ['read', 'contacts', false],
    ['read', 'admin', false],
    ['contacts', 'read', true],
    ['contacts', 'contacts', true],
    ['contacts', 'admin', false],
    ['admin', 'read', true],
    ['admin', 'contacts', true],
    ['admin', 'admin', true],
  ] as const)('a %s key for what needs %s: %s', (has, needs, allowed) => {
    expect(scopeAllows(has, needs)).toBe(allowed);
  });

  it('lets read keys GET everything and nothing else', () => {
    for (const e of ENDPOINTS)
      expect([`${e.method} ${e.url}`, scopeOf(e) === 'read']).toEqual([
        `${e.method} ${e.url}`,
        e.method === 'GET',
      ]);
  });

  it('gives contacts keys the people (contacts, PINs, unlock, verifications), never the PBX configuration', () => {
    const contacts = ENDPOINTS.filter((e) => scopeOf(e) === 'contacts').map((e) => `${e.method} ${e.url}`);
    expect(contacts.sort()).toEqual(
      [
        'POST /v1/contacts',
        'DELETE /v1/contacts/:id',
        'POST /v1/contacts/import',
        'POST /v1/contacts/:id/unlock',
        'PUT /v1/contacts/:id/pin',
        'DELETE /v1/contacts/:id/pin',
        'POST /v1/verifications',
        'POST /v1/verifications/:id/check',
        'POST /v1/verifications/:id/resend',
        'POST /v1/verifications/:id/cancel',
      ].sort(),
    );
    for (const e of ENDPOINTS.filter(
      (x) => /routes|profiles|settings|templates/.test(x.url) && x.method !== 'GET',
    ))
      expect(scopeOf(e)).toBe('admin');
  });

  it('names the scope of every operation in the OpenAPI document', () => {
    const doc = buildOpenApi(ENDPOINTS, '1.0.0') as {
      paths: Record<string, Record<string, { 'x-required-scope'?: string }>>;
    };
    for (const e of ENDPOINTS) {
      const path = e.url.replace(/:([A-Za-z]+)/g, '{$1}');
      expect(doc.paths[path]?.[e.method.toLowerCase()]?.['x-required-scope']).toBe(scopeOf(e));
    }
    expect(API_KEY_SCOPES).toEqual(['read', 'contacts', 'admin']);
  });
});
