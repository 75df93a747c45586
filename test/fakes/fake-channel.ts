/**
 * A ChannelControl that records every call and lets the test play the caller and Asterisk:
 * press digits, finish playbacks, hang up. Like ARI, it answers 404 (CallGoneError) once the
 * caller is gone, and stopping a playback produces a playback-finished event for it.
 */
import {
  CallGoneError,
  type ChannelControl,
  type ChannelEvent,
  type DialplanTarget,
} from '../../src/call/channel-control';

export type ChannelCall =
  | { op: 'answer' }
  | { op: 'startPlayback'; media: string[]; playbackId: string }
  | { op: 'stopPlayback'; playbackId: string }
  | { op: 'setVariable'; name: string; value: string }
  | { op: 'continueInDialplan'; target: DialplanTarget }
  | { op: 'hangup' };

export type ChannelOp = ChannelCall['op'];

export interface FakePlayback {
  id: string;
  media: string[];
  state: 'playing' | 'finished' | 'stopped';
  /** Free for drivers to mark a playback they have dealt with. */
  seen: boolean;
}

export class FakeChannel implements ChannelControl {
  /** Calls the channel carried out. */
  readonly calls: ChannelCall[] = [];
  /** Every call made, including those rejected (e.g. after the hangup). */
  readonly attempts: ChannelCall[] = [];
  readonly playbacks: FakePlayback[] = [];
  /** Set once the caller hung up: every method then rejects with CallGoneError. */
  gone = false;
  /** How many calls had been made when the caller hung up (null while connected). */
  attemptsWhenGone: number | null = null;
  /** Like ARI: stopping a playback emits playback-finished for it (a moment later). */
  emitFinishedOnStop = true;
  /** Runs when a method is called, before it answers: lets a test hang up "during" a request. */
  onCall: ((call: ChannelCall) => void) | null = null;
  private listener: ((event: ChannelEvent) => void) | null = null;
  private readonly failures = new Map<ChannelOp, Error>();
  private nextPlayback = 1;

  constructor(readonly channelId = 'chan-1') {}

  /** Where events go (usually session.handle). */
  connect(listener: (event: ChannelEvent) => void): void {
    this.listener = listener;
  }

  emit(event: ChannelEvent): void {
    this.listener?.(event);
  }

  /** The next call of `op` rejects with `err` (once). */
  failNext(op: ChannelOp, err: Error): void {
    this.failures.set(op, err);
  }

  press(digits: string): void {
    for (const digit of digits) this.emit({ type: 'dtmf', digit });
  }

  /** Asterisk finished playing (defaults to the playback currently playing). */
  finishPlayback(playbackId?: string): void {
    const playback = playbackId ? this.playbacks.find((p) => p.id === playbackId) : this.activePlayback();
    if (!playback) throw new Error('FakeChannel: no playback to finish');
    if (playback.state === 'playing') playback.state = 'finished';
    this.emit({ type: 'playback-finished', playbackId: playback.id });
  }

  /** The caller hangs up: the channel is gone and the hangup event is emitted. */
  hangupCaller(): void {
    this.gone = true;
    this.attemptsWhenGone = this.attempts.length;
    this.emit({ type: 'hangup' });
  }

  activePlayback(): FakePlayback | undefined {
    return this.playbacks.find((p) => p.state === 'playing');
  }

  /** Media URIs of every playback started, one array per playback. */
  get media(): string[][] {
    return this.playbacks.map((p) => p.media);
  }

  get variables(): Record<string, string> {
    const vars: Record<string, string> = {};
    for (const c of this.calls) if (c.op === 'setVariable') vars[c.name] = c.value;
    return vars;
  }

  get continuedTo(): DialplanTarget | null {
    const c = this.calls.find((x) => x.op === 'continueInDialplan');
    return c?.op === 'continueInDialplan' ? c.target : null;
  }

  ops(): ChannelOp[] {
    return this.calls.map((c) => c.op);
  }

  async answer(): Promise<void> {
    await this.request({ op: 'answer' });
  }

  async startPlayback(media: string[]): Promise<string> {
    const playbackId = `pb-${this.nextPlayback++}`;
    await this.request({ op: 'startPlayback', media, playbackId });
    this.playbacks.push({ id: playbackId, media: [...media], state: 'playing', seen: false });
    return playbackId;
  }

  async stopPlayback(playbackId: string): Promise<void> {
    await this.request({ op: 'stopPlayback', playbackId });
    const playback = this.playbacks.find((p) => p.id === playbackId);
    if (playback?.state !== 'playing') throw new Error(`Playback not found: ${playbackId}`);
    playback.state = 'stopped';
    if (this.emitFinishedOnStop) {
      queueMicrotask(() => this.emit({ type: 'playback-finished', playbackId }));
    }
  }

  async setVariable(name: string, value: string): Promise<void> {
    await this.request({ op: 'setVariable', name, value });
  }

  async continueInDialplan(target: DialplanTarget): Promise<void> {
    await this.request({ op: 'continueInDialplan', target });
  }

  async hangup(): Promise<void> {
    await this.request({ op: 'hangup' });
    this.gone = true;
  }

  private async request(call: ChannelCall): Promise<void> {
    this.attempts.push(call);
    this.onCall?.(call);
    // Answer asynchronously, like a real HTTP request.
    await Promise.resolve();
    if (this.gone) throw new CallGoneError('Channel not found');
    this.calls.push(call);
    const failure = this.failures.get(call.op);
    if (failure) {
      this.failures.delete(call.op);
      throw failure;
    }
  }
}
