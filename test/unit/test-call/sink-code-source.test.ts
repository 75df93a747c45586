import type { SinkClient, SinkMessage } from '../../../src/lab/sink-client';
import { createSinkCodeSource } from '../../../src/test-call/sink-code-source';
import { FakeClock } from '../../fakes/fake-clock';
import { probe } from '../../fakes/promise-probe';

/** The sink's list endpoint over an array the test fills. */
class FakeSink implements Pick<SinkClient, 'listMessages'> {
  messages: SinkMessage[] = [];
  lists = 0;
  add(to: string, channel: 'email' | 'sms', body: string): void {
    this.messages.push({
      id: this.messages.length + 1,
      channel,
      to,
      from: 'noreply@example.com',
      subject: null,
      body,
      receivedAt: new Date(0).toISOString(),
    });
  }
  listMessages(to?: string): Promise<SinkMessage[]> {
    this.lists++;
    return Promise.resolve(this.messages.filter((m) => to === undefined || m.to === to));
  }
}

function setup() {
  const clock = new FakeClock();
  const sink = new FakeSink();
  const source = createSinkCodeSource({ sink: sink as unknown as SinkClient, clock, pollMs: 300 });
  return { clock, sink, source };
}

describe('sink code source', () => {
  it('takes the first message of the channel sent after expect(), never an older one', async () => {
    const { clock, sink, source } = setup();
    sink.add('alice@example.com', 'email', 'Your code is 111111.');
    const pending = await source.expect({ method: 'email', to: 'alice@example.com' });
    const code = probe(pending.code(new AbortController().signal));
    await clock.advance(1000);
    expect(code.settled).toBe(false);
    sink.add('bob@example.com', 'email', 'Your code is 333333.');
    sink.add('alice@example.com', 'sms', 'Your code is 444444.');
    await clock.advance(1000);
    expect(code.settled).toBe(false);
    sink.add(
      'alice@example.com',
      'email',
      'Hello Alice, your Example Corp code is 222222. Valid for 5 minutes.',
    );
    await clock.advance(300);
    expect(code.value).toBe('222222');
    expect(clock.pendingTimers).toBe(0);
  });

  it('stops polling when aborted', async () => {
    const { clock, sink, source } = setup();
    const pending = await source.expect({ method: 'sms', to: '+12025550103' });
    const abort = new AbortController();
    const code = probe(pending.code(abort.signal));
    await clock.advance(900);
    abort.abort();
    await clock.advance(0);
    expect(String(code.error)).toContain('aborted');
    const lists = sink.lists;
    await clock.advance(5000);
    expect(sink.lists).toBe(lists);
    expect(clock.pendingTimers).toBe(0);
  });

  it('says so, masked, when the message has no code', async () => {
    const { clock, sink, source } = setup();
    const pending = await source.expect({ method: 'email', to: 'alice@example.com' });
    const code = probe(pending.code(new AbortController().signal));
    sink.add('alice@example.com', 'email', 'Hello, no digits here.');
    await clock.advance(300);
    expect(String(code.error)).toBe('Error: the message to a***@e***.com (sink id 1) has no code in it');
  });

  it('uses the known code length', async () => {
    const clock = new FakeClock();
    const sink = new FakeSink();
    const source = createSinkCodeSource({ sink: sink as unknown as SinkClient, clock, codeLength: 4 });
    const pending = await source.expect({ method: 'sms', to: '+12025550103' });
    sink.add('+12025550103', 'sms', 'Your code is 1234. Ref 987654.');
    await expect(pending.code(new AbortController().signal)).resolves.toBe('1234');
  });

  it('needs the address', async () => {
    const { source } = setup();
    await expect(source.expect({ method: 'email', to: null })).rejects.toThrow('needs the address');
  });
});
