import type { DeliveryChannel } from './delivery-channel';
import type { Reason, VerificationResult } from './reason';

/** How a call through pinverify ended: the result variables, the AMI event and the audit record. */
export interface CallOutcome {
  result: VerificationResult;
  reason: Reason;
  method: DeliveryChannel | null;
  contactId: number | null;
  route: string;
  destination: string;
}
