/**
 * Drops an ARI event delivered twice. Asterisk stamps every event with the time it was raised
 * (milliseconds), so the same event type for the same channel and the same digit or playback at
 * the same instant is one event seen twice (a websocket replaced mid-stream, a proxy or load
 * balancer replaying frames), never two: two presses of one key are at least a tone's length
 * apart. Without this a repeated ChannelDtmfReceived would type the digit twice into a code.
 *
 * Two generations of keys, swapped every `windowMs`: O(1) per event and memory bounded by the
 * event rate, remembering each key for one to two windows (duplicates arrive together).
 */
export interface EventDeduper {
  /** True when this event was seen already (drop it); false the first time (and records it). */
  repeated(event: DedupableEvent, nowMs: number): boolean;
}

export interface DedupableEvent {
  type: string;
  /** ISO time Asterisk raised the event; events without one are never taken as repeats. */
  timestamp?: string;
  /** The channel, playback or other object the event is about, and what tells it apart. */
  about: string;
}

export function createEventDeduper(windowMs = 5000): EventDeduper {
  let current = new Set<string>();
  let previous = new Set<string>();
  let since = Number.NEGATIVE_INFINITY;
  return {
    repeated(event, nowMs) {
      if (!event.timestamp) return false;
      if (nowMs - since >= windowMs) {
        previous = nowMs - since >= 2 * windowMs ? new Set() : current;
        current = new Set();
        since = nowMs;
      }
      const key = `${event.type}|${event.timestamp}|${event.about}`;
      if (current.has(key) || previous.has(key)) return true;
      current.add(key);
      return false;
    },
  };
}
