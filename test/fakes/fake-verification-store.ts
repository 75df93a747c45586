/**
 * An in-memory VerificationStore with the Postgres store's semantics: `atomically` runs one
 * unit of work at a time (as the advisory locks make it) and rolls back everything it wrote
 * when the work throws. Behaviours make the next operations fail or hang.
 */
import { sendLimitVerdict, type SendCounts, type SendLimits, type Verification } from '../../src/domain';
import type {
  SendRecord,
  SendReservation,
  VerificationFilter,
  VerificationStore,
  VerificationTx,
} from '../../src/verification/verification-store';
import { behave, type Behaviour } from './fake-behaviour';

interface Failure {
  contactId: number;
  verificationId: string;
  at: Date;
  clearedAt: Date | null;
}

interface State {
  verifications: Map<string, Verification>;
  sends: SendRecord[];
  failures: Failure[];
}

function copy(s: State): State {
  return {
    verifications: new Map([...s.verifications].map(([k, v]) => [k, { ...v }])),
    sends: s.sends.map((x) => ({ ...x })),
    failures: s.failures.map((x) => ({ ...x })),
  };
}

const HOUR = 3600_000;

export class FakeVerificationStore implements VerificationStore {
  readonly behaviour: Record<'atomically' | 'read' | 'insert' | 'release', Behaviour> = {
    atomically: 'ok',
    read: 'ok',
    insert: 'ok',
    release: 'ok',
  };
  private state: State = { verifications: new Map(), sends: [], failures: [] };
  private queue: Promise<unknown> = Promise.resolve();
  /** How many units of work committed. */
  commits = 0;

  get verifications(): Verification[] {
    return [...this.state.verifications.values()];
  }

  get sends(): readonly SendRecord[] {
    return this.state.sends;
  }

  get failures(): readonly Failure[] {
    return this.state.failures;
  }

  atomically<T>(work: (tx: VerificationTx) => Promise<T>): Promise<T> {
    return this.unitOfWork(this.behaviour.atomically, (draft) => work(this.tx(draft)));
  }

  /** One at a time; everything `work` wrote is kept only if it does not throw. */
  private unitOfWork<T>(behaviour: Behaviour, work: (draft: State) => T | Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      await behave(behaviour, 'verification store');
      const draft = copy(this.state);
      const result = await work(draft);
      this.state = draft;
      this.commits += 1;
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async get(id: string): Promise<Verification | null> {
    await behave(this.behaviour.read, 'verification store');
    const v = this.state.verifications.get(id);
    return v ? { ...v } : null;
  }

  async list(filter: VerificationFilter): Promise<Verification[]> {
    await behave(this.behaviour.read, 'verification store');
    return this.verifications
      .filter(
        (v) =>
          (filter.contactId === undefined || v.contactId === filter.contactId) &&
          (filter.status === undefined || v.status === filter.status) &&
          (filter.callId === undefined || v.callId === filter.callId),
      )
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, filter.limit ?? 50);
  }

  /** Reads outside a unit of work see no failures (as from before another instance's failure). */
  staleFailureReads = false;

  async failuresSince(contactId: number, since: Date): Promise<Date[]> {
    await behave(this.behaviour.read, 'verification store');
    return this.staleFailureReads ? [] : failuresOf(this.state, contactId, since);
  }

  async clearFailures(contactId: number, since: Date, at: Date): Promise<number> {
    let n = 0;
    for (const f of this.state.failures) {
      if (f.contactId === contactId && f.at > since && f.clearedAt === null) {
        f.clearedAt = at;
        n += 1;
      }
    }
    return n;
  }

  async clearSends(destinationKeys: string[], since: Date): Promise<number> {
    const before = this.state.sends.length;
    this.state.sends = this.state.sends.filter(
      (s) => !(destinationKeys.includes(s.destinationKey) && s.at > since),
    );
    return before - this.state.sends.length;
  }

  /** On its own, as one unit of work (the Postgres store's one statement). */
  reserveSend(send: SendRecord, limits: SendLimits): Promise<SendReservation> {
    return this.atomically((tx) => tx.reserveSend(send, limits));
  }

  /** As one unit of work, so a unit running meanwhile cannot commit the released send back. */
  releaseSend(send: SendRecord): Promise<void> {
    return this.unitOfWork(this.behaviour.release, (draft) => {
      draft.sends = draft.sends.filter(
        (x) => !(x.verificationId === send.verificationId && x.destinationKey === send.destinationKey),
      );
    });
  }

  /** Deletes a verification behind the service's back (a purge, an operator's SQL). */
  remove(id: string): void {
    this.state.verifications.delete(id);
  }

  private tx(s: State): VerificationTx {
    return {
      load: async (id) => {
        const v = s.verifications.get(id);
        return v ? { ...v } : null;
      },
      insert: async (v) => {
        await behave(this.behaviour.insert, 'verification insert');
        if (s.verifications.has(v.id)) throw new Error(`duplicate verification ${v.id}`);
        s.verifications.set(v.id, { ...v });
      },
      save: async (v, failure) => {
        if (!s.verifications.has(v.id)) throw new Error(`no verification ${v.id}`);
        s.verifications.set(v.id, { ...v });
        if (failure)
          s.failures.push({
            contactId: failure.contactId,
            verificationId: v.id,
            at: failure.at,
            clearedAt: null,
          });
      },
      lockContact: async (contactId, since) => failuresOf(s, contactId, since),
      reserveSend: async (send, limits) => reserveSend(s, send, limits),
    };
  }
}

/** pinverify_reserve_send's rule (migration 019): counts before this send; taken while all are under. */
function reserveSend(s: State, send: SendRecord, limits: SendLimits): SendReservation {
  const now = send.at;
  const within = (ms: number) => s.sends.filter((x) => x.at.getTime() > now.getTime() - ms);
  const destHour = within(HOUR).filter((x) => x.destinationKey === send.destinationKey);
  const destDay = within(24 * HOUR).filter((x) => x.destinationKey === send.destinationKey);
  const oldest = (xs: SendRecord[]) =>
    xs.length ? new Date(Math.min(...xs.map((x) => x.at.getTime()))) : null;
  const counts: SendCounts = {
    destinationLastHour: destHour.length,
    destinationLastDay: destDay.length,
    countryLastHour:
      send.countryCode === null
        ? null
        : within(HOUR).filter((x) => x.countryCode === send.countryCode).length,
    overallLastHour: within(HOUR).length,
    oldestDestinationSendLastHour: oldest(destHour),
    oldestDestinationSendLastDay: oldest(destDay),
  };
  const reserved = sendLimitVerdict(counts, limits, send.countryCode, now).refusal === null;
  if (reserved) s.sends.push({ ...send });
  return { reserved, counts };
}

function failuresOf(s: State, contactId: number, since: Date): Date[] {
  return s.failures
    .filter((f) => f.contactId === contactId && f.at > since && f.clearedAt === null)
    .map((f) => f.at)
    .sort((a, b) => a.getTime() - b.getTime());
}
