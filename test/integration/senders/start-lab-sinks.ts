/** Both lab sinks in-process on free ports, with a sink API client; each test file starts its own. */
import { createSinkClient, type SinkClient } from '../../../src/lab/sink-client';
import { SinkStore } from '../../../src/lab/sink-store';
import { startSmtpSink, type SmtpSink } from '../../../src/lab/smtp-sink';
import {
  LAB_ACCOUNT_SID,
  LAB_AUTH_TOKEN,
  startTwilioSink,
  type TwilioSink,
} from '../../../src/lab/twilio-sink';

export interface LabSinks {
  store: SinkStore;
  smtp: SmtpSink;
  twilio: TwilioSink;
  client: SinkClient;
  accountSid: string;
  authToken: string;
  close(): Promise<void>;
}

export async function startLabSinks(): Promise<LabSinks> {
  const store = new SinkStore();
  const smtp = await startSmtpSink({ store, port: 0 });
  const twilio = await startTwilioSink({
    store,
    port: 0,
    accountSid: LAB_ACCOUNT_SID,
    authToken: LAB_AUTH_TOKEN,
  });
  return {
    store,
    smtp,
    twilio,
    client: createSinkClient(twilio.url),
    accountSid: LAB_ACCOUNT_SID,
    authToken: LAB_AUTH_TOKEN,
    close: async () => {
      await Promise.all([smtp.close(), twilio.close()]);
    },
  };
}

/** The app's sender variables (SMTP_*, TWILIO_*) pointing at these sinks, as the environment would hold them. */
export function senderEnv(sinks: LabSinks): Record<string, string> {
  return {
    // The sinks speak plain SMTP: a lab, where SMTP may go without TLS.
    PINVERIFY_LAB: '1',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(sinks.smtp.port),
    SMTP_FROM: 'pinverify test <verify@test.pinverify.invalid>',
    TWILIO_ACCOUNT_SID: sinks.accountSid,
    TWILIO_AUTH_TOKEN: sinks.authToken,
    TWILIO_FROM: '+12025550100',
    TWILIO_API_BASE_URL: sinks.twilio.url,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with how long `promise` took to reject, and the error. */
export async function timeRejection(promise: Promise<unknown>): Promise<{ ms: number; error: Error }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    return { ms: Date.now() - started, error: error as Error };
  }
  throw new Error('expected a rejection');
}
