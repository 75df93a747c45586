import { nextAttemptAt, RETRY_SCHEDULE_MS, scheduleExhausted } from '../../../src/webhooks/retry-schedule';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const T0 = new Date('2025-03-01T12:00:00.000Z');

describe('the retry schedule', () => {
  it("is Standard Webhooks' schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h", () => {
    expect(RETRY_SCHEDULE_MS).toEqual([0, 5 * S, 5 * MIN, 30 * MIN, 2 * H, 5 * H, 10 * H, 10 * H]);
  });

  it('spans more than a day from the first attempt to the last', () => {
    const total = RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total).toBe(27 * H + 35 * MIN + 5 * S);
    expect(total).toBeGreaterThanOrEqual(24 * H);
  });

  test.each<[number, number]>([
    [1, 5 * S],
    [2, 5 * MIN],
    [3, 30 * MIN],
    [4, 2 * H],
    [5, 5 * H],
    [6, 10 * H],
    [7, 10 * H],
    // Past the schedule the last delay repeats (the disable rule, not the schedule, gives up).
    [8, 10 * H],
    [20, 10 * H],
  ])('after failed attempt %i the next is %i ms later', (attempts, delay) => {
    expect(nextAttemptAt(attempts, T0).getTime() - T0.getTime()).toBe(delay);
  });

  test.each<[number, boolean]>([
    [0, false],
    [7, false],
    [8, true],
    [9, true],
  ])('after %i attempts the schedule is exhausted: %s', (attempts, exhausted) => {
    expect(scheduleExhausted(attempts)).toBe(exhausted);
  });

  it('takes a custom schedule (tests)', () => {
    const short = [0, 100, 200];
    expect(nextAttemptAt(1, T0, short).getTime() - T0.getTime()).toBe(100);
    expect(nextAttemptAt(2, T0, short).getTime() - T0.getTime()).toBe(200);
    expect(nextAttemptAt(5, T0, short).getTime() - T0.getTime()).toBe(200);
    expect(scheduleExhausted(3, short)).toBe(true);
    expect(() => nextAttemptAt(1, T0, [])).toThrow(/at least one/);
  });
});
