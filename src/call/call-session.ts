/**
 * One call in the Stasis app, seen as a session running verbs one at a time. The ARI adapter
 * feeds it the channel's events in order through handle(); the verbs drive the channel through
 * ChannelControl and wait with the injected Clock, so the whole thing runs under a fake clock in
 * unit tests.
 *
 * DTMF nobody is listening for (between verbs, during a plain play or answer) is kept as
 * type-ahead and handed, in order, to the next gather or barge-in play: callers who know the
 * menu press keys before the prompt asks, and those keys must not be lost.
 */
import {
  CallGoneError,
  CallInterruptedError,
  type ChannelControl,
  type ChannelEvent,
  type DialplanTarget,
} from './channel-control';
import type { CallVerbs, GatherEnd, GatherOptions, GatherResult, PlayOptions } from './call-verbs';
import { isCallGone } from './call-verbs';
import type { Clock, TimerHandle } from './clock';

export interface CallSessionLogger {
  warn(msg: string, meta?: Record<string, unknown>): void;
}

export interface CallSessionOptions {
  /** Where harmless channel errors (e.g. stopping a playback that just ended) are reported. */
  log?: CallSessionLogger;
  /**
   * The longest a playback may go without its PlaybackFinished event before it is taken as
   * finished: a lost event must not leave a caller waiting forever.
   */
  playbackDeadlineMs?: number;
}

/** Longer than any prompt list pinverify plays (the longest is about 15 s). */
export const DEFAULT_PLAYBACK_DEADLINE_MS = 60_000;

/** What the session and a playback need from the running verb, whatever its result type. */
interface ActiveVerb {
  readonly name: string;
  onDtmf: ((digit: string) => void) | null;
  onPlaybackFinished: (playbackId: string) => void;
  reject(err: unknown): void;
  timer(ms: number, fn: () => void): TimerHandle;
}

/** The verb currently running: its promise, its timers, and who consumes the channel's events. */
class RunningVerb<T> implements ActiveVerb {
  settled = false;
  /** Set while the verb wants DTMF; null means digits go to the type-ahead buffer. */
  onDtmf: ((digit: string) => void) | null = null;
  onPlaybackFinished: (playbackId: string) => void = () => undefined;
  readonly promise: Promise<T>;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (err: unknown) => void;
  private readonly timers = new Set<TimerHandle>();

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private readonly onSettled: () => void,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /** A timer that dies with the verb, so a late timeout can never act on a later verb. */
  timer(ms: number, fn: () => void): TimerHandle {
    // A verb already over needs no timer (e.g. a playback that started after an interrupt).
    if (this.settled) return { cancel: () => undefined };
    const handle = this.clock.setTimer(ms, () => {
      this.timers.delete(handle);
      if (!this.settled) fn();
    });
    this.timers.add(handle);
    return handle;
  }

  resolve(value: T): void {
    if (this.end()) this.resolveFn(value);
  }

  reject(err: unknown): void {
    if (this.end()) this.rejectFn(err);
  }

  private end(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.onDtmf = null;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.onSettled();
    return true;
  }
}

/** What a playback needs from its session. */
interface PlaybackHost {
  isGone(): boolean;
  /** Runs a channel request; a CallGoneError from it ends the session. */
  channelCall<R>(op: () => Promise<R>): Promise<R>;
}

/**
 * One startPlayback of a verb. Handles the awkward orderings: a digit (stop wanted) or even the
 * playback-finished event arriving before startPlayback has told us the playback id.
 */
class PromptPlayback {
  private state: 'starting' | 'playing' | 'finished' | 'stopped' = 'starting';
  private id: string | null = null;
  /** Finished events seen while the id was still unknown. */
  private readonly earlyFinished = new Set<string>();
  /** Resolves with the playback id, or null when there is nothing (left) to stop. */
  private readonly started: Promise<string | null>;
  private stopping: Promise<void> | null = null;
  /** Takes the playback as finished if its PlaybackFinished event never comes. */
  private deadline: TimerHandle | null = null;

