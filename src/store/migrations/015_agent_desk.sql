-- The agent's desk (#10): agent accounts and their sessions, what agents did, the desk's outcome
-- of a verification (Completed / Incomplete, with the ticket it was noted on), and screen pops.

-- Agents log in to /desk. password_hash is argon2id (src/desk/agent-password.ts); extensions are
-- the numbers whose calls pop on the agent's screen (a phone's own 2001, a department's 2901).
CREATE TABLE agents (
  id                   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login                text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._@-]{1,63}$'),
  name                 text NOT NULL CHECK (btrim(name) <> ''),
  extensions           text[] NOT NULL DEFAULT '{}',
  role                 text NOT NULL CHECK (role IN ('agent', 'supervisor')),
  password_hash        text NOT NULL,
  password_changed_at  timestamptz NOT NULL DEFAULT now(),
  created_at           timestamptz NOT NULL DEFAULT now()
);

-- One row per signed-in browser. The cookie carries a random token; only its SHA-256 is kept, so
-- a copy of this table signs nobody in. Removing an agent or changing a password ends its sessions.
CREATE TABLE agent_sessions (
  token_hash    text PRIMARY KEY,
  agent_id      integer NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_sessions_agent_idx ON agent_sessions (agent_id);
CREATE INDEX agent_sessions_expires_idx ON agent_sessions (expires_at);

-- Every agent action, with the agent's login (kept when the agent is removed). Masked details only.
CREATE TABLE agent_actions (
  id               bigserial PRIMARY KEY,
  at               timestamptz NOT NULL DEFAULT now(),
  agent_login      text NOT NULL,
  action           text NOT NULL,
  verification_id  text,
  contact_id       integer,
  call_id          text,
  detail           jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX agent_actions_at_idx ON agent_actions (at);
CREATE INDEX agent_actions_contact_idx ON agent_actions (contact_id, at DESC) WHERE contact_id IS NOT NULL;

-- The desk's word on a verification (seed 001: Completed / Incomplete), who said it, the ticket it
-- was noted on, and why the agent sent the code somewhere other than the address on file.
ALTER TABLE verifications
  ADD COLUMN agent_outcome         text CHECK (agent_outcome IN ('completed', 'incomplete')),
  ADD COLUMN agent_outcome_at      timestamptz,
  ADD COLUMN agent_outcome_by      text,
  ADD COLUMN ticket_ref            text,
  ADD COLUMN override_reason       text;

-- A call that went through pinverify reached an agent's extension (AMI DialBegin). Unique per
-- call and extension: several app instances watching one Asterisk record one pop.
CREATE TABLE desk_pops (
  id         bigserial PRIMARY KEY,
  call_id    text NOT NULL,
  extension  text NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (call_id, extension)
);
CREATE INDEX desk_pops_at_idx ON desk_pops (at);

-- The desk's settings are seeded by 017_desk_settings.sql (seed migrations only insert rows).

-- A DialBegin names the caller's channel; the pop finds the call by it.
CREATE INDEX calls_channel_idx ON calls (channel_id) WHERE channel_id IS NOT NULL;
