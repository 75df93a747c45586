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
import { amiSettings, databaseUrl } from './cli-env';
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
    });
    return this.opsInstance;
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
    this.checker?.close();
    this.amiInstance?.close();
    const pool = this.poolInstance;
    this.poolInstance = null;
    if (pool) await pool.end().catch(() => undefined);
  }
}