  constructor(
    private readonly session: PlaybackHost,
    private readonly channel: ChannelControl,
    private readonly verb: ActiveVerb,
    media: string[],
    private readonly onFinished: () => void,
    private readonly log: CallSessionLogger | undefined,
    deadlineMs: number,
  ) {
    if (media.length === 0) {
      this.state = 'finished';
      this.started = Promise.resolve(null);
      onFinished();
      return;
    }
    this.started = session
      .channelCall(() => channel.startPlayback(media))
      .then(
        (id) => {
          if (this.session.isGone()) return null;
          this.id = id;
          if (this.earlyFinished.has(id)) {
            this.finish();
            return null;
          }
          this.state = 'playing';
          this.deadline = verb.timer(deadlineMs, () => {
            if (this.state !== 'playing') return;
            this.log?.warn('no PlaybackFinished event in time; taking the playback as finished', {
              playbackId: id,
              deadlineMs,
            });
            this.finish();
          });
          return id;
        },
        (err: unknown) => {
          this.state = 'finished';
          verb.reject(err);
          return null;
        },
      );
  }

  finishedEvent(playbackId: string): void {
    if (this.state === 'starting') this.earlyFinished.add(playbackId);
    else if (this.state === 'playing' && playbackId === this.id) this.finish();
    // Anything else is a stale or duplicate event for a playback we no longer care about.
  }

  /** Stops the playback if it is (or is about to be) playing. Never rejects. */
  stop(): Promise<void> {
    this.deadline?.cancel();
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private finish(): void {
    this.deadline?.cancel();
    this.state = 'finished';
    if (this.stopping === null) this.onFinished();
  }

  private async doStop(): Promise<void> {
    const id = await this.started;
    if (id === null || this.state !== 'playing' || this.session.isGone()) return;
    // Before the request: the playback-finished event the stop causes must be ignored.
    this.state = 'stopped';
    try {
      await this.session.channelCall(() => this.channel.stopPlayback(id));
    } catch (err) {
      // CallGoneError already ended the session (channelCall); anything else is usually the
      // playback having finished on its own a moment earlier, which is what we wanted anyway.
      if (!isCallGone(err))
        this.log?.warn('stopping a playback failed', { playbackId: id, error: String(err) });
    }
  }
}

export class CallSession implements CallVerbs {
  private isGone = false;
  private continued = false;
  private readonly typeAhead: string[] = [];
  /** A terminator expected right after a gather completed at maxDigits (see gather()). */
  private trailingTerminator: { digit: string; until: number } | null = null;
  private current: ActiveVerb | null = null;
  /** The continue verb, once asked for: the channel leaving the app (StasisEnd) completes it. */
  private continuing: RunningVerb<void> | null = null;
  /** The playback of the running play or gather, for interrupt(). */
  private currentPlayback: PromptPlayback | null = null;
  private interrupted = false;
  private readonly goneSignal: Promise<void>;
  private signalGone!: () => void;

  constructor(
    private readonly channel: ChannelControl,
    private readonly clock: Clock,
    private readonly options: CallSessionOptions = {},
  ) {
    this.goneSignal = new Promise<void>((resolve) => {
      this.signalGone = resolve;
    });
  }

  get gone(): boolean {
    return this.isGone;
  }

  /**
   * Ends prompts and key entry for good (the app is shutting down): the running play or gather
   * and every later one reject with CallInterruptedError; answer, variables, continue and hangup
   * still work, so the flow can route the caller.
   */
  interrupt(): void {
    if (this.interrupted || this.isGone) return;
    this.interrupted = true;
    const verb = this.current;
    if (verb && (verb.name === 'play' || verb.name === 'gather')) {
      void this.currentPlayback?.stop();
      verb.reject(new CallInterruptedError());
    }
  }

  whenGone(): Promise<void> {
    return this.goneSignal;
  }

