import type { CallOutcome, ResultPublisher } from '../flow/ports';
import type { AmiClient } from './ami-client';

/**
 * Publishes each call's result as the AMI UserEvent "PinVerify" so CRM connectors listening on
 * AMI learn that a caller was (or was not) verified. Fields: Result, Reason, Method, Contact,
 * Route, Destination, Uniqueid (the channel's unique id), Callid (pinverify's audit id).
 */
export function createAmiResultPublisher(ami: AmiClient, timeoutMs = 2000): ResultPublisher {
  return {
    async publish(o: CallOutcome & { channelId: string; callId: string }) {
      await ami.action(
        {
          Action: 'UserEvent',
          UserEvent: 'PinVerify',
          Result: o.result,
          Reason: o.reason,
          Method: o.method ?? '',
          Contact: o.contactId === null ? '' : String(o.contactId),
          Route: o.route,
          Destination: o.destination,
          Uniqueid: o.channelId,
          Callid: o.callId,
        },
        timeoutMs,
      );
    },
  };
}
