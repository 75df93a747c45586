/**
 * Every prompt pinverify plays, with the words spoken in it. scripts/make-sounds.sh reads this
 * list (through scripts/list-prompts.ts) to synthesise sounds/pinverify/<name>.wav, so the text
 * here and the recordings stay in step. Ops may replace a recording with a human voice under the
 * same name.
 */
export const PROMPTS = {
  intro: 'To verify your identity, we will send you a one time code.',
  'choose-method':
    'Press 1 to receive your code by email. Press 2 to receive it by text message. Press star if you cannot receive a code.',
  'no-email': 'Sorry, we have no email address on file for you.',
  'no-sms': 'Sorry, we have no mobile number on file for you.',
  'invalid-choice': 'Sorry, that is not a valid choice.',
  sending: 'Please wait while we send your code.',
  'sent-email': 'We have sent a code to the email address on file.',
  'sent-sms': 'We have sent a code by text message to the mobile number on file.',
  'send-failed': 'Sorry, we could not send your code.',
  'enter-code':
    'Please enter your code, followed by the pound key. To hear this again, press pound. To have the code sent again, press zero then pound. Press star if you did not receive it.',
  'code-wrong': 'That code is not correct. Please try again.',
  'code-expired': 'That code has expired. To receive a new code, press zero then pound.',
  resent: 'We have sent your code again.',
  'no-more-sends': 'Sorry, we cannot send the code again.',
  'resend-wait':
    'Your code was sent a moment ago. Please allow a little time for it to arrive before asking again.',
  locked:
    'For your security, verification is not possible for you right now, after too many incorrect attempts.',
  'rate-limited': 'Sorry, we cannot send you another code right now.',
  'enter-pin':
    'Please enter your PIN, followed by the pound key. To hear this again, press pound. Press star if you do not know it.',
  'pin-wrong': 'That PIN is not correct. Please try again.',
  'pin-accepted': 'Thank you, your PIN is correct.',
  verified: 'Thank you. You are verified.',
  'not-verified': 'We could not verify you.',
  connecting: 'Please hold while we connect you.',
  'technical-problem': 'Sorry, we are having a technical problem.',
  // Outbound verification calls (src/flow/outbound-call-flow.ts).
  'call-greeting': 'Hello. This is an automated verification call from',
  // Replace this recording with your company's name, spoken: it follows call-greeting.
  'company-name': 'our help desk.',
  'press-key-for-code': 'To hear your verification code, press any key on your phone.',
  'your-code-is': 'Your verification code is',
  'code-again': 'Again, your code is',
  'press-1-to-repeat': 'To hear it again, press 1. Otherwise, you may hang up.',
  'enter-call-code': 'Please enter the verification code you were given, followed by the pound key.',
  'call-code-accepted': 'Thank you. Your code is correct. Goodbye.',
  'call-code-refused': 'We could not verify this code. Goodbye.',
  goodbye: 'Goodbye.',
  'invalid-request': 'Invalid request.',
  // The lab dialplan's own menus (asterisk-conf/extensions.conf).
  'lab-main-menu': 'Welcome to the pin verify lab. For support, press 1. For accounting, press 2.',
  'lab-sub-ivr': 'To verify your identity, press 1, or stay on the line.',
} as const;

export type PromptName = keyof typeof PROMPTS;

/** The media URI Asterisk plays for a prompt (sounds/pinverify/<name>.wav installed under the sounds dir). */
export function promptMedia(name: PromptName): string {
  return `sound:pinverify/${name}`;
}
