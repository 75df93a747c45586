/** Ways a one-time code reaches a person today. */
export type DeliveryChannel = 'email' | 'sms';
