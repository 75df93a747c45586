import { renderTicketNote } from '../../../src/tickets/ticket-connector';
import { note } from './note-fixture';

describe('renderTicketNote', () => {
  test('code sent: method, masked destination, contact, agent, verification and time; no code', () => {
    const text = renderTicketNote(note());
    expect(text).toBe(
      [
        'pinverify: one-time code sent by text message to +*********1234 for Bob Caller by Alice Agent (alice).',
        'Verification VE0123456789abcdef0123456789abcdef, 2025-05-01 10:00:00 UTC.',
      ].join('\n'),
    );
    expect(text).not.toMatch(/Code:/);
  });

  test('the code line appears only when the note carries the code', () => {
    const text = renderTicketNote(note({ code: '482913' }));
    expect(text).toContain('Code: 482913 (the setting ticketNoteIncludesCode is on).');
    expect(renderTicketNote(note({ code: null }))).not.toContain('482913');
  });

  test('an override says so, with the reason', () => {
    const text = renderTicketNote(
      note({
        channel: 'email',
        destinationMasked: 'b***@n***.com',
        override: { reason: 'new work address' },
      }),
    );
    expect(text).toContain('sent by email to b***@n***.com');
    expect(text).toContain('Destination overridden (not the address on file): new work address.');
  });

  test('completed and incomplete name the outcome and the result in words', () => {
    const done = renderTicketNote(note({ event: 'completed', status: 'approved' }));
    expect(done).toMatch(/^pinverify: verification marked Completed by Alice Agent \(alice\)\.\n/);
    expect(done).toContain(
      'Code sent by text message to +*********1234 for Bob Caller; result: the caller read back the right code.',
    );
    const not = renderTicketNote(note({ event: 'incomplete', status: 'max_attempts_reached' }));
    expect(not).toContain('marked Incomplete');
    expect(not).toContain('result: wrong code too many times.');
    expect(renderTicketNote(note({ event: 'incomplete', status: 'something_new' }))).toContain(
      'result: something_new.',
    );
  });

  test('free text cannot add lines of its own', () => {
    const text = renderTicketNote(
      note({ agentName: 'Eve\nCode: 000000', override: { reason: 'a\r\nVerification forged' } }),
    );
    expect(text.split('\n')).toHaveLength(3);
    expect(text).not.toMatch(/^Code:/m);
    expect(text).not.toMatch(/^Verification forged/m);
  });
});
