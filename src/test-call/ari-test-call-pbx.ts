/**
 * The TestCallPbx of `pinverify test-call` over ARI (ari-client): places the test call as a
 * Local channel into the tester's own Stasis app and keys DTMF on it, the way
 * test/e2e/verified-call.test.ts drives a caller.
 *
 * - Its own Stasis app per process (`pinverify-test-call-<random>`), so concurrent runs never
 *   see each other's calls.
 * - Both Local leg ids are given in the originate (channelId / otherChannelId): the ;1 leg is the
 *   caller this adapter drives, the ;2 leg's id is the Uniqueid pinverify will report.
 * - "The app has the call" is read from ARI's list of the pinverify application's channels.
 * - close() hangs up whatever it placed before it stops the app: a channel left in a Stasis app
 *   whose websocket went away would sit there silent.
 */
import { randomBytes } from 'node:crypto';
import ari, { type Channel, type ChannelDestroyed, type StasisStart } from 'ari-client';
import { isChannelGone } from '../ari/ari-channel';
import type { AppPresence, OriginateRequest, TestCallPbx, TestLeg } from './test-call-ports';

export interface AriTestCallPbxOptions {
  /** e.g. http://127.0.0.1:8088 */
  url: string;
  user: string;
  password: string;
  /** pinverify's Stasis application (ARI_APP); default "pinverify". */
  pinverifyApp?: string;
  /** The tester's own Stasis application; default pinverify-test-call-<random>. */
  testerApp?: string;
  /** Caller ID name of the test call; default "pinverify test-call". */
  callerName?: string;
  /** Connecting (HTTP check, API, websocket); default 10000 ms. */
  connectTimeoutMs?: number;
  /** Each ARI request; default 5000 ms. */
  requestTimeoutMs?: number;
}

interface LegState {
  answered: boolean;
  gone: string | null;
  onAnswered: Array<() => void>;
  onGone: Array<(cause: string) => void>;
}

