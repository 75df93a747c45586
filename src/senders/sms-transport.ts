/**
 * SMS through the real twilio library. In the lab, `apiBaseUrl` points the same client at the
 * Twilio stand-in (src/lab/twilio-sink.ts): the library builds its usual
 * https://api.twilio.com/2010-04-01/... request, and our RequestClient subclass swaps the origin
 * just before axios sends it. Everything else (form encoding, Basic auth, error parsing into
 * RestException) is the library's own code path, in the lab and in production alike.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import { DeliveryError, abortable } from './delivery-error';
import { redactSecrets } from './redact-secrets';

export interface SmsTransportOptions {
  accountSid: string;
  authToken: string;
  /** A sender number in E.164, or a Messaging Service SID (MG...). */
  from: string;
  /** Lab only: where requests meant for https://api.twilio.com go instead, e.g. http://127.0.0.1:8025. */
  apiBaseUrl?: string;
  /** Request (and socket) timeout of the HTTP client. */
  timeoutMs?: number;
}

export interface SmsMessage {
  to: string;
  body: string;
}

export interface SmsTransport {
  /** "Twilio API" or "Twilio API at <apiBaseUrl>", the prefix of every error message. */
  readonly target: string;
  /** Resolves with the message SID (SM...). Rejects with a DeliveryError. */
  send(message: SmsMessage, signal: AbortSignal): Promise<string>;
}

export const TWILIO_API_ORIGIN = 'https://api.twilio.com';
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * twilio's messages.create() has no way to pass an AbortSignal down to axios, so send() puts the
 * signal here and an axios interceptor picks it up. AsyncLocalStorage keeps concurrent sends on
 * one shared client (and its keep-alive connections) from seeing each other's signal.
 */
const requestSignal = new AsyncLocalStorage<AbortSignal>();

/** Maps an https://api.twilio.com URL onto `apiBaseUrl`, keeping path and query. */
export function redirectTwilioUri(uri: string, apiBaseUrl: string): string {
  const url = new URL(uri);
  if (url.origin !== TWILIO_API_ORIGIN) {
    // Anything else (another Twilio product, an edge/region host) would leave the lab for the
    // internet; refuse rather than silently send it there.
    throw new Error(`not redirecting ${url.origin}: only ${TWILIO_API_ORIGIN} is mapped to ${apiBaseUrl}`);
  }
  const base = new URL(apiBaseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${prefix}${url.pathname}${url.search}`;
}

/** The library's own RequestClient (axios, Basic auth, timeouts) plus the lab redirect and the abort signal. */
class PinverifyRequestClient extends twilio.RequestClient {
  private readonly apiBaseUrl: string | undefined;

  constructor(opts: RequestClient.RequestClientOptions, apiBaseUrl: string | undefined) {
    super(opts);
    this.apiBaseUrl = apiBaseUrl;
    this.axios.interceptors.request.use((config) => {
      const signal = requestSignal.getStore();
      if (signal && !config.signal) config.signal = signal;
      return config;
    });
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = this.apiBaseUrl ? redirectTwilioUri(opts.uri, this.apiBaseUrl) : opts.uri;
    return super.request({ ...opts, uri });
  }
}

interface TwilioErrorLike {
  status?: unknown;
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  title?: unknown;
}

/** Turns what the twilio library threw (RestException, TwilioServiceException, an axios error) into a sentence. */
export function describeTwilioError(
  target: string,
  err: unknown,
  to: string,
  timeoutMs: number,
): DeliveryError {
  const e: TwilioErrorLike = typeof err === 'object' && err !== null ? err : {};
  const clean = (s: string): string => redactSecrets(s.replace(/\s+/g, ' ').trim(), { addresses: [to] });
  const message = typeof e.message === 'string' ? e.message : String(err);

  if (typeof e.status === 'number') {
    const status = e.status;
    const code = typeof e.code === 'number' ? ` (error ${e.code})` : '';
    const text = [e.title, e.message, e.detail].filter((s): s is string => typeof s === 'string' && s !== '');
    const hint = status === 401 ? ' - check the account SID and auth token' : '';
    const failure = status === 401 || status === 403 ? 'auth' : 'rejected';
    return new DeliveryError(
      `${target} answered ${status}${code}: ${clean([...new Set(text)].join(': ') || 'no details')}${hint}`,
      failure,
      status,
    );
  }
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === 'ERR_CANCELED') return new DeliveryError(`${target}: sending aborted`, 'aborted');
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return new DeliveryError(`${target} refused connection`, 'unreachable');
  }
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(message)) {
    return new DeliveryError(`${target} did not answer within ${timeoutMs} ms`, 'timeout');
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new DeliveryError(`${target}: host name not found (${clean(message)})`, 'unreachable');
  }
  if (code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new DeliveryError(`${target}: connection failed (${clean(message)})`, 'unreachable');
  }
  return new DeliveryError(`${target}: ${clean(message)}`, 'unknown');
}

export function createSmsTransport(options: SmsTransportOptions): SmsTransport {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const target = options.apiBaseUrl ? `Twilio API at ${options.apiBaseUrl}` : 'Twilio API';
  // 429 retries are off: the caller is waiting on the line and the flow has its own resend logic.
  const httpClient = new PinverifyRequestClient(
    { timeout: timeoutMs, keepAlive: true, autoRetry: false },
    options.apiBaseUrl,
  );
  const client = twilio(options.accountSid, options.authToken, { httpClient });
  const sender = options.from.startsWith('MG')
    ? { messagingServiceSid: options.from }
    : { from: options.from };

  return {
    target,
    async send(message, signal) {
      const aborted = (): DeliveryError => new DeliveryError(`${target}: sending aborted`, 'aborted');
      if (signal.aborted) throw aborted();
      try {
        const created = await abortable(
          requestSignal.run(signal, () =>
            client.messages.create({ to: message.to, body: message.body, ...sender }),
          ),
          signal,
          aborted,
        );
        return created.sid;
      } catch (err) {
        if (err instanceof DeliveryError) throw err;
        throw describeTwilioError(target, err, message.to, timeoutMs);
      }
    },
  };
}
