#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import ari from 'ari-client';
import { createAmiClient } from './ami/ami-client';
import { createAmiResultPublisher } from './ami/ami-result-publisher';
import { ariConnection, type AriConnection } from './ari/ari-connection';
import { AriEventSocket } from './ari/ari-event-socket';
import { superviseAri, type AriSupervisor } from './ari/ari-supervisor';
import { filterAppEvents } from './ari/app-event-filter';
import { guardSwaggerLoader } from './ari/swagger-guard';
import { createStasisApp } from './ari/stasis-app';
import { createAriHttpCommands } from './ari/ari-commands';
import { createAriDialer } from './ari/ari-dialer';
import { createOutboundCaller, type CallQueue, type OutboundCaller } from './outbound/outbound-caller';
import { startPgCallQueue } from './outbound/pg-call-queue';
import { createOutboundCallFlow } from './flow/outbound-call-flow';
import { isCallGone } from './call/call-verbs';
import { normalizeCaller } from './phone/normalize-caller';
import { PgProfileStore } from './store/pg-profile-store';
import { PgCallAttemptStore } from './store/pg-call-attempts';
import { admissionVerdict, createSustainedLevel, estimatePoolWaitMs } from './call/admission-control';
import { CallSession } from './call/call-session';
import { systemClock } from './call/clock';
import { ConfigError, loadAppConfig, type AppConfig } from './config/app-config';
import { EnvFileError, withEnvFile } from './config/env-file';
import { createCallFlow } from './flow/call-flow';
import { createOtpFlow } from './flow/otp-flow';
import { createPinFlow } from './flow/pin-flow';
import { createPinThenOtpFlow } from './flow/pin-then-otp-flow';
import { createPinChecker } from './pin/pin-checker';
import { createArgon2PinHasher } from './pin/pin-hasher';
import { PgPinStore } from './store/pg-pin-store';
import { createLogger, type Logger } from './log/logger';
import { createAppMetrics } from './metrics/app-metrics';
import { maskPhone } from './log/mask';
import { createDeliveryFromConfig } from './senders/delivery-from-config';
import { createAdminServer } from './http/admin-server';
import { createHealthCheck } from './http/health-check';
import { createPgRequestLimiter } from './http/request-limiter';
import { createOpsServices } from './ops/ops-services';
import { createAmiDialplanChecker } from './ami/ami-dialplan-checker';
import { checkDb, createPool, describeDbError } from './store/db';
import { migrate } from './store/migrate';
import { PgAuditTrail } from './store/pg-audit-trail';
import { startHousekeeping } from './store/housekeeping';
import { PgConfigStore, startConfigListener } from './store/pg-config-store';
import { PgContactDirectory } from './store/pg-contact-directory';
import { startWithRetry, type RetryingStart } from './store/start-with-retry';
import { createPgVerificationService } from './verification/create-pg-verification-service';
import { createPasswordHasher } from './desk/agent-password';
import { parseDialBegin } from './desk/dial-begin';
import { createDeskService } from './desk/desk-service';
import { createLoginLimiter } from './desk/login-limiter';
import { PgAgentStore } from './desk/pg-agent-store';
import { recordPops, startPopHub } from './desk/screen-pops';
import type { TicketConnector } from './tickets/ticket-connector';
import { ticketConnectorFromEnv } from './tickets/ticket-connector-from-config';
import { startTicketNoteQueue } from './tickets/ticket-note-queue';
import { readBacklog } from './webhooks/read-backlog';
import { startWebhookDispatcher } from './webhooks/webhook-dispatcher';

