/**
 * CallSession.interrupt() (the app shutting down: prompts and key entry end for good, the flow
 * can still route the caller) and the playback deadline (a PlaybackFinished event that never
 * comes must not leave the caller waiting), over a FakeChannel and a FakeClock.
 */
import { CallGoneError, CallInterruptedError } from '../../src/call/channel-control';
import { CallSession, DEFAULT_PLAYBACK_DEADLINE_MS } from '../../src/call/call-session';
import type { GatherOptions } from '../../src/call/call-verbs';
import { FakeChannel } from '../fakes/fake-channel';
import { FakeClock } from '../fakes/fake-clock';
import { flushPromises } from '../fakes/flush-promises';
import { probe } from '../fakes/promise-probe';

const DEADLINE_WARNING = 'no PlaybackFinished event in time; taking the playback as finished';

function setup(playbackDeadlineMs?: number) {
  const clock = new FakeClock();
  const channel = new FakeChannel();
  const warnings: Array<{ msg: string; meta?: Record<string, unknown> }> = [];
  const session = new CallSession(channel, clock, {
    log: { warn: (msg, meta) => warnings.push({ msg, meta }) },
    ...(playbackDeadlineMs === undefined ? {} : { playbackDeadlineMs }),
  });
  channel.connect((event) => session.handle(event));
  return { clock, channel, session, warnings };
}

const PIN: GatherOptions = {
  prompts: ['sound:enter'],
  maxDigits: 4,
  firstDigitTimeoutMs: 5000,
  interDigitTimeoutMs: 3000,
  terminator: '#',
  bailKey: '*',
};

describe('CallSession.interrupt() during a gather', () => {
  it('rejects the gather with CallInterruptedError and stops its prompt', async () => {
    const { channel, clock, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    expect(channel.activePlayback()?.id).toBe('pb-1');
    session.interrupt();
    await flushPromises();
    expect(g.settled).toBe(true);
    expect(g.error).toBeInstanceOf(CallInterruptedError);
    expect(channel.calls).toContainEqual({ op: 'stopPlayback', playbackId: 'pb-1' });
    expect(channel.playbacks[0]?.state).toBe('stopped');
    // The gather's timers (the playback deadline) died with it.
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects a gather waiting for the first digit, and its no-input timer never fires', async () => {
    const { channel, clock, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    channel.finishPlayback();
    await flushPromises();
    session.interrupt();
    await flushPromises();
    expect(g.error).toBeInstanceOf(CallInterruptedError);
    expect(clock.pendingTimers).toBe(0);
    // Nothing left to stop.
    expect(channel.ops()).toEqual(['startPlayback']);
  });

  it('rejects a gather with digits already keyed instead of returning them', async () => {
    const { channel, clock, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    channel.press('12');
    await flushPromises();
    session.interrupt();
    await flushPromises();
    expect(g.error).toBeInstanceOf(CallInterruptedError);
    expect(g.value).toBeUndefined();
    await clock.advance(PIN.interDigitTimeoutMs * 2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keys pressed after the interrupt reach no gather', async () => {
    const { channel, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    session.interrupt();
    channel.press('1234');
    await flushPromises();
    expect(g.error).toBeInstanceOf(CallInterruptedError);
    await expect(session.gather(PIN)).rejects.toBeInstanceOf(CallInterruptedError);
  });
});

describe('CallSession.interrupt() during a play', () => {
  it('rejects the play with CallInterruptedError and stops its playback', async () => {
    const { channel, clock, session } = setup();
    const p = probe(session.play(['sound:a', 'sound:b']));
    await flushPromises();
    session.interrupt();
    await flushPromises();
    expect(p.error).toBeInstanceOf(CallInterruptedError);
    expect(channel.ops()).toEqual(['startPlayback', 'stopPlayback']);
    expect(channel.playbacks[0]?.state).toBe('stopped');
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects a barge-in play the same way', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a'], { bargeIn: true }));
    await flushPromises();
    session.interrupt();
    await flushPromises();
    expect(p.error).toBeInstanceOf(CallInterruptedError);
    expect(channel.ops()).toEqual(['startPlayback', 'stopPlayback']);
  });

  it('stops a playback whose start had not answered yet once it does', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a']));
    session.interrupt(); // before startPlayback answered
    await flushPromises();
    expect(p.error).toBeInstanceOf(CallInterruptedError);
    expect(channel.ops()).toEqual(['startPlayback', 'stopPlayback']);
    expect(channel.playbacks[0]?.state).toBe('stopped');
  });

  it('the PlaybackFinished caused by the stop touches nothing afterwards', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a']));
    await flushPromises();
    session.interrupt();
    await flushPromises();
    expect(p.error).toBeInstanceOf(CallInterruptedError);
    // The flow goes on routing the caller.
    await session.setVariable('__PINVERIFY_RESULT', 'failed');
    expect(channel.variables).toEqual({ __PINVERIFY_RESULT: 'failed' });
  });
});

