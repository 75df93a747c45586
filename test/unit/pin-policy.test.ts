/**
 * The static PIN policy of src/domain/pin.ts and the settings that bound it, as tables: which
 * PINs may be set, the shortest PIN a failure limit makes safe and back, the settings
 * combinations refused together, PINVERIFY_METHOD after each step of a call, and parseSettings
 * reporting and tightening hand-edited PIN settings (src/store/settings-schema.ts).
 */
import {
  addMethod,
  PIN_ABSOLUTE_MAX_LENGTH,
  PIN_ABSOLUTE_MIN_LENGTH,
  pinLengthFloor,
  pinPolicyProblem,
  pinProblem,
  safePinFailureLimit,
  type CallMethod,
  type DeliveryChannel,
  type FlowSettings,
} from '../../src/domain';
import { DEFAULT_SETTINGS } from '../../src/store/config-defaults';
import { parseSettings, webhookUrlProblem, type SettingIssue } from '../../src/store/settings-schema';

const FOUR_TO_EIGHT = { pinMinLength: 4, pinMaxLength: 8 };
const EXACTLY_SIX = { pinMinLength: 6, pinMaxLength: 6 };
const OWN = ['+1 (202) 555-0188', '+12025550123'];

const REPEATED = 'too easy to guess: one digit repeated';
const RUN = 'too easy to guess: a run of digits up or down';
const PAIR = 'too easy to guess: a pair of digits repeated';
const OWN_NUMBER = "too easy to guess: the end of the contact's own phone number";

describe('pinProblem', () => {
  it.each<[string, { pinMinLength: number; pinMaxLength: number }, string | null]>([
    // Digits only.
    ['12a4', FOUR_TO_EIGHT, 'a PIN is digits only'],
    ['', FOUR_TO_EIGHT, 'a PIN is digits only'],
    ['2580 ', FOUR_TO_EIGHT, 'a PIN is digits only'],
    ['25-80', FOUR_TO_EIGHT, 'a PIN is digits only'],
    ['２５８０', FOUR_TO_EIGHT, 'a PIN is digits only'],
    ['-2580', FOUR_TO_EIGHT, 'a PIN is digits only'],
    // Length bounds, said as a range or as one length.
    ['258', FOUR_TO_EIGHT, 'a PIN has 4 to 8 digits'],
    ['258074139', FOUR_TO_EIGHT, 'a PIN has 4 to 8 digits'],
    ['2580', FOUR_TO_EIGHT, null],
    ['25807413', FOUR_TO_EIGHT, null],
    ['25807', EXACTLY_SIX, 'a PIN has 6 digits'],
    ['2580741', EXACTLY_SIX, 'a PIN has 6 digits'],
    ['258074', EXACTLY_SIX, null],
    // One digit repeated.
    ['0000', FOUR_TO_EIGHT, REPEATED],
    ['7777', FOUR_TO_EIGHT, REPEATED],
    ['99999999', FOUR_TO_EIGHT, REPEATED],
    // Runs up or down.
    ['1234', FOUR_TO_EIGHT, RUN],
    ['0123', FOUR_TO_EIGHT, RUN],
    ['3456789', FOUR_TO_EIGHT, RUN],
    ['9876', FOUR_TO_EIGHT, RUN],
    ['76543210', FOUR_TO_EIGHT, RUN],
    ['1235', FOUR_TO_EIGHT, null],
    ['1357', FOUR_TO_EIGHT, null],
    ['9753', FOUR_TO_EIGHT, null],
    ['8901', FOUR_TO_EIGHT, null],
    // A pair repeated.
    ['1212', FOUR_TO_EIGHT, PAIR],
    ['4545', FOUR_TO_EIGHT, PAIR],
    ['909090', FOUR_TO_EIGHT, PAIR],
    ['37373737', FOUR_TO_EIGHT, PAIR],
    ['1221', FOUR_TO_EIGHT, null],
    ['123123', FOUR_TO_EIGHT, null],
    // Accepted.
    ['7391', FOUR_TO_EIGHT, null],
    ['48213', FOUR_TO_EIGHT, null],
    ['90210', FOUR_TO_EIGHT, null],
    ['06051984', FOUR_TO_EIGHT, null],
  ])('%j (%j): %j', (pin, policy, problem) => {
    expect(pinProblem(pin, policy, OWN)).toBe(problem);
  });

  it.each<[string, string[], string | null]>([
    ['0188', OWN, OWN_NUMBER],
    ['50188', OWN, OWN_NUMBER],
    ['5550188', OWN, OWN_NUMBER],
    ['25550188', OWN, OWN_NUMBER],
    ['550123', OWN, OWN_NUMBER],
    // Formatting in the stored number does not hide it.
    ['0188', ['(202) 555-0188'], OWN_NUMBER],
    // Only the end of a number counts.
    ['2025', OWN, null],
    ['5550', OWN, null],
    ['0189', OWN, null],
    ['0188', [], null],
    ['0188', ['', '+12025550123'], null],
  ])('%j with own numbers %j: %j', (pin, numbers, problem) => {
    expect(pinProblem(pin, FOUR_TO_EIGHT, numbers)).toBe(problem);
  });

  it('checks the easy patterns before the own number', () => {
    // 0123 is both a run and the end of +12025550123.
    expect(pinProblem('0123', FOUR_TO_EIGHT, ['+12025550123'])).toBe(RUN);
  });

  it('has no own numbers by default', () => {
    expect(pinProblem('0188', FOUR_TO_EIGHT)).toBeNull();
  });
});

