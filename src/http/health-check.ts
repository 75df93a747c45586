/**
 * The health report of GET /v1/health (and `pinverify health`): each dependency probed with a
 * deadline, in parallel, so one hanging service cannot hang the report. A probe returns a short
 * detail (a version, a schema name) or throws with the problem.
 */
export interface ComponentHealth {
  ok: boolean;
  latencyMs: number;
  detail?: string;
  problem?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  checks: Record<string, ComponentHealth>;
}

export type HealthProbe = () => Promise<string>;

export function createHealthCheck(
  probes: Record<string, HealthProbe>,
  options: { timeoutMs?: number; now?: () => number } = {},
): () => Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const now = options.now ?? Date.now;
  const run = async (name: string, probe: HealthProbe): Promise<[string, ComponentHealth]> => {
    const started = now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const detail = await Promise.race([
        probe(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return [name, { ok: true, latencyMs: now() - started, detail }];
    } catch (err) {
      return [
        name,
        { ok: false, latencyMs: now() - started, problem: err instanceof Error ? err.message : String(err) },
      ];
    } finally {
      clearTimeout(timer);
    }
  };
  return async () => {
    const results = await Promise.all(Object.entries(probes).map(([name, probe]) => run(name, probe)));
    const checks = Object.fromEntries(results);
    return { status: results.every(([, c]) => c.ok) ? 'ok' : 'degraded', checks };
  };
}
