/**
 * The CodeSource of `pinverify test-call` in the lab: reads the code from the lab's mail/SMS sink
 * (src/lab/sink-client.ts) the way a caller reads it on their phone.
 *
 * Which message is this call's: the first one to the contact's own address (the request's
 * codeTo) with an id above the newest one there when expect() ran, i.e. right before the method
 * key was pressed, and of the chosen channel (email or SMS). Test calls for different contacts
 * never mix; two test calls at the same moment for the *same* contact and channel cannot be told
 * apart (the message does not name the call), so do not run those concurrently.
 *
 * Polls the list (not the long-poll endpoint) so that an abort ends the wait at once without
 * leaving an HTTP request open behind it.
 */
import { systemClock, type Clock } from '../call/clock';
import { extractCode, type SinkClient } from '../lab/sink-client';
import { maskEmail, maskPhone } from '../log/mask';
import type { CodeSource, CodeTarget, PendingCode } from './test-call-ports';

export interface SinkCodeSourceOptions {
  sink: SinkClient;
  /** Between two looks at the sink; default 300 ms. */
  pollMs?: number;
  /** The code's length when known (settings codeLength); otherwise the longest run of 4 to 10 digits. */
  codeLength?: number;
  clock?: Clock;
}

export function createSinkCodeSource(opts: SinkCodeSourceOptions): CodeSource {
  const clock = opts.clock ?? systemClock;
  const pollMs = opts.pollMs ?? 300;

  return {
    async expect(target: CodeTarget): Promise<PendingCode> {
      const to = target.to;
      if (!to) throw new Error(`reading the code from the sink needs the address it is sent to`);
      const masked = to.includes('@') ? maskEmail(to) : maskPhone(to);
      const before = await opts.sink.listMessages(to);
      const afterId = before.reduce((max, m) => Math.max(max, m.id), 0);

      return {
        async code(signal: AbortSignal): Promise<string> {
          for (;;) {
            if (signal.aborted) throw new Error('aborted');
            const message = (await opts.sink.listMessages(to)).find(
              (m) => m.id > afterId && m.channel === target.method,
            );
            if (message) {
              const code = extractCode(message.body, opts.codeLength);
              if (code === null) {
                throw new Error(`the message to ${masked} (sink id ${message.id}) has no code in it`);
              }
              return code;
            }
            await sleep(clock, pollMs, signal);
          }
        },
      };
    },
  };
}

function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const onAbort = (): void => {
      timer.cancel();
      reject(new Error('aborted'));
    };
    const timer = clock.setTimer(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
