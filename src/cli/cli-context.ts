/**
 * What a CLI command gets: its output, the environment, and the ops services, each opened on
 * first use and closed when the command ends (a CLI must not leave a pool or an AMI socket
 * holding the process open).
 */
import { userInfo } from 'node:os';
import type { Pool } from 'pg';
import { createAmiClient, type AmiClient } from '../ami/ami-client';
import { createAmiDialplanChecker, type AmiDialplanChecker } from '../ami/ami-dialplan-checker';
import { PbxUnreachableError } from '../ops/dialplan-checker';
import { createOpsServices, type OpsServices } from '../ops/ops-services';
import type { DialplanSource } from '../ops/pbx-checks';
import { createPool } from '../store/db';
import { createDeliveryFromEnv } from '../senders/delivery-from-config';
import { PgConfigStore } from '../store/pg-config-store';
import { createPgVerificationService } from '../verification/create-pg-verification-service';
import { queueFirstAttempt } from '../outbound/outbound-caller';
import { startPgCallQueue } from '../outbound/pg-call-queue';
import { PgProfileStore } from '../store/pg-profile-store';
import type { VerificationService } from '../verification/verification-service';
import { amiSettings, CliUsageError, databaseUrl } from './cli-env';
import { formatJson, type CliIo } from './cli-io';

export interface CliOverrides {
  /** The environment instead of process.env (tests). */
  env?: NodeJS.ProcessEnv;
  /** A dialplan checker instead of AMI (tests of the refusal paths). */
  dialplan?: DialplanSource;
}

export class CliContext {
  private poolInstance: Pool | null = null;
  private amiInstance: AmiClient | null = null;
  private checker: AmiDialplanChecker | null = null;
  private opsInstance: OpsServices | null = null;
  private verificationService: VerificationService | null = null;
  private callQueue: ReturnType<typeof startPgCallQueue> | null = null;
  /** Set by run-cli.ts from --env-file before the command runs. */
  env: NodeJS.ProcessEnv;
  json = false;
  /** A command that ran but reports failure (a refused import) sets this. */
  exitCode = 0;

  constructor(
    readonly io: CliIo,
    private readonly overrides: CliOverrides,
  ) {
    this.env = overrides.env ?? process.env;
  }

  get actor(): string {
    let user = 'unknown';
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry (containers): keep "unknown"
    }
    return `cli:${this.env.PINVERIFY_ACTOR || user}`;
  }

  pool(): Pool {
    this.poolInstance ??= createPool(databaseUrl(this.env), { max: 2 });
    return this.poolInstance;
  }

  ops(): OpsServices {
    this.opsInstance ??= createOpsServices({
      pool: this.pool(),
      actor: this.actor,
      dialplan: this.overrides.dialplan ?? (() => this.dialplan()),
      verifications: () => this.verifications(),
    });
    return this.opsInstance;
  }

  /**
   * The verification service on the app's database, sending with the app's SMTP and Twilio
   * settings (from the environment or the env file). Needs PINVERIFY_CODE_SECRET: the same
   * secret as the app, or codes sent by one could not be checked by the other.
   */
  verifications(): VerificationService {
    if (this.verificationService) return this.verificationService;
    const secret = this.env.PINVERIFY_CODE_SECRET ?? '';
    if (secret.length < 16)
      throw new CliUsageError(
        'PINVERIFY_CODE_SECRET is not set (at least 16 characters, the same as the app)',
      );
    const config = new PgConfigStore(this.pool(), { ttlSeconds: 1 });
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    this.verificationService = createPgVerificationService({
      pool: this.pool(),
      config,
      delivery: createDeliveryFromEnv(this.env, config),
      secret,
      log: quiet,
      // Calls are placed by the running app: the CLI only queues them (src/outbound/pg-call-queue.ts).
      calls: {
        place: async (job) => {
          this.callQueue ??= startPgCallQueue({ pool: this.pool(), log: quiet });
          await queueFirstAttempt(new PgProfileStore(this.pool()), await this.callQueue, job);
        },
      },
    });
    return this.verificationService;
  }

  /** The running PBX's dialplan over AMI; PbxUnreachableError when AMI is not configured. */
  dialplan(): AmiDialplanChecker {
    if (this.checker) return this.checker;
    const ami = amiSettings(this.env);
    if (typeof ami === 'string') throw new PbxUnreachableError(`AMI is not configured (${ami})`);
    this.amiInstance = createAmiClient({ ...ami, onError: () => undefined });
    this.checker = createAmiDialplanChecker({ ami: this.amiInstance, app: this.env.ARI_APP || 'pinverify' });
    return this.checker;
  }

  /** Prints `value` as JSON with --json, else the human text. */
  print(value: unknown, human: () => string): void {
    this.io.out(this.json ? formatJson(value) : human());
  }

  warn(lines: readonly string[]): void {
    for (const line of lines) this.io.err(`warning: ${line}`);
  }

  async close(): Promise<void> {
    if (this.callQueue) await (await this.callQueue.catch(() => null))?.stop().catch(() => undefined);
    this.checker?.close();
    this.amiInstance?.close();
    const pool = this.poolInstance;
    this.poolInstance = null;
    if (pool) await pool.end().catch(() => undefined);
  }
}
