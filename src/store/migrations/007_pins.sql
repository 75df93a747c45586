-- Static security PINs (route modes pin and pin_then_otp; src/domain/pin.ts has the policy).

-- One PIN per contact, only as an argon2id hash in PHC form ($argon2id$v=19$m=...,p=...,t=...$salt$hash),
-- so the cost parameters travel with each hash and can be raised later. A table of its own: no
-- query that lists or exports contacts can ever print a hash by accident. A contact's PIN goes
-- with the contact.
CREATE TABLE contact_pins (
  contact_id  integer PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
  pin_hash    text NOT NULL CHECK (pin_hash LIKE '$argon2id$%'),
  set_at      timestamptz NOT NULL DEFAULT now(),
  set_by      text NOT NULL
);

ALTER TABLE routes DROP CONSTRAINT routes_mode_check;
ALTER TABLE routes ADD CONSTRAINT routes_mode_check CHECK (mode IN ('otp', 'pin', 'pin_then_otp'));
