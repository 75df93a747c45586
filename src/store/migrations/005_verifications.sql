-- Verifications as records of their own (see src/domain/verification.ts), and the limits that
-- span calls, channels and app instances. Every limit is counted here, in Postgres, under
-- advisory locks taken by src/store/pg-verification-store.ts, so several app instances on one
-- database see one count.

-- One row per verification. The code is never stored: code_hash is an HMAC bound to the id,
-- cleared once the verification is decided (single use).
CREATE TABLE verifications (
  id                  text PRIMARY KEY CHECK (id ~ '^VE[0-9a-f]{32}$'),
  -- No foreign key: history outlives a deleted contact, as calls.contact_id does.
  contact_id          integer NOT NULL,
  channel             text NOT NULL CHECK (channel IN ('email', 'sms', 'call', 'pin')),
  -- Normalised E.164 or lower-case email, so a resend goes where the first send went.
  destination         text NOT NULL,
  destination_masked  text NOT NULL,
  origin              text NOT NULL CHECK (origin IN ('inbound_call', 'api', 'agent', 'outbound_call')),
  call_id             text,
  actor               text,
  status              text NOT NULL CHECK (status IN
                        ('pending', 'approved', 'canceled', 'expired', 'max_attempts_reached', 'failed')),
  code_hash           text,
  code_length         integer NOT NULL CHECK (code_length BETWEEN 4 AND 10),
  custom_code         boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL,
  expires_at          timestamptz NOT NULL,
  decided_at          timestamptz,
  last_sent_at        timestamptz,
  sends               integer NOT NULL DEFAULT 0 CHECK (sends >= 0),
  checks              integer NOT NULL DEFAULT 0 CHECK (checks >= 0),
  max_sends           integer NOT NULL,
  max_checks          integer NOT NULL,
  failure_reason      text,
  CHECK (status = 'pending' OR code_hash IS NULL)
);
CREATE INDEX verifications_contact_idx ON verifications (contact_id, created_at DESC);
CREATE INDEX verifications_pending_idx ON verifications (expires_at) WHERE status = 'pending';
CREATE INDEX verifications_created_idx ON verifications (created_at);
CREATE INDEX verifications_call_idx ON verifications (call_id) WHERE call_id IS NOT NULL;

-- Every code sent, for the send limits: per destination (by keyed hash: this table holds no
-- number or address), per country calling code, overall.
CREATE TABLE verification_sends (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  verification_id  text NOT NULL,
  destination_key  text NOT NULL,
  country_code     text,
  channel          text NOT NULL,
  sent_at          timestamptz NOT NULL
);
CREATE INDEX verification_sends_destination_idx ON verification_sends (destination_key, sent_at);
CREATE INDEX verification_sends_country_idx ON verification_sends (country_code, sent_at) WHERE country_code IS NOT NULL;
CREATE INDEX verification_sends_at_idx ON verification_sends (sent_at);

-- Every failed check per contact, for the rolling 24 h lockout. An operator's unlock marks
-- rows cleared instead of deleting them, so the evidence stays.
CREATE TABLE verification_failures (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contact_id       integer NOT NULL,
  verification_id  text NOT NULL,
  at               timestamptz NOT NULL,
  cleared_at       timestamptz
);
CREATE INDEX verification_failures_contact_idx ON verification_failures (contact_id, at);

-- Scheduled jobs that must run once across app instances: the instance that moves next_run_at
-- forward (one UPDATE ... WHERE next_run_at <= now()) runs the job; the others skip.
CREATE TABLE scheduled_jobs (
  name         text PRIMARY KEY,
  next_run_at  timestamptz NOT NULL,
  last_run_at  timestamptz,
  last_runner  text,
  last_result  jsonb
);

-- The codes of the old per-call store are superseded by verifications (they lived minutes).
DROP TABLE call_codes;

-- Routes pick the flow that verifies their callers; only the one-time code exists yet.
ALTER TABLE routes ADD COLUMN mode text NOT NULL DEFAULT 'otp' CHECK (mode IN ('otp'));
