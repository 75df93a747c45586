import type { ContactDirectory } from '../../src/flow/ports';
import type { Contact } from '../../src/domain';
import { behave, type Behaviour } from './fake-behaviour';

export interface DirectoryEntry {
  contact: Contact;
  /** E.164 numbers the contact can call from. */
  phones: string[];
}

export class FakeContactDirectory implements ContactDirectory {
  behaviour: Behaviour = 'ok';
  readonly lookups: Array<{ e164: string; limit: number }> = [];

  constructor(readonly entries: DirectoryEntry[] = []) {}

  async findByPhone(e164: string, limit: number): Promise<Contact[]> {
    this.lookups.push({ e164, limit });
    await behave(this.behaviour, 'findByPhone');
    return this.entries
      .filter((e) => e.phones.includes(e164))
      .map((e) => e.contact)
      .slice(0, limit);
  }

  async findById(id: number): Promise<Contact | null> {
    await behave(this.behaviour, 'findById');
    return this.entries.find((e) => e.contact.id === id)?.contact ?? null;
  }
}
