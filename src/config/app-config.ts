import { z } from 'zod';

/**
 * The app's process configuration: where the PBX, database and providers are, and the secrets.
 * Read from the environment once at boot and validated as a whole, so an operator sees every
 * problem in one message instead of fixing them one restart at a time. Call-flow settings that
 * ops change day to day (destinations, code length, ...) live in Postgres, not here.
 */
const url = (what: string) =>
  z.string({ error: `${what} is required` }).url({ error: `${what} must be a URL` });
const port = (what: string) =>
  z.coerce
    .number({ error: `${what} must be a port number` })
    .int()
    .min(1, { error: `${what} must be a port number` })
    .max(65535, { error: `${what} must be a port number` });

export const appConfigSchema = z.object({
  /** ARI base URL, e.g. http://127.0.0.1:8088 */
  ARI_URL: url('ARI_URL'),
  ARI_USER: z.string({ error: 'ARI_USER is required' }).min(1, { error: 'ARI_USER is required' }),
  ARI_PASSWORD: z.string({ error: 'ARI_PASSWORD is required' }).min(1, { error: 'ARI_PASSWORD is required' }),
  /** Stasis application name; the dialplan's Stasis() must use the same. */
  ARI_APP: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'ARI_APP may hold letters, digits, - and _' })
    .default('pinverify'),
  AMI_HOST: z.string().default('127.0.0.1'),
  AMI_PORT: port('AMI_PORT').default(5038),
  AMI_USER: z.string({ error: 'AMI_USER is required' }).min(1, { error: 'AMI_USER is required' }),
  AMI_SECRET: z.string({ error: 'AMI_SECRET is required' }).min(1, { error: 'AMI_SECRET is required' }),
  /** The ops CLI's own AMI user (read events, ShowDialPlan); the app itself never logs in with it. */
  AMI_CLI_USER: z.string().optional(),
  AMI_CLI_SECRET: z.string().optional(),
  DATABASE_URL: z
    .string({ error: 'DATABASE_URL is required' })
    .regex(/^postgres(ql)?:\/\//, { error: 'DATABASE_URL must be a postgres:// URL' }),
  /**
   * Connections this instance keeps to Postgres. A call holds one only for the length of a query or
   * a short transaction; 10 carries the bail-out path at the lab's highest rates, and long calls
   * with codes (a send and three checks each) at about 25 calls/s (README, "Benchmark"). Every
   * instance adds its own: keep the sum under the server's max_connections.
   */
  DATABASE_POOL_SIZE: z.coerce
    .number({ error: 'DATABASE_POOL_SIZE must be a number' })
    .int({ error: 'DATABASE_POOL_SIZE must be a whole number' })
    .min(2, { error: 'DATABASE_POOL_SIZE must be at least 2' })
    .max(200, { error: 'DATABASE_POOL_SIZE must be at most 200' })
    .default(10),
  /** HMAC key for one-time codes. Changing it invalidates codes in flight, nothing else. */
  PINVERIFY_CODE_SECRET: z
    .string({ error: 'PINVERIFY_CODE_SECRET is required (at least 16 random characters)' })
    .min(16, { error: 'PINVERIFY_CODE_SECRET must be at least 16 characters' }),
  /**
   * Signing secret for PIN checks sent to the customer's CRM (settings pinSource webhook), in
   * Standard Webhooks form: "whsec_" + base64 of 24 to 64 random bytes. Optional until used.
   */
  PINVERIFY_PIN_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, {
      error: 'PINVERIFY_PIN_WEBHOOK_SECRET must be whsec_ followed by base64 of at least 24 random bytes',
    })
    .optional(),
  /**
   * Outbound verification calls (#12): how Asterisk dials a number, with {number} for the E.164
   * number, e.g. PJSIP/{number}@my-trunk (the lab: PJSIP/{number}@lab-pstn). Unset: no calls.
   */
  OUTBOUND_DIAL: z
    .string()
    .regex(/^[A-Za-z]+\/.*\{number\}/, {
      error: 'OUTBOUND_DIAL must be a dial string with {number}, e.g. PJSIP/{number}@my-trunk',
    })
    .optional(),
  /** Outbound calls dialled per second, over every app instance (the pace of the call queue). */
  OUTBOUND_CALLS_PER_SECOND: z.coerce
    .number({ error: 'OUTBOUND_CALLS_PER_SECOND must be a number' })
    .positive({ error: 'OUTBOUND_CALLS_PER_SECOND must be above 0' })
    .max(50)
    .default(1),
  /** Outbound calls ringing or talking at once, over every app instance. */
  OUTBOUND_MAX_CALLS: z.coerce
    .number({ error: 'OUTBOUND_MAX_CALLS must be a number' })
    .int()
    .min(1)
    .max(1000)
    .default(10),
  /** On SIGTERM, how long calls in progress may take to finish before they are routed (ms). */
  SHUTDOWN_DRAIN_MS: z.coerce
    .number({ error: 'SHUTDOWN_DRAIN_MS must be a number of milliseconds' })
    .int()
    .min(0)
    .max(600_000)
    .default(20_000),
  /** Admission control: the most calls in verification at once; beyond, calls are shed (overloaded). */
  MAX_CALLS_IN_APP: z.coerce.number({ error: 'MAX_CALLS_IN_APP must be a number' }).int().min(1).default(250),
  /** Admission control: shed new calls while the event loop's p99 delay is over this (ms). */
  OVERLOAD_EVENT_LOOP_LAG_MS: z.coerce
    .number({ error: 'OVERLOAD_EVENT_LOOP_LAG_MS must be a number' })
    .int()
    .min(10)
    .default(200),
  /** Admission control: shed new calls while a query waits longer than this (ms) for a Postgres connection, for a whole second. */
  OVERLOAD_POOL_WAIT_MS: z.coerce
    .number({ error: 'OVERLOAD_POOL_WAIT_MS must be a number' })
    .int()
    .min(10)
    .default(500),
  /** Removed in 0.2 (a queue length said little): refused by name so an old env file is noticed. */
  OVERLOAD_POOL_WAITING: z
    .undefined({
      error:
        'OVERLOAD_POOL_WAITING was replaced by OVERLOAD_POOL_WAIT_MS (how long a query may wait for a Postgres connection, in ms; default 500)',
    })
    .optional(),
  /**
   * "1" only in a lab: accepts the lab's published secrets and lets SMTP go without TLS. Anywhere
   * else those secrets are refused at boot and SMTP must use TLS (STARTTLS or SMTP_SECURE).
   */
  PINVERIFY_LAB: z
    .enum(['0', '1'], { error: 'PINVERIFY_LAB must be 0 or 1' })
    .default('0')
    .transform((v) => v === '1'),
  /** Refuse to send mail over a connection without TLS (default: on, except in the lab). */
  SMTP_REQUIRE_TLS: z
    .enum(['true', 'false'], { error: 'SMTP_REQUIRE_TLS must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true')),
  SMTP_HOST: z.string({ error: 'SMTP_HOST is required' }).min(1, { error: 'SMTP_HOST is required' }),
  SMTP_PORT: port('SMTP_PORT').default(587),
  SMTP_SECURE: z
    .enum(['true', 'false'], { error: 'SMTP_SECURE must be true or false' })
    .default('false')
    .transform((v) => v === 'true'),
  SMTP_USER: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
  SMTP_FROM: z
    .string({ error: 'SMTP_FROM is required (the sender address)' })
    .min(3, { error: 'SMTP_FROM is required (the sender address)' }),
  TWILIO_ACCOUNT_SID: z
    .string({ error: 'TWILIO_ACCOUNT_SID is required' })
    .regex(/^AC[0-9a-fA-F]{32}$/, { error: 'TWILIO_ACCOUNT_SID must look like AC + 32 hex digits' }),
  TWILIO_AUTH_TOKEN: z
    .string({ error: 'TWILIO_AUTH_TOKEN is required' })
    .min(1, { error: 'TWILIO_AUTH_TOKEN is required' }),
  TWILIO_FROM: z
    .string({ error: 'TWILIO_FROM is required (the E.164 number texts come from)' })
    .regex(/^\+[1-9][0-9]{6,14}$/, { error: 'TWILIO_FROM must be an E.164 number like +12025550100' }),
  /** Only for the lab's Twilio-API sink; unset in production. */
  TWILIO_API_BASE_URL: url('TWILIO_API_BASE_URL').optional(),
  /** The admin HTTP API (README, "Admin HTTP API"). Loopback by default: put a TLS proxy in front to expose it. */
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port (tests); "off" disables the API. */
  ADMIN_PORT: z
    .union([z.literal('off'), port('ADMIN_PORT'), z.coerce.number().int().min(0).max(0)], {
      error: 'ADMIN_PORT must be a port number or off',
    })
    .default(8090),
  /** Admin API requests per minute per API key (or per address without a key), across instances. */
  ADMIN_RATE_LIMIT_PER_MINUTE: z.coerce
    .number({ error: 'ADMIN_RATE_LIMIT_PER_MINUTE must be a number' })
    .int()
    .min(1)
    .default(600),
  /** Failed API key attempts per minute per address before it must wait. */
  ADMIN_AUTH_FAILURES_PER_MINUTE: z.coerce
    .number({ error: 'ADMIN_AUTH_FAILURES_PER_MINUTE must be a number' })
    .int()
    .min(1)
    .default(10),
  /**
   * The desk's session cookie is Secure (sent over HTTPS only): default on, except in the lab,
   * whose desk is plain HTTP on 127.0.0.1. Behind a TLS proxy leave it on.
   */
  DESK_COOKIE_SECURE: z
    .enum(['true', 'false'], { error: 'DESK_COOKIE_SECURE must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true')),
  LOG_LEVEL: z
    .enum(['error', 'warn', 'info', 'debug'], { error: 'LOG_LEVEL must be error, warn, info or debug' })
    .default('info'),
  /** A JSON log file in addition to stdout (the lab sets .lab/app.log through stdout redirection). */
  LOG_FILE: z.string().optional(),
});