  /** Feeds one channel event, in the order the channel produced them. Events after hangup are ignored. */
  handle(event: ChannelEvent): void {
    if (this.isGone) return;
    switch (event.type) {
      case 'hangup':
        this.markGone();
        return;
      case 'left':
        // Asterisk may tell us the channel left (StasisEnd) before it answers the continue that
        // sent it on: that is the continue done, not a caller who hung up.
        if (this.continuing && !this.continuing.settled) {
          this.continued = true;
          this.continuing.resolve();
        }
        this.markGone();
        return;
      case 'dtmf':
        if (this.absorbTrailingTerminator(event.digit)) return;
        if (this.current?.onDtmf) this.current.onDtmf(event.digit);
        else this.typeAhead.push(event.digit);
        return;
      case 'playback-finished':
        // With no verb running this is a late event for a playback we already stopped.
        this.current?.onPlaybackFinished(event.playbackId);
        return;
    }
  }

  answer(): Promise<void> {
    return this.simpleVerb('answer', () => this.channel.answer());
  }

  setVariable(name: string, value: string): Promise<void> {
    return this.simpleVerb('setVariable', () => this.channel.setVariable(name, value));
  }

  continueTo(target: DialplanTarget): Promise<void> {
    return this.simpleVerb(
      'continueTo',
      async () => {
        await this.channel.continueInDialplan(target);
        this.continued = true;
      },
      (verb) => (this.continuing = verb),
    );
  }

  hangup(): Promise<void> {
    // Gone only after the verb resolved: marking it earlier would reject hangup() itself.
    return this.simpleVerb('hangup', () => this.channel.hangup()).then(() => this.markGone());
  }

  play(prompts: string[], opts: PlayOptions = {}): Promise<string | null> {
    const verb = this.begin<string | null>('play');
    if (verb instanceof Promise) return verb;
    if (opts.bargeIn) {
      // A key pressed before the prompt started already "interrupted" it: don't play at all.
      const early = this.typeAhead.shift();
      if (early !== undefined) {
        verb.resolve(early);
        return verb.promise;
      }
    }
    let ending = false;
    const playback = this.playback(verb, prompts, () => {
      if (ending) return;
      ending = true;
      verb.resolve(null);
    });
    if (opts.bargeIn) {
      verb.onDtmf = (digit) => {
        if (ending) return;
        ending = true;
        // Later digits are type-ahead for the next verb, not part of this one.
        verb.onDtmf = null;
        void playback.stop().then(() => verb.resolve(digit));
      };
    }
    return verb.promise;
  }

  gather(opts: GatherOptions): Promise<GatherResult> {
    if (!Number.isInteger(opts.maxDigits) || opts.maxDigits < 1) {
      throw new RangeError(`gather: maxDigits must be a positive integer, got ${opts.maxDigits}`);
    }
    if (!(opts.firstDigitTimeoutMs > 0) || !(opts.interDigitTimeoutMs > 0)) {
      throw new RangeError('gather: digit timeouts must be positive');
    }
    const verb = this.begin<GatherResult>('gather');
    if (verb instanceof Promise) return verb;

    let digits = '';
    let ending = false;
    let noInputTimer: TimerHandle | null = null;
    let interDigitTimer: TimerHandle | null = null;
    let playback: PromptPlayback | null = null;

    const finish = (ended: GatherEnd): void => {
      if (ending) return;
      ending = true;
      verb.onDtmf = null;
      noInputTimer?.cancel();
      interDigitTimer?.cancel();
      if (ended === 'max' && opts.terminator !== undefined) {
        this.expectTrailingTerminator(opts.terminator, opts.interDigitTimeoutMs);
      }
      const result = { digits, ended };
      // Resolve only once the prompt is silent, so the next verb's playback is not queued behind it.
      const stopped = playback ? playback.stop() : Promise.resolve();
      void stopped.then(() => verb.resolve(result));
    };

    const onDigit = (digit: string): void => {
      if (ending) return;
      if (opts.bailKey !== undefined && digit === opts.bailKey) return finish('bail');
      if (opts.terminator !== undefined && digit === opts.terminator) return finish('terminator');
      digits += digit;
      if (digits.length === 1) {
        noInputTimer?.cancel();
        void playback?.stop();
      }
      if (digits.length >= opts.maxDigits) return finish('max');
      interDigitTimer?.cancel();
      interDigitTimer = verb.timer(opts.interDigitTimeoutMs, () => finish('inter_digit_timeout'));
    };

    for (
      let early = this.typeAhead.shift();
      early !== undefined;
      early = ending ? undefined : this.typeAhead.shift()
    ) {
      onDigit(early);
    }
    if (ending) return verb.promise;
    verb.onDtmf = onDigit;
    // Type-ahead digits already interrupted the prompt: the inter-digit timer is running.
    if (digits.length === 0) {
      playback = this.playback(verb, opts.prompts, () => {
        if (!ending && digits.length === 0) {
          noInputTimer = verb.timer(opts.firstDigitTimeoutMs, () => finish('no_input'));
        }
      });
    }
    return verb.promise;
  }