describe('CallSession after interrupt()', () => {
  it('rejects play and gather at once without touching the channel', async () => {
    const { channel, session } = setup();
    session.interrupt();
    await expect(session.play(['sound:a'])).rejects.toBeInstanceOf(CallInterruptedError);
    await expect(session.play(['sound:a'], { bargeIn: true })).rejects.toBeInstanceOf(CallInterruptedError);
    await expect(session.gather(PIN)).rejects.toBeInstanceOf(CallInterruptedError);
    // Even an empty play, which otherwise resolves at once.
    await expect(session.play([])).rejects.toBeInstanceOf(CallInterruptedError);
    expect(channel.attempts).toEqual([]);
  });

  it('rejects a later gather even with type-ahead digits waiting', async () => {
    const { channel, session } = setup();
    channel.press('12#');
    session.interrupt();
    await expect(session.gather(PIN)).rejects.toBeInstanceOf(CallInterruptedError);
    await expect(session.play(['sound:a'], { bargeIn: true })).rejects.toBeInstanceOf(CallInterruptedError);
    expect(channel.attempts).toEqual([]);
  });

  it('rejects later verbs after an interrupted gather too', async () => {
    const { channel, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    session.interrupt();
    await flushPromises();
    expect(g.error).toBeInstanceOf(CallInterruptedError);
    const before = channel.attempts.length;
    await expect(session.play(['sound:b'])).rejects.toBeInstanceOf(CallInterruptedError);
    await expect(session.gather(PIN)).rejects.toBeInstanceOf(CallInterruptedError);
    expect(channel.attempts).toHaveLength(before);
  });

  it('answer, setVariable and continueTo still work', async () => {
    const { channel, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    session.interrupt();
    await flushPromises();
    expect(g.error).toBeInstanceOf(CallInterruptedError);
    await session.answer();
    await session.setVariable('__PINVERIFY_REASON', 'app_restarted');
    await session.continueTo({ context: 'pinverify-destinations', exten: '2901', priority: 1 });
    expect(channel.ops()).toEqual([
      'startPlayback',
      'stopPlayback',
      'answer',
      'setVariable',
      'continueInDialplan',
    ]);
    expect(channel.variables).toEqual({ __PINVERIFY_REASON: 'app_restarted' });
    expect(channel.continuedTo).toEqual({ context: 'pinverify-destinations', exten: '2901', priority: 1 });
  });

  it('hangup still works', async () => {
    const { channel, session } = setup();
    session.interrupt();
    await session.hangup();
    expect(channel.ops()).toEqual(['hangup']);
    expect(session.gone).toBe(true);
  });

  it('does not cut short a channel verb running when it comes', async () => {
    const { channel, session } = setup();
    const set = probe(session.setVariable('A', 'b'));
    session.interrupt();
    await flushPromises();
    expect(set.settled).toBe(true);
    expect(set.error).toBeUndefined();
    expect(channel.variables).toEqual({ A: 'b' });
  });

  it('a second interrupt changes nothing', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a']));
    await flushPromises();
    session.interrupt();
    session.interrupt();
    await flushPromises();
    expect(p.error).toBeInstanceOf(CallInterruptedError);
    expect(channel.ops()).toEqual(['startPlayback', 'stopPlayback']);
  });
});

describe('CallSession.interrupt() after the hangup', () => {
  it('does nothing: verbs keep failing as gone, not as interrupted', async () => {
    const { channel, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    channel.hangupCaller();
    await flushPromises();
    expect(g.error).toBeInstanceOf(CallGoneError);
    const attempts = channel.attempts.length;
    session.interrupt();
    await flushPromises();
    expect(channel.attempts).toHaveLength(attempts);
    await expect(session.play(['sound:a'])).rejects.toBeInstanceOf(CallGoneError);
    await expect(session.gather(PIN)).rejects.toBeInstanceOf(CallGoneError);
    await expect(session.setVariable('A', 'b')).rejects.toBeInstanceOf(CallGoneError);
  });

  it('a hangup after an interrupt still ends the session as gone', async () => {
    const { channel, session } = setup();
    session.interrupt();
    channel.hangupCaller();
    expect(session.gone).toBe(true);
    await expect(session.play(['sound:a'])).rejects.toBeInstanceOf(CallGoneError);
  });
});

describe('CallSession playback deadline', () => {
  it('takes a play whose PlaybackFinished never comes as finished after playbackDeadlineMs, not before', async () => {
    const { channel, clock, session, warnings } = setup(20_000);
    const p = probe(session.play(['sound:a']));
    await clock.advance(19_999);
    expect(p.settled).toBe(false);
    expect(warnings).toEqual([]);
    await clock.advance(1);
    expect(p.settled).toBe(true);
    expect(p.value).toBeNull();
    expect(warnings).toEqual([{ msg: DEADLINE_WARNING, meta: { playbackId: 'pb-1', deadlineMs: 20_000 } }]);
    // Taken as finished, not stopped: no request to Asterisk.
    expect(channel.ops()).toEqual(['startPlayback']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('defaults to DEFAULT_PLAYBACK_DEADLINE_MS', async () => {
    expect(DEFAULT_PLAYBACK_DEADLINE_MS).toBe(60_000);
    const { clock, session } = setup();
    const p = probe(session.play(['sound:a']));
    await clock.advance(DEFAULT_PLAYBACK_DEADLINE_MS - 1);
    expect(p.settled).toBe(false);
    await clock.advance(1);
    expect(p.value).toBeNull();
  });

  it('applies to a barge-in play too', async () => {
    const { clock, session } = setup(1000);
    const p = probe(session.play(['sound:a'], { bargeIn: true }));
    await clock.advance(999);
    expect(p.settled).toBe(false);
    await clock.advance(1);
    expect(p.value).toBeNull();
  });

  it('a gather whose prompt never reports finished starts its no-input timer at the deadline', async () => {
    const { clock, session, warnings } = setup(20_000);
    const g = probe(session.gather(PIN));
    await clock.advance(20_000);
    expect(warnings.map((w) => w.msg)).toEqual([DEADLINE_WARNING]);
    await clock.advance(PIN.firstDigitTimeoutMs - 1);
    expect(g.settled).toBe(false);
    await clock.advance(1);
    expect(g.value).toEqual({ digits: '', ended: 'no_input' });
  });

  it('a gather whose prompt never reports finished still takes digits meanwhile', async () => {
    const { channel, clock, session, warnings } = setup(20_000);
    const g = probe(session.gather({ ...PIN, maxDigits: 2 }));
    await clock.advance(20_000);
    channel.press('42');
    await flushPromises();
    expect(g.value).toEqual({ digits: '42', ended: 'max' });
    expect(warnings.map((w) => w.msg)).toEqual([DEADLINE_WARNING]);
  });

  it('a late PlaybackFinished after the deadline does not reach the next verb', async () => {
    const { channel, clock, session } = setup(1000);
    const p = probe(session.play(['sound:a']));
    await clock.advance(1000);
    expect(p.value).toBeNull();
    const g = probe(session.gather(PIN));
    await flushPromises();
    channel.finishPlayback('pb-1');
    await flushPromises();
    // pb-2 (the gather's prompt) still plays: no no-input timer yet, only its own deadline.
    await clock.advance(999);
    expect(g.settled).toBe(false);
    channel.finishPlayback('pb-2');
    await clock.advance(PIN.firstDigitTimeoutMs - 1);
    expect(g.settled).toBe(false);
    await clock.advance(1);
    expect(g.value).toEqual({ digits: '', ended: 'no_input' });
  });

  it('does not fire for a play that finished normally', async () => {
    const { channel, clock, session, warnings } = setup(20_000);
    const p = probe(session.play(['sound:a']));
    await clock.advance(1000);
    channel.finishPlayback();
    await flushPromises();
    expect(p.value).toBeNull();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(60_000);
    expect(warnings).toEqual([]);
  });

  it('does not fire for a gather prompt that finished normally, nor cut its no-input wait', async () => {
    const { channel, clock, session, warnings } = setup(2000);
    const g = probe(session.gather({ ...PIN, firstDigitTimeoutMs: 5000 }));
    await clock.advance(1000);
    channel.finishPlayback();
    // The deadline would have fallen at 2 s; the no-input timer runs until 6 s.
    await clock.advance(4999);
    expect(g.settled).toBe(false);
    expect(warnings).toEqual([]);
    await clock.advance(1);
    expect(g.value).toEqual({ digits: '', ended: 'no_input' });
    expect(warnings).toEqual([]);
  });

  it('does not fire for a gather prompt stopped by the first digit', async () => {
    const { channel, clock, session, warnings } = setup(1000);
    const g = probe(session.gather(PIN));
    await clock.advance(500);
    channel.press('1');
    await clock.advance(PIN.interDigitTimeoutMs);
    expect(g.value).toEqual({ digits: '1', ended: 'inter_digit_timeout' });
    expect(warnings).toEqual([]);
  });

  it('does not fire for a barge-in play stopped by a digit', async () => {
    const { channel, clock, session, warnings } = setup(1000);
    const p = probe(session.play(['sound:a'], { bargeIn: true }));
    await clock.advance(500);
    channel.press('5');
    await flushPromises();
    expect(p.value).toBe('5');
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(5000);
    expect(warnings).toEqual([]);
  });
});
