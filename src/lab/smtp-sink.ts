/**
 * The lab's stand-in for a mail relay: an SMTP server on 127.0.0.1 that accepts any mail (no
 * AUTH, no STARTTLS), keeps {to, from, subject, text} in the SinkStore and delivers nothing.
 * pinverify talks to it through the real nodemailer transport, exactly as to a production relay.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { parseMail } from './parse-mail';
import type { SinkStore } from './sink-store';

export interface SmtpSinkOptions {
  store: SinkStore;
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
}

export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 1024 * 1024;

/** smtp-server turns `responseCode` on an error into the SMTP reply code. */
function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export async function startSmtpSink(options: SmtpSinkOptions): Promise<SmtpSink> {
  const { store } = options;
  const host = options.host ?? '127.0.0.1';
  // 'slow' holds the reply to DATA, per session; a timer must not outlive its connection or close().
  const held = new Map<string, NodeJS.Timeout>();

  const server = new SMTPServer({
    banner: 'pinverify lab SMTP sink (accepts everything, delivers nothing)',
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    size: MAX_MESSAGE_BYTES,
    logger: false,
    // Clients left hanging by a 'slow' fault are cut after this on close().
    closeTimeout: 500,
    onMailFrom(_address, _session, callback) {
      if (store.getFaults().smtp === 'fail') {
        callback(smtpError(451, '4.3.0 pinverify lab sink: fault injected (smtp=fail), message refused'));
        return;
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      readAll(stream).then(
        (raw) => {
          if (stream.sizeExceeded) {
            callback(smtpError(552, '5.3.4 message too big for the lab sink'));
            return;
          }
          const accept = (): void => {
            const mail = parseMail(raw);
            const from = mail.from || (session.envelope.mailFrom ? session.envelope.mailFrom.address : '');
            // One stored message per envelope recipient, so GET /messages?to= finds each of them.
            for (const rcpt of session.envelope.rcptTo) {
              store.add({ channel: 'email', to: rcpt.address, from, subject: mail.subject, body: mail.text });
            }
            callback();
          };
          const faults = store.getFaults();
          if (faults.smtp === 'slow') {
            held.set(
              session.id,
              setTimeout(() => {
                held.delete(session.id);
                accept();
              }, faults.slowMs),
            );
          } else {
            accept();
          }
        },
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    },
    onClose(session) {
      // The client gave up (e.g. its AbortSignal fired): nothing is stored for it.
      clearTimeout(held.get(session.id));
      held.delete(session.id);
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Logged rather than thrown: one broken client connection must not stop the lab.
  server.on('error', (err) => console.error(`smtp-sink: ${err.message}`));
  const address = server.server.address() as AddressInfo;

  return {
    host,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of held.values()) clearTimeout(timer);
        held.clear();
        server.close(() => resolve());
      }),
  };
}
