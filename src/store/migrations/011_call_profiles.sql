-- Call profiles (src/domain/profile.ts): named configurations of outbound OTP voice calls. A
-- client's backend names the profile when it starts a call verification; ops edit them with
-- `pinverify profiles` or the admin API (src/ops/profile-admin.ts, same bounds as below).
CREATE TABLE call_profiles (
  id                    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Used by API clients; never only digits, so "profiles show 12" always means the id.
  name                  text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,39}$' AND name !~ '^[0-9]+$'),
  title                 text NOT NULL CHECK (btrim(title) <> ''),
  -- Disabling keeps the profile for later; a disabled profile starts no calls.
  enabled               boolean NOT NULL DEFAULT true,
  -- read: the call says the code; input: the person keys the code they were shown.
  mode                  text NOT NULL DEFAULT 'read' CHECK (mode IN ('read', 'input')),
  -- auto: pinverify makes the code; manual: the client sends its own (customCode).
  code_source           text NOT NULL DEFAULT 'auto' CHECK (code_source IN ('auto', 'manual')),
  code_length           integer NOT NULL DEFAULT 6 CHECK (code_length BETWEEN 4 AND 10),
  -- What the called person sees, E.164.
  caller_id             text NOT NULL CHECK (caller_id ~ '^\+[1-9][0-9]{6,14}$'),
  -- The DID or extension a person who missed the call dials back; '' when none.
  callback_number       text NOT NULL DEFAULT '' CHECK (callback_number ~ '^[0-9*#+]{0,40}$'),
  -- Times the code is said (read) or the question asked (input).
  repeats               integer NOT NULL DEFAULT 3 CHECK (repeats BETWEEN 1 AND 5),
  -- "Press any key to hear your code": a voicemail box never hears the code.
  key_before_code       boolean NOT NULL DEFAULT true,
  sms_after_call        text NOT NULL DEFAULT 'off' CHECK (sms_after_call IN ('off', 'always', 'not_answered')),
  -- The prompt set.
  locale                text NOT NULL DEFAULT 'en' CHECK (locale ~ '^[a-z]{2}(_[A-Z]{2})?$'),
  ring_timeout_seconds  integer NOT NULL DEFAULT 30 CHECK (ring_timeout_seconds BETWEEN 5 AND 120),
  -- Further attempts after no answer or busy.
  retries_on_no_answer  integer NOT NULL DEFAULT 0 CHECK (retries_on_no_answer BETWEEN 0 AND 3),
  -- Whether the number called must belong to a contact on file.
  require_contact       boolean NOT NULL DEFAULT true,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
-- A call-back number identifies one profile: whoever dials it back is answered by that profile.
CREATE UNIQUE INDEX call_profiles_callback_number_idx ON call_profiles (callback_number)
  WHERE callback_number <> '';
CREATE TRIGGER call_profiles_touch BEFORE UPDATE ON call_profiles
  FOR EACH ROW EXECUTE FUNCTION pinverify_touch_updated_at();
-- Running apps reload on a change, as for routes (migration 003).
CREATE TRIGGER call_profiles_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON call_profiles
  FOR EACH STATEMENT EXECUTE FUNCTION pinverify_notify_config();
