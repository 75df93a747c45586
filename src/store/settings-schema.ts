/**
 * Validation of configuration read from the database. Settings are edited by hand (SQL, CLI),
 * so each value is checked on its own: an out-of-range value is reported with its key and
 * replaced by the default, and the other settings still apply.
 */
import { isSupportedCountry } from 'libphonenumber-js';
import { z } from 'zod';
import {
  guessChancePerDay,
  MAX_GUESS_CHANCE_PER_DAY,
  PIN_ABSOLUTE_MAX_LENGTH,
  PIN_ABSOLUTE_MIN_LENGTH,
  PIN_SOURCES,
  pinPolicyProblem,
  safeFailureLimit,
  safePinFailureLimit,
  type FlowSettings,
} from '../domain';
import { destinationSchema } from '../flow/destination';
import type { MessageTemplate } from '../flow/ports';
import { DEFAULT_SETTINGS } from './config-defaults';

const destination = destinationSchema;
const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const SETTING_SCHEMAS: { readonly [K in keyof FlowSettings]: z.ZodType<FlowSettings[K]> } = {
  defaultSuccessDestination: destination,
  defaultFailedDestination: destination,
  // Asterisk context names are at most 79 characters and cannot contain @ or :.
  defaultContext: z.string().regex(/^[^@:\s]{1,79}$/, 'expected an Asterisk context name'),
  // Fewer than 4 digits is guessable within the tries allowed; more than 10 is hard to type.
  codeLength: int(4, 10),
  // Long enough to read an email, short enough that a leaked code soon becomes useless.
  codeValiditySeconds: int(30, 600),
  maxTriesPerCode: int(1, 10),
  maxSendsPerCall: int(1, 10),
  maxSendsPerVerification: int(1, 10),
  resendCooldownSeconds: int(0, 600),
  // Bounded again together with codeLength (guessBoundProblem): the lockout is what makes a short code safe.
  maxFailedChecksPerContact: int(1, 1000),
  maxSendsPerDestinationPerHour: int(1, 1000),
  maxSendsPerDestinationPerDay: int(1, 10_000),
  maxSendsPerCountryPerHour: int(1, 1_000_000),
  maxSendsPerHour: int(1, 1_000_000),
  retentionDays: int(1, 3650),
  maxMenuPrompts: int(1, 10),
  menuTimeoutMs: int(1000, 60_000),
  firstDigitTimeoutMs: int(1000, 60_000),
  interDigitTimeoutMs: int(1000, 30_000),
  // Must stay well below how long a caller will wait in silence.
  sendTimeoutMs: int(1000, 60_000),
  defaultCountry: z
    .string()
    .refine((c) => isSupportedCountry(c), 'expected an ISO 3166 alpha-2 country code'),
  companyName: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine((s) => !/[{}]/.test(s), 'braces would be read as template placeholders'),
  // Bounded again together with maxFailedChecksPerContact (pinPolicyProblem).
  pinMinLength: int(PIN_ABSOLUTE_MIN_LENGTH, PIN_ABSOLUTE_MAX_LENGTH),
  pinMaxLength: int(PIN_ABSOLUTE_MIN_LENGTH, PIN_ABSOLUTE_MAX_LENGTH),
  maxPinTries: int(1, 5),
  pinSource: z.enum(PIN_SOURCES, { error: `expected one of ${PIN_SOURCES.join(', ')}` }),
  // https only off this machine: the request carries a PIN.
  pinWebhookUrl: z.string().refine((u) => u === '' || webhookUrlProblem(u) === null, {
    error: (i) => webhookUrlProblem(String(i.input)) ?? 'invalid URL',
  }),
  // A caller waits in silence meanwhile.
  pinWebhookTimeoutMs: int(500, 10_000),
  requireTicket: z.boolean(),
  ticketNoteIncludesCode: z.boolean(),
};

/** Why a URL may not receive PINs, or null: http(s) only, and plain http only to this machine. */
export function webhookUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected an absolute URL (https://...)';
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return null;
  return 'expected an https:// URL (plain http only to 127.0.0.1 or localhost)';
}

const SETTING_KEYS = Object.keys(SETTING_SCHEMAS) as (keyof FlowSettings)[];

export interface SettingIssue {
  key: string;
  /** The stored value, or undefined when the row is missing. */
  value: unknown;
  problem: string;
  /** The default used instead; undefined for an unknown key (ignored). */
  defaultValue: unknown;
}

/** Builds FlowSettings from rows of the settings table, reporting each value it could not use. */
export function parseSettings(
  rows: readonly { key: string; value: unknown }[],
  report: (issue: SettingIssue) => void,
): FlowSettings {
  const stored = new Map(rows.map((row) => [row.key, row.value]));
  const settings: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const defaultValue = DEFAULT_SETTINGS[key];
    if (!stored.has(key)) {
      report({ key, value: undefined, problem: 'missing', defaultValue });
      settings[key] = defaultValue;
      continue;
    }
    const value = stored.get(key);
    const parsed = SETTING_SCHEMAS[key].safeParse(value);
    if (parsed.success) {
      settings[key] = parsed.data;
    } else {
      report({ key, value, problem: parsed.error.issues.map((i) => i.message).join('; '), defaultValue });
      settings[key] = defaultValue;
    }
  }
  for (const key of stored.keys()) {
    // Most likely a typo of a real key, which would otherwise silently have no effect.
    if (!(key in SETTING_SCHEMAS)) {
      report({ key, value: stored.get(key), problem: 'unknown setting, ignored', defaultValue: undefined });
    }
  }
  const parsedSettings = settings as unknown as FlowSettings;
  const bound = guessBoundProblem(parsedSettings);
  if (bound) {
    // A combination edited by hand that gives guessers too good a chance: keep the code
    // length (callers and templates depend on it) and tighten the lockout instead.
    const safe = safeFailureLimit(parsedSettings.codeLength);
    report({
      key: 'maxFailedChecksPerContact',
      value: parsedSettings.maxFailedChecksPerContact,
      problem: bound,
      defaultValue: safe,
    });
    parsedSettings.maxFailedChecksPerContact = safe;
  }
  if (parsedSettings.pinMaxLength < parsedSettings.pinMinLength) {
    report({
      key: 'pinMaxLength',
      value: parsedSettings.pinMaxLength,
      problem: `below pinMinLength ${parsedSettings.pinMinLength}`,
      defaultValue: parsedSettings.pinMinLength,
    });
    parsedSettings.pinMaxLength = parsedSettings.pinMinLength;
  }
  const pinBound = pinPolicyProblem(parsedSettings);
  if (pinBound) {
    // As above: PINs already set keep working, so the lockout is what tightens.
    const safe = safePinFailureLimit(parsedSettings.pinMinLength);
    report({
      key: 'maxFailedChecksPerContact',
      value: parsedSettings.maxFailedChecksPerContact,
      problem: pinBound,
      defaultValue: safe,
    });
    parsedSettings.maxFailedChecksPerContact = safe;
  }
  return parsedSettings;
}

