import type { ResultPublisher } from '../flow/ports';
import type { CallOutcome } from '../domain';
import type { AmiClient } from './ami-client';

export interface AmiResultPublisher extends ResultPublisher {
  /**
   * A country or overall send limit tripped: UserEvent "PinVerifyAlarm" (Limit, Channel,
   * Message) for the operators' monitoring, next to the error line in the log.
   */
  publishAlarm(alarm: { limit: string; channel: string; message: string }): Promise<void>;
}

/**
 * Publishes each call's result as the AMI UserEvent "PinVerify" so CRM connectors listening on
 * AMI learn that a caller was (or was not) verified. Fields: Result, Reason, Method, Contact,
 * Route, Destination, Uniqueid (the channel's unique id), Callid (pinverify's audit id).
 */
export function createAmiResultPublisher(ami: AmiClient, timeoutMs = 2000): AmiResultPublisher {
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
    async publishAlarm(a) {
      await ami.action(
        {
          Action: 'UserEvent',
          UserEvent: 'PinVerifyAlarm',
          Limit: a.limit,
          Channel: a.channel,
          Message: a.message,
        },
        timeoutMs,
      );
    },
  };
}
