/**
 * Every ops operation behind one object, for the two front ends: the CLI (src/cli) and the
 * admin HTTP API (src/http). Both only parse their own input syntax and print; validation,
 * PBX checks, change records and the SQL live here, so the two cannot drift apart.
 */
import { createAgentAdmin } from '../desk/agent-admin';
import { createPasswordHasher } from '../desk/agent-password';
import { createApiKeyAdmin } from './api-key-admin';
import { createCallHistory } from './call-history';
import { recentConfigChanges } from './config-change-log';
import { createContactAdmin } from './contact-admin';
import type { OpsDeps } from './ops-deps';
import { createPinAdmin } from './pin-admin';
import { createProfileAdmin } from './profile-admin';
import { createRouteAdmin } from './route-admin';
import { createSettingsAdmin } from './settings-admin';
import { createTemplateAdmin } from './template-admin';
import { createVerificationAdmin } from './verification-admin';

export function createOpsServices(deps: OpsDeps) {
  return {
    routes: createRouteAdmin(deps),
    profiles: createProfileAdmin(deps),
    settings: createSettingsAdmin(deps),
    templates: createTemplateAdmin(deps),
    contacts: createContactAdmin(deps),
    calls: createCallHistory(deps.pool),
    apiKeys: createApiKeyAdmin(deps),
    verifications: createVerificationAdmin(deps),
    pins: createPinAdmin(deps),
    agents: createAgentAdmin({ pool: deps.pool, hasher: createPasswordHasher(), actor: deps.actor }),
    changes: (limit = 20) => recentConfigChanges(deps.pool, limit),
  };
}

export type OpsServices = ReturnType<typeof createOpsServices>;
