/**
 * A Clock whose time only moves when a test says so. advance() fires due timers one at a time, in
 * due-time order (ties in creation order), and lets promise callbacks settle after each, so code
 * reacting to one timer can set or cancel the next before it is considered. Deterministic: no
 * real timer ever runs.
 */
import type { Clock, TimerHandle } from '../../src/call/clock';
import { flushPromises } from './flush-promises';

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly timers = new Set<PendingTimer>();

  constructor(start: Date | number = Date.UTC(2025, 0, 15, 9, 0, 0)) {
    this.nowMs = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { at: this.nowMs + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Milliseconds until the next timer fires, or null if none is pending. */
  nextTimerIn(): number | null {
    const next = this.next();
    return next ? next.at - this.nowMs : null;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await flushPromises();
    for (let next = this.next(); next && next.at <= target; next = this.next()) {
      this.timers.delete(next);
      this.nowMs = next.at;
      next.fn();
      await flushPromises();
    }
    this.nowMs = target;
    await flushPromises();
  }

  /** Moves time to the next pending timer and fires it (and any due at the same moment). */
  async advanceToNextTimer(): Promise<void> {
    const ms = this.nextTimerIn();
    if (ms === null) throw new Error('FakeClock: no timer pending');
    await this.advance(ms);
  }

  private next(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
