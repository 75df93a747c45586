/**
 * The CLI's view of the environment: the same variables as the app (README, "Configuration"),
 * optionally read from an env file (--env-file or PINVERIFY_ENV_FILE; the lab writes
 * .lab/pinverify.env). Variables already set in the environment win over the file, as with
 * dotenv. Each command checks only what it needs, so `routes list` works without ARI settings.
 */
import { EnvFileError, withEnvFile } from '../config/env-file';
import { DEFAULT_DATABASE_URL } from '../store/db';

export class CliUsageError extends Error {}

export function loadCliEnv(base: NodeJS.ProcessEnv, envFile?: string): NodeJS.ProcessEnv {
  try {
    return withEnvFile(base, envFile ?? base.PINVERIFY_ENV_FILE);
  } catch (err) {
    if (err instanceof EnvFileError) throw new CliUsageError(err.message);
    throw err;
  }
}

export function databaseUrl(env: NodeJS.ProcessEnv): string {
  return env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

export interface AmiSettings {
  host: string;
  port: number;
  user: string;
  secret: string;
}

/**
 * AMI settings, or the reason there are none (named variables). The CLI's own read-only user
 * (AMI_CLI_USER / AMI_CLI_SECRET) comes first, so one environment can serve the app and the CLI
 * with their separate least-rights users; else AMI_USER / AMI_SECRET.
 */
export function amiSettings(env: NodeJS.ProcessEnv): AmiSettings | string {
  const own = Boolean(env.AMI_CLI_USER && env.AMI_CLI_SECRET);
  const [userKey, secretKey] = own ? ['AMI_CLI_USER', 'AMI_CLI_SECRET'] : ['AMI_USER', 'AMI_SECRET'];
  const missing = [userKey, secretKey].filter((k) => !env[k]);
  if (missing.length > 0) return `${missing.join(' and ')} not set`;
  const port = Number(env.AMI_PORT ?? 5038);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return `AMI_PORT ${env.AMI_PORT} is not a port number`;
  return { host: env.AMI_HOST || '127.0.0.1', port, user: env[userKey] ?? '', secret: env[secretKey] ?? '' };
}
