import type { Client } from 'ari-client';

/**
 * The ARI events the app acts on (stasis-app.ts, ari-dialer.ts). Asterisk sends an application
 * every event of every channel in it unless told otherwise: ChannelVarset for each variable the
 * app sets, ChannelDialplan, PlaybackStarted, ChannelLeftBridge and more, each serialized by
 * Asterisk and parsed by ari-client for nothing. The application's event filter (ARI
 * `PUT /applications/{app}/eventFilter`, Asterisk 13.26/16.3 and later) keeps them off the
 * websocket. A test checks this list against the handlers the app registers.
 */
export const APP_EVENT_TYPES = [
  'StasisStart',
  'StasisEnd',
  'ChannelDtmfReceived',
  'PlaybackFinished',
  'ChannelHangupRequest',
  'ChannelDestroyed',
  'ChannelStateChange',
] as const;

/**
 * Sets the filter on the application (after client.start: the application exists then).
 * Returns the problem in words when Asterisk refused it (an Asterisk without event filters):
 * the app then gets every event and works as before, only with more to read.
 */
export async function filterAppEvents(client: Client, app: string): Promise<string | null> {
  try {
    await client.applications.filter({
      applicationName: app,
      filter: { allowed: APP_EVENT_TYPES.map((type) => ({ type })) },
    });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
