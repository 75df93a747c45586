/**
 * What every ops service needs: the database, the running PBX's dialplan (asked lazily, so a
 * command that does not check destinations never opens an AMI connection), and who is acting.
 */
import type { Pool } from 'pg';
import type { VerificationService } from '../verification/verification-service';
import type { DialplanSource } from './pbx-checks';

export interface OpsDeps {
  pool: Pool;
  dialplan: DialplanSource;
  /** "cli:<os user>" or "api:<key name>"; recorded with every change (config_changes). */
  actor: string;
  /** The verification service (built on first use: the CLI needs the senders only to send). */
  verifications?: () => VerificationService;
}
