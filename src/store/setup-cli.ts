/**
 * Creates or upgrades the schema, optionally loads the demo data, and prints one line.
 *
 *   DATABASE_URL=postgres://... npx tsx src/store/setup-cli.ts [--demo]
 *
 * The role and database must exist already (src/store/bootstrap.sql creates the lab ones).
 * Exits 1 with a message naming the problem, e.g. "cannot connect to 127.0.0.1:5432".
 */
import { checkDb, createPool, DEFAULT_DATABASE_URL, describeDbError, errorMessage, redactUrl } from './db';
import { loadDemoData } from './demo-data';
import { migrate } from './migrate';

/** An error whose message is already meant for the operator. */
class SetupError extends Error {}

export async function runSetup(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const unknown = argv.filter((arg) => arg !== '--demo');
  if (unknown.length > 0)
    throw new Error(`unknown argument ${unknown.join(' ')} (usage: setup-cli [--demo])`);
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const pool = createPool(databaseUrl, { max: 2 });
  try {
    // A health check first, so the error names the server rather than a migration.
    const health = await checkDb(pool);
    if (!health.ok) throw new SetupError(health.error);
    const result = await migrate(pool);
    const parts = [
      `database ${redactUrl(databaseUrl)}`,
      `schema at ${result.current ?? 'nothing'}`,
      result.applied.length > 0 ? `applied ${result.applied.join(', ')}` : 'no migration needed',
    ];
    if (argv.includes('--demo')) {
      const demo = await loadDemoData(pool);
      parts.push(
        `demo data loaded (${demo.routes} routes, ${demo.contacts} contacts, ${demo.profiles} call profiles)`,
      );
    }
    return `pinverify setup ok: ${parts.join('; ')}`;
  } catch (err) {
    if (err instanceof SetupError) throw err;
    throw new SetupError(describeDbError(err, databaseUrl), { cause: err });
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  runSetup(process.argv.slice(2), process.env).then(
    (summary) => {
      console.log(summary);
    },
    (err: unknown) => {
      console.error(`pinverify setup failed: ${errorMessage(err)}`);
      process.exitCode = 1;
    },
  );
}
