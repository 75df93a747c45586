/**
 * createHealthCheck: every probe runs in parallel under one deadline, so a hanging dependency is
 * reported as failed with its deadline instead of hanging the report; failures are named per
 * component, latency comes from the injected clock, and no timer is left behind. Fake timers:
 * no real time passes.
 */
import { createHealthCheck, type HealthReport } from '../../../src/http/health-check';

/** A clock that moves only with jest's fake timers. */
const fakeNow = () => Date.now();

describe('createHealthCheck', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-03-01T10:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('reports ok with each detail when every probe answers', async () => {
    const health = createHealthCheck(
      { postgres: async () => 'PostgreSQL 16', ami: async () => '127.0.0.1:5038' },
      { now: fakeNow },
    );
    const report = await health();
    expect(report).toEqual({
      status: 'ok',
      checks: {
        postgres: { ok: true, latencyMs: 0, detail: 'PostgreSQL 16' },
        ami: { ok: true, latencyMs: 0, detail: '127.0.0.1:5038' },
      },
    });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reports a hanging probe as failed at its deadline, without waiting for it', async () => {
    const health = createHealthCheck(
      {
        postgres: async () => 'PostgreSQL 16',
        ari: () => new Promise<string>(() => undefined),
      },
      { timeoutMs: 1500, now: fakeNow },
    );
    let report: HealthReport | undefined;
    void health().then((r) => {
      report = r;
    });
    await jest.advanceTimersByTimeAsync(1499);
    expect(report).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(report).toEqual({
      status: 'degraded',
      checks: {
        postgres: { ok: true, latencyMs: 0, detail: 'PostgreSQL 16' },
        ari: { ok: false, latencyMs: 1500, problem: 'no answer within 1500 ms' },
      },
    });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('runs the probes in parallel: two hanging probes cost one deadline, not two', async () => {
    const hang = () => new Promise<string>(() => undefined);
    const health = createHealthCheck({ ari: hang, ami: hang }, { timeoutMs: 2000, now: fakeNow });
    let report: HealthReport | undefined;
    void health().then((r) => {
      report = r;
    });
    await jest.advanceTimersByTimeAsync(2000);
    expect(report?.checks).toEqual({
      ari: { ok: false, latencyMs: 2000, problem: 'no answer within 2000 ms' },
      ami: { ok: false, latencyMs: 2000, problem: 'no answer within 2000 ms' },
    });
  });

  it('uses a 2 s deadline by default', async () => {
    const health = createHealthCheck({ ari: () => new Promise<string>(() => undefined) });
    let report: HealthReport | undefined;
    void health().then((r) => {
      report = r;
    });
    await jest.advanceTimersByTimeAsync(1999);
    expect(report).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(report?.checks.ari?.problem).toBe('no answer within 2000 ms');
  });

  it('names the problem of a failing probe, whatever it threw', async () => {
    const health = createHealthCheck(
      {
        postgres: async () => {
          throw new Error('cannot connect to 127.0.0.1:5432 (connection refused)');
        },
        ami: () => Promise.reject(new Error('login refused')),
        ari: async () => {
          throw 'not connected'; // eslint-disable-line @typescript-eslint/only-throw-error
        },
        sinks: async () => 'ok',
      },
      { now: fakeNow },
    );
    const report = await health();
    expect(report.status).toBe('degraded');
    expect(report.checks).toEqual({
      postgres: { ok: false, latencyMs: 0, problem: 'cannot connect to 127.0.0.1:5432 (connection refused)' },
      ami: { ok: false, latencyMs: 0, problem: 'login refused' },
      ari: { ok: false, latencyMs: 0, problem: 'not connected' },
      sinks: { ok: true, latencyMs: 0, detail: 'ok' },
    });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('measures latency with the injected clock', async () => {
    let t = 1000;
    const health = createHealthCheck(
      {
        slow: async () => {
          t += 250;
          return 'done';
        },
      },
      { now: () => t },
    );
    expect((await health()).checks.slow).toEqual({ ok: true, latencyMs: 250, detail: 'done' });
  });

  it('is ok with no probes at all', async () => {
    expect(await createHealthCheck({})()).toEqual({ status: 'ok', checks: {} });
  });
});
