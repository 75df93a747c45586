import type { TicketNote } from '../../../src/tickets/ticket-connector';

/** A note as the desk writes it; override what a test is about. */
export function note(overrides: Partial<TicketNote> = {}): TicketNote {
  return {
    ticketRef: '12345',
    event: 'code_sent',
    agentLogin: 'alice',
    agentName: 'Alice Agent',
    contactName: 'Bob Caller',
    channel: 'sms',
    destinationMasked: '+*********1234',
    verificationId: 'VE0123456789abcdef0123456789abcdef',
    status: 'pending',
    override: null,
    code: null,
    at: new Date('2025-05-01T10:00:00.000Z'),
    ...overrides,
  };
}
