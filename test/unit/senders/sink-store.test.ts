import { SinkStore, normalizeAddress } from '../../../src/lab/sink-store';
import { extractCode } from '../../../src/lab/sink-client';

const sms = (to: string, body = 'code 1234') => ({
  channel: 'sms' as const,
  to,
  from: '+1500',
  subject: null,
  body,
});

describe('SinkStore', () => {
  it('numbers messages from 1 and lists them oldest first, filtered by address', () => {
    const store = new SinkStore();
    store.add(sms('+4915112345678'));
    store.add({ channel: 'email', to: 'Bob@Example.com', from: 'a@b.c', subject: 's', body: 'b' });
    expect(store.list().map((m) => m.id)).toEqual([1, 2]);
    expect(store.list('bob@example.com').map((m) => m.id)).toEqual([2]);
    // An unencoded '+' in a query string arrives as a space.
    expect(store.list(' 4915112345678').map((m) => m.id)).toEqual([1]);
  });

  it('clear() forgets messages but keeps counting ids', () => {
    const store = new SinkStore();
    store.add(sms('+1555'));
    store.clear();
    expect(store.list()).toEqual([]);
    expect(store.add(sms('+1555')).id).toBe(2);
  });

  it('waitFor resolves with an existing newer message at once, or with the next one to arrive', async () => {
    const store = new SinkStore();
    store.add(sms('+1555'));
    await expect(store.waitFor('+1555', 0, 1000)).resolves.toMatchObject({ id: 1 });
    const waiting = store.waitFor('+1555', 1, 5000);
    store.add(sms('+1999'));
    store.add(sms('+1555', 'second'));
    await expect(waiting).resolves.toMatchObject({ id: 3, body: 'second' });
  });

  it('waitFor gives null on timeout, on abort and on close', async () => {
    const store = new SinkStore();
    await expect(store.waitFor('+1555', 0, 10)).resolves.toBeNull();
    const controller = new AbortController();
    const aborted = store.waitFor('+1555', 0, 60_000, controller.signal);
    controller.abort();
    await expect(aborted).resolves.toBeNull();
    const closing = store.waitFor('+1555', 0, 60_000);
    store.close();
    await expect(closing).resolves.toBeNull();
  });

  it('keeps fault switches and merges updates', () => {
    const store = new SinkStore();
    expect(store.getFaults()).toMatchObject({ smtp: 'ok', sms: 'ok' });
    expect(store.setFaults({ sms: 'slow', slowMs: 5 })).toEqual({ smtp: 'ok', sms: 'slow', slowMs: 5 });
  });

  it('tells listeners about every message', () => {
    const store = new SinkStore();
    const seen: number[] = [];
    const off = store.onMessage((m) => seen.push(m.id));
    store.add(sms('+1'));
    off();
    store.add(sms('+1'));
    expect(seen).toEqual([1]);
  });

  it('normalizes addresses', () => {
    expect(normalizeAddress(' +49 151 1234-5678 ')).toBe('4915112345678');
    expect(normalizeAddress('Bob@Example.COM')).toBe('bob@example.com');
  });
});

describe('extractCode', () => {
  it('finds the code of a known length', () => {
    expect(extractCode('Acme 2024: your code is 482913, valid for 10 minutes.', 6)).toBe('482913');
  });

  it('takes the longest 4..10 digit run when the length is unknown', () => {
    expect(extractCode('Your code is 48291377. It is valid for 10 minutes.')).toBe('48291377');
    expect(extractCode('Code 1234 valid 10 min')).toBe('1234');
  });

  it('gives null when there is no code', () => {
    expect(extractCode('valid for 10 minutes')).toBeNull();
    expect(extractCode('code 12345', 6)).toBeNull();
  });
});
