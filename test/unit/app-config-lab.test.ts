import { ConfigError, loadAppConfig } from '../../src/config/app-config';
import { senderConfigSchema } from '../../src/senders/delivery-from-config';

/** A complete environment with real-looking secrets. */
const PRODUCTION = {
  ARI_URL: 'http://127.0.0.1:8088',
  ARI_USER: 'pinverify',
  ARI_PASSWORD: 'x8Jd93-ari-secret',
  AMI_USER: 'pinverify',
  AMI_SECRET: 'Qm2-ami-secret',
  DATABASE_URL: 'postgres://pinverify:pw@db/pinverify',
  PINVERIFY_CODE_SECRET: 'a-long-random-code-secret-9f8e7d',
  SMTP_HOST: 'smtp.example.com',
  SMTP_FROM: 'verify@example.com',
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'twilio-token-123',
  TWILIO_FROM: '+12025550100',
};

/** Every problem loadAppConfig reports for `env` (none: it loads). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadAppConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

describe('lab secrets and TLS outside the lab', () => {
  it('accepts real secrets, and requires TLS for SMTP by default', () => {
    const cfg = loadAppConfig(PRODUCTION);
    expect(cfg.PINVERIFY_LAB).toBe(false);
    expect(cfg.SMTP_REQUIRE_TLS).toBeUndefined();
  });

  it('refuses every published lab secret at once, naming each, unless PINVERIFY_LAB=1', () => {
    const lab = {
      ...PRODUCTION,
      ARI_PASSWORD: 'pinverify-lab-ari',
      AMI_SECRET: 'pinverify-lab-ami',
      PINVERIFY_CODE_SECRET: 'lab-only-code-secret-change-me-in-production',
      TWILIO_AUTH_TOKEN: 'lab-twilio-token',
    };
    const problems = problemsOf(lab);
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'ARI_PASSWORD',
      'AMI_SECRET',
      'PINVERIFY_CODE_SECRET',
      'TWILIO_AUTH_TOKEN',
    ]);
    expect(problems[0]).toContain("is the lab's published value");
    expect(loadAppConfig({ ...lab, PINVERIFY_LAB: '1' }).PINVERIFY_LAB).toBe(true);
  });

  it('reads SMTP_REQUIRE_TLS for the senders', () => {
    expect(senderConfigSchema.parse({ ...PRODUCTION, SMTP_REQUIRE_TLS: 'false' }).SMTP_REQUIRE_TLS).toBe(
      false,
    );
    expect(() => senderConfigSchema.parse({ ...PRODUCTION, SMTP_REQUIRE_TLS: 'maybe' })).toThrow(
      /SMTP_REQUIRE_TLS must be true or false/,
    );
  });
});

describe("the example environment file's placeholders", () => {
  it('are refused by name, in a lab too, and the CLI AMI secret is checked like the others', () => {
    const placeholders = {
      ...PRODUCTION,
      ARI_PASSWORD: 'change-me',
      AMI_CLI_SECRET: 'CHANGE-ME-cli-secret',
      PINVERIFY_CODE_SECRET: 'change-me-to-32-random-characters',
    };
    const expected = ['ARI_PASSWORD', 'AMI_CLI_SECRET', 'PINVERIFY_CODE_SECRET'].map(
      (k) => `${k} is still the example's placeholder "change-me": set a secret of your own`,
    );
    expect(problemsOf(placeholders)).toEqual(expected);
    expect(problemsOf({ ...placeholders, PINVERIFY_LAB: '1' })).toEqual(expected);
    expect(problemsOf({ ...PRODUCTION, AMI_CLI_SECRET: 'pinverify-lab-ami-cli' })).toEqual([
      "AMI_CLI_SECRET is the lab's published value: set a secret of your own (or PINVERIFY_LAB=1 on a lab machine)",
    ]);
  });
});

describe('admission control settings', () => {
  it('defaults the pool wait to 500 ms and refuses the removed queue-length setting by name', () => {
    expect(loadAppConfig(PRODUCTION).OVERLOAD_POOL_WAIT_MS).toBe(500);
    expect(loadAppConfig({ ...PRODUCTION, OVERLOAD_POOL_WAIT_MS: '800' }).OVERLOAD_POOL_WAIT_MS).toBe(800);
    expect(problemsOf({ ...PRODUCTION, OVERLOAD_POOL_WAITING: '20' })).toEqual([
      'OVERLOAD_POOL_WAITING was replaced by OVERLOAD_POOL_WAIT_MS (how long a query may wait for a Postgres connection, in ms; default 500)',
    ]);
  });
});

describe('DATABASE_POOL_SIZE', () => {
  it('defaults to 10 connections and names a value out of range', () => {
    expect(loadAppConfig(PRODUCTION).DATABASE_POOL_SIZE).toBe(10);
    expect(loadAppConfig({ ...PRODUCTION, DATABASE_POOL_SIZE: '24' }).DATABASE_POOL_SIZE).toBe(24);
    for (const [value, problem] of [
      ['1', 'DATABASE_POOL_SIZE must be at least 2'],
      ['500', 'DATABASE_POOL_SIZE must be at most 200'],
      ['2.5', 'DATABASE_POOL_SIZE must be a whole number'],
      ['many', 'DATABASE_POOL_SIZE must be a number'],
    ]) {
      expect(problemsOf({ ...PRODUCTION, DATABASE_POOL_SIZE: value ?? '' })).toEqual([
        expect.stringContaining(problem ?? ''),
      ]);
    }
  });
});
