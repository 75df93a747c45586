import type { Client } from 'ari-client';
import type { AriEventSocket } from './ari-event-socket';
import type { SupervisedClient } from './ari-supervisor';

/**
 * One ARI connection as the supervisor keeps it: ari-client for requests (originate, reclaim,
 * the event filter, health), our own socket for the events (ari-event-socket.ts says why). The
 * supervisor pings and watches the socket; stopping the connection closes it.
 */
export interface AriConnection extends SupervisedClient {
  readonly rest: Client;
  readonly events: AriEventSocket;
}

export function ariConnection(rest: Client, events: AriEventSocket): AriConnection {
  return {
    rest,
    events,
    on: (event, listener) => events.on(event, listener),
    ping: () => events.ping(),
    stop: () => events.close(),
  };
}
