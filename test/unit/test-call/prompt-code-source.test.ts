import { PassThrough } from 'node:stream';
import { createPromptCodeSource } from '../../../src/test-call/prompt-code-source';
import { flushPromises } from '../../fakes/flush-promises';
import { probe } from '../../fakes/promise-probe';

function setup() {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (d: Buffer) => (written += d.toString()));
  const source = createPromptCodeSource({ input, output });
  return { input, source, written: () => written };
}

describe('prompt code source', () => {
  it('asks where the code went (masked) and returns the digits typed', async () => {
    const { input, source, written } = setup();
    const pending = await source.expect({ method: 'email', to: 'alice@example.com' });
    const code = probe(pending.code(new AbortController().signal));
    await flushPromises();
    expect(written()).toBe('Code sent by email to a***@e***.com: ');
    input.write('48 29 13\n');
    await flushPromises();
    expect(code.value).toBe('482913');
    expect(written()).not.toContain('482913');
  });

  it('asks again when the line is not a code', async () => {
    const { input, source, written } = setup();
    const pending = await source.expect({ method: 'sms', to: '+12025550103' });
    const code = probe(pending.code(new AbortController().signal));
    input.write('abc\n');
    await flushPromises();
    expect(code.settled).toBe(false);
    expect(written()).toContain('That is not a code (4 to 10 digits). Code sent by SMS to +*******0103: ');
    input.write('1234\n');
    await flushPromises();
    expect(code.value).toBe('1234');
  });

  it('gives up when aborted, and when the input ends', async () => {
    const a = setup();
    const abort = new AbortController();
    const first = probe((await a.source.expect({ method: 'sms', to: null })).code(abort.signal));
    abort.abort();
    await flushPromises();
    expect(String(first.error)).toContain('aborted');

    const b = setup();
    const second = probe(
      (await b.source.expect({ method: 'email', to: null })).code(new AbortController().signal),
    );
    b.input.end();
    await flushPromises();
    expect(String(second.error)).toContain('the input ended before a code was entered');
    expect(b.written()).toBe('Code sent by email: ');
  });
});