describe('PIN length against the failure limit', () => {
  it.each([
    [1, 4],
    [9, 4],
    [10, 4],
    [11, 5],
    [99, 5],
    [100, 5],
    [101, 6],
    [1000, 6],
    [1001, 7],
  ])('pinLengthFloor(%i) = %i', (limit, floor) => {
    expect(pinLengthFloor(limit)).toBe(floor);
  });

  it.each([
    [4, 10],
    [5, 100],
    [6, 1000],
    [7, 10_000],
    [8, 100_000],
    [10, 10_000_000],
  ])('safePinFailureLimit(%i) = %i', (length, limit) => {
    expect(safePinFailureLimit(length)).toBe(limit);
  });

  it('never allows fewer than one failure', () => {
    expect(safePinFailureLimit(1)).toBe(1);
    expect(safePinFailureLimit(0)).toBe(1);
  });

  it.each([4, 5, 6, 7, 8, 9, 10])(
    'the safe limit of a %i-digit PIN is the most failures that length is the floor for',
    (length) => {
      const limit = safePinFailureLimit(length);
      expect(pinLengthFloor(limit)).toBe(length);
      expect(pinLengthFloor(limit + 1)).toBe(length + 1);
    },
  );

  it('keeps the absolute bounds', () => {
    expect([PIN_ABSOLUTE_MIN_LENGTH, PIN_ABSOLUTE_MAX_LENGTH]).toEqual([4, 10]);
  });
});

describe('pinPolicyProblem', () => {
  const unsafe = (min: number, limit: number, floor: number, safe: number) =>
    `pinMinLength ${min} with maxFailedChecksPerContact ${limit} gives a PIN guesser more than 1 in 1,000 ` +
    `per contact per day (raise pinMinLength to ${floor} or lower maxFailedChecksPerContact to ${safe})`;

  it.each<[number, number, string | null]>([
    [4, 1, null],
    [4, 10, null],
    [4, 11, unsafe(4, 11, 5, 10)],
    [4, 100, unsafe(4, 100, 5, 10)],
    [4, 101, unsafe(4, 101, 6, 10)],
    [5, 1, null],
    [5, 10, null],
    [5, 11, null],
    [5, 100, null],
    [5, 101, unsafe(5, 101, 6, 100)],
    [6, 101, null],
    [6, 1000, null],
  ])('pinMinLength %i with maxFailedChecksPerContact %i: %j', (min, limit, problem) => {
    expect(pinPolicyProblem({ pinMinLength: min, pinMaxLength: 8, maxFailedChecksPerContact: limit })).toBe(
      problem,
    );
  });

  it.each<[number, number, string | null]>([
    [6, 5, 'pinMaxLength 5 is below pinMinLength 6'],
    [8, 4, 'pinMaxLength 4 is below pinMinLength 8'],
    [6, 6, null],
  ])('pinMinLength %i, pinMaxLength %i: %j', (min, max, problem) => {
    expect(pinPolicyProblem({ pinMinLength: min, pinMaxLength: max, maxFailedChecksPerContact: 10 })).toBe(
      problem,
    );
  });

  it('reports a maximum below the minimum before the failure limit', () => {
    expect(pinPolicyProblem({ pinMinLength: 5, pinMaxLength: 4, maxFailedChecksPerContact: 1000 })).toBe(
      'pinMaxLength 4 is below pinMinLength 5',
    );
  });

  it('accepts the built-in defaults', () => {
    expect(pinPolicyProblem(DEFAULT_SETTINGS)).toBeNull();
  });
});

