/**
 * Built-in configuration. Migration 002_default_config.sql seeds the same values into the
 * database (ops edit them there); the app falls back to these when a stored value is missing
 * or invalid, so a bad edit degrades one setting instead of breaking every call.
 * test/integration/config-store.test.ts checks the two stay equal.
 */
import type { DeliveryChannel, FlowSettings } from '../domain';
import type { MessageTemplate } from '../flow/ports';

export const DEFAULT_SETTINGS: Readonly<FlowSettings> = Object.freeze({
  defaultSuccessDestination: '2000',
  defaultFailedDestination: '2900',
  defaultContext: 'pinverify-destinations',
  codeLength: 6,
  codeValiditySeconds: 300,
  maxTriesPerCode: 3,
  maxSendsPerCall: 3,
  maxSendsPerVerification: 5,
  resendCooldownSeconds: 30,
  maxFailedChecksPerContact: 10,
  maxSendsPerDestinationPerHour: 3,
  maxSendsPerDestinationPerDay: 10,
  maxSendsPerCountryPerHour: 200,
  maxSendsPerHour: 1000,
  retentionDays: 90,
  maxMenuPrompts: 3,
  menuTimeoutMs: 5000,
  firstDigitTimeoutMs: 10000,
  interDigitTimeoutMs: 5000,
  sendTimeoutMs: 8000,
  defaultCountry: 'US',
  companyName: 'Example Corp',
  pinMinLength: 4,
  pinMaxLength: 8,
  maxPinTries: 3,
  pinSource: 'database',
  pinWebhookUrl: '',
  pinWebhookTimeoutMs: 3000,
  requireTicket: false,
  ticketNoteIncludesCode: false,
});

// Every message says we will never ask for the code any other way: the code only ever goes
// from the caller's own device into the IVR, so anyone asking for it is an attacker.
const NEVER_ASK = 'We will never ask you for this code by phone, email or text.';

export const DEFAULT_TEMPLATES: Readonly<Record<DeliveryChannel, Readonly<MessageTemplate>>> = Object.freeze({
  sms: Object.freeze({
    channel: 'sms',
    subject: null,
    text: `{company}: your verification code is {code}. It is valid for {minutes} minutes. ${NEVER_ASK}`,
    html: null,
  }),
  email: Object.freeze({
    channel: 'email',
    // No code in the subject, so it does not show on a lock screen notification.
    subject: '{company}: your verification code',
    text:
      'Hello {name},\n\nYour {company} verification code is {code}. It is valid for {minutes} minutes.\n\n' +
      `Type it on your phone keypad when the call asks for it. ${NEVER_ASK}\n\n` +
      'If you did not call {company}, you can ignore this message.\n',
    html:
      '<p>Hello {name},</p><p>Your {company} verification code is <strong>{code}</strong>. ' +
      'It is valid for {minutes} minutes.</p>' +
      `<p>Type it on your phone keypad when the call asks for it. ${NEVER_ASK}</p>` +
      '<p>If you did not call {company}, you can ignore this message.</p>',
  }),
});