export type AppConfig = z.infer<typeof appConfigSchema>;

/**
 * Secrets published in this repository for the lab (scripts/lab-env.sh, docker-compose.yml).
 * Outside a lab they would be the first thing an attacker tries.
 */
const LAB_SECRET_VALUES = new Set([
  'pinverify-lab-ari',
  'pinverify-lab-ami',
  'pinverify-lab-ami-cli',
  'lab-twilio-token',
  'softphone-lab',
]);
const SECRET_KEYS = [
  'ARI_PASSWORD',
  'AMI_SECRET',
  'AMI_CLI_SECRET',
  'PINVERIFY_CODE_SECRET',
  'PINVERIFY_PIN_WEBHOOK_SECRET',
  'SMTP_PASSWORD',
  'TWILIO_AUTH_TOKEN',
] as const;

/** Problems with lab secrets used outside the lab (none when PINVERIFY_LAB=1). */
export function labSecretProblems(
  cfg: Pick<AppConfig, 'PINVERIFY_LAB' | (typeof SECRET_KEYS)[number]>,
): string[] {
  // The example environment file's placeholders (deploy/systemd/pinverify.env.example).
  const placeholders = SECRET_KEYS.filter((k) => /^change-me/i.test(cfg[k] ?? '')).map(
    (k) => `${k} is still the example's placeholder "change-me": set a secret of your own`,
  );
  if (cfg.PINVERIFY_LAB) return placeholders;
  return [
    ...placeholders,
    ...SECRET_KEYS.filter((k) => {
      const v = cfg[k];
      return typeof v === 'string' && (v.startsWith('lab-only-') || LAB_SECRET_VALUES.has(v));
    }).map(
      (k) =>
        `${k} is the lab's published value: set a secret of your own (or PINVERIFY_LAB=1 on a lab machine)`,
    ),
  ];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws one ConfigError listing every problem. */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = appConfigSchema.safeParse(env);
  if (parsed.success) {
    const lab = labSecretProblems(parsed.data);
    if (lab.length > 0) throw new ConfigError(lab);
    return parsed.data;
  }
  const problems = parsed.error.issues.map((i) => {
    const key = i.path.join('.');
    return i.message.includes(key) ? i.message : `${key}: ${i.message}`;
  });
  throw new ConfigError(problems);
}
