/**
 * Settings from an env file (KEY=value lines, as systemd's EnvironmentFile and dotenv read them)
 * under the process environment: variables already set win, as with dotenv. Used by the app
 * (PINVERIFY_ENV_FILE) and the CLI (--env-file or PINVERIFY_ENV_FILE), so an operator can keep
 * one file, /etc/pinverify/pinverify.env, for the service and for ops commands.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

export class EnvFileError extends Error {}

export function withEnvFile(base: NodeJS.ProcessEnv, file: string | undefined): NodeJS.ProcessEnv {
  if (!file) return { ...base };
  if (!existsSync(file)) throw new EnvFileError(`env file ${file} does not exist`);
  let parsed: Record<string, string>;
  try {
    parsed = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (err) {
    throw new EnvFileError(`env file ${file} could not be read: ${(err as Error).message}`);
  }
  return { ...parsed, ...base };
}
