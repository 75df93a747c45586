/**
 * Call profiles from Postgres (migration 011): the row mapping shared with the ops layer
 * (src/ops/profile-admin.ts) and the reads the app needs. Nothing is cached here: a caller that
 * caches drops its cache on NOTIFY pinverify_config (payload call_profiles), as PgConfigStore
 * does for routes.
 */
import type { CallMode, CallProfile, CodeSource, SmsAfterCall } from '../domain';
import type { Queryable } from './db';

export interface ProfileRow {
  id: number;
  name: string;
  title: string;
  enabled: boolean;
  mode: string;
  code_source: string;
  code_length: number;
  caller_id: string;
  callback_number: string;
  repeats: number;
  key_before_code: boolean;
  sms_after_call: string;
  locale: string;
  ring_timeout_seconds: number;
  retries_on_no_answer: number;
  require_contact: boolean;
}

export const PROFILE_COLUMNS =
  'id, name, title, enabled, mode, code_source, code_length, caller_id, callback_number, repeats, ' +
  'key_before_code, sms_after_call, locale, ring_timeout_seconds, retries_on_no_answer, require_contact';

export function profileFromRow(row: ProfileRow): CallProfile {
  return {
    id: row.id,
    name: row.name,
    title: row.title,
    enabled: row.enabled,
    // The columns' CHECKs keep these to known values.
    mode: row.mode as CallMode,
    codeSource: row.code_source as CodeSource,
    codeLength: row.code_length,
    callerId: row.caller_id,
    callbackNumber: row.callback_number,
    repeats: row.repeats,
    keyBeforeCode: row.key_before_code,
    smsAfterCall: row.sms_after_call as SmsAfterCall,
    locale: row.locale,
    ringTimeoutSeconds: row.ring_timeout_seconds,
    retriesOnNoAnswer: row.retries_on_no_answer,
    requireContact: row.require_contact,
  };
}

/**
 * The app's reads. Disabled profiles are returned too (enabled: false): the caller refuses them
 * with its own reason, which tells a client more than "no such profile".
 */
/** The columns a write sets, in the order of profileValues (ops writes and the demo data). */
export const PROFILE_WRITTEN_COLUMNS =
  'name, title, enabled, mode, code_source, code_length, caller_id, callback_number, repeats, ' +
  'key_before_code, sms_after_call, locale, ring_timeout_seconds, retries_on_no_answer, require_contact';

export function profileValues(p: Omit<CallProfile, 'id'>): unknown[] {
  return [
    p.name,
    p.title,
    p.enabled,
    p.mode,
    p.codeSource,
    p.codeLength,
    p.callerId,
    p.callbackNumber,
    p.repeats,
    p.keyBeforeCode,
    p.smsAfterCall,
    p.locale,
    p.ringTimeoutSeconds,
    p.retriesOnNoAnswer,
    p.requireContact,
  ];
}

export class PgProfileStore {
  constructor(private readonly db: Queryable) {}

  /** The profile an API client names, or null. */
  async findByName(name: string): Promise<CallProfile | null> {
    const { rows } = await this.db.query<ProfileRow>(
      `SELECT ${PROFILE_COLUMNS} FROM call_profiles WHERE name = $1`,
      [name],
    );
    return rows[0] ? profileFromRow(rows[0]) : null;
  }

  /** The profile whose call-back number a person dialled, or null ('' matches none). */
  async findByCallbackNumber(number: string): Promise<CallProfile | null> {
    if (number === '') return null;
    const { rows } = await this.db.query<ProfileRow>(
      `SELECT ${PROFILE_COLUMNS} FROM call_profiles WHERE callback_number = $1`,
      [number],
    );
    return rows[0] ? profileFromRow(rows[0]) : null;
  }

  /** Every profile, by name. */
  async list(): Promise<CallProfile[]> {
    const { rows } = await this.db.query<ProfileRow>(
      `SELECT ${PROFILE_COLUMNS} FROM call_profiles ORDER BY name`,
    );
    return rows.map(profileFromRow);
  }
}
