import type { PinCheckAnswer, PinChecker, PinCheckRequest, PinSourceSettings } from '../../src/flow/ports';
import type { Contact } from '../../src/domain';
import { behave, type Behaviour } from './fake-behaviour';

/**
 * PINs by contact id for the `database` source, and a CRM answer for the `webhook` source. The
 * real argon2 hashing and the real webhook are proven in the integration tests; the flow only
 * needs the answers and their failures.
 */
export class FakePinChecker implements PinChecker {
  behaviour: Behaviour = 'ok';
  readonly pins = new Map<number, string>();
  readonly checks: PinCheckRequest[] = [];
  /** The CRM's answer (pinSource webhook). */
  crm: (req: PinCheckRequest) => PinCheckAnswer = () => ({ match: false, contactId: null });

  constructor(pins: Record<number, string> = {}) {
    for (const [id, pin] of Object.entries(pins)) this.pins.set(Number(id), pin);
  }

  async hasPin(contact: Contact, s: PinSourceSettings): Promise<boolean | null> {
    if (s.pinSource === 'webhook') return null;
    await behave(this.behaviour, 'hasPin');
    return this.pins.has(contact.id);
  }

  async check(req: PinCheckRequest, s: PinSourceSettings): Promise<PinCheckAnswer> {
    this.checks.push(req);
    await behave(this.behaviour, 'check');
    if (s.pinSource === 'webhook') return this.crm(req);
    const pin = req.contact ? this.pins.get(req.contact.id) : undefined;
    return { match: pin !== undefined && pin === req.pin, contactId: req.contact?.id ?? null };
  }
}