  /**
   * Runs a ChannelControl call; a CallGoneError from it (ARI 404) ends the session just like a
   * hangup event. Used by the verbs and their playbacks.
   */
  private async channelCall<R>(op: () => Promise<R>): Promise<R> {
    try {
      return await op();
    } catch (err) {
      if (isCallGone(err)) this.markGone();
      throw err;
    }
  }

  /**
   * Callers told "enter your code followed by pound" press pound even though the gather already
   * completed at maxDigits. That pound must not reach the next gather as type-ahead, where it
   * would end it at once ("hear again") and skip its prompt (e.g. "that code is not correct").
   * So one terminator within the inter-digit timeout after such a gather is dropped.
   */
  private expectTrailingTerminator(digit: string, windowMs: number): void {
    if (this.typeAhead.length > 0) {
      if (this.typeAhead[0] === digit) this.typeAhead.shift();
      return;
    }
    this.trailingTerminator = { digit, until: this.clock.now().getTime() + windowMs };
  }

  private absorbTrailingTerminator(digit: string): boolean {
    const expected = this.trailingTerminator;
    if (!expected) return false;
    this.trailingTerminator = null;
    return digit === expected.digit && this.clock.now().getTime() <= expected.until;
  }

  private playback(verb: ActiveVerb, media: string[], onFinished: () => void): PromptPlayback {
    const host: PlaybackHost = {
      isGone: () => this.isGone,
      channelCall: (op) => this.channelCall(op),
    };
    const playback = new PromptPlayback(
      host,
      this.channel,
      verb,
      media,
      onFinished,
      this.options.log,
      this.options.playbackDeadlineMs ?? DEFAULT_PLAYBACK_DEADLINE_MS,
    );
    verb.onPlaybackFinished = (id) => playback.finishedEvent(id);
    this.currentPlayback = playback;
    return playback;
  }

  private simpleVerb(
    name: string,
    op: () => Promise<void>,
    /** Sees the running verb (continueTo keeps it: StasisEnd may complete it first). */
    started?: (verb: RunningVerb<void>) => void,
  ): Promise<void> {
    const verb = this.begin<void>(name);
    if (verb instanceof Promise) return verb;
    started?.(verb);
    void this.channelCall(op).then(
      () => verb.resolve(),
      (err: unknown) => verb.reject(err),
    );
    return verb.promise;
  }

  /**
   * Starts a verb: a second verb while one runs is a bug in the flow (throws at once); after a
   * hangup every verb rejects with CallGoneError without touching the channel.
   */
  private begin<T>(name: string): RunningVerb<T> | Promise<never> {
    if (this.current) {
      throw new Error(`CallSession: ${name}() called while ${this.current.name}() is still running`);
    }
    if (this.isGone) return Promise.reject(new CallGoneError());
    if (this.interrupted && (name === 'play' || name === 'gather'))
      return Promise.reject(new CallInterruptedError());
    if (this.continued)
      throw new Error(`CallSession: ${name}() called after the call continued in the dialplan`);
    const verb: RunningVerb<T> = new RunningVerb<T>(name, this.clock, () => {
      if (this.current === verb) {
        this.current = null;
        this.currentPlayback = null;
      }
    });
    this.current = verb;
    return verb;
  }

  private markGone(): void {
    if (this.isGone) return;
    this.isGone = true;
    this.typeAhead.length = 0;
    const verb = this.current;
    this.current = null;
    verb?.reject(new CallGoneError());
    this.signalGone();
  }
}
