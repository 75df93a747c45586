/**
 * The verification service on Postgres, as the app and the CLI build it. Kept apart from
 * main.ts so the CLI does not start an app to verify someone.
 */
import type { Pool } from 'pg';
import { systemClock, type Clock } from '../call/clock';
import type { CodeDelivery, FlowLogger } from '../flow/ports';
import type { ConfigStore } from '../flow/ports';
import { PgContactDirectory } from '../store/pg-contact-directory';
import { PgVerificationStore } from '../store/pg-verification-store';
import type { VerificationObserver } from '../metrics/app-metrics';
import { VerificationService, type LimitAlarm, type OutboundCalls } from './verification-service';

export interface PgVerificationServiceOptions {
  pool: Pool;
  config: ConfigStore;
  delivery: CodeDelivery;
  secret: string;
  log: FlowLogger;
  clock?: Clock;
  alarm?: (alarm: LimitAlarm) => void;
  observer?: VerificationObserver;
  calls?: OutboundCalls;
}

export function createPgVerificationService(o: PgVerificationServiceOptions): VerificationService {
  const contacts = new PgContactDirectory(o.pool);
  return new VerificationService({
    store: new PgVerificationStore(o.pool),
    delivery: o.delivery,
    settings: () => o.config.getSettings(),
    contactById: (id) => contacts.findById(id),
    clock: o.clock ?? systemClock,
    secret: o.secret,
    log: o.log,
    alarm: o.alarm,
    observer: o.observer,
    calls: o.calls,
  });
}