/**
 * Settings that together give a guesser more than a 1 in 10,000 chance per contact per day
 * (failures allowed a day / 10^codeLength; NIST SP 800-63B's 100 failures against 6 digits is
 * that bound). Null when they are fine.
 */
export function guessBoundProblem(
  s: Pick<FlowSettings, 'codeLength' | 'maxFailedChecksPerContact'>,
): string | null {
  const chance = guessChancePerDay(s.maxFailedChecksPerContact, s.codeLength);
  if (chance <= MAX_GUESS_CHANCE_PER_DAY) return null;
  return (
    `maxFailedChecksPerContact ${s.maxFailedChecksPerContact} with codeLength ${s.codeLength} gives a guesser ` +
    `1 in ${Math.round(1 / chance).toLocaleString('en-US')} per contact per day; at most 1 in 10,000 is allowed ` +
    `(lower maxFailedChecksPerContact to ${safeFailureLimit(s.codeLength)} or raise codeLength)`
  );
}

/** Why a stored template cannot be used, or null when it is fine. */
export function templateProblem(template: MessageTemplate): string | null {
  if (!template.text.includes('{code}')) return 'text has no {code} placeholder';
  if (template.channel === 'email') {
    if (!template.subject?.trim()) return 'email template has no subject';
    if (template.html !== null && !template.html.includes('{code}')) return 'html has no {code} placeholder';
  }
  return null;
}

/** One line per setting, for `pinverify settings show` and the API description. */
export const SETTING_DOCS: { readonly [K in keyof FlowSettings]: string } = {
  defaultSuccessDestination: 'where verified callers go when no route matches their previous hop',
  defaultFailedDestination: 'where unverified callers go when no route matches their previous hop',
  defaultContext: 'dialplan context of destinations written without @context',
  codeLength: 'digits in a one-time code (4-10)',
  codeValiditySeconds: 'how long a code stays valid, in seconds (30-600)',
  maxTriesPerCode: 'checks allowed per verification (per code) before it is max_attempts_reached (1-10)',
  maxSendsPerCall: 'codes sent per call, first send and resends together (1-10)',
  maxSendsPerVerification: 'sends of one verification, first send and resends together (1-10)',
  resendCooldownSeconds: 'wait before the same code may be sent again, in seconds (0-600)',
  maxFailedChecksPerContact:
    'failed checks per contact in a rolling 24 h before new verifications are refused as locked (1-1000; with codeLength at most 1 in 10,000 guess chance a day)',
  maxSendsPerDestinationPerHour: 'codes sent to one number or email address per hour (1-1000)',
  maxSendsPerDestinationPerDay: 'codes sent to one number or email address per 24 h (1-10000)',
  maxSendsPerCountryPerHour:
    'text messages per country calling code per hour; tripping it raises an alarm (SMS pumping)',
  maxSendsPerHour: 'codes sent per hour overall, every channel; tripping it raises an alarm',
  retentionDays: 'days verifications, calls and call events are kept (1-3650)',
  maxMenuPrompts: 'times the email/SMS menu is played before giving up (1-10)',
  menuTimeoutMs: 'wait for a menu choice, in ms (1000-60000)',
  firstDigitTimeoutMs: 'wait for the first digit of the code, in ms (1000-60000)',
  interDigitTimeoutMs: 'wait between digits of the code, in ms (1000-30000)',
  sendTimeoutMs: 'deadline for the mail server or SMS provider to accept a code, in ms (1000-60000)',
  defaultCountry: 'ISO country of caller IDs and numbers written without +country code',
  companyName: 'company name used in messages ({company})',
  pinMinLength:
    'shortest PIN that may be set (4-10; with maxFailedChecksPerContact at most 1 in 1,000 guess chance a day)',
  pinMaxLength: 'longest PIN that may be set, and the most digits a caller may key (4-10)',
  maxPinTries: 'PIN tries per call (1-5); wrong PINs also count toward maxFailedChecksPerContact',
  pinSource:
    "where PINs are checked: database (argon2id hashes in pinverify) or webhook (the customer's CRM)",
  pinWebhookUrl: 'the CRM URL pinverify POSTs {caller, pin, route} to, signed (pinSource webhook)',
  pinWebhookTimeoutMs: 'deadline for the CRM to answer a PIN check, in ms (500-10000)',
  requireTicket: 'the desk sends no code until the agent gives a ticket reference (true/false)',
  ticketNoteIncludesCode:
    'ticket notes include the code itself (true/false; off by default: a code in a ticket can be replayed)',
};
