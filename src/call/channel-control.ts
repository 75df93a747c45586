/**
 * The small telephony port the call session drives. The ARI adapter (src/ari/) implements it;
 * unit tests use a fake. Nothing behind this interface leaks ari-client types into the flow.
 *
 * Every method rejects with CallGoneError when the channel no longer exists (ARI answers 404
 * "Channel not found" once the caller hung up): that is a normal end of a call, not a fault.
 */
export interface DialplanTarget {
  context: string;
  exten: string;
  priority: number;
}

export interface ChannelControl {
  readonly channelId: string;
  answer(): Promise<void>;
  /** Starts playing the media URIs in order (e.g. "sound:pinverify/enter-code", "digits:123"). Resolves with a playback id once playback started. */
  startPlayback(media: string[]): Promise<string>;
  stopPlayback(playbackId: string): Promise<void>;
  setVariable(name: string, value: string): Promise<void>;
  continueInDialplan(target: DialplanTarget): Promise<void>;
  hangup(): Promise<void>;
}

/** Events the adapter feeds into a session, in the order the channel produced them. */
export type ChannelEvent =
  | { type: 'dtmf'; digit: string }
  | { type: 'playback-finished'; playbackId: string }
  | { type: 'hangup' }
  /**
   * The channel left the app (ARI StasisEnd): continued in the dialplan as the app asked, or
   * hung up, or taken elsewhere by someone else. Either way no verb may touch it any more.
   */
  | { type: 'left' };

export class CallGoneError extends Error {
  constructor(message = 'caller hung up') {
    super(message);
    this.name = 'CallGoneError';
  }
}

/**
 * The app is shutting down (SIGTERM, drain time over): prompts and key entry end at once, so the
 * flow can still set the result and continue the caller at the failed destination.
 */
export class CallInterruptedError extends Error {
  constructor(message = 'the app is shutting down') {
    super(message);
    this.name = 'CallInterruptedError';
  }
}
