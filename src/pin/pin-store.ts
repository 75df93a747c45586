/** Where PIN hashes live (src/store/pg-pin-store.ts). Only hashes ever cross this interface. */
export interface PinRecord {
  contactId: number;
  hash: string;
  setAt: Date;
  setBy: string;
}

export interface PinStore {
  get(contactId: number): Promise<PinRecord | null>;
  /** Sets or replaces the contact's PIN hash. */
  set(contactId: number, hash: string, setBy: string): Promise<void>;
  /** Replaces the hash only if it is still `previous` (a re-hash must not undo a new PIN). */
  rehash(contactId: number, previous: string, hash: string): Promise<void>;
  /** Clears the contact's PIN; false when there was none. */
  clear(contactId: number): Promise<boolean>;
}
