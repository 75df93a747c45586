import { FakeClock } from '../fakes/fake-clock';

describe('FakeClock', () => {
  it('fires due timers in time order, then creation order, and moves now()', async () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`c@${clock.now().getTime()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now().getTime()}`));
    clock.setTimer(10, () => fired.push(`b@${clock.now().getTime()}`));
    await clock.advance(20);
    expect(fired).toEqual(['a@1010', 'b@1010']);
    expect(clock.now().getTime()).toBe(1020);
    await clock.advance(100);
    expect(fired).toEqual(['a@1010', 'b@1010', 'c@1030']);
    expect(clock.now().getTime()).toBe(1120);
  });

  it('does not fire cancelled timers', async () => {
    const clock = new FakeClock();
    const fn = jest.fn();
    clock.setTimer(5, fn).cancel();
    await clock.advance(10);
    expect(fn).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets promise callbacks run between timers, so a timer set in reaction also fires', async () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    clock.setTimer(10, () => {
      void Promise.resolve().then(() => clock.setTimer(5, () => fired.push(clock.now().getTime())));
    });
    await clock.advance(20);
    expect(fired).toEqual([15]);
  });

  it('advanceToNextTimer jumps to the next timer', async () => {
    const clock = new FakeClock(0);
    const fn = jest.fn();
    clock.setTimer(250, fn);
    expect(clock.nextTimerIn()).toBe(250);
    await clock.advanceToNextTimer();
    expect(fn).toHaveBeenCalled();
    expect(clock.now().getTime()).toBe(250);
    await expect(clock.advanceToNextTimer()).rejects.toThrow(/no timer pending/);
  });
});
