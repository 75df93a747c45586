import type { FlowLogger } from '../../src/flow/ports';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  msg: string;
  meta: Record<string, unknown> | undefined;
}

export class FakeFlowLogger implements FlowLogger {
  readonly entries: LogEntry[] = [];

  info(msg: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'info', msg, meta });
  }

  warn(msg: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'warn', msg, meta });
  }

  error(msg: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'error', msg, meta });
  }

  messages(level?: LogEntry['level']): string[] {
    return this.entries.filter((e) => level === undefined || e.level === level).map((e) => e.msg);
  }
}
