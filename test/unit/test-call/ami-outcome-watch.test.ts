import { EventEmitter } from 'node:events';
import { createAmiOutcomeWatch } from '../../../src/test-call/ami-outcome-watch';
import type { CallWatchHandlers } from '../../../src/test-call/test-call-ports';
import { flushPromises } from '../../fakes/flush-promises';
import { probe } from '../../fakes/promise-probe';

/** asterisk-manager as the adapter sees it: an emitter with action(); the test plays Asterisk. */
class FakeManager extends EventEmitter {
  readonly actions: Array<{ fields: Record<string, unknown>; cb?: (err: unknown, res: unknown) => void }> =
    [];
  connected = true;
  disconnected = false;
  action(fields: Record<string, unknown>, cb?: (err: unknown, res: unknown) => void): string {
    this.actions.push({ fields, cb });
    return String(this.actions.length);
  }
  isConnected(): boolean {
    return this.connected;
  }
  disconnect(cb?: () => void): void {
    this.disconnected = true;
    this.connected = false;
    if (cb) setImmediate(cb);
  }
  /** Asterisk accepted the login and answered the Events action. */
  loggedIn(): void {
    this.actions[0]?.cb?.(undefined, { response: 'Success', events: 'On' });
  }
}

let manager: FakeManager;
const createManager = jest.fn((..._args: unknown[]) => manager);
jest.mock(
  'asterisk-manager',
  () =>
    (...args: unknown[]) =>
      createManager(...args),
);

const opts = { host: '127.0.0.1', port: 5038, user: 'pinverify', secret: 's3cret' };

beforeEach(() => {
  manager = new FakeManager();
  createManager.mockClear();
});

function handlers(): CallWatchHandlers & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    step: (s) => calls.push(['step', s]),
    result: (e) => calls.push(['result', e]),
    error: (e) => calls.push(['error', e.message]),
  };
}

async function connected() {
  const ready = createAmiOutcomeWatch(opts);
  await flushPromises();
  manager.loggedIn();
  return ready;
}

describe('AMI outcome watch: connecting', () => {
  it('logs in with events on and narrows them to what a test call needs', async () => {
    await connected();
    expect(createManager).toHaveBeenCalledWith(5038, '127.0.0.1', 'pinverify', 's3cret', true);
    expect(manager.actions[0]?.fields).toEqual({ Action: 'Events', EventMask: 'call,user,dialplan' });
  });

  it('names host:port when AMI is unreachable', async () => {
    const ready = probe(createAmiOutcomeWatch(opts));
    manager.emit(
      'error',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5038'), { code: 'ECONNREFUSED' }),
    );
    await flushPromises();
    expect(String(ready.error)).toBe('Error: AMI at 127.0.0.1:5038 is unreachable: ECONNREFUSED');
    expect(manager.disconnected).toBe(true);
  });

  it('says the login was refused', async () => {
    const ready = probe(createAmiOutcomeWatch(opts));
    manager.emit('response', { response: 'Error', message: 'Authentication failed' });
    await flushPromises();
    expect(String(ready.error)).toBe(
      'Error: AMI at 127.0.0.1:5038 refused the login of user pinverify: check AMI_USER and AMI_SECRET',
    );
  });

  it('gives up when the login does not complete in time', async () => {
    jest.useFakeTimers();
    try {
      const ready = probe(createAmiOutcomeWatch({ ...opts, connectTimeoutMs: 2000 }));
      jest.advanceTimersByTime(2000);
      await Promise.resolve();
      await Promise.resolve();
      expect(String(ready.error)).toBe(
        'Error: AMI at 127.0.0.1:5038 did not let user pinverify log in within 2000 ms',
      );
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('AMI outcome watch: events', () => {
  it('hands a watched channel its dialplan steps and its PinVerify result, and nothing of other channels', async () => {
    const watch = await connected();
    const h = handlers();
    const w = await watch.watch('tc-1-2', h);
    manager.emit('managerevent', {
      event: 'Newexten',
      uniqueid: 'tc-1-2',
      context: 'pinverify-destinations',
      exten: '2001',
      extension: '2001',
      priority: '1',
      application: 'Verbose',
    });
    manager.emit('managerevent', {
      event: 'Newexten',
      uniqueid: 'other',
      context: 'x',
      exten: 's',
      priority: '1',
    });
    manager.emit('managerevent', { event: 'UserEvent', userevent: 'Other', uniqueid: 'tc-1-2' });
    // The dialplan's own UserEvent() carries the channel's Uniqueid and the explicit one: a repeated key.
    manager.emit('managerevent', {
      event: 'UserEvent',
      userevent: 'PinVerify',
      uniqueid: ['tc-1-2', 'tc-1-2'],
      result: 'failed',
      reason: 'unavailable',
      method: '',
      route: 'pinverify-support-autopin',
      destination: '2901',
    });
    expect(h.calls).toEqual([
      ['step', { context: 'pinverify-destinations', exten: '2001', priority: 1, application: 'Verbose' }],
      [
        'result',
        {
          result: 'failed',
          reason: 'unavailable',
          method: '',
          contact: '',
          route: 'pinverify-support-autopin',
          destination: '2901',
          uniqueid: 'tc-1-2',
          callid: '',
        },
      ],
    ]);
    w.stop();
    manager.emit('managerevent', {
      event: 'Newexten',
      uniqueid: 'tc-1-2',
      context: 'x',
      exten: 's',
      priority: '2',
    });
    expect(h.calls).toHaveLength(2);
  });

  it('tells the watches when the connection drops, but not when it is closed on purpose', async () => {
    const watch = await connected();
    const h = handlers();
    await watch.watch('tc-1-2', h);
    manager.emit('close', false);
    expect(h.calls).toEqual([['error', 'the AMI connection to 127.0.0.1:5038 closed during the test call']]);

    manager = new FakeManager();
    const second = await connected();
    const quiet = handlers();
    await second.watch('tc-2-2', quiet);
    await second.close();
    manager.emit('close', false);
    expect(quiet.calls).toEqual([]);
    expect(manager.disconnected).toBe(true);
    await expect(second.watch('tc-3-2', handlers())).rejects.toThrow('closed');
  });
});
