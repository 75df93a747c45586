/**
 * Starts the lab sinks: `npx tsx src/lab/sinks-main.ts`.
 *
 *   SMTP_SINK_PORT    (default 2525)  SMTP, no AUTH, no TLS
 *   TWILIO_SINK_PORT  (default 8025)  Twilio REST stand-in + sink HTTP API (see twilio-sink.ts)
 *   WEBHOOK_SINK_PORT (default 8026)  webhook subscriber: verifies Standard Webhooks signatures with
 *                                     LAB_WEBHOOK_SECRET, keeps deliveries (GET /deliveries)
 *   TICKET_STAND_IN_PORT (default 8027) Zendesk, ConnectWise and ticket-webhook stand-ins
 *                                     (GET /requests), accepting the lab credentials
 *   SINK_HOST         (default 127.0.0.1)
 *   TWILIO_SINK_ACCOUNT_SID / TWILIO_SINK_AUTH_TOKEN  credentials the Twilio stand-in accepts
 *     (falling back to TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, so one lab env file serves both sides)
 *
 * Every arriving message is printed on one line, code included: this is a lab sink, and a person
 * testing by phone needs to see the code arrive. Production never runs this.
 */
import { extractCode } from './sink-client';
import { SinkStore, type SinkMessage } from './sink-store';
import { startSmtpSink } from './smtp-sink';
import { startTicketStandIns, TICKET_STAND_IN_PORT } from './ticket-stand-ins';
import { LAB_ACCOUNT_SID, LAB_AUTH_TOKEN, startTwilioSink } from './twilio-sink';
import { startWebhookSink, WEBHOOK_SINK_DEFAULT_PORT } from './webhook-sink';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name}=${raw} is not a port number`);
  return value;
}

function oneLine(message: SinkMessage): string {
  const code = extractCode(message.body);
  const subject = message.subject === null ? '' : ` subject=${JSON.stringify(message.subject)}`;
  return (
    `${message.receivedAt} #${message.id} ${message.channel} to=${message.to} from=${message.from}${subject}` +
    `${code ? ` code=${code}` : ''} body=${JSON.stringify(message.body)}`
  );
}

async function main(): Promise<void> {
  const host = process.env.SINK_HOST || '127.0.0.1';
  const store = new SinkStore();
  store.onMessage((m) => console.log(oneLine(m)));

  const smtp = await startSmtpSink({ store, host, port: port('SMTP_SINK_PORT', 2525) });
  const twilio = await startTwilioSink({
    store,
    host,
    port: port('TWILIO_SINK_PORT', 8025),
    accountSid: process.env.TWILIO_SINK_ACCOUNT_SID || process.env.TWILIO_ACCOUNT_SID || LAB_ACCOUNT_SID,
    authToken: process.env.TWILIO_SINK_AUTH_TOKEN || process.env.TWILIO_AUTH_TOKEN || LAB_AUTH_TOKEN,
  });
  const webhooks = await startWebhookSink({
    host,
    port: port('WEBHOOK_SINK_PORT', WEBHOOK_SINK_DEFAULT_PORT),
  });
  const tickets = await startTicketStandIns({
    host,
    port: port('TICKET_STAND_IN_PORT', TICKET_STAND_IN_PORT),
  });
  console.log(`smtp sink listening on ${smtp.host}:${smtp.port}`);
  console.log(`twilio sink + sink API listening on ${twilio.url} (GET ${twilio.url}/messages)`);
  console.log(`webhook sink listening on ${webhooks.url} (GET ${webhooks.url}deliveries)`);
  console.log(`ticket stand-ins listening on ${tickets.url} (GET ${tickets.url}/requests)`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping sinks`);
    Promise.all([smtp.close(), twilio.close(), webhooks.close(), tickets.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`sinks failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
