/**
 * CodeDelivery for the flow: picks the channel's template, fills it in and hands it to the email
 * or SMS transport. It only ever sends to the address on file for the contact: the caller cannot
 * steer a code anywhere else, which is the whole point of the verification.
 */
import type { CodeDelivery, CodeMessage, TemplateStore } from '../flow/ports';
import { maskEmail, maskPhone } from '../log/mask';
import { DeliveryError } from './delivery-error';
import type { EmailTransport } from './email-transport';
import { redactSecrets } from './redact-secrets';
import { renderTemplate, validateTemplate } from './render-template';
import type { SmsTransport } from './sms-transport';

export interface CodeDeliveryDeps {
  templates: TemplateStore;
  email: EmailTransport;
  sms: SmsTransport;
}

export function createCodeDelivery(deps: CodeDeliveryDeps): CodeDelivery {
  async function deliver(message: CodeMessage, signal: AbortSignal): Promise<string> {
    const { channel, contact } = message;
    const address = channel === 'email' ? contact.email : contact.mobile;
    if (!address) {
      throw new DeliveryError(
        `contact ${contact.id} has no ${channel === 'email' ? 'email address' : 'mobile number'} on file`,
        'invalid',
      );
    }
    const template = await deps.templates.getTemplate(channel);
    if (template.channel !== channel) {
      throw new DeliveryError(
        `the template store returned a ${template.channel} template for ${channel}`,
        'invalid',
      );
    }
    // Unknown placeholders only look odd; a message without the code is useless, so refuse it.
    const missingCode = validateTemplate(template).filter((p) => p.kind === 'missing_code');
    if (missingCode.length > 0) {
      throw new DeliveryError(
        `${channel} template unusable: ${missingCode.map((p) => p.message).join('; ')}`,
        'invalid',
      );
    }
    const rendered = renderTemplate(template, {
      code: message.code,
      name: contact.name,
      company: message.companyName,
      minutes: String(message.validityMinutes),
    });
    if (signal.aborted) throw new DeliveryError(`sending ${channel} aborted before it started`, 'aborted');

    if (channel === 'email') {
      return deps.email.send(
        { to: address, subject: rendered.subject ?? '', text: rendered.text, html: rendered.html },
        signal,
      );
    }
    return deps.sms.send({ to: address, body: rendered.text }, signal);
  }

  return {
    async send(message, signal) {
      try {
        return { messageId: await deliver(message, signal) };
      } catch (err) {
        const { channel, contact } = message;
        const masked = channel === 'email' ? maskEmail(contact.email) : maskPhone(contact.mobile);
        const reason = err instanceof Error ? err.message : String(err);
        // Transports already redact what they know; the code is only known here, so scrub again
        // with everything secret before the message reaches a log or the audit trail.
        const text = redactSecrets(`${channel} to ${masked || '(none)'} failed: ${reason}`, {
          code: message.code,
          addresses: [contact.email, contact.mobile],
        });
        const failure = err instanceof DeliveryError ? err.failure : 'unknown';
        const status = err instanceof DeliveryError ? err.status : null;
        throw new DeliveryError(text, failure, status);
      }
    },
  };
}
