-- Outbound verification calls (#12): one row per attempt to call a person for a verification of
-- channel 'call'. The verification keeps its own status (pending until the code is checked);
-- this is what happened to each call: queued, calling, answered, delivered (read mode: the code
-- was said), approved (input mode: the right code keyed), not_delivered, busy, no_answer,
-- rejected, failed. No code and no full number here.
CREATE TABLE verification_calls (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  verification_id  text NOT NULL,
  profile          text NOT NULL,
  attempt          integer NOT NULL CHECK (attempt >= 1),
  status           text NOT NULL CHECK (status IN ('queued', 'calling', 'answered', 'delivered', 'approved',
                     'not_delivered', 'busy', 'no_answer', 'rejected', 'failed')),
  channel_id       text,
  -- Q.850 cause and SIP response of an unanswered call, as Asterisk reported them.
  cause            integer,
  sip_code         integer,
  times_said       integer NOT NULL DEFAULT 0,
  checks           integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  answered_at      timestamptz,
  ended_at         timestamptz,
  UNIQUE (verification_id, attempt)
);
CREATE INDEX verification_calls_verification_idx ON verification_calls (verification_id);
CREATE INDEX verification_calls_created_idx ON verification_calls (created_at);
