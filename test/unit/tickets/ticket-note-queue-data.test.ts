import {
  DEFAULT_TICKET_NOTE_RETRY,
  fromTicketNoteJob,
  ticketNoteRetrySpanSeconds,
  toTicketNoteJob,
} from '../../../src/tickets/ticket-note-queue';
import { note } from './note-fixture';

describe('ticket note jobs', () => {
  test('dates as ISO strings; no code key unless the note carries one; round trip', () => {
    const plain = toTicketNoteJob(note());
    expect(plain.at).toBe('2025-05-01T10:00:00.000Z');
    expect(plain).not.toHaveProperty('code');
    expect(JSON.parse(JSON.stringify(plain))).toEqual(plain);
    expect(fromTicketNoteJob(JSON.parse(JSON.stringify(plain)))).toEqual(note());
    const withCode = toTicketNoteJob(note({ code: '482913' }));
    expect(withCode.code).toBe('482913');
    expect(fromTicketNoteJob(withCode)).toEqual(note({ code: '482913' }));
  });

  test('data that is not a note is refused, not guessed at', () => {
    expect(fromTicketNoteJob({ ...toTicketNoteJob(note()), event: 'deleted' })).toBeNull();
    expect(fromTicketNoteJob({ ...toTicketNoteJob(note()), at: 'yesterday' })).toBeNull();
    expect(fromTicketNoteJob(null)).toBeNull();
  });

  test('the default retries span about a day (17 h to 34 h after the first attempt)', () => {
    expect(DEFAULT_TICKET_NOTE_RETRY).toEqual({ limit: 11, delaySeconds: 30, backoff: true });
    const { min, max } = ticketNoteRetrySpanSeconds(DEFAULT_TICKET_NOTE_RETRY);
    expect(min).toBe(61_410);
    expect(max).toBe(122_820);
    expect((min + max) / 2 / 3600).toBeCloseTo(25.6, 1);
    expect(ticketNoteRetrySpanSeconds({ limit: 3, delaySeconds: 1, backoff: false })).toEqual({
      min: 3,
      max: 3,
    });
  });
});
