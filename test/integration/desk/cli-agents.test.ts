/**
 * `pinverify agents ...` as ops run it (in-process, the shared CLI runner): accounts added with
 * a password from standard input or generated, stored only as an argon2id hash, listed without
 * it, changed, refused in words when the input is wrong, and every change recorded; a new
 * password ends the agent's sessions.
 */
import type { Pool } from 'pg';
import { createPasswordHasher } from '../../../src/desk/agent-password';
import { PgAgentStore } from '../../../src/desk/pg-agent-store';
import { freshDatabase } from '../helpers';
import { cli } from '../ops/cli-harness';

const PASSWORD = 'correct horse battery';
let pool: Pool;
const store = () => new PgAgentStore(pool);

beforeAll(async () => {
  pool = await freshDatabase();
});
beforeEach(async () => {
  await pool.query('TRUNCATE agents, config_changes RESTART IDENTITY CASCADE');
});
afterAll(async () => {
  await pool.end();
});

const add = (login: string, extra: string[] = [], stdin = `${PASSWORD}\n`) =>
  cli(['agents', 'add', login, '--name', 'Sam Support', '--extensions', '2001, 2901', ...extra], { stdin });

test('adds an agent with the password from stdin, kept only as an argon2id hash, and lists it without', async () => {
  const added = await add('sam');
  expect(added.code).toBe(0);
  expect(added.out).toBe('added agent sam (Sam Support), extensions 2001, 2901');

  const saved = await store().byLogin('sam');
  expect(saved?.passwordHash).toMatch(/^\$argon2id\$/);
  expect(await createPasswordHasher().verify(saved?.passwordHash ?? null, PASSWORD)).toBe(true);
  const { rows } = await pool.query<{ t: string }>('SELECT row_to_json(a)::text AS t FROM agents a');
  expect(rows[0]?.t).not.toContain(PASSWORD);

  const list = await cli(['--json', 'agents', 'list']);
  expect(list.code).toBe(0);
  expect(list.json()).toEqual([
    expect.objectContaining({
      login: 'sam',
      name: 'Sam Support',
      role: 'agent',
      extensions: ['2001', '2901'],
    }),
  ]);
  expect(list.out).not.toMatch(/argon2|hash/i);
});

test('generates a password when asked, shows it once, and it signs in', async () => {
  const added = await cli([
    '--json',
    'agents',
    'add',
    'lee',
    '--name',
    'Lee Lead',
    '--role',
    'supervisor',
    '--generate-password',
  ]);
  expect(added.code).toBe(0);
  const { password, role } = added.json<{ password: string; role: string }>();
  expect(role).toBe('supervisor');
  expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
  const saved = await store().byLogin('lee');
  expect(await createPasswordHasher().verify(saved?.passwordHash ?? null, password)).toBe(true);
  expect((await cli(['agents', 'list'])).out).not.toContain(password);
});

test.each([
  [['--role', 'boss'], 'agent or supervisor'],
  [['--extensions', '2001,not an extension'], 'extensions'],
])('refuses %j in words and saves nothing', async (extra, words) => {
  const r = await add('sam', extra);
  expect(r.code).toBe(1);
  expect(r.err).toContain(words);
  expect(await store().byLogin('sam')).toBeNull();
});

test('refuses a short password, a second agent with the same login, and unknown logins', async () => {
  const short = await add('sam', [], 'short\n');
  expect(short.code).toBe(1);
  expect(short.err).toMatch(/password/);
  expect(await store().byLogin('sam')).toBeNull();

  expect((await add('sam')).code).toBe(0);
  const again = await add('sam');
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/sam/);

  for (const argv of [
    ['agents', 'update', 'nobody', '--name', 'X'],
    ['agents', 'remove', 'nobody'],
  ]) {
    const r = await cli(argv);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no agent with login nobody');
  }
});

test('updates, changes the password (ending sessions), removes; each change is recorded', async () => {
  expect((await add('sam')).code).toBe(0);
  const updated = await cli(['agents', 'update', 'sam', '--extensions', '2001,2950', '--role', 'supervisor']);
  expect(updated.code).toBe(0);
  expect(updated.out).toBe('updated sam: Sam Support, supervisor, extensions 2001, 2950');

  const agent = await store().byLogin('sam');
  const token = await store().createSession(agent?.id ?? 0, new Date());
  expect(await store().sessionAgent(token, new Date())).not.toBeNull();
  const changed = await cli(['agents', 'set-password', 'sam'], { stdin: 'another long password\n' });
  expect(changed.code).toBe(0);
  expect(await store().sessionAgent(token, new Date())).toBeNull();
  const after = await store().byLogin('sam');
  expect(await createPasswordHasher().verify(after?.passwordHash ?? null, 'another long password')).toBe(
    true,
  );

  expect((await cli(['agents', 'remove', 'sam'])).out).toBe('removed sam (Sam Support)');
  expect(await store().byLogin('sam')).toBeNull();

  const { rows } = await pool.query<{ action: string; subject: string; detail: string }>(
    'SELECT action, subject, detail::text FROM config_changes ORDER BY id',
  );
  expect(rows.map((r) => [r.action, r.subject])).toEqual([
    ['agent.add', 'sam'],
    ['agent.update', 'sam'],
    ['agent.set-password', 'sam'],
    ['agent.remove', 'sam'],
  ]);
  expect(rows.map((r) => r.detail).join(' ')).not.toMatch(/password long|argon2/);
});
