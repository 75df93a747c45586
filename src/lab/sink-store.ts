/**
 * The memory both lab sinks write into and the sink HTTP API reads from: every message the
 * SMTP and Twilio stand-ins accepted, plus the fault switches tests flip to make delivery fail or
 * hang. In-memory on purpose: the lab is disposable, and a restart is a clean slate.
 */
export type SinkChannel = 'email' | 'sms';

export interface SinkMessage {
  /** Increasing from 1 within one sink process; `after=<id>` waits for anything newer. */
  id: number;
  channel: SinkChannel;
  to: string;
  from: string;
  /** Email subject; null for SMS. */
  subject: string | null;
  /** Email text part (or the HTML part stripped of tags when there is no text part); the SMS body. */
  body: string;
  /** ISO 8601. */
  receivedAt: string;
}

export type NewSinkMessage = Omit<SinkMessage, 'id' | 'receivedAt'>;

/** ok: accept. fail: refuse with an error. slow: hold the request for slowMs before answering. */
export type FaultMode = 'ok' | 'fail' | 'slow';

export interface Faults {
  smtp: FaultMode;
  sms: FaultMode;
  /** How long 'slow' holds a request before answering normally. */
  slowMs: number;
}

export const DEFAULT_SLOW_MS = 30_000;
const MAX_MESSAGES = 1_000;

interface Waiter {
  to: string;
  after: number;
  resolve: (message: SinkMessage | null) => void;
  timer: NodeJS.Timeout;
}

/**
 * Addresses compare case-insensitively, and phone numbers by their digits only: a '+' in a query
 * string that was not percent-encoded arrives as a space, and people type numbers with spaces.
 */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim().toLowerCase();
  return /^[+\d\s().-]+$/.test(trimmed) ? trimmed.replace(/\D/g, '') : trimmed;
}

export class SinkStore {
  private messages: SinkMessage[] = [];
  private nextId = 1;
  private waiters = new Set<Waiter>();
  private listeners = new Set<(message: SinkMessage) => void>();
  private faults: Faults = { smtp: 'ok', sms: 'ok', slowMs: DEFAULT_SLOW_MS };

  add(input: NewSinkMessage, now: Date = new Date()): SinkMessage {
    const message: SinkMessage = {
      id: this.nextId++,
      channel: input.channel,
      to: input.to,
      from: input.from,
      subject: input.subject,
      body: input.body,
      receivedAt: now.toISOString(),
    };
    this.messages.push(message);
    // A sink left running for days must not grow without bound.
    if (this.messages.length > MAX_MESSAGES) this.messages.splice(0, this.messages.length - MAX_MESSAGES);
    for (const waiter of [...this.waiters]) {
      if (waiter.after < message.id && normalizeAddress(message.to) === waiter.to) {
        this.settle(waiter, message);
      }
    }
    for (const listener of this.listeners) listener(message);
    return message;
  }

  /** Oldest first. */
  list(to?: string): SinkMessage[] {
    if (to === undefined || to === '') return [...this.messages];
    const wanted = normalizeAddress(to);
    return this.messages.filter((m) => normalizeAddress(m.to) === wanted);
  }

  clear(): void {
    this.messages = [];
  }

  /** The first message to `to` with an id above `after` (0: any), waiting up to timeoutMs; null on timeout. */
  waitFor(to: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<SinkMessage | null> {
    const wanted = normalizeAddress(to);
    const existing = this.messages.find((m) => m.id > after && normalizeAddress(m.to) === wanted);
    if (existing) return Promise.resolve(existing);
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        to: wanted,
        after,
        resolve,
        timer: setTimeout(() => this.settle(waiter, null), timeoutMs),
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', () => this.settle(waiter, null), { once: true });
    });
  }

  /** Called for every stored message (sinks-main prints them). Returns an unsubscribe function. */
  onMessage(listener: (message: SinkMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getFaults(): Faults {
    return { ...this.faults };
  }

  setFaults(update: Partial<Faults>): Faults {
    this.faults = { ...this.faults, ...update };
    return this.getFaults();
  }

  /** Releases every pending wait (with null), so servers can close without hanging. */
  close(): void {
    for (const waiter of [...this.waiters]) this.settle(waiter, null);
  }

  private settle(waiter: Waiter, message: SinkMessage | null): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(message);
  }
}
