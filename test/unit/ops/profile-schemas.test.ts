/**
 * The call profile schemas of the ops layer (src/ops/profile-admin.ts): a new profile gets the
 * defaults of src/domain/profile.ts (and migration 011), the bounds are inclusive, refusals name
 * the field, and a patch takes any field alone but no unknown one.
 */
import { ENDPOINTS } from '../../../src/http/admin-endpoints';
import { buildOpenApi } from '../../../src/http/openapi';
import type { z } from 'zod';
import { zodProblems } from '../../../src/ops/ops-error';
import { newProfileSchema, PROFILE_DEFAULTS, profilePatchSchema } from '../../../src/ops/profile-admin';

const REQUIRED = { name: 'login-call', title: 'Login by phone', callerId: '+12025550123' };

function problems(input: unknown, schema: z.ZodType = newProfileSchema) {
  const parsed = schema.safeParse(input);
  return parsed.success ? [] : zodProblems(parsed.error);
}

describe('newProfileSchema', () => {
  it('fills in the defaults of a call profile', () => {
    expect(newProfileSchema.parse(REQUIRED)).toEqual({
      ...REQUIRED,
      enabled: true,
      mode: 'read',
      codeSource: 'auto',
      codeLength: 6,
      callbackNumber: '',
      repeats: 3,
      keyBeforeCode: true,
      smsAfterCall: 'off',
      locale: 'en',
      ringTimeoutSeconds: 30,
      retriesOnNoAnswer: 0,
      requireContact: true,
    });
    expect(newProfileSchema.parse(REQUIRED)).toMatchObject(PROFILE_DEFAULTS);
  });

  it('trims text fields', () => {
    expect(
      newProfileSchema.parse({
        ...REQUIRED,
        name: ' login-call ',
        callerId: ' +12025550123 ',
        callbackNumber: ' 7100 ',
      }),
    ).toMatchObject({ name: 'login-call', callerId: '+12025550123', callbackNumber: '7100' });
  });

  it.each([
    ['codeLength', 4, 10],
    ['repeats', 1, 5],
    ['ringTimeoutSeconds', 5, 120],
    ['retriesOnNoAnswer', 0, 3],
  ] as const)('takes %s from %i to %i inclusive, whole numbers only', (field, min, max) => {
    const message = `must be a whole number from ${min} to ${max}`;
    expect(problems({ ...REQUIRED, [field]: min })).toEqual([]);
    expect(problems({ ...REQUIRED, [field]: max })).toEqual([]);
    for (const bad of [min - 1, max + 1, min + 0.5, String(min), null, Number.NaN])
      expect(problems({ ...REQUIRED, [field]: bad })).toEqual([{ field, message }]);
  });

  it.each([
    [
      'name',
      ['a', '0-login', 'a'.repeat(40), 'lab-read-2'],
      ['', '-a', 'A', 'a_b', 'a'.repeat(41), '123', 'a b'],
    ],
    [
      'callerId',
      ['+12025550100', '+4420794600'],
      ['12025550100', '+0123456789', '+1202', '+1202555010012345'],
    ],
    [
      'callbackNumber',
      ['', '7100', '*99#', '+12025550100', '1'.repeat(40)],
      ['71 00', 'ext7100', '1'.repeat(41)],
    ],
    ['locale', ['en', 'en_US', 'pt_BR'], ['EN', 'en-US', 'eng', 'en_us', '']],
  ] as const)('checks the format of %s', (field, good, bad) => {
    for (const value of good) expect(problems({ ...REQUIRED, [field]: value })).toEqual([]);
    for (const value of bad)
      expect(problems({ ...REQUIRED, [field]: value }).map((p) => p.field)).toEqual([field]);
  });

  it('says what a caller ID looks like', () => {
    expect(problems({ ...REQUIRED, callerId: '2025550100' })).toEqual([
      { field: 'callerId', message: 'must be an E.164 number like +12025550100' },
    ]);
  });

  it('accepts every combination of mode, code source and key press (no field depends on another)', () => {
    for (const mode of ['read', 'input'])
      for (const codeSource of ['auto', 'manual'])
        for (const keyBeforeCode of [true, false])
          expect(problems({ ...REQUIRED, mode, codeSource, keyBeforeCode })).toEqual([]);
  });

  it('names the required fields left out and unknown fields', () => {
    expect(problems({ id: 1 })).toEqual([
      { field: 'name', message: 'required' },
      { field: 'title', message: 'required' },
      { field: 'callerId', message: 'required' },
      { field: 'id', message: 'unknown field id' },
    ]);
  });
});

describe('profilePatchSchema', () => {
  it('takes any one field alone, with no defaults filled in', () => {
    expect(profilePatchSchema.parse({ repeats: 2 })).toEqual({ repeats: 2 });
    expect(profilePatchSchema.parse({})).toEqual({});
  });

  it('checks the fields given as a new profile does', () => {
    expect(problems({ smsAfterCall: 'sometimes' }, profilePatchSchema)).toEqual([
      { field: 'smsAfterCall', message: 'must be one of off, always, not_answered' },
    ]);
    expect(problems({ name: null }, profilePatchSchema)).toEqual([
      { field: 'name', message: 'must be text' },
    ]);
  });
});

describe('the OpenAPI document of profiles', () => {
  it('describes the body of a new profile: required fields, defaults and bounds', () => {
    const doc = buildOpenApi(ENDPOINTS, '1.0.0') as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    const schema = doc.paths['/v1/profiles']?.post?.requestBody?.content['application/json']?.schema;
    expect(schema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['name', 'title', 'callerId'],
      properties: {
        codeLength: { type: 'integer', minimum: 4, maximum: 10, default: 6 },
        mode: { enum: ['read', 'input'], default: 'read' },
        smsAfterCall: { enum: ['off', 'always', 'not_answered'], default: 'off' },
      },
    });
  });
});
