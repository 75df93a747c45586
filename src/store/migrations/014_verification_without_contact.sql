-- Outbound calls to numbers not on file (#12, profiles with require_contact off): such a
-- verification belongs to no contact. Every other verification still has one; the per-contact
-- lockout simply does not apply where there is no contact (the tries per code and the send
-- limits per number and country still do).
ALTER TABLE verifications ALTER COLUMN contact_id DROP NOT NULL;
