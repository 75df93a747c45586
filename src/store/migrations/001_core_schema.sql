-- pinverify core schema.
--
-- Three groups of tables:
--   * directory: contacts and the phone numbers they call from (read on every call);
--   * configuration: routes, settings, templates (edited by ops, cached by the app, see 003);
--   * per-call state and audit: call_codes (live one-time codes), calls and call_events.
--
-- Audit tables deliberately carry few constraints: an audit record must never be rejected
-- because a contact was deleted meanwhile or a new reason value was added to the code.

-- Keeps updated_at honest whichever tool edits a row (the app, the CLI, psql).
CREATE FUNCTION pinverify_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- People we can send a code to. A contact may have an email, a mobile for SMS, both or neither
-- (neither means the caller is recognised but cannot be verified: the flow fails them politely).
CREATE TABLE contacts (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL CHECK (btrim(name) <> ''),
  email       text CHECK (email IS NULL OR email ~ '^[^@\s]+@[^@\s]+$'),
  -- E.164: "+", country code not starting with 0, at most 15 digits in all.
  mobile      text CHECK (mobile IS NULL OR mobile ~ '^\+[1-9][0-9]{6,14}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER contacts_touch BEFORE UPDATE ON contacts
  FOR EACH ROW EXECUTE FUNCTION pinverify_touch_updated_at();

-- Numbers a contact calls from (normalised caller ID). One number may belong to several
-- contacts (a shared office line): the flow then refuses to guess and reports multi_match.
CREATE TABLE contact_phones (
  contact_id  integer NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  e164        text NOT NULL CHECK (e164 ~ '^\+[1-9][0-9]{6,14}$'),
  PRIMARY KEY (contact_id, e164)
);
-- The lookup on every incoming call is by number, not by contact.
CREATE INDEX contact_phones_e164_idx ON contact_phones (e164);

-- Where a caller goes after verification, chosen by the hop that sent them to us (the
-- sub-IVR context or the Stasis argument route=). Destinations are "exten",
-- "exten@context" or "exten@context:priority"; the check keeps typos out of the dialplan.
CREATE TABLE routes (
  id                   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title                text NOT NULL CHECK (btrim(title) <> ''),
  previous_hop         text NOT NULL UNIQUE CHECK (previous_hop ~ '^\S+$'),
  success_destination  text NOT NULL CHECK (success_destination ~ '^[^@:\s]+(@[^@:\s]+(:[0-9]+)?)?$'),
  failed_destination   text NOT NULL CHECK (failed_destination ~ '^[^@:\s]+(@[^@:\s]+(:[0-9]+)?)?$'),
  -- Disabling keeps the row for later instead of deleting it; a disabled route is "no route".
  enabled              boolean NOT NULL DEFAULT true,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER routes_touch BEFORE UPDATE ON routes
  FOR EACH ROW EXECUTE FUNCTION pinverify_touch_updated_at();

-- One row per FlowSettings field, key = the field name. Values are jsonb so ops can edit them
-- with plain SQL; the app validates each value and falls back to its default when invalid.
CREATE TABLE settings (
  key         text PRIMARY KEY,
  value       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER settings_touch BEFORE UPDATE ON settings
  FOR EACH ROW EXECUTE FUNCTION pinverify_touch_updated_at();

-- Message templates, one per delivery channel. Placeholders: {code} {name} {company} {minutes}.
CREATE TABLE templates (
  channel     text PRIMARY KEY CHECK (channel IN ('email', 'sms')),
  subject     text,
  text        text NOT NULL,
  html        text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  -- SMS has neither subject nor HTML body; an email always has a subject.
  CHECK (channel = 'email' OR (subject IS NULL AND html IS NULL)),
  CHECK (channel <> 'email' OR subject IS NOT NULL)
);
CREATE TRIGGER templates_touch BEFORE UPDATE ON templates
  FOR EACH ROW EXECUTE FUNCTION pinverify_touch_updated_at();

-- The live code of a call. Only a keyed hash (HMAC) is stored, never the code: a database
-- dump must not let anyone pass verification. No foreign key to calls: codes must keep
-- working even while audit writes are queued in memory (see pg-audit-trail.ts).
CREATE TABLE call_codes (
  call_id      text PRIMARY KEY,
  code_hash    text NOT NULL,
  expires_at   timestamptz NOT NULL,
  tries_left   integer NOT NULL CHECK (tries_left >= 0),
  -- Set when the right code was entered: a code is single use.
  consumed_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
-- Lets housekeeping delete codes of calls that ended without discarding them (crash).
CREATE INDEX call_codes_expires_at_idx ON call_codes (expires_at);

-- One row per call handled. Details are masked before they get here (src/log/mask.ts).
-- started_at is the earliest time known for the call: if the "open" record was lost, a later
-- event creates the row with its own time and channel_id etc. stay null.
CREATE TABLE calls (
  call_id        text PRIMARY KEY,
  channel_id     text,
  caller_masked  text,
  previous_hop   text,
  started_at     timestamptz NOT NULL,
  ended_at       timestamptz,
  result         text,
  reason         text,
  method         text,
  -- No foreign key: deleting a contact must not be blocked by, nor rewrite, history.
  contact_id     integer,
  route          text,
  destination    text
);
CREATE INDEX calls_started_at_idx ON calls (started_at);

-- What happened during a call, in order. uid is generated by the app so that retrying a write
-- whose acknowledgement was lost (or replaying the journal) cannot duplicate an event.
CREATE TABLE call_events (
  id       bigserial PRIMARY KEY,
  uid      uuid NOT NULL UNIQUE,
  call_id  text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
  at       timestamptz NOT NULL,
  kind     text NOT NULL,
  detail   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX call_events_call_id_idx ON call_events (call_id, at);
