/**
 * Records every message instead of sending it. Each send follows the next planned behaviour
 * ('ok' when the plan is empty); a hanging send rejects once its AbortSignal fires, like the real
 * senders do.
 */
import type { CodeDelivery, CodeMessage } from '../../src/flow/ports';
import type { Behaviour } from './fake-behaviour';

export interface SentMessage {
  message: CodeMessage;
  signal: AbortSignal;
  behaviour: Behaviour;
}

export class FakeCodeDelivery implements CodeDelivery {
  readonly sent: SentMessage[] = [];
  /** Behaviours of the coming sends, in order. */
  readonly plan: Behaviour[] = [];
  /** Runs when a send starts (e.g. to hang up while it is in flight). */
  onSend: ((sent: SentMessage) => void) | null = null;

  async send(message: CodeMessage, signal: AbortSignal): Promise<{ messageId: string | null }> {
    const behaviour = this.plan.shift() ?? 'ok';
    const sent = { message, signal, behaviour };
    this.sent.push(sent);
    this.onSend?.(sent);
    if (behaviour === 'fail') throw new Error(`550 <${message.contact.email ?? ''}> mailbox unavailable`);
    if (behaviour === 'hang') {
      await new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')));
      });
    }
    return { messageId: `msg-${this.sent.length}` };
  }

  /** The code in the latest message: what the caller reads off their phone. */
  lastCode(): string {
    const last = this.sent[this.sent.length - 1];
    if (!last) throw new Error('FakeCodeDelivery: nothing was sent');
    return last.message.code;
  }
}
