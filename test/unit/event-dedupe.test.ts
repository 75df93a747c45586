import { createEventDeduper } from '../../src/ari/event-dedupe';

/** The repeated-event filter, as a table over one deduper and a fake clock (ms). */
describe('createEventDeduper', () => {
  const T1 = '2026-12-03T13:00:00.123+0000';
  const T2 = '2026-12-03T13:00:00.388+0000';
  const dtmf = (timestamp: string | undefined, about = 'c1|5') => ({
    type: 'ChannelDtmfReceived',
    timestamp,
    about,
  });

  test.each([
    ['the first event', [[dtmf(T1), 0]], [false]],
    [
      'the same event again at once',
      [
        [dtmf(T1), 0],
        [dtmf(T1), 1],
      ],
      [false, true],
    ],
    [
      'the same key pressed twice (another instant)',
      [
        [dtmf(T1), 0],
        [dtmf(T2), 260],
      ],
      [false, false],
    ],
    [
      'the same instant on another channel',
      [
        [dtmf(T1), 0],
        [dtmf(T1, 'c2|5'), 1],
      ],
      [false, false],
    ],
    [
      'the same instant, another digit',
      [
        [dtmf(T1), 0],
        [dtmf(T1, 'c1|6'), 1],
      ],
      [false, false],
    ],
    [
      'the same instant, another event type',
      [
        [dtmf(T1), 0],
        [{ type: 'StasisStart', timestamp: T1, about: 'c1|5' }, 1],
      ],
      [false, false],
    ],
    [
      'events without a timestamp are never repeats',
      [
        [dtmf(undefined), 0],
        [dtmf(undefined), 1],
      ],
      [false, false],
    ],
    [
      'a repeat within the next window still is one',
      [
        [dtmf(T1), 4000],
        [dtmf(T1), 6000],
      ],
      [false, true],
    ],
    [
      'forgotten after two windows',
      [
        [dtmf(T1), 0],
        [dtmf(T1), 10_000],
      ],
      [false, false],
    ],
  ] as const)('%s', (_what, steps, expected) => {
    const d = createEventDeduper(5000);
    expect(steps.map(([e, at]) => d.repeated(e, at))).toEqual(expected);
  });

  test('memory stays bounded: old generations are dropped', () => {
    const d = createEventDeduper(1000);
    for (let i = 0; i < 100_000; i++) d.repeated(dtmf(`t${i}`), i);
    // The key from the start was forgotten long ago; the one just seen is remembered.
    expect(d.repeated(dtmf('t0'), 100_000)).toBe(false);
    expect(d.repeated(dtmf('t99999'), 100_000)).toBe(true);
  });
});
