/**
 * Email through the real nodemailer SMTP transport. The same code talks to the lab sink
 * (src/lab/smtp-sink.ts) and to a production relay; only host/port/secure/credentials differ.
 */
import nodemailer from 'nodemailer';
import { DeliveryError, abortable } from './delivery-error';
import { redactSecrets } from './redact-secrets';

export interface EmailTransportOptions {
  host: string;
  port: number;
  /** true: TLS from the first byte (port 465). false: plain, upgraded by STARTTLS when offered. */
  secure: boolean;
  user?: string;
  pass?: string;
  /** The From header, e.g. '"Acme verification" <noreply@acme.example>'. */
  from: string;
  /** Refuse to send unless STARTTLS succeeds (recommended for a relay on port 587). */
  requireTls?: boolean;
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
}

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string | null;
}

export interface EmailTransport {
  /** "SMTP host:port", the prefix of every error message. */
  readonly target: string;
  /** Resolves with the Message-ID nodemailer generated. Rejects with a DeliveryError. */
  send(message: EmailMessage, signal: AbortSignal): Promise<string>;
  /** Connects, negotiates TLS and logs in without sending (pinverify setup/doctor). Rejects with a DeliveryError. */
  verify(): Promise<void>;
  close(): void;
}

// A caller is waiting on the line while this runs, so the defaults are far below nodemailer's
// (2 min connection, 30 s greeting, 10 min socket); the flow's AbortSignal usually fires first.
const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
const DEFAULT_GREETING_TIMEOUT_MS = 5_000;
const DEFAULT_SOCKET_TIMEOUT_MS = 15_000;

interface SmtpErrorLike {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  message?: unknown;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Turns a nodemailer error into a sentence naming the server and what went wrong. */
export function describeSmtpError(target: string, err: unknown, to: string): DeliveryError {
  const e: SmtpErrorLike = typeof err === 'object' && err !== null ? err : {};
  const code = str(e.code);
  const message = str(e.message) || String(err);
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  const clean = (s: string): string => redactSecrets(s.replace(/\s+/g, ' ').trim(), { addresses: [to] });

  if (code === 'EABORT') return new DeliveryError(`${target}: sending aborted`, 'aborted');
  if (/ECONNREFUSED/.test(message)) return new DeliveryError(`${target} refused connection`, 'unreachable');
  if (/ENOTFOUND|EAI_AGAIN/.test(message) || code === 'EDNS') {
    return new DeliveryError(`${target}: host name not found (${clean(message)})`, 'unreachable');
  }
  if (/EHOSTUNREACH|ENETUNREACH/.test(message)) {
    return new DeliveryError(`${target} unreachable (${clean(message)})`, 'unreachable');
  }
  if (code === 'ETIMEDOUT') {
    // nodemailer's own words are terse ("Timeout" is the socket timeout between replies).
    const what = message === 'Timeout' ? 'no reply within the socket timeout' : clean(message).toLowerCase();
    return new DeliveryError(`${target} timed out (${what})`, 'timeout');
  }
  if (code === 'EAUTH' || code === 'ENOAUTH') {
    return new DeliveryError(
      `${target} rejected the login: ${clean(str(e.response) || message)}`,
      'auth',
      responseCode,
    );
  }
  if (code === 'ETLS' || code === 'EREQUIRETLS') {
    return new DeliveryError(`${target}: TLS failed: ${clean(message)}`, 'unreachable');
  }
  if (responseCode !== null) {
    const command = str(e.command);
    const reply = clean(str(e.response) || message);
    return new DeliveryError(
      `${target} answered ${reply}${command ? ` (to ${command})` : ''}`,
      'rejected',
      responseCode,
    );
  }
  if (/wrong version number|SSL routines/i.test(message)) {
    return new DeliveryError(
      `${target}: TLS handshake failed; check "secure" (true for port 465, false for 25/587 with STARTTLS)`,
      'unreachable',
    );
  }
  if (code === 'ECONNECTION' || code === 'ESOCKET') {
    return new DeliveryError(`${target}: connection failed: ${clean(message)}`, 'unreachable');
  }
  return new DeliveryError(`${target}: ${clean(message)}`, 'unknown');
}

export function createEmailTransport(options: EmailTransportOptions): EmailTransport {
  const target = `SMTP ${options.host}:${options.port}`;
  const transporter = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure,
    requireTLS: options.requireTls ?? false,
    auth: options.user ? { user: options.user, pass: options.pass ?? '' } : undefined,
    connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    greetingTimeout: options.greetingTimeoutMs ?? DEFAULT_GREETING_TIMEOUT_MS,
    socketTimeout: options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    // Templates come from the database: they must not be able to pull local files or URLs into a mail.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });

  return {
    target,
    async send(message, signal) {
      const aborted = (): DeliveryError => new DeliveryError(`${target}: sending aborted`, 'aborted');
      if (signal.aborted) throw aborted();
      try {
        // nodemailer >= 10.5 closes the SMTP connection itself when `signal` aborts; abortable() only
        // guarantees the promise settles at once even if that takes a moment.
        const info = await abortable(
          transporter.sendMail({
            from: options.from,
            to: message.to,
            subject: message.subject,
            text: message.text,
            ...(message.html ? { html: message.html } : {}),
            signal,
          }),
          signal,
          aborted,
        );
        return info.messageId;
      } catch (err) {
        if (err instanceof DeliveryError) throw err;
        throw describeSmtpError(target, err, message.to);
      }
    },
    async verify() {
      try {
        await transporter.verify();
      } catch (err) {
        throw describeSmtpError(target, err, '');
      }
    },
    close() {
      transporter.close();
    },
  };
}
