import { CallGoneError } from '../../src/call/channel-control';
import { CallSession } from '../../src/call/call-session';
import type { GatherOptions } from '../../src/call/call-verbs';
import { FakeChannel } from '../fakes/fake-channel';
import { FakeClock } from '../fakes/fake-clock';
import { flushPromises } from '../fakes/flush-promises';
import { probe } from '../fakes/promise-probe';

function setup() {
  const clock = new FakeClock();
  const channel = new FakeChannel();
  const warnings: string[] = [];
  const session = new CallSession(channel, clock, { log: { warn: (msg) => warnings.push(msg) } });
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

describe('CallSession answer / setVariable / continueTo / hangup', () => {
  it('drives the channel', async () => {
    const { channel, session } = setup();
    await session.answer();
    await session.setVariable('__X', '1');
    await session.continueTo({ context: 'ctx', exten: '2000', priority: 1 });
    expect(channel.calls).toEqual([
      { op: 'answer' },
      { op: 'setVariable', name: '__X', value: '1' },
      { op: 'continueInDialplan', target: { context: 'ctx', exten: '2000', priority: 1 } },
    ]);
  });

  it('refuses verbs after the call continued in the dialplan', async () => {
    const { session } = setup();
    await session.continueTo({ context: 'ctx', exten: '2000', priority: 1 });
    expect(() => session.play(['sound:x'])).toThrow(/after the call continued/);
  });

  it('the channel leaving the app before Asterisk answers the continue is the continue done, not a hangup', async () => {
    const { channel, session } = setup();
    // ARI's StasisEnd can come over the websocket before the HTTP answer to the continue.
    channel.onCall = (c) => {
      if (c.op === 'continueInDialplan') channel.emit({ type: 'left' });
    };
    await expect(session.continueTo({ context: 'ctx', exten: '2000', priority: 1 })).resolves.toBeUndefined();
    expect(session.gone).toBe(true);
  });

  it('the channel leaving the app with no continue asked ends the call like a hangup', async () => {
    const { channel, session } = setup();
    channel.emit({ type: 'left' });
    expect(session.gone).toBe(true);
    await expect(session.continueTo({ context: 'c', exten: '1', priority: 1 })).rejects.toBeInstanceOf(
      CallGoneError,
    );
    expect(channel.ops()).toEqual([]);
  });

  it('hangup() hangs up and marks the session gone', async () => {
    const { channel, session } = setup();
    await session.hangup();
    expect(channel.ops()).toEqual(['hangup']);
    expect(session.gone).toBe(true);
    await expect(session.whenGone()).resolves.toBeUndefined();
  });

  it('passes other channel errors through without ending the session', async () => {
    const { channel, session } = setup();
    channel.failNext('setVariable', new Error('ARI 500'));
    await expect(session.setVariable('A', 'b')).rejects.toThrow('ARI 500');
    expect(session.gone).toBe(false);
    await session.answer();
  });
});

describe('CallSession verbs are sequential', () => {
  it('throws when a verb is started while another runs', async () => {
    const { channel, session } = setup();
    const playing = probe(session.play(['sound:a']));
    expect(() => session.gather(PIN)).toThrow(/gather\(\) called while play\(\) is still running/);
    await flushPromises();
    channel.finishPlayback();
    await flushPromises();
    expect(playing.value).toBeNull();
    // Free again once the verb ended.
    await session.answer();
  });
});

describe('CallSession play', () => {
  it('plays the media in order and resolves null when playback finished', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a', 'sound:b']));
    await flushPromises();
    expect(channel.media).toEqual([['sound:a', 'sound:b']]);
    expect(p.settled).toBe(false);
    channel.finishPlayback();
    await flushPromises();
    expect(p.settled).toBe(true);
    expect(p.value).toBeNull();
    expect(channel.ops()).not.toContain('stopPlayback');
  });

  it('resolves at once for an empty list without touching the channel', async () => {
    const { channel, session } = setup();
    await expect(session.play([])).resolves.toBeNull();
    expect(channel.attempts).toEqual([]);
  });

  it('keeps digits pressed during a plain play as type-ahead', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a']));
    await flushPromises();
    channel.press('12');
    await flushPromises();
    expect(p.settled).toBe(false);
    channel.finishPlayback();
    await flushPromises();
    expect(p.value).toBeNull();
    await expect(session.gather({ ...PIN, maxDigits: 2 })).resolves.toEqual({ digits: '12', ended: 'max' });
    // The gather had its digits already: its prompt never started.
    expect(channel.playbacks).toHaveLength(1);
  });

  it('with bargeIn, the first digit stops the playback and is returned', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a'], { bargeIn: true }));
    await flushPromises();
    channel.press('7');
    await flushPromises();
    expect(p.value).toBe('7');
    expect(channel.calls).toContainEqual({ op: 'stopPlayback', playbackId: 'pb-1' });
  });

  it('with bargeIn, later digits stay for the next verb', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a'], { bargeIn: true }));
    await flushPromises();
    channel.press('78');
    await flushPromises();
    expect(p.value).toBe('7');
    await expect(session.gather({ ...PIN, maxDigits: 1 })).resolves.toEqual({ digits: '8', ended: 'max' });
  });

  it('with bargeIn, a buffered digit is returned without playing', async () => {
    const { channel, session } = setup();
    channel.press('3');
    await expect(session.play(['sound:a'], { bargeIn: true })).resolves.toBe('3');
    expect(channel.attempts).toEqual([]);
  });

  it('stops a playback whose id was not known yet when the digit came', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a'], { bargeIn: true }));
    channel.press('5'); // before startPlayback answered
    await flushPromises();
    expect(p.value).toBe('5');
    expect(channel.ops()).toEqual(['startPlayback', 'stopPlayback']);
  });

  it('accepts a playback-finished event that arrives before startPlayback answered', async () => {
    const { channel, session } = setup();
    const p = probe(session.play(['sound:a']));
    channel.emit({ type: 'playback-finished', playbackId: 'pb-1' });
    await flushPromises();
    expect(p.value).toBeNull();
  });

  it('ignores duplicate and stale playback-finished events', async () => {
    const { channel, session } = setup();
    const first = session.play(['sound:a']);
    await flushPromises();
    channel.finishPlayback('pb-1');
    channel.finishPlayback('pb-1'); // duplicate, no verb waiting for it
    await expect(first).resolves.toBeNull();
    const second = probe(session.play(['sound:b']));
    await flushPromises();
    channel.emit({ type: 'playback-finished', playbackId: 'pb-1' }); // stale
    channel.emit({ type: 'playback-finished', playbackId: 'pb-99' }); // unknown
    await flushPromises();
    expect(second.settled).toBe(false);
    channel.finishPlayback('pb-2');
    await flushPromises();
    expect(second.value).toBeNull();
  });
});