/** Connects to ARI and starts the tester's Stasis app; rejects with a message naming the URL. */
export async function createAriTestCallPbx(opts: AriTestCallPbxOptions): Promise<TestCallPbx> {
  const base = opts.url.replace(/\/+$/, '');
  const connectMs = opts.connectTimeoutMs ?? 10_000;
  const requestMs = opts.requestTimeoutMs ?? 5000;
  const pinverifyApp = opts.pinverifyApp ?? 'pinverify';
  const testerApp = opts.testerApp ?? `pinverify-test-call-${randomBytes(4).toString('hex')}`;
  const callerName = (opts.callerName ?? 'pinverify test-call').replace(/["<>]/g, '');

  await checkAri(base, opts.user, opts.password, connectMs);
  const client = await bounded(
    quietSwagger(() => ari.connect(base, opts.user, opts.password)),
    connectMs,
    () => new Error(`ARI at ${base} did not answer within ${connectMs} ms`),
  );
  const legs = new Map<string, LegState>();

  const gone = (id: string, cause: string): void => {
    const leg = legs.get(id);
    if (!leg || leg.gone !== null) return;
    leg.gone = cause || 'no cause given';
    legs.delete(id);
    for (const cb of leg.onGone.splice(0)) cb(leg.gone);
    // Nobody waits for an answer any more; the engine learns why from onGone.
    leg.onAnswered.length = 0;
  };
  client.on('StasisStart', (event: StasisStart, channel: Channel) => {
    if (event.application !== testerApp) return;
    const leg = legs.get(channel.id);
    if (!leg || leg.answered) return;
    leg.answered = true;
    for (const cb of leg.onAnswered.splice(0)) cb();
  });
  client.on('ChannelDestroyed', (event: ChannelDestroyed, channel: Channel) =>
    gone(channel.id, event.cause_txt ?? ''),
  );
  // Our legs only leave our app by hanging up: nothing here continues them in the dialplan.
  client.on('StasisEnd', (_event, channel: Channel) => gone(channel.id, 'hung up'));

  try {
    await bounded(
      client.start(testerApp),
      connectMs,
      () => new Error(`ARI at ${base} did not open the events websocket within ${connectMs} ms`),
    );
  } catch (err) {
    client.stop();
    throw err;
  }

  /** One ARI request with a deadline; errors say which request and what ARI answered. */
  const request = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    bounded(
      op().catch((err: unknown) => {
        throw new Error(`ARI ${what} failed: ${describeAriError(err)}`, { cause: err });
      }),
      requestMs,
      () => new Error(`ARI ${what} did not answer within ${requestMs} ms`),
    );

  /** Hangs up a leg this adapter placed; one already gone is fine. */
  async function hangupLeg(id: string): Promise<void> {
    if (!legs.has(id)) return;
    try {
      await request('hangup', () => client.channels.hangup({ channelId: id }));
    } catch (err) {
      if (!isChannelGone(err)) throw err;
    }
  }

  return {
    async originate(req: OriginateRequest): Promise<TestLeg> {
      const state: LegState = { answered: false, gone: null, onAnswered: [], onGone: [] };
      // Registered before the request: ARI may report the leg's end before the request answers.
      legs.set(req.channelId, state);
      try {
        await request('originate', () =>
          client.channels.originate({
            endpoint: `Local/${req.exten}@${req.context}`,
            app: testerApp,
            callerId: `"${callerName}" <${req.caller}>`,
            channelId: req.channelId,
            otherChannelId: req.peerChannelId,
            timeout: Math.max(1, Math.ceil(req.answerTimeoutMs / 1000)),
          }),
        );
      } catch (err) {
        // The request may have timed out after the PBX placed the call: do not leave it up.
        await hangupLeg(req.channelId).catch(() => undefined);
        legs.delete(req.channelId);
        throw err;
      }
      return {
        id: req.channelId,
        peerId: req.peerChannelId,
        answered: () =>
          new Promise<void>((resolve) => {
            if (state.answered) resolve();
            else if (state.gone === null) state.onAnswered.push(resolve);
          }),
        async sendDtmf(digits, betweenMs) {
          if (state.gone !== null) throw new Error(`the call is gone (${state.gone})`);
          await request('sendDTMF', () =>
            client.channels.sendDTMF({ channelId: req.channelId, dtmf: digits, between: betweenMs }),
          );
        },
        hangup: () => hangupLeg(req.channelId),
        onGone(cb) {
          if (state.gone !== null) cb(state.gone);
          else state.onGone.push(cb);
        },
      };
    },

    async appHasChannel(channelId: string): Promise<AppPresence> {
      try {
        const app = await request('applications get', () =>
          client.applications.get({ applicationName: pinverifyApp }),
        );
        return app.channel_ids.includes(channelId) ? 'in-app' : 'not-in-app';
      } catch (err) {
        if (/Application not found/i.test(describeAriError(err))) return 'app-not-registered';
        throw err;
      }
    },

    async close() {
      await Promise.all([...legs.keys()].map((id) => hangupLeg(id).catch(() => undefined)));
      legs.clear();
      client.stop();
    },
  };
}

/**
 * A plain HTTP request first: ari-client throws a wrong password as an uncaught exception from
 * inside its Swagger loader, which would kill the process instead of telling the operator.
 */
async function checkAri(base: string, user: string, password: string, timeoutMs: number): Promise<void> {
  let status: number;
  try {
    const res = await fetch(`${base}/ari/asterisk/info?only=system`, {
      headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = res.status;
    await res.body?.cancel();
  } catch (err) {
    // fetch reports the network error (ECONNREFUSED, ENOTFOUND, a bad port) as its cause.
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const why =
      typeof cause?.code === 'string'
        ? cause.code
        : typeof cause?.message === 'string'
          ? cause.message
          : null;
    throw new Error(`ARI at ${base} is unreachable: ${why ?? describeAriError(err)}`, { cause: err });
  }
  if (status === 401 || status === 403) {
    throw new Error(`ARI at ${base} refused user ${user} (HTTP ${status}): check ARI_USER and ARI_PASSWORD`);
  }
  if (status >= 400)
    throw new Error(`ARI at ${base} answered HTTP ${status}: is ARI enabled (http.conf, ari.conf)?`);
}

/**
 * ari-client's Swagger 1.1 loader prints a deprecation notice (an array) with console.log on every
 * connect; a CLI's output is no place for it. Only that one notice is dropped, only while connecting.
 */
async function quietSwagger<T>(connect: () => Promise<T>): Promise<T> {
  const original = console.log;
  console.log = (...args: unknown[]) => {
    const first: unknown = args[0];
    if (Array.isArray(first) && /deprecated version of Swagger/.test(String(first[0]))) return;
    original(...args);
  };
  try {
    return await connect();
  } finally {
    console.log = original;
  }
}

function bounded<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** ari-client errors carry ARI's JSON body as their message: {"message":"Channel not found"}. */
function describeAriError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  try {
    const parsed = JSON.parse(message) as { message?: unknown; error?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the message as is
  }
  return message;
}
