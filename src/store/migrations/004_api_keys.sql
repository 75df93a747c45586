-- Admin API keys (src/ops/api-key-admin.ts). Created with `pinverify api-keys create`; the key
-- is shown once and only its SHA-256 is stored: the keys are 192-bit random strings, so a plain
-- hash cannot be brute-forced and a database dump does not give API access. `prefix` is the
-- public first part of the key, used to find the row and to name the key in lists and logs.
CREATE TABLE api_keys (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
  prefix        text NOT NULL UNIQUE,
  key_hash      text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  -- Revoked keys are kept so that lists and audit can still name them.
  revoked_at    timestamptz
);

-- Who changed the configuration through the ops tooling, and how (CLI user or API key).
CREATE TABLE config_changes (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  actor    text NOT NULL,
  action   text NOT NULL,
  subject  text NOT NULL,
  detail   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX config_changes_at_idx ON config_changes (at);
