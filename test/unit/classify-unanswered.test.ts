import { classifyUnanswered, type UnansweredEnd } from '../../src/outbound/classify-unanswered';

describe('classifyUnanswered', () => {
  test.each<[string, UnansweredEnd, string]>([
    ['486 Busy Here', { cause: 17, techCause: 486, timedOut: false }, 'busy'],
    ['600 Busy Everywhere', { cause: 17, techCause: 600, timedOut: false }, 'busy'],
    ['cause 17 without a SIP code', { cause: 17, timedOut: false }, 'busy'],
    ['603 Decline', { cause: 21, techCause: 603, timedOut: false }, 'rejected'],
    ['403 Forbidden', { cause: 21, techCause: 403, timedOut: false }, 'rejected'],
    ['480 Temporarily Unavailable', { cause: 19, techCause: 480, timedOut: false }, 'no_answer'],
    ['408 Request Timeout', { cause: 18, techCause: 408, timedOut: false }, 'no_answer'],
    ['our ring timer', { cause: 16, lastState: 'Ringing', timedOut: true }, 'no_answer'],
    ['cause 0 from a ringing channel', { cause: 0, lastState: 'Ringing', timedOut: false }, 'no_answer'],
    ['cause 0 from a channel that never rang', { cause: 0, lastState: 'Down', timedOut: false }, 'failed'],
    ['503 congestion', { cause: 34, techCause: 503, timedOut: false }, 'failed'],
    ['404 unallocated number', { cause: 1, techCause: 404, timedOut: false }, 'failed'],
    ['nothing known', { timedOut: false }, 'failed'],
  ])('%s -> %s', (_what, end, status) => {
    expect(classifyUnanswered(end)).toBe(status);
  });
});
