/** An in-memory CodeStore with the real semantics: tries counted, single use, expiry by the given time. */
import type { CodeCheck, CodeStore } from '../../src/flow/ports';
import { behave, type Behaviour } from './fake-behaviour';

interface StoredCode {
  hash: string;
  expiresAt: Date;
  maxTries: number;
  tries: number;
}

export class FakeCodeStore implements CodeStore {
  readonly behaviour: Record<'put' | 'check' | 'discard', Behaviour> = {
    put: 'ok',
    check: 'ok',
    discard: 'ok',
  };
  readonly puts: Array<{ callId: string; codeHash: string; expiresAt: Date; maxTries: number }> = [];
  readonly checks: Array<{ callId: string; codeHash: string; now: Date; result: CodeCheck }> = [];
  readonly discards: string[] = [];
  /** When set, check() answers this instead of looking at the stored code. */
  forcedCheck: CodeCheck | null = null;
  private readonly rows = new Map<string, StoredCode>();

  async put(callId: string, codeHash: string, expiresAt: Date, maxTries: number): Promise<void> {
    await behave(this.behaviour.put, 'codes.put');
    this.puts.push({ callId, codeHash, expiresAt, maxTries });
    this.rows.set(callId, { hash: codeHash, expiresAt, maxTries, tries: 0 });
  }

  async check(callId: string, codeHash: string, now: Date): Promise<CodeCheck> {
    await behave(this.behaviour.check, 'codes.check');
    const result = this.forcedCheck ?? this.evaluate(callId, codeHash, now);
    this.checks.push({ callId, codeHash, now, result });
    return result;
  }

  async discard(callId: string): Promise<void> {
    await behave(this.behaviour.discard, 'codes.discard');
    this.discards.push(callId);
    this.rows.delete(callId);
  }

  has(callId: string): boolean {
    return this.rows.has(callId);
  }

  private evaluate(callId: string, codeHash: string, now: Date): CodeCheck {
    const row = this.rows.get(callId);
    if (!row) return { kind: 'missing' };
    if (now.getTime() >= row.expiresAt.getTime()) return { kind: 'expired' };
    if (row.tries >= row.maxTries) return { kind: 'exhausted' };
    if (row.hash === codeHash) {
      this.rows.delete(callId);
      return { kind: 'ok' };
    }
    row.tries += 1;
    return { kind: 'wrong', triesLeft: row.maxTries - row.tries };
  }
}
