import type { AuditKind, AuditTrail, CallOpened } from '../../src/flow/ports';
import type { CallOutcome } from '../../src/domain';
import { behave, type Behaviour } from './fake-behaviour';

export interface RecordedAuditEvent {
  kind: AuditKind;
  detail: Record<string, unknown>;
  at: Date;
}

export class FakeAuditTrail implements AuditTrail {
  behaviour: Behaviour = 'ok';
  opened: CallOpened | null = null;
  readonly events: RecordedAuditEvent[] = [];
  closed: { outcome: CallOutcome; at: Date } | null = null;

  async open(call: CallOpened): Promise<void> {
    await behave(this.behaviour, 'audit.open');
    this.opened = call;
  }

  async event(_callId: string, kind: AuditKind, detail: Record<string, unknown>, at: Date): Promise<void> {
    await behave(this.behaviour, 'audit.event');
    this.events.push({ kind, detail, at });
  }

  async close(_callId: string, outcome: CallOutcome, at: Date): Promise<void> {
    await behave(this.behaviour, 'audit.close');
    this.closed = { outcome, at };
  }

  kinds(): AuditKind[] {
    return this.events.map((e) => e.kind);
  }

  /** Details of every event of one kind. */
  details(kind: AuditKind): Array<Record<string, unknown>> {
    return this.events.filter((e) => e.kind === kind).map((e) => e.detail);
  }
}
