/**
 * The CodeSource of `pinverify test-call` against a real mailbox or phone: the operator reads
 * the code where the contact would and types it in. Plain readline on the streams it is given
 * (the CLI passes stdin and stderr), so it also works piped; the code is not hidden while typed, but
 * it is never echoed back, logged or kept.
 */
import { createInterface } from 'node:readline';
import { maskEmail, maskPhone } from '../log/mask';
import type { CodeSource, CodeTarget, PendingCode } from './test-call-ports';

export interface PromptCodeSourceOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** What a code can be (codeLength is 4 to 10). */
const CODE_RE = /^[0-9]{4,10}$/;

export function createPromptCodeSource(opts: PromptCodeSourceOptions): CodeSource {
  return {
    expect(target: CodeTarget): Promise<PendingCode> {
      return Promise.resolve({ code: (signal: AbortSignal) => ask(opts, target, signal) });
    },
  };
}

function ask(opts: PromptCodeSourceOptions, target: CodeTarget, signal: AbortSignal): Promise<string> {
  const where = target.to
    ? ` to ${target.to.includes('@') ? maskEmail(target.to) : maskPhone(target.to)}`
    : '';
  const question = `Code sent by ${target.method === 'email' ? 'email' : 'SMS'}${where}: `;
  return new Promise<string>((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const rl = createInterface({ input: opts.input, output: opts.output, terminal: false });
    let done = false;
    const finish = (end: () => void): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      rl.close();
      end();
    };
    const onAbort = (): void => {
      opts.output.write('\n');
      finish(() => reject(new Error('aborted')));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    rl.on('line', (line: string) => {
      const digits = line.replace(/\s+/g, '');
      if (CODE_RE.test(digits)) return finish(() => resolve(digits));
      opts.output.write(`That is not a code (4 to 10 digits). ${question}`);
    });
    rl.on('close', () => finish(() => reject(new Error('the input ended before a code was entered'))));
    opts.output.write(question);
  });
}
