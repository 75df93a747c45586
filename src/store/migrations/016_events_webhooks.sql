-- Durable events and signed webhooks (#10 part 4). Every verification status change, every desk
-- outcome and every call outcome is written to `events` by a trigger, in the same transaction as
-- the change, and fanned out in that transaction to one pending delivery per subscribed endpoint:
-- a change that commits always has its event and its deliveries, and one that rolls back has
-- neither. src/webhooks/ delivers them (pg-boss jobs, shared by every app instance).
--
-- Payloads are thin on purpose: ids, statuses and masked destinations. Never a code, a code hash
-- or a full number or address (a webhook receiver is a copy of our data we do not control).

-- Timestamps in event data as ISO 8601 UTC ("2025-01-31T12:00:00.123Z") whatever the session's
-- TimeZone, so a receiver parses one format.
CREATE FUNCTION pinverify_iso(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- One row per thing that happened. seq orders them (delivery order, see src/webhooks/); id is
-- the public id, sent as webhook-id (receivers deduplicate by it: a delivery whose 2xx was lost
-- is sent again).
CREATE TABLE events (
  seq          bigserial PRIMARY KEY,
  id           text NOT NULL UNIQUE DEFAULT ('evt_' || replace(gen_random_uuid()::text, '-', '')),
  type         text NOT NULL,
  occurred_at  timestamptz NOT NULL DEFAULT now(),
  data         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX events_occurred_at_idx ON events (occurred_at);

-- Subscribers. event_types empty = every type.
CREATE TABLE webhook_endpoints (
  id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url                text NOT NULL CHECK (url ~ '^https?://'),
  description        text,
  event_types        text[] NOT NULL DEFAULT '{}',
  -- The signing secret ("whsec_" + base64), stored readable, unlike API keys and PINs: signing
  -- an HMAC needs the key itself, and the receiver holds the same key. Whoever can read this
  -- table can forge webhooks to its subscribers, so it is as sensitive as the database password.
  secret             text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]+$'),
  enabled            boolean NOT NULL DEFAULT true,
  disabled_at        timestamptz,
  disabled_reason    text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  -- Only one app instance delivers to an endpoint at a time (that is what keeps its events in
  -- order): the drain that set drain_lease_until in the future owns it. A crashed instance's
  -- lease simply runs out.
  drain_lease_until  timestamptz,
  drain_lease_owner  text
);

-- One row per event and subscribed endpoint. pending until a 2xx (delivered). failed: given up
-- without retries (a `webhooks test` event that was refused; tests do not hold real events back).
-- The deliveries of a disabled endpoint stay pending: enabling it sends them, in order.
CREATE TABLE webhook_deliveries (
  endpoint_id       integer NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_seq         bigint NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  first_attempt_at  timestamptz,
  last_attempt_at   timestamptz,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  -- HTTP status of the last attempt (null: no answer: timeout, refused, DNS ...).
  last_status       integer,
  last_error        text,
  delivered_at      timestamptz,
  PRIMARY KEY (endpoint_id, event_seq)
);
-- The head of an endpoint's queue: its oldest pending delivery.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, event_seq)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_seq);

-- Fan-out: a pending delivery for every enabled endpoint that wants this type, and a wake-up for
-- the dispatchers (delivered at commit; the dispatchers' sweep covers a lost one).
-- webhook.test events are addressed to one endpoint by `pinverify webhooks test` itself.
CREATE FUNCTION pinverify_event_fan_out() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  endpoint integer;
BEGIN
  IF NEW.type = 'webhook.test' THEN
    RETURN NULL;
  END IF;
  FOR endpoint IN
    INSERT INTO webhook_deliveries (endpoint_id, event_seq)
    SELECT id, NEW.seq FROM webhook_endpoints
     WHERE enabled AND (cardinality(event_types) = 0 OR NEW.type = ANY (event_types))
    RETURNING endpoint_id
  LOOP
    PERFORM pg_notify('pinverify_webhooks', endpoint::text);
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_fan_out AFTER INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION pinverify_event_fan_out();

-- What a receiver learns about a verification: ids, statuses, the masked destination. Not the
-- destination, not code_hash, not override_reason (free text an agent typed).
CREATE FUNCTION pinverify_verification_event_data(v verifications) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', v.id,
    'status', v.status,
    'channel', v.channel,
    'origin', v.origin,
    'contactId', v.contact_id,
    'callId', v.call_id,
    'destinationMasked', v.destination_masked,
    'failureReason', v.failure_reason,
    'agentOutcome', v.agent_outcome,
    'agentOutcomeBy', v.agent_outcome_by,
    'ticketRef', v.ticket_ref
  )
$$;

-- verification.<status> when one is created or its status changes; verification.completed /
-- verification.incomplete when the desk first records its outcome. Both in one statement: the
-- status event first.
CREATE FUNCTION pinverify_verification_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
    INSERT INTO events (type, data)
    VALUES ('verification.' || NEW.status, pinverify_verification_event_data(NEW));
  END IF;
  IF NEW.agent_outcome IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.agent_outcome IS NULL) THEN
    INSERT INTO events (type, data)
    VALUES ('verification.' || NEW.agent_outcome, pinverify_verification_event_data(NEW));
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER verifications_events_insert AFTER INSERT ON verifications
  FOR EACH ROW EXECUTE FUNCTION pinverify_verification_events();
CREATE TRIGGER verifications_events_update AFTER UPDATE ON verifications
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR (OLD.agent_outcome IS NULL AND NEW.agent_outcome IS NOT NULL))
  EXECUTE FUNCTION pinverify_verification_events();

-- call.ended once per call: when its result is first set. The audit trail closes a call with an
-- upsert that may be retried or replayed from its journal (src/store/pg-audit-trail.ts): the
-- first write sets result (an INSERT, or an UPDATE of the row the open made), every repeat is an
-- UPDATE of a row whose result is already set, which these triggers ignore.
CREATE FUNCTION pinverify_call_ended_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (type, data)
  VALUES ('call.ended', jsonb_build_object(
    'callId', NEW.call_id,
    'result', NEW.result,
    'reason', NEW.reason,
    'method', NEW.method,
    'contactId', NEW.contact_id,
    'route', NEW.route,
    -- A dialplan destination (2001@pinverify-destinations), not a phone number.
    'destination', NEW.destination,
    'startedAt', pinverify_iso(NEW.started_at),
    'endedAt', pinverify_iso(NEW.ended_at)
  ));
  RETURN NULL;
END
$$;
CREATE TRIGGER calls_ended_insert AFTER INSERT ON calls
  FOR EACH ROW WHEN (NEW.result IS NOT NULL)
  EXECUTE FUNCTION pinverify_call_ended_event();
CREATE TRIGGER calls_ended_update AFTER UPDATE OF result ON calls
  FOR EACH ROW WHEN (OLD.result IS NULL AND NEW.result IS NOT NULL)
  EXECUTE FUNCTION pinverify_call_ended_event();
