/**
 * Screen pops: a call that went through pinverify reaches an agent's extension (AMI DialBegin on
 * whichever instance watches that Asterisk), is recorded once in desk_pops and announced with
 * NOTIFY; every app instance LISTENs and pushes it to the browsers of the agents answering that
 * extension, whichever instance they are connected to.
 */
import type { Pool } from 'pg';
import type { FlowLogger } from '../flow/ports';
import { startPgListener, type PgListener } from '../store/pg-listener';
import type { PopView } from './desk-api';
import { popView } from './desk-service';
import type { DialBegin } from './dial-begin';

export const POP_CHANNEL = 'pinverify_desk_pop';

/**
 * Records the pops a DialBegin makes: only for a call pinverify handled (its channel is in the
 * audit trail) and an extension some agent answers. Unique per call and extension, so several
 * instances seeing the same event record one pop. Returns the new pops' ids.
 */
export async function recordPops(pool: Pool, dial: DialBegin): Promise<number[]> {
  if (dial.extensions.length === 0) return [];
  const { rows } = await pool.query<{ id: string }>(
    `WITH ins AS (
       INSERT INTO desk_pops (call_id, extension)
       SELECT c.call_id, e.ext
         FROM calls c CROSS JOIN unnest($2::text[]) AS e(ext)
        WHERE c.channel_id = ANY($1::text[])
          AND EXISTS (SELECT 1 FROM agents a WHERE e.ext = ANY(a.extensions))
       ON CONFLICT (call_id, extension) DO NOTHING
       RETURNING id)
     SELECT id, pg_notify('${POP_CHANNEL}', id::text) FROM ins`,
    [dial.channelIds, dial.extensions],
  );
  return rows.map((r) => Number(r.id));
}

export interface PopSubscriber {
  extensions: readonly string[];
  send(pop: PopView): void;
}

export interface PopHub {
  subscribe(s: PopSubscriber): () => void;
  subscribers(): number;
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface PopHubOptions {
  pool: Pool;
  log: FlowLogger;
  /**
   * The call's record may be a moment behind the ringing (audit writes are batched): a pop
   * whose result is not there yet is read again every `retryMs` for up to `waitMs`, then sent as is.
   */
  waitMs?: number;
  retryMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export function startPopHub(o: PopHubOptions): PopHub {
  const subs = new Set<PopSubscriber>();
  const waitMs = o.waitMs ?? 3000;
  const retryMs = o.retryMs ?? 100;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  async function deliver(id: number): Promise<void> {
    let pop = await popView(o.pool, id);
    for (let waited = 0; pop && pop.result === null && waited < waitMs; waited += retryMs) {
      await sleep(retryMs);
      pop = await popView(o.pool, id);
    }
    if (!pop) return;
    const found = pop;
    for (const s of subs) if (s.extensions.includes(found.extension)) s.send(found);
  }

  const listener: PgListener = startPgListener(
    o.pool,
    POP_CHANNEL,
    {
      onNotify(payload) {
        const id = Number(payload);
        // Nobody to tell on this instance: skip the read.
        if (!Number.isInteger(id) || subs.size === 0) return;
        deliver(id).catch((err: unknown) =>
          o.log.warn('screen pop not delivered', {
            popId: id,
            problem: err instanceof Error ? err.message : String(err),
          }),
        );
      },
    },
    { logger: o.log, name: 'screen pop listener' },
  );

  return {
    subscribe(s) {
      subs.add(s);
      return () => subs.delete(s);
    },
    subscribers: () => subs.size,
    ready: listener.ready,
    close: () => listener.close(),
  };
}
