import { DeadlineError, withDeadline } from '../../src/flow/with-deadline';
import { FakeClock } from '../fakes/fake-clock';
import { probe } from '../fakes/promise-probe';

describe('withDeadline', () => {
  it('passes a result through and cancels its timer', async () => {
    const clock = new FakeClock();
    await expect(withDeadline(Promise.resolve(5), 100, clock, 'x')).resolves.toBe(5);
    expect(clock.pendingTimers).toBe(0);
  });

  it('passes a rejection through', async () => {
    const clock = new FakeClock();
    await expect(withDeadline(Promise.reject(new Error('boom')), 100, clock, 'x')).rejects.toThrow('boom');
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with DeadlineError when the work takes too long, calling onTimeout first', async () => {
    const clock = new FakeClock();
    const onTimeout = jest.fn();
    const p = probe(
      withDeadline(new Promise<never>(() => undefined), 3000, clock, 'loading settings', onTimeout),
    );
    await clock.advance(2999);
    expect(p.settled).toBe(false);
    await clock.advance(1);
    expect(p.error).toBeInstanceOf(DeadlineError);
    expect(String(p.error)).toContain('loading settings did not answer within 3000 ms');
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it('ignores a late rejection', async () => {
    const clock = new FakeClock();
    let fail: (err: Error) => void = () => undefined;
    const work = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const p = probe(withDeadline(work, 10, clock, 'x'));
    await clock.advance(10);
    fail(new Error('late'));
    await clock.advance(0);
    expect(p.error).toBeInstanceOf(DeadlineError);
  });
});