/**
 * The composition root: the only place that knows every adapter. It reads the configuration
 * (every problem reported at once), wires Postgres, the senders, AMI and ARI into the flow, and
 * keeps running through ARI reconnects. A failure inside one call never reaches here: the flow
 * catches and routes it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const APP_VERSION = (require('../package.json') as { version: string }).version;

async function start(
  cfg: AppConfig,
  ticketConnector: TicketConnector | null,
  log: Logger,
): Promise<() => Promise<void>> {
  // Connections opened for a burst of calls stay open for the next one: opening one (a backend
  // fork and SCRAM on both sides) under load took longer than the 2 s connect timeout on the
  // 2-core lab (npm run bench), and a caller must never wait on it. At most DATABASE_POOL_SIZE.
  const pool = createPool(cfg.DATABASE_URL, {
    logger: log,
    idleTimeoutMillis: 0,
    max: cfg.DATABASE_POOL_SIZE,
  });
  try {
    const m = await migrate(pool, { logger: log });
    log.info('database ready', { schema: m.current, applied: m.applied });
  } catch (err) {
    // The app still starts: calls get the technical-problem path until the database is back.
    log.error('database not ready at start', { problem: describeDbError(err, cfg.DATABASE_URL) });
  }

  const configStore = new PgConfigStore(pool, { logger: log });
  const listener = startConfigListener(pool, configStore, { logger: log });
  // 50 ms: under load the records of the calls of that moment go in one round trip.
  const audit = new PgAuditTrail(pool, { logger: log, batchDelayMs: 50 });

  const delivery = createDeliveryFromConfig(cfg, configStore);

  const ami = createAmiClient({
    host: cfg.AMI_HOST,
    port: cfg.AMI_PORT,
    user: cfg.AMI_USER,
    secret: cfg.AMI_SECRET,
    onError: (err) => log.warn('AMI connection problem', { problem: err.message }),
  });

  const publisher = createAmiResultPublisher(ami);
  const metrics = createAppMetrics();
  // Outbound verification calls (#12), when OUTBOUND_DIAL says how to dial. The caller needs the
  // verification service to check codes, and the service hands calls to the caller: `outbound`
  // is filled in below, before any call can start.
  const dialer = createAriDialer({ client: () => supervisor?.client?.rest ?? null, app: cfg.ARI_APP, log });
  let outbound: OutboundCaller | null = null;
  const dialString = cfg.OUTBOUND_DIAL;
  // One verification service for calls, the admin API and (built the same way) the CLI.
  const verifications = createPgVerificationService({
    pool,
    config: configStore,
    delivery,
    secret: cfg.PINVERIFY_CODE_SECRET,
    log,
    observer: metrics,
    calls: dialString
      ? {
          place: (job) => {
            if (!outbound) return Promise.reject(new Error('outbound calls are starting up'));
            return outbound.place(job);
          },
        }
      : undefined,
    alarm: (alarm) => {
      publisher
        .publishAlarm({ ...alarm })
        .catch((err: unknown) => log.warn('publishing the limit alarm failed', { problem: String(err) }));
    },
  });
  const contacts = new PgContactDirectory(pool);
  // The pg-boss services below keep trying to start while the database is down at boot
  // (src/store/start-with-retry.ts); until then their users are told why, in words.
  const startOpts = {
    clock: systemClock,
    log,
    describe: (err: unknown) => describeDbError(err, cfg.DATABASE_URL),
  };
  let callQueue: RetryingStart<CallQueue & { stop(): Promise<void> }> | null = null;
  if (dialString) {
    const attempts = new PgCallAttemptStore(pool);
    const paceMs = 1000 / cfg.OUTBOUND_CALLS_PER_SECOND;
    outbound = createOutboundCaller({
      queue: {
        enqueue: (call, afterSeconds) =>
          callQueue
            ? callQueue.use((q) => q.enqueue(call, afterSeconds))
            : Promise.reject(new Error('the outbound call queue is starting')),
      },
      pace: () => attempts.nextSlotIn(paceMs),
      maxCalls: cfg.OUTBOUND_MAX_CALLS,
      profiles: new PgProfileStore(pool),
      attempts,
      dialer,
      flow: createOutboundCallFlow({
        checker: {
          async check(id, code) {
            const r = await verifications.check(id, code);
            if (r.kind !== 'checked') return 'closed';
            switch (r.outcome.kind) {
              case 'approved':
                return 'approved';
              case 'wrong':
                return 'wrong';
              case 'expired':
                return 'expired';
              case 'locked':
                return 'locked';
              case 'max_attempts_reached':
              case 'max_attempts':
                return 'max_attempts';
              case 'decided':
                return 'closed';
            }
          },
        },
        log,
      }),
      verificationStatus: async (id) => (await verifications.get(id))?.status ?? null,
      endpointFor: (e164) => dialString.replace('{number}', e164),
      async smsAfterCall(to, verificationId, code) {
        const [settings, v] = await Promise.all([
          configStore.getSettings(),
          verifications.get(verificationId),
        ]);
        const left = (v?.expiresAt.getTime() ?? Date.now()) - Date.now();
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), settings.sendTimeoutMs);
        try {
          await delivery.send(
            {
              channel: 'sms',
              contact: { id: 0, name: '', email: null, mobile: to },
              code,
              validityMinutes: Math.max(1, Math.floor(left / 60_000)),
              companyName: settings.companyName,
            },
            abort.signal,
          );
        } finally {
          clearTimeout(timer);
        }
      },
      secret: cfg.PINVERIFY_CODE_SECRET,
      clock: systemClock,
      log,
    });
    const caller = outbound;
    // Without the queue no call can start (the API says why); inbound calls are unaffected.
    callQueue = startWithRetry({
      ...startOpts,
      name: 'outbound call queue',
      meanwhile: 'no outbound verification call can start',
      start: () =>
        startPgCallQueue({
          pool,
          log,
          worker: { run: (call) => caller.run(call), concurrency: Math.min(cfg.OUTBOUND_MAX_CALLS, 20) },
        }),
    });
    // As before, the app goes on once the first try is over; a failed one goes on in the background.
    await callQueue.firstAttempt();
  }
  // The flow of each route mode; a call's route picks one (no route: otp).
  const otp = createOtpFlow({ contacts, verifier: verifications });
  const pins = createPinChecker({
    store: new PgPinStore(pool),
    hasher: createArgon2PinHasher(),
    webhookSecret: cfg.PINVERIFY_PIN_WEBHOOK_SECRET,
    log,
  });
  const pin = createPinFlow({ contacts, verifier: verifications, pins });
  const modes = { otp, pin, pin_then_otp: createPinThenOtpFlow(pin, otp) };
  const stopHousekeeping = startHousekeeping({
    pool,
    config: configStore,
    runner: `${hostname()}:${process.pid}`,
    log,
  });

  // The ARI connection, kept up forever by our supervisor (created below, after the app).
  let supervisor: AriSupervisor<AriConnection> | null = null;
  const health = createHealthCheck({
    async postgres() {
      const db = await checkDb(pool);
      if (!db.ok) throw new Error(db.error);
      return `PostgreSQL ${db.serverVersion}, schema ${db.schemaVersion ?? 'not migrated'}`;
    },
    async ari() {
      const c = supervisor?.client?.rest;
      if (!c)
        throw new Error(
          `not connected to ${cfg.ARI_URL} (reconnecting; ${supervisor?.failures ?? 0} failed tries${supervisor?.lastError ? `: ${supervisor.lastError}` : ''})`,
        );
      const info = await c.asterisk.getInfo();
      return `Asterisk ${info.system?.version ?? '?'}, app ${cfg.ARI_APP}, ${app.active()} calls in the app`;
    },
    async ami() {
      await ami.action({ Action: 'Ping' }, 1500);
      return `${cfg.AMI_HOST}:${cfg.AMI_PORT}`;
    },
  });
  const dialplan = createAmiDialplanChecker({ ami, app: cfg.ARI_APP });

  // The agent's desk (#10): screen pops from AMI DialBegin of calls pinverify handled, recorded
  // once in Postgres and pushed by every instance to its agents' browsers.
  const agents = new PgAgentStore(pool);
  const pops = startPopHub({ pool, log });
  ami.onEvent('DialBegin', (event) => {
    const dial = parseDialBegin(event);
    if (!dial) return;
    recordPops(pool, dial).catch((err: unknown) =>
      log.warn('screen pop not recorded', { problem: describeDbError(err, cfg.DATABASE_URL) }),
    );
  });
  // Ticket notes (#10) go through a pg-boss queue so a slow or down PSA never holds up an agent,
  // and any instance may deliver them; webhooks to subscribers likewise (one dispatcher per
  // instance, endpoints leased in Postgres). Both keep trying to start while the database is down.
  const ticketNotes = ticketConnector
    ? startWithRetry({
        ...startOpts,
        name: 'ticket-note queue',
        meanwhile: 'agents are told to add ticket notes by hand',
        start: () => startTicketNoteQueue({ pool, connector: ticketConnector, log, worker: true }),
      })
    : null;
  await ticketNotes?.firstAttempt();
  const webhooks = startWithRetry({
    ...startOpts,
    name: 'webhook dispatcher',
    meanwhile: 'webhook events wait in Postgres',
    start: () => startWebhookDispatcher({ pool, log }),
  });
  await webhooks.firstAttempt();
  const desk = {
    agents,
    hasher: createPasswordHasher(),
    limiter: createLoginLimiter({
      pool,
      onError: (err: unknown) => log.warn('desk sign-in limiter unavailable', { problem: String(err) }),
    }),
    service: createDeskService({
      pool,
      verifications,
      agents,
      settings: () => configStore.getSettings(),
      tickets:
        ticketConnector && ticketNotes
          ? { connector: ticketConnector, enqueue: (note) => ticketNotes.use((q) => q.enqueue(note)) }
          : null,
      clock: systemClock,
      secret: cfg.PINVERIFY_CODE_SECRET,
      log,
    }),
    pops,
    settings: () => configStore.getSettings(),
    ticketSystem: ticketConnector?.system ?? 'none',
    clock: systemClock,
    secureCookie: cfg.DESK_COOKIE_SECURE ?? !cfg.PINVERIFY_LAB,
    log,
  };
  const admin =
    cfg.ADMIN_PORT === 'off'
      ? null
      : createAdminServer({
          pool,
          ops: (actor) =>
            createOpsServices({ pool, actor, dialplan: () => dialplan, verifications: () => verifications }),
          health,
          log,
          version: APP_VERSION,
          metrics: { contentType: metrics.registry.contentType, text: () => metrics.registry.metrics() },
          desk,
          limiter: createPgRequestLimiter({
            pool,
            requestsPerMinute: cfg.ADMIN_RATE_LIMIT_PER_MINUTE,
            authFailuresPerMinute: cfg.ADMIN_AUTH_FAILURES_PER_MINUTE,
            onError: (err) =>
              log.warn('admin API rate limiter unavailable; not limiting', { problem: String(err) }),
          }),
        });
  if (admin) {
    const address = await admin.listen({ host: cfg.ADMIN_HOST, port: cfg.ADMIN_PORT as number });
    log.info('admin API listening', { url: address });
  }

  // Event-loop delay p99 per quarter second; admission looks at the lowest of the last four: a
  // lag that held for a second. The p99 of one whole second at 10 ms resolution is about its
  // worst single stall (a collection, a burst of events), and shedding on it sent the next
  // second's callers to an agent while the app kept up.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const eventLoopLag = createSustainedLevel(4);
  const lagTimer = setInterval(() => {
    eventLoopLag.sample(loopDelay.percentile(99) / 1e6);
    loopDelay.reset();
  }, 250);
  lagTimer.unref();
  // The pool's wait, estimated every 100 ms from its queue and the connections released over the
  // last second (ten 100 ms buckets); admission looks at the level held over the last second.
  const poolWait = createSustainedLevel(10);
  const released = new Array<number>(10).fill(0);
  let releasedNow = 0;
  pool.on('release', () => (releasedNow += 1));
  setInterval(() => {
    released.shift();
    released.push(releasedNow);
    releasedNow = 0;
    poolWait.sample(
      estimatePoolWaitMs(
        pool.waitingCount,
        released.reduce((a, b) => a + b, 0),
      ),
    );
  }, 100).unref();
  const limits = {
    maxCallsInApp: cfg.MAX_CALLS_IN_APP,
    maxEventLoopLagMs: cfg.OVERLOAD_EVENT_LOOP_LAG_MS,
    maxPoolWaitMs: cfg.OVERLOAD_POOL_WAIT_MS,
  };
  const app = createStasisApp({
    app: cfg.ARI_APP,
    client: () => supervisor?.client?.rest ?? null,
    // A call's own requests over keep-alive HTTP (ari-commands.ts says why), refused while the
    // websocket is down as ari-client's were.
    commands: createAriHttpCommands({
      url: cfg.ARI_URL,
      user: cfg.ARI_USER,
      password: cfg.ARI_PASSWORD,
      assertConnected: () => {
        if (supervisor?.state !== 'connected') throw new Error('ARI is not connected (reconnecting)');
      },
    }),
    log,
    observer: metrics,
    admit: () =>
      admissionVerdict(
        { callsInApp: app.active(), eventLoopLagMs: eventLoopLag.value(), poolWaitMs: poolWait.value() },
        limits,
      ),
    startCall(entry, channel) {
      const callId = randomUUID();
      const callLog = log.child({ callId, channelId: entry.channelId });
      if (entry.args.callback) {
        // A call to a call profile's call-back number (callback=${EXTEN}: the lab's 7100, 7101).
        const session = new CallSession(channel, systemClock, { log: callLog });
        const caller = outbound;
        const done = (async () => {
          const settings = await configStore.getSettings();
          const n = normalizeCaller(entry.callerId, settings.defaultCountry);
          const e164 = n.kind === 'ok' ? n.e164 : null;
          if (!caller || entry.reclaimed) {
            await session.answer();
            await session.play(['sound:pinverify/invalid-request']);
            await session.hangup();
            return;
          }
          const status = await caller.callBack(session, e164, entry.args.callback ?? '', entry.channelId);
          callLog.info('call-back done', { dialed: entry.args.callback, status });
        })().catch((err: unknown) => {
          if (!isCallGone(err)) callLog.warn('call-back failed', { problem: String(err) });
          void session.hangup().catch(() => undefined);
        });
        return { handle: (e) => session.handle(e), interrupt: () => session.interrupt(), done };
      }
      if (entry.args.attempt) {
        // An outbound verification call that was answered: its run belongs to the caller that
        // dialed it (src/outbound/outbound-caller.ts), in this process or none.
        const session = new CallSession(channel, systemClock, { log: callLog });
        const done = entry.reclaimed ? null : dialer.answered(entry.channelId, session);
        if (!done) {
          callLog.info('outbound call without its caller here; hanging up', { reclaimed: entry.reclaimed });
          void session.hangup().catch(() => undefined);
        }
        return {
          handle: (e) => session.handle(e),
          interrupt: () => session.interrupt(),
          done: done ?? Promise.resolve(),
        };
      }
      callLog.info(entry.reclaimed ? 'call reclaimed' : 'call entered', {
        caller: maskPhone(entry.callerId),
        context: entry.context,
        args: entry.args,
      });
      const session = new CallSession(channel, systemClock, { log: callLog });
      // One child logger per call, handed to everything that works on the call.
      const done = createCallFlow({
        config: configStore,
        audit,
        publisher,
        clock: systemClock,
        log: callLog,
        modes,
      })
        .run(session, { ...entry, callId })
        .then((o) => {
          metrics.callEnded(o);
          callLog.info('call done', { ...o });
        })
        .catch((err: unknown) => callLog.error('flow crashed', { problem: String(err) }));
      return { handle: (e) => session.handle(e), interrupt: () => session.interrupt(), done };
    },
  });
  metrics.gauges({
    callsInApp: () => app.active(),
    poolWaiting: () => pool.waitingCount,
    poolTotal: () => pool.totalCount,
    ariConnected: () => supervisor?.state === 'connected',
    backlog: () => readBacklog(pool),
  });
  // Connects (and reconnects) forever; every connect re-registers the handlers, starts the app
  // and reclaims the calls left in it meanwhile. Calls meanwhile take the dialplan's
  // "app unavailable" path.
  guardSwaggerLoader();
  supervisor = superviseAri<AriConnection>({
    // guardSwaggerLoader (above) makes every failure of ari-client's API loading a rejection
    // here, which the supervisor retries, instead of an uncaught throw that ended the process.
    connect: async () =>
      ariConnection(
        await ari.connect(cfg.ARI_URL, cfg.ARI_USER, cfg.ARI_PASSWORD),
        new AriEventSocket({
          url: cfg.ARI_URL,
          user: cfg.ARI_USER,
          password: cfg.ARI_PASSWORD,
          app: cfg.ARI_APP,
          log,
        }),
      ),
    async onConnected(connection) {
      const client = connection.rest;
      app.attach(connection.events);
      dialer.attach(connection.events);
      // The events come over our own websocket, not ari-client's (ari-event-socket.ts says why);
      // opening it registers the application.
      await connection.events.open();
      // Only the events the app acts on come over the websocket (app-event-filter.ts says why).
      const unfiltered = await filterAppEvents(client, cfg.ARI_APP);
      if (unfiltered)
        log.warn('Asterisk refused the event filter; the app gets every event of its calls', {
          problem: unfiltered,
        });
      log.info('ARI application registered', { app: cfg.ARI_APP, ari: cfg.ARI_URL });
      // Not awaited into the connect: a slow list must not hold up new calls.
      app
        .reclaim(client)
        .catch((err: unknown) =>
          log.warn('reclaiming calls left in the app failed', { problem: String(err) }),
        );
    },
    clock: systemClock,
    log,
  });
  log.info('pinverify started; connecting to ARI', { app: cfg.ARI_APP, ari: cfg.ARI_URL });

  return async () => {
    // Drain: new calls are routed at once; calls in progress get drainMs to finish, then their
    // prompts end and they are continued at their failed destination (app_restarted).
    log.info('shutting down: draining calls', { activeCalls: app.active(), drainMs: cfg.SHUTDOWN_DRAIN_MS });
    app.drain();
    if (!(await app.idle(cfg.SHUTDOWN_DRAIN_MS))) {
      log.warn('drain time over: routing the calls still in the app', { activeCalls: app.active() });
      await app.interruptAll(10_000);
    }
    await callQueue?.stop().catch(() => undefined);
    await ticketNotes?.stop().catch(() => undefined);
    await webhooks.stop().catch(() => undefined);
    await outbound?.idle();
    stopHousekeeping();
    clearInterval(lagTimer);
    loopDelay.disable();
    supervisor?.stop();
    await admin?.close();
    ami.close();
    await pops.close();
    await listener.close();
    await audit.flush().catch(() => undefined);
    audit.stop();
    await pool.end();
  };
}

function main(): void {
  let cfg: AppConfig;
  let ticketConnector: TicketConnector | null;
  try {
    // systemd passes the env file itself (EnvironmentFile=); by hand, PINVERIFY_ENV_FILE names it.
    const env = withEnvFile(process.env, process.env.PINVERIFY_ENV_FILE);
    // Every problem at once: the app's own settings and the ticket connector's.
    const tickets = ticketConnectorFromEnv(env);
    try {
      cfg = loadAppConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError([...err.problems, ...tickets.problems]);
      throw err;
    }
    if (tickets.problems.length > 0) throw new ConfigError(tickets.problems);
    ticketConnector = tickets.connector;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof EnvFileError) {
      console.error(`pinverify: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: cfg.LOG_LEVEL, file: cfg.LOG_FILE });
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { problem: String(err) }));
  start(cfg, ticketConnector, log)
    .then((stop) => {
      const shutdown = () => {
        stop()
          .catch((err: unknown) => log.error('shutdown problem', { problem: String(err) }))
          .finally(() => process.exit(0));
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    })
    .catch((err: unknown) => {
      const msg = err instanceof Error ? err.message : String(err);
      log.error('pinverify could not start', { problem: msg, ari: cfg.ARI_URL });
      console.error(`pinverify: could not start: ${msg} (ARI at ${cfg.ARI_URL})`);
      process.exit(1);
    });
}

main();
