import { EventEmitter } from 'node:events';
import type { Client } from 'ari-client';
import { APP_EVENT_TYPES, filterAppEvents } from '../../src/ari/app-event-filter';
import { createAriDialer } from '../../src/ari/ari-dialer';
import { createStasisApp } from '../../src/ari/stasis-app';

/**
 * The application's event filter lets through exactly the events the app registers handlers
 * for: one left out would never arrive (a call waiting for it forever), one too many is wasted.
 */
const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

test('the filter allows every event the Stasis app and the dialer handle, and nothing else', () => {
  const client = new EventEmitter();
  createStasisApp({
    app: 'pinverify',
    client: () => client as unknown as Client,
    log: quiet,
    startCall: () => ({ handle: () => undefined, interrupt: () => undefined, done: Promise.resolve() }),
  }).attach(client);
  createAriDialer({ client: () => client as unknown as Client, app: 'pinverify', log: quiet }).attach(client);
  const handled = client.eventNames().map(String).sort();
  expect([...APP_EVENT_TYPES].sort()).toEqual(handled);
});

test('sets the allowed list on the application, and names the problem when Asterisk refuses', async () => {
  const calls: unknown[] = [];
  const ok = {
    applications: { filter: (p: unknown) => (calls.push(p), Promise.resolve({})) },
  } as unknown as Client;
  expect(await filterAppEvents(ok, 'pinverify')).toBeNull();
  expect(calls).toEqual([
    {
      applicationName: 'pinverify',
      filter: { allowed: APP_EVENT_TYPES.map((type) => ({ type })) },
    },
  ]);
  const old = {
    applications: { filter: () => Promise.reject(new Error('{"message":"Invalid method"}')) },
  } as unknown as Client;
  expect(await filterAppEvents(old, 'pinverify')).toBe('{"message":"Invalid method"}');
});
