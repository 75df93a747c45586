/**
 * The code delivery (nodemailer + twilio) from the app's configuration variables. Used by the app
 * and by the CLI (`pinverify verifications start`), so both send exactly alike.
 */
import { appConfigSchema } from '../config/app-config';
import type { CodeDelivery, TemplateStore } from '../flow/ports';
import { createCodeDelivery } from './code-delivery';
import { DeliveryError } from './delivery-error';
import { createEmailTransport, type EmailTransport } from './email-transport';
import { createSmsTransport } from './sms-transport';

export const senderConfigSchema = appConfigSchema.pick({
  SMTP_HOST: true,
  SMTP_PORT: true,
  SMTP_SECURE: true,
  SMTP_REQUIRE_TLS: true,
  PINVERIFY_LAB: true,
  SMTP_USER: true,
  SMTP_PASSWORD: true,
  SMTP_FROM: true,
  TWILIO_ACCOUNT_SID: true,
  TWILIO_AUTH_TOKEN: true,
  TWILIO_FROM: true,
  TWILIO_API_BASE_URL: true,
});

type SenderConfig = ReturnType<typeof senderConfigSchema.parse>;

/** The SMTP transport exactly as the app sends with it (also what pinverify setup/doctor log in with). */
export function emailTransportFromConfig(
  cfg: Pick<
    SenderConfig,
    | 'SMTP_HOST'
    | 'SMTP_PORT'
    | 'SMTP_SECURE'
    | 'SMTP_REQUIRE_TLS'
    | 'PINVERIFY_LAB'
    | 'SMTP_USER'
    | 'SMTP_PASSWORD'
    | 'SMTP_FROM'
  >,
): EmailTransport {
  return createEmailTransport({
    host: cfg.SMTP_HOST,
    port: cfg.SMTP_PORT,
    secure: cfg.SMTP_SECURE,
    // Outside the lab a mail server that does not offer STARTTLS gets no code in clear text.
    requireTls: cfg.SMTP_SECURE ? undefined : (cfg.SMTP_REQUIRE_TLS ?? !cfg.PINVERIFY_LAB),
    user: cfg.SMTP_USER,
    pass: cfg.SMTP_PASSWORD,
    from: cfg.SMTP_FROM,
  });
}

export function createDeliveryFromConfig(cfg: SenderConfig, templates: TemplateStore): CodeDelivery {
  return createCodeDelivery({
    templates,
    email: emailTransportFromConfig(cfg),
    sms: createSmsTransport({
      accountSid: cfg.TWILIO_ACCOUNT_SID,
      authToken: cfg.TWILIO_AUTH_TOKEN,
      from: cfg.TWILIO_FROM,
      apiBaseUrl: cfg.TWILIO_API_BASE_URL,
    }),
  });
}

/** From raw environment variables; when they are incomplete, a delivery that refuses naming them. */
export function createDeliveryFromEnv(env: NodeJS.ProcessEnv, templates: TemplateStore): CodeDelivery {
  const parsed = senderConfigSchema.safeParse(env);
  if (parsed.success) return createDeliveryFromConfig(parsed.data, templates);
  const problem = parsed.error.issues.map((i) => i.message).join('; ');
  return {
    send: () => Promise.reject(new DeliveryError(`cannot send: ${problem}`, 'invalid')),
  };
}
