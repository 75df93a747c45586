import type { DeliveryChannel } from './delivery-channel';
import type { Reason, VerificationResult } from './reason';

/**
 * What a call's verification used, as PINVERIFY_METHOD says it: the channel of the one-time
 * code, `pin`, or both for a `pin_then_otp` route (`pin+sms`).
 */
export type CallMethod = DeliveryChannel | 'pin' | `pin+${DeliveryChannel}`;

/** The method after `next` was used on top of what the call used before. */
export function addMethod(before: CallMethod | null, next: DeliveryChannel | 'pin'): CallMethod {
  return before?.startsWith('pin') && next !== 'pin' ? `pin+${next}` : next;
}

/** How a call through pinverify ended: the result variables, the AMI event and the audit record. */
export interface CallOutcome {
  result: VerificationResult;
  reason: Reason;
  method: CallMethod | null;
  contactId: number | null;
  route: string;
  destination: string;
}