describe('CallSession gather', () => {
  it('completes at maxDigits, stopping the prompt at the first digit', async () => {
    const { channel, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    expect(channel.media).toEqual([['sound:enter']]);
    channel.press('1');
    await flushPromises();
    expect(channel.playbacks[0]?.state).toBe('stopped');
    channel.press('234');
    await flushPromises();
    expect(g.value).toEqual({ digits: '1234', ended: 'max' });
    expect(channel.ops().filter((op) => op === 'stopPlayback')).toHaveLength(1);
  });

  it('ends on the terminator, which is not part of the digits', async () => {
    const { channel, session } = setup();
    const g = session.gather(PIN);
    await flushPromises();
    channel.press('12#');
    await expect(g).resolves.toEqual({ digits: '12', ended: 'terminator' });
  });

  it('reports a lone terminator as an empty terminated entry', async () => {
    const { channel, session } = setup();
    const g = session.gather(PIN);
    await flushPromises();
    channel.press('#');
    await expect(g).resolves.toEqual({ digits: '', ended: 'terminator' });
    expect(channel.playbacks[0]?.state).toBe('stopped');
  });

  it('ends on the inter-digit timeout', async () => {
    const { channel, clock, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    channel.press('12');
    await clock.advance(2999);
    expect(g.settled).toBe(false);
    channel.press('3'); // restarts the inter-digit timer
    await clock.advance(2999);
    expect(g.settled).toBe(false);
    await clock.advance(1);
    expect(g.value).toEqual({ digits: '123', ended: 'inter_digit_timeout' });
  });

  it('reports no_input only firstDigitTimeoutMs after the prompt finished', async () => {
    const { channel, clock, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    await clock.advance(60_000); // a long prompt: no timer runs while it plays
    expect(g.settled).toBe(false);
    channel.finishPlayback();
    await clock.advance(4999);
    expect(g.settled).toBe(false);
    await clock.advance(1);
    expect(g.value).toEqual({ digits: '', ended: 'no_input' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('takes a digit pressed after the prompt, within the first-digit timeout', async () => {
    const { channel, clock, session } = setup();
    const g = probe(session.gather(PIN));
    await flushPromises();
    channel.finishPlayback();
    await clock.advance(4000);
    channel.press('9');
    await clock.advance(2000); // the no-input timer was cancelled
    expect(g.settled).toBe(false);
    await clock.advance(1000);
    expect(g.value).toEqual({ digits: '9', ended: 'inter_digit_timeout' });
  });

  it('starts the no-input timer at once when there is no prompt', async () => {
    const { clock, session } = setup();
    const g = probe(session.gather({ ...PIN, prompts: [] }));
    await clock.advance(5000);
    expect(g.value).toEqual({ digits: '', ended: 'no_input' });
  });

  it('bails at once on the bail key, keeping what was typed', async () => {
    const { channel, session } = setup();
    const g = session.gather(PIN);
    await flushPromises();
    channel.press('12*');
    await expect(g).resolves.toEqual({ digits: '12', ended: 'bail' });
  });

  it('bails on the bail key while the prompt plays', async () => {
    const { channel, session } = setup();
    const g = session.gather(PIN);
    await flushPromises();
    channel.press('*');
    await expect(g).resolves.toEqual({ digits: '', ended: 'bail' });
    expect(channel.playbacks[0]?.state).toBe('stopped');
  });

  it('treats * and # as plain digits when no bail key or terminator is set', async () => {
    const { channel, session } = setup();
    const g = session.gather({ ...PIN, terminator: undefined, bailKey: undefined, maxDigits: 2 });
    await flushPromises();
    channel.press('*#');
    await expect(g).resolves.toEqual({ digits: '*#', ended: 'max' });
  });

  it('consumes type-ahead in order across gathers', async () => {
    const { channel, session } = setup();
    channel.press('12');
    await expect(session.gather({ ...PIN, maxDigits: 1 })).resolves.toEqual({ digits: '1', ended: 'max' });
    await expect(session.gather({ ...PIN, maxDigits: 1 })).resolves.toEqual({ digits: '2', ended: 'max' });
    expect(channel.attempts).toEqual([]);
  });

  it('continues from partial type-ahead without playing the prompt', async () => {
    const { channel, clock, session } = setup();
    channel.press('1');
    const g = probe(session.gather(PIN));
    await flushPromises();
    expect(channel.playbacks).toHaveLength(0);
    channel.press('2');
    await clock.advance(3000);
    expect(g.value).toEqual({ digits: '12', ended: 'inter_digit_timeout' });
  });

  it('bails on a buffered bail key', async () => {
    const { channel, session } = setup();
    channel.press('1*2');
    await expect(session.gather(PIN)).resolves.toEqual({ digits: '1', ended: 'bail' });
    // What follows the bail key stays buffered.
    await expect(session.gather({ ...PIN, maxDigits: 1 })).resolves.toEqual({ digits: '2', ended: 'max' });
  });

  it('still resolves when stopping the prompt fails because it just ended', async () => {
    const { channel, session, warnings } = setup();
    const g = session.gather(PIN);
    await flushPromises();
    channel.failNext('stopPlayback', new Error('Playback not found'));
    channel.press('1234');
    await expect(g).resolves.toEqual({ digits: '1234', ended: 'max' });
    expect(warnings).toEqual(['stopping a playback failed']);
    expect(session.gone).toBe(false);
  });

  it('drops a terminator pressed right after a gather completed at maxDigits', async () => {
    const { channel, session } = setup();
    const first = session.gather(PIN);
    await flushPromises();
    channel.press('1234');
    await expect(first).resolves.toEqual({ digits: '1234', ended: 'max' });
    channel.press('#'); // "...followed by the pound key", after the code was already complete
    const second = probe(session.gather(PIN));
    await flushPromises();
    expect(second.settled).toBe(false);
    expect(channel.playbacks).toHaveLength(2);
    // A later "#" is a real terminator again.
    channel.press('#');
    await flushPromises();
    expect(second.value).toEqual({ digits: '', ended: 'terminator' });
  });

  it('keeps a terminator pressed after the inter-digit window', async () => {
    const { channel, clock, session } = setup();
    const first = session.gather(PIN);
    await flushPromises();
    channel.press('1234');
    await first;
    await clock.advance(3001);
    channel.press('#');
    await expect(session.gather(PIN)).resolves.toEqual({ digits: '', ended: 'terminator' });
  });

  it('drops a buffered terminator following a complete buffered entry', async () => {
    const { channel, session } = setup();
    channel.press('1234#5');
    await expect(session.gather(PIN)).resolves.toEqual({ digits: '1234', ended: 'max' });
    await expect(session.gather({ ...PIN, maxDigits: 1 })).resolves.toEqual({ digits: '5', ended: 'max' });
  });

  it('validates its options', () => {
    const { session } = setup();
    expect(() => session.gather({ ...PIN, maxDigits: 0 })).toThrow(RangeError);
    expect(() => session.gather({ ...PIN, firstDigitTimeoutMs: 0 })).toThrow(RangeError);
  });
});

describe('CallSession hangup', () => {
  it('rejects a running play with CallGoneError and never touches the channel again', async () => {
    const { channel, session } = setup();
    const p = session.play(['sound:a']);
    await flushPromises();
    channel.hangupCaller();
    await expect(p).rejects.toBeInstanceOf(CallGoneError);
    expect(session.gone).toBe(true);
    await expect(session.whenGone()).resolves.toBeUndefined();
    const before = channel.attempts.length;
    await expect(session.answer()).rejects.toBeInstanceOf(CallGoneError);
    await expect(session.gather(PIN)).rejects.toBeInstanceOf(CallGoneError);
    await expect(session.setVariable('A', 'b')).rejects.toBeInstanceOf(CallGoneError);
    await expect(session.continueTo({ context: 'c', exten: '1', priority: 1 })).rejects.toBeInstanceOf(
      CallGoneError,
    );
    expect(channel.attempts).toHaveLength(before);
  });

  it('rejects a running gather and cancels its timers', async () => {
    const { channel, clock, session } = setup();
    const g = session.gather(PIN);
    await flushPromises();
    channel.press('12');
    expect(clock.pendingTimers).toBe(1);
    channel.hangupCaller();
    await expect(g).rejects.toBeInstanceOf(CallGoneError);
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not stop a playback whose start answers after the hangup', async () => {
    const { channel, session } = setup();
    const p = session.play(['sound:a'], { bargeIn: true });
    channel.press('1');
    channel.emit({ type: 'hangup' }); // gone before startPlayback answered
    await expect(p).rejects.toBeInstanceOf(CallGoneError);
    await flushPromises();
    expect(channel.ops()).toEqual(['startPlayback']);
  });

  it('ignores events after the hangup', async () => {
    const { channel, session } = setup();
    channel.hangupCaller();
    channel.press('123');
    channel.emit({ type: 'playback-finished', playbackId: 'pb-1' });
    channel.emit({ type: 'hangup' });
    expect(session.gone).toBe(true);
    await expect(session.play(['sound:a'], { bargeIn: true })).rejects.toBeInstanceOf(CallGoneError);
  });

  it('treats a 404 (CallGoneError) from the channel as a hangup', async () => {
    const { channel, session } = setup();
    channel.failNext('answer', new CallGoneError('Channel not found'));
    await expect(session.answer()).rejects.toBeInstanceOf(CallGoneError);
    expect(session.gone).toBe(true);
    await expect(session.whenGone()).resolves.toBeUndefined();
  });

  it('treats a 404 from startPlayback during a gather as a hangup', async () => {
    const { channel, clock, session } = setup();
    channel.failNext('startPlayback', new CallGoneError());
    await expect(session.gather(PIN)).rejects.toBeInstanceOf(CallGoneError);
    expect(session.gone).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('treats a 404 when stopping the prompt as a hangup', async () => {
    const { channel, session } = setup();
    const g = session.gather(PIN);
    await flushPromises();
    channel.failNext('stopPlayback', new CallGoneError());
    channel.press('1');
    await expect(g).rejects.toBeInstanceOf(CallGoneError);
    expect(session.gone).toBe(true);
  });
});
