/**
 * `pinverify agents add | list | remove | set-password | update`: the operator's side of agent
 * accounts. Validation here, SQL in pg-agent-store.ts; errors are OpsErrors so the CLI prints
 * them as it prints every other refusal.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { recordConfigChange } from '../ops/config-change-log';
import { invalid, notFound, OpsError, zodProblems } from '../ops/ops-error';
import type { Pool } from 'pg';
import { passwordProblem, type PasswordHasher } from './agent-password';
import { AgentExists, PgAgentStore, type Agent } from './pg-agent-store';

const login = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9._@-]{1,63}$/,
    'letters, digits and . _ @ - (2-64 characters), starting with a letter or digit',
  );
const extension = z
  .string()
  .trim()
  .regex(/^[0-9A-Za-z*#+_-]{1,40}$/, 'an extension such as 2001');
const extensions = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== ''),
  )
  .pipe(z.array(extension).max(50, 'at most 50 extensions'));

const newAgent = z.object({
  login,
  name: z.string().trim().min(1, 'a name').max(100),
  extensions,
  role: z.enum(['agent', 'supervisor'], { error: 'agent or supervisor' }),
});

export type AgentSummary = Omit<Agent, 'passwordHash' | 'id'>;

function summary(a: Agent): AgentSummary {
  return {
    login: a.login,
    name: a.name,
    extensions: a.extensions,
    role: a.role,
    createdAt: a.createdAt,
    passwordChangedAt: a.passwordChangedAt,
  };
}

/** A password to hand to a new agent once: 20 characters from 15 random bytes. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

export function createAgentAdmin(deps: { pool: Pool; hasher: PasswordHasher; actor: string }) {
  const store = new PgAgentStore(deps.pool);
  const checkPassword = (password: string) => {
    const problem = passwordProblem(password);
    if (problem) throw invalid([{ field: 'password', message: problem }]);
  };
  const parse = <T>(schema: z.ZodType<T>, value: unknown): T => {
    const r = schema.safeParse(value);
    if (!r.success) throw invalid(zodProblems(r.error));
    return r.data;
  };
  return {
    async add(input: {
      login: string;
      name: string;
      extensions: string;
      role: string;
      password: string;
    }): Promise<AgentSummary> {
      const a = parse(newAgent, input);
      checkPassword(input.password);
      try {
        const saved = await store.insert({ ...a, passwordHash: await deps.hasher.hash(input.password) });
        await recordConfigChange(deps.pool, {
          actor: deps.actor,
          action: 'agent.add',
          subject: saved.login,
          detail: { role: saved.role, extensions: saved.extensions },
        });
        return summary(saved);
      } catch (err) {
        if (err instanceof AgentExists) throw new OpsError('conflict', err.message);
        throw err;
      }
    },
    async list(): Promise<AgentSummary[]> {
      return (await store.list()).map(summary);
    },
    async remove(loginText: string): Promise<AgentSummary> {
      const l = parse(login, loginText);
      const gone = await store.remove(l);
      if (!gone) throw notFound(`no agent with login ${l} (see pinverify agents list)`);
      await recordConfigChange(deps.pool, {
        actor: deps.actor,
        action: 'agent.remove',
        subject: l,
        detail: {},
      });
      return summary(gone);
    },
    async setPassword(loginText: string, password: string): Promise<void> {
      const l = parse(login, loginText);
      checkPassword(password);
      if (!(await store.setPassword(l, await deps.hasher.hash(password))))
        throw notFound(`no agent with login ${l} (see pinverify agents list)`);
      await recordConfigChange(deps.pool, {
        actor: deps.actor,
        action: 'agent.set-password',
        subject: l,
        detail: { sessionsEnded: true },
      });
    },
    async update(
      loginText: string,
      patch: { name?: string; extensions?: string; role?: string },
    ): Promise<AgentSummary> {
      const l = parse(login, loginText);
      const p = parse(newAgent.omit({ login: true }).partial(), patch);
      const saved = await store.update(l, p);
      if (!saved) throw notFound(`no agent with login ${l} (see pinverify agents list)`);
      await recordConfigChange(deps.pool, {
        actor: deps.actor,
        action: 'agent.update',
        subject: l,
        detail: p,
      });
      return summary(saved);
    },
  };
}

export type AgentAdmin = ReturnType<typeof createAgentAdmin>;
