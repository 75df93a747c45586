/**
 * What the verification service needs from storage. The Postgres adapter
 * (src/store/pg-verification-store.ts) runs `atomically` as one transaction with advisory locks,
 * so every limit holds across app instances; test/fakes has an in-memory one with the same
 * semantics for unit tests.
 */
import type { SendCounts, Verification, VerificationChannel, VerificationStatus } from '../domain';

export interface SendRecord {
  verificationId: string;
  /** Keyed hash of the destination: the limit tables hold no number or address. */
  destinationKey: string;
  /** Country calling code of a phone destination ("1", "44"), null for email. */
  countryCode: string | null;
  channel: VerificationChannel;
  at: Date;
}

export interface VerificationFilter {
  contactId?: number;
  status?: VerificationStatus;
  callId?: string;
  limit?: number;
}

/** Work inside one transaction. Locks are taken in one order: verification row, contact, send counters. */
export interface VerificationTx {
  /** The verification, locked until the transaction ends. */
  load(id: string): Promise<Verification | null>;
  insert(v: Verification): Promise<void>;
  save(v: Verification): Promise<void>;
  /** Serialises everything that reads or adds a contact's failures. */
  lockContact(contactId: number): Promise<void>;
  /** Times of the contact's failed checks after `since` that an operator has not cleared. */
  failuresSince(contactId: number, since: Date): Promise<Date[]>;
  recordFailure(contactId: number, verificationId: string, at: Date): Promise<void>;
  /** Serialises send reservations, so two instances cannot both take the last send. */
  lockSends(): Promise<void>;
  sendCounts(destinationKey: string, countryCode: string | null, now: Date): Promise<SendCounts>;
  recordSend(send: SendRecord): Promise<void>;
}

export interface VerificationStore {
  atomically<T>(work: (tx: VerificationTx) => Promise<T>): Promise<T>;
  get(id: string): Promise<Verification | null>;
  list(filter: VerificationFilter): Promise<Verification[]>;
  failuresSince(contactId: number, since: Date): Promise<Date[]>;
  /** Clears the contact's failures after `since` (kept, marked cleared). Returns how many. */
  clearFailures(contactId: number, since: Date, at: Date): Promise<number>;
  /** Clears the send counts of these destination keys after `since`. Returns how many. */
  clearSends(destinationKeys: string[], since: Date): Promise<number>;
}
