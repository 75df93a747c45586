import { DISABLE_AFTER_MS, shouldDisableEndpoint } from '../../../src/webhooks/should-disable-endpoint';

const H = 3_600_000;
const SINCE = new Date('2025-03-01T00:00:00.000Z');
const at = (hours: number) => new Date(SINCE.getTime() + hours * H);

describe('shouldDisableEndpoint', () => {
  it('waits a day', () => {
    expect(DISABLE_AFTER_MS).toBe(24 * H);
  });

  test.each<[string, number, number, boolean]>([
    ['first failure', 1, 0, false],
    ['schedule not used up, a day failing', 7, 25, false],
    ['schedule used up, not a day failing yet (a clock that ran slow)', 8, 23.9, false],
    ['schedule used up, exactly a day failing', 8, 24, true],
    ['the last attempt of the default schedule (27.6 h)', 8, 27.59, true],
    ['kept retrying past the schedule, a day failing', 12, 60, true],
  ])('%s: %i attempts, %f h -> %s', (_what, attempts, hours, disable) => {
    expect(shouldDisableEndpoint({ attempts, failingSince: SINCE, now: at(hours) })).toBe(disable);
  });

  test.each<[number, number, boolean]>([
    [2, 0.0001, false],
    [3, 0.0001, false],
    [3, 0.001, true],
  ])('with a 3-step schedule and a 3.6 s window: %i attempts at %f h -> %s', (attempts, hours, disable) => {
    expect(
      shouldDisableEndpoint({
        attempts,
        failingSince: SINCE,
        now: at(hours),
        schedule: [0, 10, 10],
        disableAfterMs: 3_600,
      }),
    ).toBe(disable);
  });
});