describe('addMethod', () => {
  it.each<[CallMethod | null, DeliveryChannel | 'pin', CallMethod]>([
    [null, 'pin', 'pin'],
    [null, 'sms', 'sms'],
    [null, 'email', 'email'],
    ['pin', 'sms', 'pin+sms'],
    ['pin', 'email', 'pin+email'],
    ['pin', 'pin', 'pin'],
    // The code went out by the other channel after a failed send: the last channel counts.
    ['pin+sms', 'email', 'pin+email'],
    ['pin+email', 'sms', 'pin+sms'],
    ['sms', 'email', 'email'],
    ['email', 'sms', 'sms'],
  ])('%j then %j: %j', (before, next, method) => {
    expect(addMethod(before, next)).toBe(method);
  });
});

describe('parseSettings: the PIN settings', () => {
  /** The built-in defaults with `changes`, as rows of the settings table. */
  function parse(changes: Record<string, unknown>): { settings: FlowSettings; issues: SettingIssue[] } {
    const rows = Object.entries({ ...DEFAULT_SETTINGS, ...changes }).map(([key, value]) => ({ key, value }));
    const issues: SettingIssue[] = [];
    const settings = parseSettings(rows, (i) => issues.push(i));
    return { settings, issues };
  }

  it('leaves the defaults alone', () => {
    const { settings, issues } = parse({});
    expect(issues).toEqual([]);
    expect(settings).toMatchObject({
      pinMinLength: 4,
      pinMaxLength: 8,
      maxPinTries: 3,
      pinSource: 'database',
      pinWebhookUrl: '',
      pinWebhookTimeoutMs: 3000,
      maxFailedChecksPerContact: 10,
    });
  });

  it.each([
    // pinMinLength, maxFailedChecksPerContact edited by hand, the limit it is tightened to.
    [4, 11, 10],
    [4, 50, 10],
    [4, 100, 10],
    [5, 101, 100],
  ])('keeps pinMinLength %i and tightens maxFailedChecksPerContact %i to %i', (pinMinLength, limit, safe) => {
    // codeLength 8 lets the code's own bound (1 in 10,000) allow up to 10,000 failures.
    const { settings, issues } = parse({ codeLength: 8, pinMinLength, maxFailedChecksPerContact: limit });
    expect(settings.pinMinLength).toBe(pinMinLength);
    expect(settings.maxFailedChecksPerContact).toBe(safe);
    expect(issues).toEqual([
      {
        key: 'maxFailedChecksPerContact',
        value: limit,
        problem: pinPolicyProblem({ pinMinLength, pinMaxLength: 8, maxFailedChecksPerContact: limit }),
        defaultValue: safe,
      },
    ]);
    expect(issues[0]?.problem).toContain('1 in 1,000');
  });

  it.each([
    [5, 100],
    [6, 1000],
  ])('leaves pinMinLength %i with maxFailedChecksPerContact %i alone', (pinMinLength, limit) => {
    const { settings, issues } = parse({ codeLength: 8, pinMinLength, maxFailedChecksPerContact: limit });
    expect(issues).toEqual([]);
    expect(settings.maxFailedChecksPerContact).toBe(limit);
  });

  it('tightens for the code first, then for the PIN, reporting both', () => {
    const { settings, issues } = parse({ codeLength: 6, pinMinLength: 4, maxFailedChecksPerContact: 200 });
    expect(settings.maxFailedChecksPerContact).toBe(10);
    expect(issues.map((i) => [i.key, i.value, i.defaultValue])).toEqual([
      ['maxFailedChecksPerContact', 200, 100],
      ['maxFailedChecksPerContact', 100, 10],
    ]);
    expect(issues[0]?.problem).toContain('1 in 10,000');
    expect(issues[1]?.problem).toContain('1 in 1,000');
  });

  it.each([
    [6, 5],
    [8, 4],
    [10, 9],
  ])('raises pinMaxLength to pinMinLength %i when it was %i', (pinMinLength, pinMaxLength) => {
    const { settings, issues } = parse({
      codeLength: 8,
      maxFailedChecksPerContact: 10,
      pinMinLength,
      pinMaxLength,
    });
    expect(settings.pinMinLength).toBe(pinMinLength);
    expect(settings.pinMaxLength).toBe(pinMinLength);
    expect(issues).toEqual([
      {
        key: 'pinMaxLength',
        value: pinMaxLength,
        problem: `below pinMinLength ${pinMinLength}`,
        defaultValue: pinMinLength,
      },
    ]);
  });

  it('raises pinMaxLength and tightens the failure limit when both are wrong', () => {
    const { settings, issues } = parse({
      codeLength: 8,
      pinMinLength: 5,
      pinMaxLength: 4,
      maxFailedChecksPerContact: 500,
    });
    expect(settings).toMatchObject({ pinMinLength: 5, pinMaxLength: 5, maxFailedChecksPerContact: 100 });
    expect(issues.map((i) => [i.key, i.value, i.defaultValue])).toEqual([
      ['pinMaxLength', 4, 5],
      ['maxFailedChecksPerContact', 500, 100],
    ]);
  });

  it('compares against a default pinMaxLength used instead of an invalid one', () => {
    const { settings, issues } = parse({ codeLength: 8, pinMinLength: 9, pinMaxLength: 'x' });
    expect(settings.pinMaxLength).toBe(9);
    expect(issues.map((i) => [i.key, i.value, i.defaultValue])).toEqual([
      ['pinMaxLength', 'x', 8],
      ['pinMaxLength', 8, 9],
    ]);
  });

  it.each<[string, unknown, string]>([
    ['pinMinLength', 3, 'Too small: expected number to be >=4'],
    ['pinMinLength', 11, 'Too big: expected number to be <=10'],
    ['pinMinLength', 4.5, 'expected int'],
    ['pinMaxLength', 3, 'Too small: expected number to be >=4'],
    ['pinMaxLength', 11, 'Too big: expected number to be <=10'],
    ['maxPinTries', 0, 'Too small: expected number to be >=1'],
    ['maxPinTries', 6, 'Too big: expected number to be <=5'],
    ['pinSource', 'ldap', 'expected one of database, webhook'],
    ['pinWebhookTimeoutMs', 499, 'Too small: expected number to be >=500'],
    ['pinWebhookTimeoutMs', 10_001, 'Too big: expected number to be <=10000'],
    ['pinWebhookUrl', 'http://crm.example/pin', 'expected an https:// URL'],
    ['pinWebhookUrl', 'crm.example/pin', 'expected an absolute URL'],
    ['pinWebhookUrl', 42, 'expected string'],
  ])('reports %s %j and uses the default', (key, value, problem) => {
    const { settings, issues } = parse({ [key]: value });
    const defaultValue = DEFAULT_SETTINGS[key as keyof FlowSettings];
    expect(issues).toEqual([
      { key, value, problem: expect.stringContaining(problem) as unknown, defaultValue },
    ]);
    expect(settings[key as keyof FlowSettings]).toBe(defaultValue);
  });

  it.each([
    ['pinMinLength', 10],
    ['pinMaxLength', 10],
    ['maxPinTries', 5],
    ['pinSource', 'webhook'],
    ['pinWebhookUrl', ''],
    ['pinWebhookUrl', 'https://crm.example/pin'],
    ['pinWebhookUrl', 'http://127.0.0.1:8080/pin'],
    ['pinWebhookTimeoutMs', 500],
    ['pinWebhookTimeoutMs', 10_000],
  ])('accepts %s %j', (key, value) => {
    const changes: Record<string, unknown> = { [key]: value };
    // A 10-digit minimum needs a 10-digit maximum to be valid on its own.
    if (key === 'pinMinLength') changes.pinMaxLength = 10;
    const { settings, issues } = parse(changes);
    expect(issues).toEqual([]);
    expect(settings[key as keyof FlowSettings]).toBe(value);
  });
});

