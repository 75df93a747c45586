/**
 * A change made through the ops layer (the code behind the CLI and the admin API) reaches
 * running app instances within a second: two independent PgConfigStore instances, each with
 * its own pool and its own startConfigListener (two app processes), both see routes.add and
 * settings.set, while a third store without a listener keeps serving its cache, proving it is
 * the NOTIFY that delivers the change and not the cache expiring.
 */
import type { Pool } from 'pg';
import { createAmiClient } from '../../../src/ami/ami-client';
import { createAmiDialplanChecker, type AmiDialplanChecker } from '../../../src/ami/ami-dialplan-checker';
import { createOpsServices, type OpsServices } from '../../../src/ops/ops-services';
import { DEMO_NEW_DEPARTMENT_HOP, loadDemoData } from '../../../src/store/demo-data';
import { PgConfigStore, startConfigListener, type ConfigListener } from '../../../src/store/pg-config-store';
import { freshDatabase, testPool, waitFor } from '../helpers';
import { AMI_ENV } from './cli-harness';

interface AppInstance {
  pool: Pool;
  store: PgConfigStore;
  listener: ConfigListener;
}

async function startInstance(): Promise<AppInstance> {
  const pool = testPool();
  const store = new PgConfigStore(pool);
  const listener = startConfigListener(pool, store);
  await listener.ready;
  return { pool, store, listener };
}

async function stopInstance(app: AppInstance): Promise<void> {
  await app.listener.close();
  app.store.close();
  await app.pool.end();
}

describe('live reload of changes made through the ops layer', () => {
  let opsPool: Pool;
  let checker: AmiDialplanChecker;
  let ops: OpsServices;
  let apps: AppInstance[];
  let unlistened: { pool: Pool; store: PgConfigStore };

  beforeAll(async () => {
    opsPool = await freshDatabase();
    await loadDemoData(opsPool);
    checker = createAmiDialplanChecker({
      ami: createAmiClient({
        host: AMI_ENV.AMI_HOST,
        port: Number(AMI_ENV.AMI_PORT),
        user: AMI_ENV.AMI_USER,
        secret: AMI_ENV.AMI_SECRET,
        onError: () => undefined,
      }),
      app: process.env.ARI_APP || 'pinverify',
      ownsAmi: true,
    });
    ops = createOpsServices({ pool: opsPool, actor: 'cli:live-reload-test', dialplan: () => checker });
    apps = [await startInstance(), await startInstance()];
    const pool = testPool();
    unlistened = { pool, store: new PgConfigStore(pool) };
  });
  afterAll(async () => {
    await Promise.all(apps.map(stopInstance));
    unlistened.store.close();
    await unlistened.pool.end();
    checker.close();
    await opsPool.end();
  });

  it('a route added with routes.add is found by both running instances within a second', async () => {
    // Warm every cache: no route for the hop yet.
    for (const s of [...apps.map((a) => a.store), unlistened.store])
      expect(await s.findRoute(DEMO_NEW_DEPARTMENT_HOP)).toBeNull();

    const saved = await ops.routes.add({
      title: 'Sales PIN verification',
      previousHop: DEMO_NEW_DEPARTMENT_HOP,
      successDestination: '2003',
      failedDestination: '2903',
    });
    expect(saved.warnings).toEqual([]);

    const started = Date.now();
    await waitFor(async () => {
      const found = await Promise.all(apps.map((a) => a.store.findRoute(DEMO_NEW_DEPARTMENT_HOP)));
      return found.every((r) => r?.successDestination === '2003');
    }, 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    // The store without a listener still answers from its cache (30 s TTL).
    expect(await unlistened.store.findRoute(DEMO_NEW_DEPARTMENT_HOP)).toBeNull();
  });

  it('settings changed with settings.set reach both instances within a second', async () => {
    for (const s of [...apps.map((a) => a.store), unlistened.store])
      expect((await s.getSettings()).codeLength).toBe(6);

    await ops.settings.set({ codeLength: 8, maxTriesPerCode: 5 });

    await waitFor(async () => {
      const settings = await Promise.all(apps.map((a) => a.store.getSettings()));
      return settings.every((s) => s.codeLength === 8 && s.maxTriesPerCode === 5);
    }, 1000);
    expect((await unlistened.store.getSettings()).codeLength).toBe(6);
  });

  it('a route removed with routes.remove is gone from both instances too', async () => {
    // Each instance has the route cached (read afresh here, so this test stands on its own).
    for (const a of apps) {
      a.store.invalidate();
      expect(await a.store.findRoute(DEMO_NEW_DEPARTMENT_HOP)).not.toBeNull();
    }
    await ops.routes.remove(DEMO_NEW_DEPARTMENT_HOP);
    await waitFor(async () => {
      const found = await Promise.all(apps.map((a) => a.store.findRoute(DEMO_NEW_DEPARTMENT_HOP)));
      return found.every((r) => r === null);
    }, 1000);
  });
});
