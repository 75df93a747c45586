/**
 * What the verification service needs from storage. The Postgres adapter
 * (src/store/pg-verification-store.ts) runs `atomically` as one transaction with advisory locks,
 * so every limit holds across app instances; test/fakes has an in-memory one with the same
 * semantics for unit tests.
 */
import type {
  SendCounts,
  SendLimits,
  Verification,
  VerificationChannel,
  VerificationStatus,
} from '../domain';

export interface SendRecord {
  verificationId: string;
  /** Keyed hash of the destination: the limit tables hold no number or address. */
  destinationKey: string;
  /** Country calling code of a phone destination ("1", "44"), null for email. */
  countryCode: string | null;
  channel: VerificationChannel;
  at: Date;
}

/** A send reservation's answer: the counts are those before this send (for the refusal's wording). */
export interface SendReservation {
  reserved: boolean;
  counts: SendCounts;
}

/**
 * Takes one send if every send limit allows it: counts and records it under the send lock in a
 * single statement, so two instances cannot both take the last send. The lock is released when
 * the enclosing transaction ends; called on the store (outside a transaction), that is before
 * the answer reaches the app.
 */
export interface SendReserver {
  reserveSend(send: SendRecord, limits: SendLimits): Promise<SendReservation>;
}

export interface VerificationFilter {
  contactId?: number;
  status?: VerificationStatus;
  callId?: string;
  limit?: number;
}

/** Work inside one transaction. Locks are taken in one order: verification row, contact, send counters. */
export interface VerificationTx extends SendReserver {
  /** The verification, locked until the transaction ends. */
  load(id: string): Promise<Verification | null>;
  insert(v: Verification): Promise<void>;
  /** Updates the verification and, for a failed check, records the failure against its contact. */
  save(v: Verification, failure?: { contactId: number; at: Date }): Promise<void>;
  /**
   * Takes the contact's lock (serialising everything that reads or adds its failures) and
   * returns the times of its failed checks after `since` that an operator has not cleared, read
   * once the lock is held.
   */
  lockContact(contactId: number, since: Date): Promise<Date[]>;
}

/**
 * `reserveSend` on the store runs on its own (committed at once, the send lock held only inside
 * the database): new verifications reserve their first send that way, then insert, and give the
 * reservation back with `releaseSend` if the insert does not happen.
 */
export interface VerificationStore extends SendReserver {
  /** Gives back a reservation whose verification was not made (the contact was locked, the insert failed). */
  releaseSend(send: SendRecord): Promise<void>;
  atomically<T>(work: (tx: VerificationTx) => Promise<T>): Promise<T>;
  get(id: string): Promise<Verification | null>;
  list(filter: VerificationFilter): Promise<Verification[]>;
  failuresSince(contactId: number, since: Date): Promise<Date[]>;
  /** Clears the contact's failures after `since` (kept, marked cleared). Returns how many. */
  clearFailures(contactId: number, since: Date, at: Date): Promise<number>;
  /** Clears the send counts of these destination keys after `since`. Returns how many. */
  clearSends(destinationKeys: string[], since: Date): Promise<number>;
}
