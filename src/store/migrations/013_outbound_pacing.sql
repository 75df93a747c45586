-- Pacing of outbound verification calls (#12) across app instances: one row holds when the next
-- call may be dialled; each instance takes the next slot with one UPDATE (src/store/pg-call-attempts.ts).
-- The queue itself is pg-boss's (schema pgboss, created by pg-boss on start).
CREATE TABLE outbound_pacing (
  id       integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  next_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO outbound_pacing DEFAULT VALUES;
-- Calls ringing or talking, for the cap on calls at once.
CREATE INDEX verification_calls_active_idx ON verification_calls (created_at)
  WHERE status IN ('calling', 'answered');