describe('webhookUrlProblem', () => {
  const HTTPS_ONLY = 'expected an https:// URL (plain http only to 127.0.0.1 or localhost)';
  const NOT_A_URL = 'expected an absolute URL (https://...)';

  it.each<[string, string | null]>([
    ['https://crm.example/pin', null],
    ['https://crm.example:8443/api/pin?dept=support', null],
    ['HTTPS://CRM.EXAMPLE/pin', null],
    ['http://127.0.0.1/pin', null],
    ['http://127.0.0.1:8080/pin', null],
    ['http://localhost:3000/pin', null],
    ['http://[::1]:3000/pin', null],
    ['http://crm.example/pin', HTTPS_ONLY],
    ['http://10.0.0.5/pin', HTTPS_ONLY],
    ['http://127.0.0.2/pin', HTTPS_ONLY],
    ['http://localhost.crm.example/pin', HTTPS_ONLY],
    ['http://127.0.0.1.crm.example/pin', HTTPS_ONLY],
    ['ftp://crm.example/pin', HTTPS_ONLY],
    ['ws://127.0.0.1/pin', HTTPS_ONLY],
    ['javascript:alert(1)', HTTPS_ONLY],
    ['file:///etc/passwd', HTTPS_ONLY],
    ['crm.example/pin', NOT_A_URL],
    ['not a url', NOT_A_URL],
    ['https://', NOT_A_URL],
    ['', NOT_A_URL],
    ['//crm.example/pin', NOT_A_URL],
  ])('%j: %j', (url, problem) => {
    expect(webhookUrlProblem(url)).toBe(problem);
  });
});
